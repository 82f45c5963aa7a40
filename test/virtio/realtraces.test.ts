// The real QEMU 7.2 log-backend captures in ../shared/realtraces (ground truth in its README).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { analyzeFiles } from '../helpers.js';

const RT = '../shared/realtraces';
const LOGS = [
  `${RT}/run1-qcow2-none/host-trace.log`,
  `${RT}/run4-sigkill/host-trace.log`,
  `${RT}/run6-conc-iouring/host-trace.log`,
  `${RT}/virtio-samples/qemu7.2-log-backend-msg-timestamp.log`,
  `${RT}/virtio-samples/qemu7.2-log-backend-stderr-no-timestamp.log`,
  `${RT}/simpletrace/trace-simple.log-backend.txt`,
];

function pops(file: string): number {
  return (readFileSync(file, 'utf8').match(/(?:^|:)virtqueue_pop /gm) ?? []).length;
}

describe('real log-backend traces', () => {
  for (const file of LOGS) {
    it(`${file.slice(RT.length + 1)}: every line parses, one request per popped element`, async () => {
      const r = await analyzeFiles([file]);
      expect(r.errors).toEqual([]);
      const info = r.inputs[0]!;
      expect(info.format).toBe('qemu-log');
      expect(info.skipped).toBe(0);
      expect(info.records).toBe(info.lines);
      expect(r.requests).toHaveLength(pops(file));
      // Host block-layer I/O is never a request; every request has an op and a device.
      for (const q of r.requests) {
        expect(q.op).not.toBe('unknown');
        expect(q.device).toMatch(/^0x[0-9a-f]+$/);
        expect(q.expectsCompletion).toBe(true);
      }
    });
  }

  it('run1: ops as in the ground truth, the merged read pair, latencies, no error', async () => {
    const r = await analyzeFiles([`${RT}/run1-qcow2-none/host-trace.log`]);
    const by = r.model.stats.byOp;
    // README: phase 6: 4 writes x 2 FLUSH, phase 7: 1, phase 12 (vdb): 4, phase 13: 1.
    expect(by.flush).toBe(14);
    expect(by.discard).toBe(1);
    expect(by['write-zeroes']).toBe(1);
    expect(by['get-id']).toBe(3);
    expect(r.model.findings.filter((f) => f.severity === 'error')).toEqual([]);
    // Two disks.
    expect(new Set(r.requests.map((q) => q.device)).size).toBe(2);
    // Phase 4: W 16384+2048 (not split); phase 10 WRITE_ZEROES 61440+2048 from blk_co_pwritev flags 0x2.
    expect(r.requests.some((q) => q.op === 'write' && q.sector === 16384 && q.sectors === 2048)).toBe(true);
    const wz = r.requests.find((q) => q.op === 'write-zeroes')!;
    expect([wz.sector, wz.sectors]).toEqual([61440, 2048]);
    // GET_ID: fill len 21 = 20-byte id + status.
    expect(r.requests.filter((q) => q.op === 'get-id').every((q) => q.info?.fillLen === 21)).toBe(true);
    // The one virtio_blk_submit_multireq: R 10+2 and R 12+64 merged (offset 5120 bytes, size 33792).
    const merged = r.requests.filter((q) => q.info?.merge);
    expect(merged.map((q) => [q.sector, q.sectors]).sort((a, b) => a[0]! - b[0]!)).toEqual([
      [10, 2],
      [12, 64],
    ]);
    // Reads: fill len = bytes + 1 -> loggedBytes = bytes.
    for (const q of r.requests.filter((x) => x.op === 'read')) expect(q.loggedBytes).toBe(q.bytes);
    for (const q of r.requests) {
      expect(q.state).toBe('completed');
      expect(q.status).toBe('ok');
      expect(q.latency!).toBeGreaterThanOrEqual(0);
      expect(q.completeTime!).toBeGreaterThanOrEqual(q.submitTime!);
    }
    // Keys are unique although element pointers are reused.
    expect(new Set(r.requests.map((q) => q.key)).size).toBe(r.requests.length);
    expect(new Set(r.requests.map((q) => q.id)).size).toBeLessThan(r.requests.length / 10);
  });

  it('run4 (SIGKILL): never-completed on exactly the 5 writes in flight, and unflushed-writes', async () => {
    const r = await analyzeFiles([`${RT}/run4-sigkill/host-trace.log`]);
    const nc = r.model.findings.filter((f) => f.rule === 'never-completed');
    expect(nc).toHaveLength(5);
    const open = r.requests.filter((q) => q.state === 'unfinished');
    expect(open).toHaveLength(5);
    expect(open.every((q) => q.op === 'write')).toBe(true);
    expect(open.map((q) => q.sector)).toContain(171968);
    expect(nc.map((f) => f.requestKey).sort()).toEqual(open.map((q) => q.key).sort());
    const uw = r.model.findings.filter((f) => f.rule === 'unflushed-writes');
    expect(uw).toHaveLength(1);
    expect(uw[0]!.severity).toBe('warning');
    expect(r.model.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('run6 (io_uring, concurrent): luring_* events counted, not requests; no error', async () => {
    const r = await analyzeFiles([`${RT}/run6-conc-iouring/host-trace.log`]);
    expect(r.model.findings.filter((f) => f.severity === 'error')).toEqual([]);
    const qemu = (r.model as unknown as { statsExt: { qemu: { byEvent: Record<string, number> } } }).statsExt.qemu;
    expect(qemu.byEvent.luring_co_submit).toBe(847);
    expect(r.model.stats.byOp.write).toBe(261);
  });
});
