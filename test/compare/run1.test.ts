// blkscope compare on real captures: run1's guest traces (ftrace, trace-cmd report, blkparse, blktrace) against
// its host QEMU log. Ground truth (../shared/realtraces/README.md): the host sees SeaBIOS's R 0+1 on each disk
// before the guest kernel runs, two GET_ID requests after the guest tracers stopped, and QEMU's own 512-byte
// read at offset 0 of each image (blk_co_preadv flags 0x0) that no virtio request asked for.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectSide } from '../../src/cli/commands/compare.js';
import { fileSource } from '../../src/input/sources.js';
import { compareViews } from '../../src/model/two-views.js';
import { runCli } from '../helpers.js';

const RUN1 = '../shared/realtraces/run1-qcow2-none';
const RUN6 = '../shared/realtraces/run6-conc-iouring';
const HOST1 = join(RUN1, 'host-trace.log');

/** The vdev pointer of a disk, read from the host log: the device of the marker read at sector 260000. */
function vdevOfMarkerRead(hostLog: string): string {
  const line = readFileSync(hostLog, 'utf8')
    .split('\n')
    .find((l) => /virtio_blk_handle_read vdev \S+ req \S+ sector 260000 nsectors 1$/.test(l))!;
  return /vdev (\S+)/.exec(line)![1]!;
}

const sides = new Map<string, ReturnType<typeof collectSide>>();
function side(file: string) {
  let p = sides.get(file);
  if (!p) sides.set(file, (p = collectSide(fileSource(file))));
  return p;
}

async function compareFiles(guest: string, host: string, opts = {}) {
  const g = await side(guest);
  const h = await side(host);
  expect(g.errors).toEqual([]);
  expect(h.errors).toEqual([]);
  return { g, h, v: compareViews(g, h, opts) };
}

describe('run1: guest ftrace vs host QEMU log', () => {
  it('pairs vda with the host device of the marker reads and matches every guest request', async () => {
    const { g, h, v } = await compareFiles(join(RUN1, 'guest-ftrace-block.txt'), HOST1);
    const vda = vdevOfMarkerRead(HOST1);
    const pair = v.pairs.find((p) => p.guest === '254,0')!;
    expect(pair.host).toBe(vda);
    expect(v.pairs.find((p) => p.guest === '254,16')!.host).not.toBe(vda);
    // Every request the guest issued was seen by QEMU, on the right disk, in order.
    expect(v.counts.guestOnly).toBe(0);
    expect(v.counts.matched).toBe(g.requests.length);
    expect(pair.matched).toBe(g.requests.filter((r) => r.device === '254,0').length);
    // Nothing is missing in the middle on either side.
    expect(v.counts.guestOnlyWithin).toBe(0);
    expect(v.counts.hostOnlyWithin).toBe(0);
    expect(v.counts.matched + v.counts.hostOnly).toBe(h.requests.length);
  });

  it('host-only: SeaBIOS reads before the guest trace, GET_IDs after it; QEMU-internal reads outside any request', async () => {
    const { v } = await compareFiles(join(RUN1, 'guest-ftrace-block.txt'), HOST1);
    const hostOnly = v.rows.filter((r) => r.host && !r.guest);
    const before = hostOnly.filter((r) => r.where === 'before').map((r) => `${r.host!.op} ${r.host!.sector}+${r.host!.sectors}`);
    const after = hostOnly.filter((r) => r.where === 'after').map((r) => r.host!.op);
    expect(before).toEqual(['read 0+1', 'read 0+1']);
    expect(after).toEqual(['get-id', 'get-id']);
    expect(new Set(hostOnly.filter((r) => r.where === 'before').map((r) => r.host!.device)).size).toBe(2);
    // QEMU's own probe reads: blk_co_preadv ... flags 0x0 at the top of the log, one per image.
    const log = readFileSync(HOST1, 'utf8').split('\n');
    const internal = log.map((l, i) => ({ l, n: i + 1 })).filter((x) => /:blk_co_preadv .* flags 0x0$/.test(x.l));
    expect(v.hostIo.map((x) => x.line)).toEqual(internal.map((x) => x.n));
    expect(v.hostIo.every((x) => x.offset === 0 && x.bytes === 512 && x.flags === 0)).toBe(true);
  });

  it('operations named differently are matched by range (WRITE_ZEROES) or by op (DISCARD: no range in QEMU 7.2)', async () => {
    const { v } = await compareFiles(join(RUN1, 'guest-ftrace-block.txt'), HOST1);
    const range = v.rows.filter((r) => r.match === 'range');
    expect(range.map((r) => [r.guest!.op, r.host!.op, r.guest!.sector, r.host!.sector])).toEqual([['unknown', 'write-zeroes', 61440, 61440]]);
    const op = v.rows.filter((r) => r.match === 'op');
    expect(op.map((r) => [r.guest!.op, r.guest!.sector, r.guest!.sectors, r.host!.op])).toEqual([['discard', 57344, 2048, 'discard']]);
  });

  it('guest markers (trace_marker phases) are attached to the rows they precede', async () => {
    const { v } = await compareFiles(join(RUN1, 'guest-ftrace-block.txt'), HOST1);
    const marked = v.rows.filter((r) => r.marker);
    expect(marked.length).toBe(15);
    const p6 = marked.find((r) => r.marker!.startsWith('PHASE 6:'))!;
    // The first request of phase 6 is the marker read 260006.
    expect(p6.guest!.sector).toBe(260006);
    expect(p6.host!.sector).toBe(260006);
  });

  it('the same comparison from trace-cmd report, blkparse text and the blktrace binary', async () => {
    for (const guest of ['guest-trace.dat.report.txt', 'guest-vda.blkparse.txt', 'guest-vda.blktrace.0']) {
      const { g, v } = await compareFiles(join(RUN1, guest), HOST1);
      expect(g.requests.length, guest).toBeGreaterThan(100);
      expect(v.counts.guestOnly, guest).toBe(0);
      expect(v.counts.hostOnlyWithin, guest).toBe(0);
      expect(v.pairs.find((p) => p.guest === '254,0')!.host, guest).toBe(vdevOfMarkerRead(HOST1));
    }
  });
});

describe('run6 (io_uring, concurrent writers and readers)', () => {
  it('every guest request matches despite up to 3 in flight', async () => {
    const { g, v } = await compareFiles(join(RUN6, 'guest-trace.dat.report.txt'), join(RUN6, 'host-trace.log'));
    expect(v.counts.matched).toBe(g.requests.length);
    expect(v.counts.hostOnlyWithin).toBe(0);
    expect(v.hostIo).toHaveLength(1);
  });
});

describe('CLI', () => {
  it('text table, JSON and device options', async () => {
    const t = await runCli(['compare', join(RUN1, 'guest-ftrace-block.txt'), HOST1, '--max-rows', '5']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/guest 254,0 <-> host 0x[0-9a-f]+: \d+ matched/);
    expect(t.stdout).toContain('host only: before the other trace started');
    expect(t.stdout).toContain('blk_co_preadv offset 0 bytes 512 flags 0x0');
    const j = await runCli(['compare', join(RUN1, 'guest-ftrace-block.txt'), HOST1, '--json', '--guest-dev', '254,16']);
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(doc.kind).toBe('compare');
    expect(doc.pairs).toHaveLength(1);
    expect(doc.pairs[0].guest).toBe('254,16');
    expect(doc.pairs[0].chosen).toBe('user');
    expect(doc.unpaired.guest).toEqual(['254,0']);
  });
  it('unreadable side and bad options exit 2 with a one-line message', async () => {
    const a = await runCli(['compare', 'no/such/file', HOST1]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^blkscope: no\/such\/file: .+\n$/);
    const b = await runCli(['compare', HOST1, HOST1, '--window', '-1']);
    expect(b.code).toBe(2);
    const c = await runCli(['compare', '-', '-']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('only one side');
  });
  it('--fail-on-missing: 0 when only the edges differ, 1 when a request in the middle is missing', async () => {
    const ok = await runCli(['compare', join(RUN1, 'guest-ftrace-block.txt'), HOST1, '--max-rows', '0', '--fail-on-missing']);
    expect(ok.code).toBe(0);
    // Drop one mid-trace request (the issue and completion of the phase 3 write at 8448) from the guest trace.
    const text = readFileSync(join(RUN1, 'guest-ftrace-block.txt'), 'utf8')
      .split('\n')
      .filter((l) => !/block_rq_(issue|complete): 254,0 W[S]* (?:\d+ )?\(\) 8448 \+ 128/.test(l))
      .join('\n');
    const bad = await runCli(['compare', '-', HOST1, '--max-rows', '0', '--fail-on-missing'], text);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/write 8448\+128 .*host only: MISSING on the other side/);
  });
  it('one side from standard input', async () => {
    const r = await runCli(['compare', '-', HOST1, '--max-rows', '0'], readFileSync(join(RUN1, 'guest-ftrace-block.txt')));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Matched: \d+/);
    expect(r.stdout).toContain('Guest only: 0');
  });
});
