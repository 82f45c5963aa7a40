// blkscope events on real QEMU 7.2 simpletrace binaries: byte-identical to simpletrace.py's output.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCli } from '../helpers.js';
import { encodeLines } from './build.js';

const R = join(dirname(new URL(import.meta.url).pathname), '../../../shared/realtraces/simpletrace');
const TE = join(R, 'trace-events-all');
const SIMPLE = join(R, 'trace-simple.simpletrace');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'blkscope-st-'));
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** "<size> name" / "<lines>" / "<sha256>  name" lines of a *.sizes-sha256.txt file. */
function recordedSha(file: string, name: string): string {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.endsWith('  ' + name));
  if (!line) throw new Error(`${name} not in ${file}`);
  return line.split(' ')[0]!;
}

describe('blkscope events (simpletrace style)', () => {
  it('trace-simple: output is byte-identical to simpletrace.py', async () => {
    const r = await runCli(['events', '--trace-events', TE, SIMPLE]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(R, 'trace-simple.simpletrace.txt'), 'latin1'));
  });

  it('simpletrace style is the default for binaries and --style simpletrace gives the same', async () => {
    const a = await runCli(['events', '--trace-events', TE, SIMPLE]);
    const b = await runCli(['events', '--style', 'simpletrace', '--trace-events', TE, SIMPLE]);
    expect(b.stdout).toBe(a.stdout);
  });

  it('long73M: its first 3000 simpletrace.py lines survive encode -> decode unchanged', async () => {
    const lines = readFileSync(join(R, 'trace-long73M.simpletrace.txt.first3000lines'), 'latin1').split('\n').filter((l) => l);
    expect(lines.length).toBe(3000);
    const dir = tmp();
    try {
      const f = join(dir, 'first.simpletrace');
      writeFileSync(f, encodeLines(lines));
      const r = await runCli(['events', '--trace-events', TE, f]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(lines.join('\n') + '\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('long73M: its last 1000 lines too (the first delta becomes 0.000)', async () => {
    const lines = readFileSync(join(R, 'trace-long73M.simpletrace.txt.last1000lines'), 'latin1').split('\n').filter((l) => l);
    const dir = tmp();
    try {
      const f = join(dir, 'last.simpletrace');
      writeFileSync(f, encodeLines(lines));
      const r = await runCli(['events', '--trace-events', TE, f]);
      const out = r.stdout.split('\n');
      expect(out[0]).toBe(lines[0]!.replace(/^(\S+) \S+ /, '$1 0.000 '));
      expect(out.slice(1, lines.length).join('\n')).toBe(lines.slice(1).join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const hasXz = spawnSync('xz', ['--version']).status === 0;
  it(`long73M: full decode matches simpletrace.py's recorded sha256 (${hasXz ? 'xz found' : 'no xz: checks the -o path on trace-simple instead'})`, async () => {
    const dir = tmp();
    try {
      const out = join(dir, 'out.txt');
      if (hasXz) {
        const bin = join(dir, 'long73M.simpletrace');
        const x = spawnSync('sh', ['-c', `xz -dc "${join(R, 'trace-long73M.simpletrace.xz')}" > "${bin}"`]);
        expect(x.status).toBe(0);
        expect(await sha256File(bin)).toBe(recordedSha(join(R, 'trace-long73M.sizes-sha256.txt'), 'trace-long73M.simpletrace'));
        const r = await runCli(['events', '--trace-events', TE, '-o', out, bin]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(await sha256File(out)).toBe(recordedSha(join(R, 'trace-long73M.sizes-sha256.txt'), 'simpletrace-out.txt'));
      } else {
        const r = await runCli(['events', '--trace-events', TE, '-o', out, SIMPLE]);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe('');
        expect(await sha256File(out)).toBe(await sha256File(join(R, 'trace-simple.simpletrace.txt')));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});

describe('blkscope events (log style and log-backend input)', () => {
  const strip = (s: string) => s.split('\n').map((l) => l.replace(/^\d+@\d+\.\d{6}:/, ''));

  it('--style log formats every record as the log backend printed the same run', async () => {
    const r = await runCli(['events', '--style', 'log', '--trace-events', TE, SIMPLE]);
    expect(r.code).toBe(0);
    const log = readFileSync(join(R, 'trace-simple.log-backend.txt'), 'utf8');
    // Same events, same printf rendering; only the PID@SEC.USEC prefix differs (monotonic vs wall clock, pid vs tid).
    expect(strip(r.stdout)).toEqual(strip(log));
    expect(r.stdout.split('\n')[0]).toMatch(/^\d+@\d+\.\d{6}:bdrv_co_preadv_part bs 0x[0-9a-f]+ offset \d+ /);
  });

  it('log-backend text normalises to the simpletrace style: same names and arguments', async () => {
    const r = await runCli(['events', '--style', 'simpletrace', '--trace-events', TE, join(R, 'trace-simple.log-backend.txt')]);
    expect(r.code).toBe(0);
    // Deltas come from wall-clock microseconds and pid from the thread id: compare the rest.
    const cut = (s: string) => s.split('\n').map((l) => l.split(' ').filter((_, i) => i !== 1 && i !== 2).join(' '));
    expect(cut(r.stdout)).toEqual(cut(readFileSync(join(R, 'trace-simple.simpletrace.txt'), 'latin1')));
  });

  it('log-backend text is printed as log lines by default', async () => {
    const r = await runCli(['events', '--trace-events', TE, join(R, 'trace-simple.log-backend.txt')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(R, 'trace-simple.log-backend.txt'), 'utf8'));
  });
});

describe('blkscope events: inputs and options', () => {
  it('a missing input file is a one-line input error (exit 2)', async () => {
    const r = await runCli(['events', '--trace-events', TE, '/nonexistent/trace-123']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('/nonexistent/trace-123');
  });

  it('an unreadable --trace-events file is a one-line error (exit 2)', async () => {
    const r = await runCli(['events', '--trace-events', '/nonexistent/te', SIMPLE]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^blkscope: \/nonexistent\/te: cannot read trace-events file: no such file\n$/);
  });

  it('a bad --style is a usage error (exit 2)', async () => {
    const r = await runCli(['events', '--style', 'fancy', SIMPLE]);
    expect(r.code).toBe(2);
  });

  it('reads standard input', async () => {
    const r = await runCli(['events', '--trace-events', TE, '-'], readFileSync(SIMPLE));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(R, 'trace-simple.simpletrace.txt'), 'latin1'));
  });

  it('without --trace-events: the default file when present, else the built-in QEMU 7.2 virtio/block declarations', async () => {
    const r = await runCli(['events', SIMPLE]);
    expect(r.code).toBe(0);
    // Every event of this trace is a virtio/virtqueue/blk/bdrv/qcow2 one: same bytes either way.
    expect(r.stdout).toBe(readFileSync(join(R, 'trace-simple.simpletrace.txt'), 'latin1'));
    if (!existsSync('/usr/share/qemu/trace-events-all')) expect(r.stderr).toContain('built-in QEMU 7.2 virtio/block declarations');
  });

  it('built-in declarations: events outside the subset print raw words, other layouts too', async () => {
    const { TraceBuilder } = await import('./build.js');
    const { parseTraceEvents, BUILTIN_DECLS, BUILTIN_SOURCE } = await import('../../parsers/qemu/trace-events.js');
    const { SimpletraceDecoder } = await import('../../parsers/qemu-simpletrace.js');
    const b = new TraceBuilder()
      .mapping(0, 'runstate_set')
      .mapping(1, 'virtio_notify')
      .event(0, 1000n, 5, [9n, 'running', 5n, 'paused'])
      .event(1, 2000n, 5, [1n, 2n])
      .event(1, 3000n, 5, [1n, 2n, 3n]) // a QEMU with a third argument
      .build();
    const seen: string[] = [];
    const dec = new SimpletraceDecoder(
      {
        event(t, _h, _b, p, e) {
          seen.push(`${t.name}:${t.args ? t.args.map((a) => a.name).join(',') : 'raw'}:${e - p}`);
        },
        malformed(_o, reason) {
          seen.push('malformed ' + reason);
        },
      },
      parseTraceEvents(BUILTIN_DECLS.join('\n'), BUILTIN_SOURCE),
    );
    dec.chunk(b, 0);
    dec.end();
    expect(seen).toEqual(['runstate_set:raw:37', 'virtio_notify:vdev,vq:16', 'virtio_notify:raw:24']);
  });
});
