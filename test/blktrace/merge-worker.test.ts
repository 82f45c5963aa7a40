// The per-CPU merge on a worker thread (src/input/blktrace-merge-worker.ts) must give exactly what the in-thread
// merge gives: same requests, statistics, skipped records and evidence (file and byte offset in the per-CPU
// file). Runs the built CLI (`npm test` compiles first), because the worker runs compiled JavaScript.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV, fileBytes, synth } from './synth.js';

const CLI = 'dist/src/cli/main.js';

function run(mode: 'always' | 'never', args: string[]): { code: number; json: Record<string, unknown>; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'analyze', '--json', ...args], {
    env: { ...process.env, BLKSCOPE_MERGE_WORKER: mode },
    maxBuffer: 1 << 28,
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, json: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
}

describe('blktrace merge on a worker thread', () => {
  it('is built', () => {
    expect(existsSync(CLI) && existsSync('dist/src/input/blktrace-merge-worker.js')).toBe(true);
  });

  it('gives the same analysis as the in-thread merge, garbage and truncated tails included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-mw-'));
    // ~6000 requests: more than one 256 KiB merged chunk, so origins of several chunks are used.
    const cpus = synth(6000, 3);
    // Notify records with payloads the parser reads from the bytes: process names (issuers) and a message.
    const notify = (cpu: number, time: number, pid: number, code: number, text: string) => ({
      seq: 0, time, sector: 0, bytes: 0, action: ((1 << 10) << 16) | code, pid, dev: DEV, cpu, pdu: Buffer.from(text + '\0'),
    });
    for (let c = 0; c < 3; c++) {
      cpus[c]!.unshift(...[0, 1, 2, 3, 4, 5, 6].map((k) => notify(c, 100 + k, 1000 + k, 0, `fio-job-${k}-cpu${c}`)));
      const mid = cpus[c]!.length >> 1;
      cpus[c]!.splice(mid, 0, notify(c, cpus[c]![mid]!.time, 1, 2, 'x'.repeat(3000)));
    }
    const f0 = fileBytes(cpus[0]!);
    const f1 = fileBytes(cpus[1]!);
    writeFileSync(join(dir, 'w.blktrace.0'), f0.subarray(0, f0.length - 20)); // truncated last record
    const cut = fileBytes(cpus[1]!.slice(0, 500)).length;
    writeFileSync(join(dir, 'w.blktrace.1'), Buffer.concat([f1.subarray(0, cut), Buffer.alloc(13, 0xee), f1.subarray(cut)]));
    writeFileSync(join(dir, 'w.blktrace.2'), fileBytes(cpus[2]!, false)); // big-endian (a trace from a BE host)
    const base = join(dir, 'w');
    const a = run('never', [base]);
    const b = run('always', [base]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(b.stderr).toBe(a.stderr);
    const input = (a.json.inputs as { records: number; skipped: number; skippedSamples: { file: string; offset: number; reason: string }[] }[])[0]!;
    expect(input.records).toBe(cpus[0]!.length - 1 + cpus[1]!.length + cpus[2]!.length);
    expect(input.skipped).toBe(2);
    expect(input.skippedSamples.map((s) => [s.file.replace(dir, ''), s.offset])).toEqual([
      ['/w.blktrace.1', cut],
      ['/w.blktrace.0', f0.length - 48],
    ]);
    expect((a.json.requests as unknown[]).length).toBe(6000); // the truncated record is a C: its request stays in flight
    const issuers = new Set((a.json.requests as { info: { issuer?: string } }[]).map((q) => q.info.issuer));
    expect(issuers.has('fio-job-3-cpu2')).toBe(true); // one name per pid: the last notify (CPU 2's) wins, as in blkparse
    expect(b.json).toEqual(a.json);
  });

  it('a missing per-CPU file is the same one-line input error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-mw-'));
    const cpus = synth(10, 2);
    writeFileSync(join(dir, 'm.blktrace.0'), fileBytes(cpus[0]!));
    const r0 = spawnSync(process.execPath, [CLI, 'analyze', join(dir, 'm.blktrace.0'), join(dir, 'm.blktrace.1')], { env: { ...process.env, BLKSCOPE_MERGE_WORKER: 'always' }, encoding: 'utf8' });
    const r1 = spawnSync(process.execPath, [CLI, 'analyze', join(dir, 'm.blktrace.0'), join(dir, 'm.blktrace.1')], { env: { ...process.env, BLKSCOPE_MERGE_WORKER: 'never' }, encoding: 'utf8' });
    expect(r0.status).toBe(r1.status);
    expect(r0.stderr).toBe(r1.stderr);
  });
});
