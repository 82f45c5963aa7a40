// Linux block traces: blktrace binary and blkparse text against blkparse's own summary blocks and btt's
// latencies, on the real captures in ../shared/realtraces (always), against live blkparse/btt when the
// blktrace package is installed, on generated multi-CPU traces, and on hostile binaries.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { analyzeFiles, analyzeSources, runCli, tally } from '../helpers.js';
import { expandBlktraceInputs, mergedBlktraceSource } from '../../src/input/blktrace-merge.js';
import { bufferSource } from '../../src/input/sources.js';
import { blktrace, rwbsOf } from '../../parsers/blktrace.js';
import { blkparse } from '../../parsers/blkparse.js';
import { parseRwbs } from '../../parsers/linux-block/events.js';
import { renderBlkTables } from '../../src/report/blk-tables.js';
import { encode, fileBytes, synth, type Rec } from './synth.js';

const RT = '../shared/realtraces';
const FIX = 'test/blktrace/fixtures';
const CASES = [
  { name: 'run1-guest-vda', bin: `${RT}/run1-qcow2-none/guest-vda.blktrace.0`, txt: `${RT}/run1-qcow2-none/guest-vda.blkparse.txt` },
  { name: 'run1-guest-vdb', bin: `${RT}/run1-qcow2-none/guest-vdb.blktrace.0`, txt: `${RT}/run1-qcow2-none/guest-vdb.blkparse.txt` },
  { name: 'run6-guest-vda', bin: `${RT}/run6-conc-iouring/guest-vda.blktrace.0`, txt: `${RT}/run6-conc-iouring/guest-vda.blkparse.txt` },
  { name: 'virtio-vda', bin: `${RT}/virtio-samples/vda.blktrace.0`, txt: `${RT}/virtio-samples/blkparse-vda.txt` },
];

const HAVE_TOOLS = ['blkparse', 'btt'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);

interface RW {
  read: number;
  write: number;
}
interface DevStats {
  queued: RW;
  dispatched: RW;
  completed: RW;
  merged: RW;
  requeued: RW;
  queuedKiB: RW;
  dispatchedKiB: RW;
  completedKiB: RW;
  mergedKiB: RW;
  depth: RW;
}
interface Lat {
  n: number;
  min: number;
  avg: number;
  max: number;
}

/** blkparse's summary block for one device: "Total (x):" when there are several CPUs, else the CPU block. */
function summaryOf(text: string): Partial<DevStats> {
  const lines = text.split('\n');
  let start = lines.findIndex((l) => /^Total \(/.test(l));
  if (start < 0) start = lines.findIndex((l) => /^CPU\d+ \(/.test(l));
  expect(start, 'summary block').toBeGreaterThanOrEqual(0);
  const block = lines.slice(start + 1, start + 14).join('\n');
  const pair = (re: RegExp): [number, number] => {
    const m = re.exec(block);
    expect(m, String(re)).not.toBeNull();
    return [Number(m![1]), Number(m![2] ?? 0)];
  };
  const rw = (r: RegExp, w: RegExp) => {
    const a = pair(r);
    const b = pair(w);
    return { n: { read: a[0], write: b[0] }, kib: { read: a[1], write: b[1] } };
  };
  const q = rw(/ Reads Queued:\s+(\d+),\s+(\d+)KiB/, / Writes Queued:\s+(\d+),\s+(\d+)KiB/);
  const d = rw(/ Read Dispatches:\s+(\d+),\s+(\d+)KiB/, / Write Dispatches:\s+(\d+),\s+(\d+)KiB/);
  const c = rw(/ Reads Completed:\s+(\d+),\s+(\d+)KiB/, / Writes Completed:\s+(\d+),\s+(\d+)KiB/);
  const m = rw(/ Read Merges:\s+(\d+),\s+(\d+)KiB/, / Write Merges:\s+(\d+),\s+(\d+)KiB/);
  const r = rw(/ Reads Requeued:\s+(\d+)()/, / Writes Requeued:\s+(\d+)()/);
  const out: Partial<DevStats> = {
    queued: q.n,
    queuedKiB: q.kib,
    dispatched: d.n,
    dispatchedKiB: d.kib,
    completed: c.n,
    completedKiB: c.kib,
    merged: m.n,
    mergedKiB: m.kib,
    requeued: r.n,
  };
  const dep = / Read depth:\s+(\d+)\s+ Write depth:\s+(\d+)/.exec(block);
  if (dep) out.depth = { read: Number(dep[1]), write: Number(dep[2]) };
  return out;
}

/** btt's "All Devices" table: Q2C (or Q2Cdm for majors 9/253/254), D2C, Q2G, G2I, I2D, M2D. */
function bttOf(avg: string): Record<string, Lat> {
  const out: Record<string, Lat> = {};
  const head = avg.split('==================== Device Overhead')[0]!;
  for (const m of head.matchAll(/^(Q2Cdm|Q2C|D2C|Q2G|G2I|I2D|M2D)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s*$/gm)) {
    out[m[1] === 'Q2Cdm' ? 'Q2C' : m[1]!] = { min: Number(m[2]), avg: Number(m[3]), max: Number(m[4]), n: Number(m[5]) };
  }
  return out;
}

function expectLatency(ours: Record<string, Lat>, btt: Record<string, Lat>, what: string): void {
  expect(Object.keys(ours).sort(), `${what}: phases`).toEqual(Object.keys(btt).sort());
  for (const [k, b] of Object.entries(btt)) {
    const o = ours[k]!;
    expect(o.n, `${what} ${k} n`).toBe(b.n);
    expect(Math.abs(o.avg - b.avg), `${what} ${k} avg ${o.avg} vs ${b.avg}`).toBeLessThan(1e-6);
    // btt prints 9 decimals: min and max are exact to the nanosecond.
    expect(Math.abs(o.min - b.min), `${what} ${k} min`).toBeLessThan(1.5e-9);
    expect(Math.abs(o.max - b.max), `${what} ${k} max`).toBeLessThan(1.5e-9);
  }
}

function expectCounts(ours: DevStats, want: Partial<DevStats>, what: string): void {
  for (const [k, v] of Object.entries(want)) expect((ours as unknown as Record<string, unknown>)[k], `${what}: ${k}`).toEqual(v);
}

function statsOf(r: Awaited<ReturnType<typeof analyzeFiles>>): { devices: Record<string, DevStats>; latency: Record<string, Record<string, Lat>> } {
  return r.model.statsExt as never;
}

describe('real captures: blktrace binary and blkparse text', () => {
  for (const c of CASES) {
    it(`${c.name}: binary counts = blkparse summary, latencies = btt 2.09, text parse agrees`, async () => {
      const txt = readFileSync(c.txt, 'utf8');
      const bin = await analyzeFiles([c.bin]);
      expect(bin.errors).toEqual([]);
      expect(bin.inputs[0]!.format).toBe('blktrace');
      expect(bin.inputs[0]!.skipped).toBe(0);
      const s = statsOf(bin);
      const devs = Object.keys(s.devices);
      expect(devs).toHaveLength(1);
      const dev = devs[0]!;
      expectCounts(s.devices[dev]!, summaryOf(txt), `${c.name} binary`);
      // One request per D line (issued to the driver), each completed.
      const dLines = (txt.match(/^\s*\d+,\d+\s+\d+\s+\d+\s+[\d.]+\s+\d+\s+D\s/gm) ?? []).length;
      expect(bin.requests).toHaveLength(dLines);
      expect(bin.model.stats.orphans).toBe(0);
      expect(bin.requests.every((r) => r.state === 'completed' && r.status === 'ok')).toBe(true);
      expectLatency(s.latency[dev]!, bttOf(readFileSync(`${FIX}/${c.name}.btt.avg`, 'utf8')), `${c.name} binary vs btt fixture`);

      const text = await analyzeFiles([c.txt]);
      expect(text.inputs[0]!.format).toBe('blkparse');
      expect(text.inputs[0]!.skipped).toBe(0);
      const t = statsOf(text);
      expectCounts(t.devices[dev]!, summaryOf(txt), `${c.name} text`);
      expectLatency(t.latency[dev]!, s.latency[dev]!, `${c.name} text vs binary`);
      expect(text.requests.map((r) => [r.op, r.sector, r.sectors, r.state])).toEqual(bin.requests.map((r) => [r.op, r.sector, r.sectors, r.state]));
    });
  }

  it('flush quirk and flush sequences: run1 phase 6 gives 4 writes and 8 flushes, all completed', async () => {
    const r = await analyzeFiles(['samples/blktrace/run1-phase6-dsync.blkparse.txt']);
    const ops = tally(r.requests.map((q) => ({ rule: q.op, severity: q.state })));
    expect(ops).toEqual({ 'read/completed': 1, 'write/completed': 4, 'flush/completed': 8 });
    expect(r.model.stats.orphans).toBe(0);
    const w = r.requests.find((q) => q.op === 'write')!;
    expect(w.info).toMatchObject({ rwbs: 'WS' });
    expect((w.info!.bios as { rwbs: string }[])[0]!.rwbs).toBe('WFS');
  });
});

describe('live blkparse / btt (when the blktrace package is installed)', () => {
  it(HAVE_TOOLS ? 'agree with blkparse and btt on a real capture and a generated 3-CPU trace' : 'tools missing: the generated 3-CPU trace agrees with its construction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-bt-'));
    const cpus = synth(3000, 3);
    cpus.forEach((recs, i) => writeFileSync(join(dir, `syn.blktrace.${i}`), fileBytes(recs)));
    const r = await analyzeSources(expandBlktraceInputs([join(dir, 'syn')]));
    expect(r.errors).toEqual([]);
    expect(r.inputs).toHaveLength(1);
    expect(r.inputs[0]!.records).toBe(cpus.reduce((n, c) => n + c.length, 0));
    const s = statsOf(r);
    const merged = Math.ceil(3000 / 8);
    // By construction: every request Q G I D C, every 8th one also Q + M of a second bio.
    expect(s.devices['8,16']!.queued.read + s.devices['8,16']!.queued.write).toBe(3000 + merged);
    expect(s.devices['8,16']!.merged.read + s.devices['8,16']!.merged.write).toBe(merged);
    expect(s.latency['8,16']!.Q2C!.n).toBe(3000 + merged);
    expect(s.latency['8,16']!.M2D!.n).toBe(merged);
    expect(s.latency['8,16']!.Q2G!.n).toBe(3000);
    expect(r.requests).toHaveLength(3000);
    // Merged by time: submissions come in time order.
    for (let i = 1; i < r.requests.length; i++) expect(r.requests[i]!.submitTime!).toBeGreaterThanOrEqual(r.requests[i - 1]!.submitTime!);
    if (!HAVE_TOOLS) return;
    const sum = execFileSync('blkparse', ['-i', join(dir, 'syn'), '-o', join(dir, 'syn.txt')], { stdio: 'pipe' });
    void sum;
    expectCounts(s.devices['8,16']!, summaryOf(readFileSync(join(dir, 'syn.txt'), 'utf8')), 'synthetic vs blkparse');
    execFileSync('blkparse', ['-q', '-i', join(dir, 'syn'), '-d', join(dir, 'syn.bin'), '-O'], { stdio: 'pipe' });
    execFileSync('btt', ['-i', join(dir, 'syn.bin'), '-o', join(dir, 'syn.btt')], { stdio: 'pipe', cwd: dir });
    expectLatency(s.latency['8,16']! as Record<string, Lat>, bttOf(readFileSync(join(dir, 'syn.btt.avg'), 'utf8')), 'synthetic vs btt');
    // And a real capture, through the live tools.
    const c = CASES[1]!;
    copyFileSync(c.bin, join(dir, 'vdb.blktrace.0'));
    execFileSync('blkparse', ['-q', '-i', join(dir, 'vdb'), '-d', join(dir, 'vdb.bin'), '-O'], { stdio: 'pipe' });
    execFileSync('btt', ['-i', join(dir, 'vdb.bin'), '-o', join(dir, 'vdb.btt')], { stdio: 'pipe', cwd: dir });
    const real = await analyzeFiles([c.bin]);
    expectLatency(statsOf(real).latency['254,16']!, bttOf(readFileSync(join(dir, 'vdb.btt.avg'), 'utf8')), 'vdb vs live btt');
  });
});

describe('per-CPU merge and inputs', () => {
  it('merged per-CPU files give the same statistics as one time-sorted file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-merge-'));
    const cpus = synth(500, 4);
    cpus.forEach((recs, i) => writeFileSync(join(dir, `m.blktrace.${i}`), fileBytes(recs)));
    const all = cpus.flat().sort((a, b) => a.time - b.time);
    writeFileSync(join(dir, 'one.blktrace.0'), fileBytes(all));
    // Files named out of order, as a shell glob might not sort them.
    const files = [3, 1, 0, 2].map((i) => join(dir, `m.blktrace.${i}`));
    const a = await analyzeSources(expandBlktraceInputs(files));
    const b = await analyzeFiles([join(dir, 'one.blktrace.0')]);
    expect(a.inputs).toHaveLength(1);
    expect(statsOf(a).devices).toEqual(statsOf(b).devices);
    expect(statsOf(a).latency).toEqual(statsOf(b).latency);
    // Evidence names the real per-CPU file and offset.
    const ev = a.requests[1]!.evidence[0]!;
    expect(basename(ev.file)).toBe('m.blktrace.1');
    expect(ev.offset).toBe(0);
  });

  it('a single stream holding several CPUs out of time order is reported (blk-unsorted)', async () => {
    const cpus = synth(50, 2);
    const cat = Buffer.concat([fileBytes(cpus[0]!), fileBytes(cpus[1]!)]);
    const r = await analyzeSources([bufferSource('cat.blktrace', cat)]);
    expect(r.model.stats.diagnostics['blk-unsorted']).toBe(1);
    const sorted = await analyzeSources(expandBlktraceInputs([]).concat([bufferSource('s.blktrace', fileBytes(cpus.flat().sort((a, b) => a.time - b.time)))]));
    expect(sorted.model.stats.diagnostics['blk-unsorted']).toBeUndefined();
  });

  it('a piped stream with CPU batches interleaved (blktrace -o -) is put back in time order', async () => {
    const cpus = synth(400, 2);
    // Batches of 64 records per CPU, alternating, as relay buffers are flushed.
    const parts: Rec[] = [];
    for (let k = 0; k < Math.max(cpus[0]!.length, cpus[1]!.length); k += 64) parts.push(...cpus[0]!.slice(k, k + 64), ...cpus[1]!.slice(k, k + 64));
    const piped = await analyzeSources([bufferSource('-', fileBytes(parts), 1000)]);
    const sorted = await analyzeSources([bufferSource('s', fileBytes(cpus.flat().sort((a, b) => a.time - b.time)))]);
    // Only the first record found out of order is used late; everything after is sorted in the window.
    expect(piped.model.stats.diagnostics['blk-unsorted']).toBe(1);
    expect(piped.requests).toHaveLength(400);
    expect(statsOf(piped).devices['8,16']!.queued).toEqual(statsOf(sorted).devices['8,16']!.queued);
    expect(statsOf(piped).latency['8,16']!.Q2G!.n).toBeGreaterThanOrEqual(statsOf(sorted).latency['8,16']!.Q2G!.n - 1);
  });

  it('CLI: a base name merges its per-CPU files; stdin works; exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-cli-'));
    synth(200, 2).forEach((recs, i) => writeFileSync(join(dir, `v.blktrace.${i}`), fileBytes(recs)));
    const r = await runCli(['analyze', join(dir, 'v')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('v.blktrace.*: blktrace; ');
    expect(r.stdout).toContain('Requests: 200');
    expect(r.stdout).toMatch(/Q2C\s+225\s/);
    const one = readFileSync(join(dir, 'v.blktrace.0'));
    const s = await runCli(['analyze', '-'], one);
    expect(s.stdout).toContain('Requests: 100');
    const missing = await runCli(['analyze', join(dir, 'nothing-here')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nothing-here');
    expect(readdirSync(dir).length).toBe(2);
  });
});

describe('hostile binaries: good records kept, bad offset reported', () => {
  const recs = synth(40, 1)[0]!;
  const good = fileBytes(recs);
  const nrec = recs.length;

  it('truncated in the middle of a record', async () => {
    const cut = 48 * 20 + 30;
    const r = await analyzeSources([bufferSource('t.blktrace.0', good.subarray(0, cut), 100)]);
    expect(r.inputs[0]!.records).toBe(20);
    expect(r.inputs[0]!.skipped).toBe(1);
    expect(r.inputs[0]!.skippedSamples[0]!.evidence.offset).toBe(48 * 20);
    expect(r.inputs[0]!.skippedSamples[0]!.reason).toMatch(/truncated.*30 of 48/);
  });

  it('garbage between records', async () => {
    const at = 48 * 17;
    const junk = Buffer.alloc(101, 0x5a);
    const data = Buffer.concat([good.subarray(0, at), junk, good.subarray(at)]);
    const r = await analyzeSources([bufferSource('g.blktrace.0', data, 64)]);
    expect(r.inputs[0]!.records).toBe(nrec);
    expect(r.inputs[0]!.skipped).toBe(1);
    expect(r.inputs[0]!.skippedSamples[0]!.evidence.offset).toBe(at);
    expect(r.inputs[0]!.skippedSamples[0]!.reason).toMatch(/bad magic/);
    expect(r.requests).toHaveLength(40);
  });

  it('byte-swapped (big-endian) file gives the same result', async () => {
    const be = Buffer.concat(recs.map((x) => encode(x, false)));
    const a = await analyzeSources([bufferSource('be.blktrace.0', be)]);
    const b = await analyzeSources([bufferSource('le.blktrace.0', good)]);
    expect(a.inputs[0]!.format).toBe('blktrace');
    expect(a.inputs[0]!.skipped).toBe(0);
    expect(statsOf(a)).toEqual(statsOf(b));
  });

  it('unsupported version, absurd trailing bytes, and garbage inside one per-CPU file of a merge', async () => {
    const v8 = Buffer.from(good);
    v8[48 * 5] = 0x08; // record 5 claims version 8
    const r = await analyzeSources([bufferSource('v8.blktrace.0', Buffer.concat([v8, Buffer.from([1, 2, 3])]))]);
    expect(r.inputs[0]!.records).toBe(nrec - 1);
    const reasons = r.inputs[0]!.skippedSamples.map((s) => [s.evidence.offset, s.reason]);
    expect(reasons[0]).toEqual([48 * 5, expect.stringMatching(/version 8/)]);
    expect(reasons.at(-1)![0]).toBe(good.length);

    const dir = mkdtempSync(join(tmpdir(), 'blkscope-bad-'));
    const cpus = synth(60, 2);
    writeFileSync(join(dir, 'b.blktrace.0'), fileBytes(cpus[0]!));
    const f1 = fileBytes(cpus[1]!);
    writeFileSync(join(dir, 'b.blktrace.1'), Buffer.concat([f1.subarray(0, 48 * 9), Buffer.alloc(7, 0xee), f1.subarray(48 * 9)]));
    const m = await analyzeSources([mergedBlktraceSource([join(dir, 'b.blktrace.0'), join(dir, 'b.blktrace.1')], join(dir, 'b.blktrace.*'))]);
    expect(m.inputs[0]!.records).toBe(cpus[0]!.length + cpus[1]!.length);
    expect(m.inputs[0]!.skipped).toBe(1);
    const bad = m.inputs[0]!.skippedSamples[0]!.evidence;
    expect([basename(bad.file), bad.offset]).toEqual(['b.blktrace.1', 48 * 9]);
  });

  it('empty and tiny inputs are errors or skips, never crashes', async () => {
    for (const data of [Buffer.alloc(0), Buffer.from([7, 0x74, 0x61]), Buffer.from([7, 0x74, 0x61, 0x65, 0, 0, 0])]) {
      const r = await analyzeSources([bufferSource('x.blktrace.0', data)], { inputFormat: 'blktrace' });
      expect(r.requests).toHaveLength(0);
      expect((r.inputs[0]!.error ?? '') + r.inputs[0]!.skippedSamples.map((s) => s.reason).join()).not.toBe('');
    }
  });

  it('requeues: a request requeued 3 times is one request issued 4 times, flagged by requeue-storm', async () => {
    const cpus = synth(24, 1, { requeueEvery: 8 });
    const r = await analyzeSources([bufferSource('rq.blktrace.0', fileBytes(cpus[0]!))]);
    expect(r.requests).toHaveLength(24);
    const rq = r.requests.filter((q) => q.info!.requeues === 3);
    expect(rq).toHaveLength(3);
    expect(rq.every((q) => q.info!.issues === 4 && q.state === 'completed')).toBe(true);
    expect(statsOf(r).devices['8,16']!.requeued.read + statsOf(r).devices['8,16']!.requeued.write).toBe(9);
    expect(tally(r.model.findings)['requeue-storm/warning']).toBe(3);
  });
});

describe('formats: samples, rwbs, tables', () => {
  it('blkparse samples match their pattern and fields', () => {
    for (const s of blkparse.samples) {
      const m = blkparse.match!(s.line.trim());
      expect(m, s.line).not.toBeNull();
      expect(m).not.toBe('malformed');
      if (!m || m === 'malformed') continue;
      expect(m.pattern, s.line).toBe(s.pattern);
      expect(blkparse.patterns[s.pattern]!.test(s.line.trim()), `${s.pattern} regex: ${s.line}`).toBe(true);
      for (const [k, v] of Object.entries(s.fields ?? {})) expect(m.groups[k], `${s.line} ${k}`).toBe(String(v));
    }
    expect(blkparse.match!('CPU0 (guest-vda):')).toBeNull();
    expect(blkparse.match!('254,0    0      611     0.082212705     0  C  FN zz [0]')).toBe('malformed');
  });

  it('blktrace sample record decodes', async () => {
    const r = await analyzeSources([bufferSource('s.blktrace.0', Buffer.from(blktrace.samples[0]!.hex, 'hex'))]);
    expect(r.inputs[0]!.format).toBe('blktrace');
    expect(r.inputs[0]!.records).toBe(1);
    expect(statsOf(r).devices['254,0']!.queued).toEqual({ read: 0, write: 1 });
    // The real capture's TIMESTAMP notify record gives the wall clock at trace start (2026 on that host).
    const v = await analyzeFiles(['samples/blktrace/virtio-vda.blktrace.0']);
    const st = (v.model.statsExt as { blkAssembler: { traceStartEpoch: number } }).blkAssembler.traceStartEpoch;
    expect(new Date(st * 1000).getUTCFullYear()).toBe(2026);
    expect(v.requests[0]!.info!.bios).toMatchObject([{ comm: 'dd' }]);
  });

  it('rwbs: blkparse letters from category bits, and ops from rwbs', () => {
    expect(rwbsOf(0x11a >> 0, true)).toBe('WS');
    expect(rwbsOf((1 << 2) | (1 << 3) | 2, false)).toBe('FWS');
    expect(rwbsOf(1 << 2, false)).toBe('FN');
    expect(rwbsOf((1 << 13) | 2 | (1 << 3), true)).toBe('DS');
    expect(rwbsOf(1 | (1 << 11), true)).toBe('RA');
    expect(parseRwbs('FWS')).toMatchObject({ op: 'write', preflush: true, sync: true, write: true });
    expect(parseRwbs('FN')).toMatchObject({ op: 'flush' });
    expect(parseRwbs('FF')).toMatchObject({ op: 'flush', preflush: true });
    expect(parseRwbs('WFS')).toMatchObject({ op: 'write', fua: true });
    expect(parseRwbs('DE')).toMatchObject({ op: 'secure-erase' });
    expect(parseRwbs('RA')).toMatchObject({ op: 'read', ahead: true, write: false });
  });

  it('tables fit 72 columns of printable ASCII', async () => {
    const r = await analyzeFiles([CASES[0]!.bin]);
    const s = renderBlkTables(r.model.statsExt as never);
    expect(s).toContain('Q2C');
    for (const line of s.trimEnd().split('\n')) {
      expect(line.length, line).toBeLessThanOrEqual(72);
      expect(line).toMatch(/^[\x20-\x7e]*$/);
      expect(line).not.toMatch(/ $/);
    }
    expect(renderBlkTables({})).toBe('');
    expect(renderBlkTables({ devices: { '\u001b[31m,0': { queued: { read: 1, write: 0 }, merged: { read: 0, write: 0 }, dispatched: { read: 0, write: 0 }, completed: { read: 0, write: 0 } } } })).not.toContain('\u001b');
  });
});

describe('blktrace samples match their expected findings', () => {
  const dir = 'samples/blktrace';
  const cases = readdirSync(dir).filter((f) => f.endsWith('.expected.json'));
  it('has samples with provenance notes', () => {
    expect(cases.length).toBeGreaterThanOrEqual(3);
  });
  for (const c of cases) {
    const base = c.slice(0, -'.expected.json'.length);
    it(base, async () => {
      const input = readdirSync(dir).find((n) => n.startsWith(base + '.') && !n.endsWith('.json') && !n.endsWith('.md'))!;
      readFileSync(join(dir, `${base}.md`), 'utf8');
      const exp = JSON.parse(readFileSync(join(dir, c), 'utf8')) as { requests: number; findings: { rule: string; severity: string; count: number }[] };
      const r = await analyzeFiles([join(dir, input)]);
      expect(r.errors).toEqual([]);
      expect(r.inputs[0]!.skipped).toBe(0);
      expect(r.requests).toHaveLength(exp.requests);
      const want: Record<string, number> = {};
      for (const f of exp.findings) want[`${f.rule}/${f.severity}`] = f.count;
      expect(tally(r.model.findings)).toEqual(want);
    });
  }
});

export type { Rec };
