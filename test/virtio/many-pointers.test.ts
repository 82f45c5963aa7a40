// A trace whose element pointers keep changing (QEMU reuses a few; a constructed or damaged trace may not): the
// per-pointer state is bounded (RecentMap), and what is forgotten must not make two requests share a key or invent
// findings. A double completion among recent pointers is still found.
import { describe, expect, it } from 'vitest';
import { analyzeText, tally } from '../helpers.js';

const VDEV = '0x5600aa00';
const VQ = '0x7f0010';

function request(lines: string[], t: number, elem: string, sector: number): void {
  const p = (us: number, s: string) => lines.push(`101@1000.${String(t * 10 + us).padStart(6, '0')}:${s}`);
  p(0, `virtqueue_pop vq ${VQ} elem ${elem} in_num 2 out_num 1`);
  p(1, `virtio_blk_handle_read vdev ${VDEV} req ${elem} sector ${sector} nsectors 8`);
  p(2, `virtio_blk_req_complete vdev ${VDEV} req ${elem} status 0`);
  p(3, `virtqueue_fill vq ${VQ} elem ${elem} len 4097 idx 0`);
}

describe('virtio traces with ever-new element pointers', () => {
  it('keeps request keys unique when pointers come back after 40000 others', async () => {
    const lines: string[] = [];
    const elem = (i: number) => '0x' + (0x7a000000 + i * 0x40).toString(16);
    let t = 0;
    for (let i = 0; i < 40000; i++) request(lines, t++, elem(i), i * 8);
    // The first pointers again: long forgotten by the bounded tables.
    for (let i = 0; i < 100; i++) request(lines, t++, elem(i), i * 8);
    // A double completion of a recent pointer: still remembered.
    lines.push(`101@1000.999998:virtio_blk_req_complete vdev ${VDEV} req ${elem(50)} status 0`);
    lines.push(`101@1000.999999:virtqueue_fill vq ${VQ} elem ${elem(50)} len 4097 idx 0`);
    const r = await analyzeText(lines.join('\n') + '\n');
    expect(r.requests.length).toBe(40100);
    const keys = new Set(r.requests.map((q) => q.key));
    expect(keys.size).toBe(40100);
    // The comeback of pointer 0 is a later generation than its first use.
    const zero = r.requests.filter((q) => q.id === elem(0)).map((q) => q.key);
    expect(zero.length).toBe(2);
    expect(zero[0]).not.toBe(zero[1]);
    const t2 = tally(r.model.findings);
    // The second req_complete and the second fill: both completions of an element already completed.
    expect(t2['double-complete/error']).toBe(2);
    expect(t2['double-pop/error']).toBeUndefined();
    expect(new Set(r.model.findings.filter((f) => f.rule === 'double-complete').map((f) => f.requestId))).toEqual(new Set([elem(50)]));
  });
});
