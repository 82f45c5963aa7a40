// The QEMU log's lines read on a worker thread (src/input/text-lane-worker.ts, BLKSCOPE_TEXT_WORKER) must give
// exactly what the in-thread reading gives: requests, findings, statistics, skipped lines and evidence, also where a
// line crosses the end of the head the parser's thread read for detection, a chunk edge of the worker, or carries
// broken UTF-8. Runs the built CLI (`npm test` compiles first), because the worker runs compiled JavaScript.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomQemuLog, xorshift } from './random-trace.js';
import { HEAD_BYTES } from '../../src/analyze.js';
import { LANE_CHUNK, LANE_MIN_BYTES, wantLane } from '../../src/input/text-lane.js';
import { availableParallelism } from 'node:os';

const CLI = 'dist/src/cli/main.js';

function run(mode: 'always' | 'never', file: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'analyze', '--json', file], {
    env: { ...process.env, BLKSCOPE_TEXT_WORKER: mode },
    maxBuffer: 1 << 28,
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Random traces one after the other (re-timed so that time goes on), with byte hazards between the lines. */
function bigLog(bytes: number, seed: number): Buffer {
  const rnd = xorshift(seed);
  const hazards = [Buffer.from('qemu-system-x86_64: café → ✓\n'), Buffer.from([0xc3, 0x0a]), Buffer.from('> quoted line\n'), Buffer.from('\n')];
  const parts: Buffer[] = [];
  let size = 0;
  for (let s = 1; size < bytes; s++) {
    for (const line of randomQemuLog(seed * 1000 + s).split('\n')) {
      if (!line) continue;
      const b = Buffer.from((rnd() < 0.01 ? '> ' : '') + line + (rnd() < 0.01 ? '\r\n' : '\n'));
      parts.push(b);
      size += b.length;
      if (rnd() < 0.005) parts.push(hazards[Math.floor(rnd() * hazards.length)]!);
    }
  }
  return Buffer.concat(parts);
}

describe('QEMU log lines read on a worker thread', () => {
  it('is built', () => {
    expect(existsSync(CLI) && existsSync('dist/src/input/text-lane-worker.js')).toBe(true);
  });

  it('gives the same analysis as the in-thread reading, across the head and the worker chunks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-tl-'));
    const log = bigLog(HEAD_BYTES + 2 * LANE_CHUNK + 5000, 7);
    expect(log.length).toBeGreaterThan(HEAD_BYTES + 2 * LANE_CHUNK);
    const cases: [string, Buffer][] = [
      ['whole.log', log],
      // No newline at the end; a line cut at the head's end; one at the first worker chunk's end.
      ['no-final-newline.log', log.subarray(0, log.length - 7)],
      ['head-mid-line.log', Buffer.concat([log.subarray(0, HEAD_BYTES - 30), Buffer.from('x'.repeat(60)), log.subarray(HEAD_BYTES - 30)])],
      ['chunk-mid-char.log', Buffer.concat([log.subarray(0, HEAD_BYTES + LANE_CHUNK - 1), Buffer.from('é\n'), log.subarray(HEAD_BYTES + LANE_CHUNK - 1)])],
    ];
    for (const [name, data] of cases) {
      const file = join(dir, name);
      writeFileSync(file, data);
      const a = run('never', file);
      const b = run('always', file);
      expect(a.code).toBe(0);
      expect(b.code).toBe(0);
      expect(b.stderr).toBe(a.stderr);
      expect(b.stdout).toBe(a.stdout);
      const input = (JSON.parse(a.stdout) as { inputs: { lines: number; records: number; skipped: number; format: string }[] }).inputs[0]!;
      expect(input.format).toBe('qemu-log');
      expect(input.records).toBeGreaterThan(20000);
      expect(input.skipped).toBeGreaterThan(0);
    }
  });

  it('gives the same analysis when nothing is left after the head', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-tl-'));
    const file = join(dir, 'head-only.log');
    writeFileSync(file, bigLog(HEAD_BYTES + 100, 3).subarray(0, HEAD_BYTES));
    const a = run('never', file);
    const b = run('always', file);
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(b.code).toBe(a.code);
  });

  it('reports a file the worker cannot read as an error of one line (the compiled lane, driven directly)', async () => {
    // The lane as analyze uses it, from the build (the worker runs compiled JavaScript).
    const lane = (await import(join(process.cwd(), 'dist/src/input/text-lane.js'))) as typeof import('../../src/input/text-lane.js');
    const { qemuLog } = await import('../../parsers/qemu-log.js');
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-tl-'));
    const got: number[] = [];
    const sink = { pushRecords: (_c: Buffer, _r: Float64Array, n: number) => void got.push(n) };
    for (const [file, message] of [
      [join(dir, 'missing.log'), 'no such file'],
      [dir, 'is a directory'],
    ] as const) {
      const l = lane.TextLane.start(qemuLog, sink, file, 0, true);
      expect(l).toBeDefined();
      await expect(l!.run({ taken: () => {} })).rejects.toThrow(new RegExp(`^${message}$`));
    }
    expect(got).toEqual([]);
    // And one it can read: every line, in order.
    const file = join(dir, 'ok.log');
    const data = bigLog(3 * LANE_CHUNK, 5);
    writeFileSync(file, data);
    let bytes = 0;
    const l = lane.TextLane.start(qemuLog, sink, file, 0, true)!;
    await l.run({ taken: (b) => void (bytes += b) });
    expect(bytes).toBe(data.length);
    expect(got.length).toBe(Math.ceil(data.length / LANE_CHUNK));
  });

  it('is used for big files only: never for live input (--follow) or input of unknown size (stdin)', () => {
    const saved = process.env.BLKSCOPE_TEXT_WORKER;
    try {
      for (const mode of [undefined, 'auto', 'always', 'never']) {
        if (mode === undefined) delete process.env.BLKSCOPE_TEXT_WORKER;
        else process.env.BLKSCOPE_TEXT_WORKER = mode;
        expect(wantLane(LANE_MIN_BYTES * 4, true)).toBe(false);
        expect(wantLane(undefined, false)).toBe(false);
        const big = wantLane(LANE_MIN_BYTES, false);
        const small = wantLane(LANE_MIN_BYTES - 1, false);
        if (mode === 'never') expect([big, small]).toEqual([false, false]);
        else if (mode === 'always') expect([big, small]).toEqual([true, true]);
        else expect([big, small]).toEqual([availableParallelism() >= 2, false]);
      }
    } finally {
      if (saved === undefined) delete process.env.BLKSCOPE_TEXT_WORKER;
      else process.env.BLKSCOPE_TEXT_WORKER = saved;
    }
  });
});
