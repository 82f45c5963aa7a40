// The generic checks (io-error, unflushed-writes, overlapping-writes) on requests of any format, and the
// virtio-only ones on assembled QEMU traces.
import { describe, expect, it } from 'vitest';
import { Model } from '../../src/model/model.js';
import { RULES } from '../../src/rules/index.js';
import type { ParsedEvent, Request } from '../../src/model/types.js';
import { analyzeText, tally } from '../helpers.js';

let n = 0;
function req(op: string, sector: number, sectors: number, extra: Partial<Request> = {}): Request {
  n++;
  return { key: `k${n}`, id: String(n), format: 'blkparse', file: 'vda.txt', seq: 0, device: '254,0', op, sector, sectors, bytes: sectors * 512, segments: [], state: 'inflight', evidence: [{ file: 'vda.txt', line: n }], ...extra };
}
function run(events: ParsedEvent[]) {
  const m = new Model(RULES, {});
  for (const e of events) m.handle(e);
  m.end();
  return tally(m.findings);
}
const done = (r: Request, status = 'ok', time = 1): ParsedEvent => ({ kind: 'complete', key: r.key, status, time });

describe('generic checks on non-virtio requests', () => {
  it('unflushed-writes: warning at the end, error at a kill, nothing after a flush', () => {
    const w1 = req('write', 0, 8);
    const f = req('flush', 0, 0);
    const w2 = req('write', 8, 8);
    expect(run([{ kind: 'submit', req: w1 }, done(w1), { kind: 'submit', req: f }, done(f)])).toEqual({});
    const w3 = req('write', 8, 8);
    expect(run([{ kind: 'submit', req: w2 }, done(w2)])).toEqual({ 'unflushed-writes/warning': 1 });
    expect(run([{ kind: 'submit', req: w3 }, done(w3), { kind: 'reset', reason: 'kill', evidence: [{ file: 'vda.txt', line: 99 }] }])).toEqual({ 'unflushed-writes/error': 1 });
    // FUA writes are durable on completion.
    const w4 = req('write', 8, 8, { info: { fua: true } });
    expect(run([{ kind: 'submit', req: w4 }, done(w4)])).toEqual({});
  });
  it('overlapping-writes: write/write error, read/write warning, disjoint or sequential nothing', () => {
    const a = req('write', 0, 16);
    const b = req('write', 8, 16);
    expect(run([{ kind: 'submit', req: a }, { kind: 'submit', req: b }, done(a), done(b), { kind: 'submit', req: req('flush', 0, 0) }])).toMatchObject({ 'overlapping-writes/error': 1 });
    const c = req('write', 0, 16);
    const d = req('read', 15, 1);
    expect(run([{ kind: 'submit', req: c }, { kind: 'submit', req: d }, done(c), done(d)])).toMatchObject({ 'overlapping-writes/warning': 1 });
    const e = req('write', 0, 16);
    const g = req('write', 16, 16);
    const h = req('write', 0, 16);
    const res = run([{ kind: 'submit', req: e }, { kind: 'submit', req: g }, done(e), { kind: 'submit', req: h }, done(g), done(h)]);
    expect(res['overlapping-writes/error']).toBeUndefined();
  });
  it('io-error: error status is an error, unsupported a warning', () => {
    const a = req('write', 0, 8);
    const b = req('discard', 0, 8);
    expect(run([{ kind: 'submit', req: a }, done(a, 'error'), { kind: 'submit', req: b }, done(b, 'eopnotsupp')])).toMatchObject({ 'io-error/error': 1, 'io-error/warning': 1 });
  });
});

describe('virtio checks on QEMU traces', () => {
  const pop = (e: string, i = 1, o = 2) => `virtqueue_pop vq 0x7700 elem ${e} in_num ${i} out_num ${o}`;
  const w = (e: string, s: number, n = 8) => `virtio_blk_handle_write vdev 0x5600 req ${e} sector ${s} nsectors ${n}`;
  const c = (e: string, st = 0) => `virtio_blk_req_complete vdev 0x5600 req ${e} status ${st}`;
  const fill = (e: string) => `virtqueue_fill vq 0x7700 elem ${e} len 1 idx 0`;
  const flush = (e: string) => [pop(e, 1, 1), c(e), fill(e)];
  it('double-pop and double-complete', async () => {
    const r = await analyzeText([pop('0xa1'), w('0xa1', 0), pop('0xa1'), w('0xa1', 64), c('0xa1'), fill('0xa1'), c('0xa1'), ...flush('0xb2')].join('\n') + '\n');
    const t = tally(r.model.findings);
    expect(t['double-pop/error']).toBe(1);
    expect(t['double-complete/error']).toBe(1);
    expect(t['never-completed/warning']).toBe(1); // the first generation never got its completion
  });
  it('noncontiguous-merge flags a batch with a gap, not a contiguous one', async () => {
    const rd = (e: string, s: number, n: number) => [pop(e, 2, 1), `virtio_blk_handle_read vdev 0x5600 req ${e} sector ${s} nsectors ${n}`];
    const mr = (off: number, size: number) => `virtio_blk_submit_multireq vdev 0x5600 mrb 0x7ffe00 start 0 num_reqs 2 offset ${off} size ${size} is_write 0`;
    const ok = await analyzeText([...rd('0xa1', 12, 64), ...rd('0xa2', 10, 2), mr(5120, 33792), c('0xa2'), c('0xa1')].join('\n') + '\n');
    expect(tally(ok.model.findings)['noncontiguous-merge/error']).toBeUndefined();
    const bad = await analyzeText([...rd('0xa1', 20, 64), ...rd('0xa2', 10, 2), mr(5120, 33792), c('0xa2'), c('0xa1')].join('\n') + '\n');
    expect(tally(bad.model.findings)['noncontiguous-merge/error']).toBe(1);
  });
  it('header-overwrite: an L2 table written over the header of the qcow2 file node', async () => {
    const t = [
      pop('0xa1'),
      w('0xa1', 0, 8),
      'blk_co_pwritev blk 0x5100 bs 0x5200 offset 0 bytes 4096 flags 0x8',
      'qcow2_writev_data co 0x5300 offset 0x50000',
      'bdrv_co_pwritev_part bs 0x5400 offset 327680 bytes 4096 flags 0x8',
      c('0xa1'),
      fill('0xa1'),
      pop('0xa2', 1, 1),
      'qcow2_cache_entry_flush co 0x5300 is_l2_cache 1 index 0',
      'bdrv_co_pwritev_part bs 0x5400 offset 0 bytes 65536 flags 0x0',
      c('0xa2'),
      fill('0xa2'),
      // a header update (dirty bit at offset 72) is legitimate
      'qcow2_cache_flush co 0x5300 is_l2_cache 0',
      'bdrv_co_pwritev_part bs 0x5400 offset 72 bytes 8 flags 0x0',
    ].join('\n');
    const r = await analyzeText(t + '\n');
    const f = r.model.findings.filter((x) => x.rule === 'header-overwrite');
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toContain('metadata table');
  });
});
