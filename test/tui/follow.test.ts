// Live tail: a writer appends (also splitting a line across writes), truncates, rotates by rename (and keeps
// writing to the renamed file for a moment) and re-creates the log while blkscope follows it
// (runFollowJsonl over the real followSource). Every request appears exactly once and the findings arrive.
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFollowJsonl } from '../../src/cli/follow-jsonl.js';
import { followSource } from '../../src/input/follow.js';
import { xbdLog } from './gen.js';
import { spawn } from 'node:child_process';
import { ensureBuilt, MAIN } from './tmux.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

interface Rec {
  type: string;
  id?: string;
  rule?: string;
  requestId?: string;
}

function follow(file: string) {
  const ac = new AbortController();
  const lines: Rec[] = [];
  let buf = '';
  const done = runFollowJsonl([file], { analyze: {}, signal: ac.signal, pollMs: 20 }, {
    stdout: (s) => {
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, nl)) as Rec);
        buf = buf.slice(nl + 1);
      }
    },
    stderr: () => undefined,
    stdin: process.stdin,
    isTTY: false,
  });
  const requests = () => lines.filter((l) => l.type === 'request').map((l) => l.id!);
  const findings = () => lines.filter((l) => l.type === 'finding');
  const waitRequests = async (n: number, what: string) => {
    const t0 = Date.now();
    while (requests().length < n) {
      if (Date.now() - t0 > 5000) throw new Error(`${what}: ${requests().length} of ${n} requests after 5 s`);
      await sleep(10);
    }
    return Date.now() - t0;
  };
  return { ac, done, lines, requests, findings, waitRequests };
}

describe('follow (tail -F)', () => {
  it('loses and duplicates nothing across appends, truncation, rotation and re-creation', async () => {
    dir = mkdtempSync(join(tmpdir(), 'blkscope-follow-'));
    const log = join(dir, 'xbd.log');
    writeFileSync(log, '');
    const f = follow(log);
    const expected: string[] = [];
    let repeated = 0;
    const add = (g: ReturnType<typeof xbdLog>) => {
      expected.push(...g.ids);
      repeated += g.repeated;
      return g.text;
    };

    // 1. Appends in bursts, one burst cut in the middle of a line.
    const a = add(xbdLog(0x100, 40));
    const cut = a.indexOf('frame_and_sects[1]', a.length >> 1);
    appendFileSync(log, a.slice(0, cut));
    await sleep(80);
    appendFileSync(log, a.slice(cut));
    await f.waitRequests(expected.length, 'appends');
    expect(f.findings().length).toBeGreaterThan(0);

    // 2. Truncation (copytruncate style), then new lines.
    await sleep(60);
    truncateSync(log, 0);
    await sleep(120);
    appendFileSync(log, add(xbdLog(0x200, 30)));
    await f.waitRequests(expected.length, 'after truncation');

    // 3. Rotation by rename: the old writer finishes its last lines in the renamed file, the new file starts.
    renameSync(log, `${log}.1`);
    appendFileSync(`${log}.1`, add(xbdLog(0x300, 5)));
    writeFileSync(log, add(xbdLog(0x400, 40)));
    await f.waitRequests(expected.length, 'after rotation');

    // 4. Removed and re-created.
    unlinkSync(log);
    await sleep(100);
    writeFileSync(log, add(xbdLog(0x500, 20)));
    const latency = await f.waitRequests(expected.length, 'after re-creation');
    expect(latency).toBeLessThan(5000);

    f.ac.abort();
    expect(await f.done).toBe(0);
    const got = f.requests();
    expect(new Set(got).size).toBe(got.length);
    expect([...got].sort()).toEqual([...expected].sort());
    const rf = f.findings().filter((x) => x.rule === 'repeated-frame');
    expect(rf.length).toBe(repeated);
    expect(new Set(rf.map((x) => x.requestId)).size).toBe(repeated);
  });

  it('waits for a missing file, then follows it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'blkscope-follow-'));
    const log = join(dir, 'later.log');
    const f = follow(log);
    await sleep(100);
    const g = xbdLog(0x700, 12);
    writeFileSync(log, g.text);
    await f.waitRequests(12, 'file created later');
    f.ac.abort();
    await f.done;
    expect(f.requests()).toEqual(g.ids);
  });

  it('yields raw chunks with an idle marker and stops on abort', async () => {
    dir = mkdtempSync(join(tmpdir(), 'blkscope-follow-'));
    const log = join(dir, 'raw.log');
    writeFileSync(log, 'one\n');
    const ac = new AbortController();
    const src = followSource(log, { signal: ac.signal, pollMs: 10 });
    expect(src.live).toBe(true);
    const seen: string[] = [];
    const it = src.chunks()[Symbol.asyncIterator]();
    seen.push((await it.next()).value.toString());
    expect((await it.next()).value.length).toBe(0);
    appendFileSync(log, 'two');
    seen.push((await it.next()).value.toString());
    truncateSync(log, 0);
    await sleep(30);
    appendFileSync(log, 'x\n');
    // The partial line "two" is closed before the truncated file is read again.
    const rest: string[] = [];
    for (let i = 0; i < 4 && rest.join('') !== '\nx\n'; i++) rest.push((await it.next()).value.toString());
    ac.abort();
    expect(seen).toEqual(['one\n', 'two']);
    expect(rest.join('')).toBe('\nx\n');
    expect((await it.next()).done).toBe(true);
  });
});

describe('blkscope analyze --follow --json (real binary)', () => {
  it('writes JSON Lines as the file grows and ends cleanly on SIGINT', async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'blkscope-follow-'));
    const log = join(dir, 'cli.log');
    const first = xbdLog(40, 3);
    writeFileSync(log, first.text);
    const child = spawn(process.execPath, [MAIN, 'analyze', '--follow', '--json', log], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const records = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
    const until = async (pred: () => boolean, what: string) => {
      const t0 = Date.now();
      while (!pred()) {
        if (Date.now() - t0 > 8000) throw new Error(`${what}; output:\n${out}`);
        await sleep(20);
      }
    };
    await until(() => records().filter((r) => r.type === 'request').length === 3, 'first requests');
    const more = xbdLog(43, 2); // 43 names one frame twice
    appendFileSync(log, more.text);
    await until(() => records().some((r) => r.type === 'finding' && r.rule === 'repeated-frame'), 'the new finding');
    const code = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    child.kill('SIGINT');
    expect(await code).toBe(0);
    const recs = records();
    expect(recs[0]!.type).toBe('input');
    expect(recs.filter((r) => r.type === 'request').map((r) => r.id)).toEqual([...first.ids, ...more.ids]);
    expect(recs.filter((r) => r.type === 'finding' && r.rule === 'repeated-frame').map((r) => r.requestId)).toEqual(['0x2b']);
  });
});
