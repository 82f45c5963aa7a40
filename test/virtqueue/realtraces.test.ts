// The whole real QEMU 7.2 virtqueue dumps (../shared/realtraces/virtqueue-elements, rounds 1-2 in every form):
// properties the README states about them, checked on what analyze() rebuilds.
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze.js';
import { fileSource } from '../../src/input/sources.js';
import type { Finding, Request } from '../../src/model/types.js';

const DIR = '../shared/realtraces/virtqueue-elements';

async function run(name: string): Promise<{ requests: Request[]; findings: Finding[]; skipped: number; formats: string[] }> {
  const requests: Request[] = [];
  const r = await analyze([fileSource(`${DIR}/${name}`)], { options: {}, sink: { request: (q) => requests.push(q) } });
  requests.sort((a, b) => a.seq - b.seq);
  return { requests, findings: r.model.findings, skipped: r.inputs[0]!.skipped, formats: r.inputs[0]!.formats };
}

const shape = (reqs: Request[]) => reqs.map((r) => ({ device: r.device, queue: r.queue, id: r.id, pos: r.info?.availPos, segments: r.segments }));

/** Every repeated-page finding is an sgio-style write: one page named by exactly 4 readable data descriptors. */
function expectOnlySgio(findings: Finding[], reqs: Request[]) {
  const byKey = new Map(reqs.map((q) => [q.key, q]));
  for (const f of findings) {
    expect(f.rule).toBe('repeated-page');
    expect(f.severity).toBe('warning');
    expect(f.data).toMatchObject({ count: 4, segments: [1, 2, 3, 4] });
    const q = byKey.get(f.requestKey!)!;
    const data = q.segments.filter((s) => s.role === 'data');
    expect(data).toHaveLength(4);
    expect(new Set(data.map((s) => s.addr)).size).toBe(1);
    expect(data.every((s) => s.len === 4096 && s.write === false)).toBe(true);
  }
}

describe('real QEMU 7.2 virtqueue dumps', () => {
  for (const round of ['round1', 'round2']) {
    it(`${round}: HMP and QMP dumps rebuild the same live chains; only sgio writes are flagged`, async () => {
      const hmp = await run(`hmp-${round}-running.txt`);
      const qmp = await run(`qmp-${round}-running.jsonl`);
      for (const r of [hmp, qmp]) {
        expect(r.formats).toEqual(['qemu-virtqueue']);
        expect(r.skipped).toBe(0);
        expect(r.requests.length).toBeGreaterThan(0);
        // Fewer live requests than the 1024 avail slots dumped: stale slots never become requests.
        expect(r.requests.length).toBeLessThan(40);
        for (const q of r.requests) {
          expect(q.segments[0]).toMatchObject({ role: 'header', len: 16, write: false });
          expect(q.segments.at(-1)).toMatchObject({ role: 'status', len: 1, write: true });
          expect(q.state).toBe('retired');
        }
        expectOnlySgio(r.findings, r.requests);
      }
      expect(shape(qmp.requests)).toEqual(shape(hmp.requests));
      expect(qmp.findings.length).toBe(hmp.findings.length);
    });

    it(`${round}: xp dumps decode every live header (IN/OUT, ioprio 0x4004, status byte 0)`, async () => {
      const r = await run(`hmp-${round}-running-xp-rings-and-buffers.txt`);
      expect(r.skipped).toBe(0);
      expect(r.requests.length).toBeGreaterThan(0);
      for (const q of r.requests) {
        const h = q.info!.header as { type: number; ioprio: number; sector: number };
        expect([0, 1]).toContain(h.type);
        expect(q.op).toBe(h.type === 0 ? 'read' : 'write');
        expect(h.ioprio).toBe(0x4004);
        expect(q.sector).toBe(h.sector);
        expect(q.info!.statusByte).toBe(0);
        // Status right after the header (Linux struct virtblk_req).
        expect(BigInt(q.segments.at(-1)!.addr!) - BigInt(q.segments[0]!.addr!)).toBe(16n);
        // Data direction agrees with the decoded type.
        for (const s of q.segments.filter((x) => x.role === 'data')) expect(s.write).toBe(q.op === 'read');
      }
      expect(r.findings.length).toBe(1);
      expectOnlySgio(r.findings, r.requests);
    });
  }

  it('the raw monitor socket transcript is read without skipping anything', async () => {
    const r = await run('hmp-raw-socket-transcript-sample.txt');
    expect(r.formats).toEqual(['qemu-virtqueue']);
    expect(r.skipped).toBe(0);
    expect(r.requests).toEqual([]);
  });
});
