// simpletrace binaries that are cut, corrupt or built by hand: every good record is kept, the bad spot is
// reported in one line with its byte offset, nothing crashes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCli, analyzeSources } from '../helpers.js';
import { bufferSource } from '../../src/input/sources.js';
import { SimpletraceDecoder, qemuSimpletrace, type EventType } from '../../parsers/qemu-simpletrace.js';
import { loadTraceEvents } from '../../parsers/qemu/trace-events.js';
import { TraceBuilder } from './build.js';

const R = join(dirname(new URL(import.meta.url).pathname), '../../../shared/realtraces/simpletrace');
const TE = join(R, 'trace-events-all');
const SIMPLE = readFileSync(join(R, 'trace-simple.simpletrace'));
const SIMPLE_TXT = readFileSync(join(R, 'trace-simple.simpletrace.txt'), 'latin1');
const te = loadTraceEvents(TE)!;

async function eventsOf(data: Buffer, extra: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'blkscope-st-'));
  try {
    const f = join(dir, 'trace-1');
    writeFileSync(f, data);
    const r = await runCli(['events', '--trace-events', TE, ...extra, f]);
    return { ...r, file: f };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** End offsets of complete event records in a v4 file, framed independently of the parser. */
function eventEnds(b: Buffer): number[] {
  const ends: number[] = [];
  let p = 24;
  while (p + 8 <= b.length) {
    const t = b.readUInt32LE(p);
    if (t === 0) {
      if (p + 20 > b.length) break;
      p += 20 + b.readUInt32LE(p + 16);
    } else {
      if (p + 32 > b.length) break;
      const len = b.readUInt32LE(p + 24);
      if (p + 8 + len > b.length) break;
      p += 8 + len;
      ends.push(p);
    }
  }
  return ends;
}

describe('truncated files', () => {
  const ends = eventEnds(SIMPLE);
  const lines = SIMPLE_TXT.split('\n');
  // Cuts: inside the file header, inside the mapping records, inside an event header, inside event arguments.
  const cuts = [10, 24 + 1000, ends[100]! + 12, ends[1500]! + 40, SIMPLE.length - 3];

  for (const cut of cuts) {
    it(`cut at byte ${cut}: every complete record printed, the offset reported in one line, exit 2`, async () => {
      const r = await eventsOf(SIMPLE.subarray(0, cut));
      const complete = ends.filter((e) => e <= cut).length;
      expect(r.stdout).toBe(complete ? lines.slice(0, complete).join('\n') + '\n' : '');
      expect(r.code).toBe(2);
      const err = r.stderr.trim().split('\n');
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/truncated/);
      const start = cut < 24 ? 0 : Math.max(24, ...ends.filter((e) => e <= cut));
      if (cut >= 24 && cut < ends[0]!) {
        // inside the mapping records: the offset is that of the cut mapping record
        expect(err[0]).toMatch(/truncated mapping record at byte \d+/);
      } else if (cut >= 24) expect(err[0]).toContain(`at byte ${start}`);
    });
  }

  it('analyze keeps the requests completed before the cut and reports the offset', async () => {
    const cut = ends[1500]! + 40;
    const res = await analyzeSources([bufferSource('cut.simpletrace', SIMPLE.subarray(0, cut), 4096)], { traceEvents: TE });
    const info = res.inputs[0]!;
    expect(info.format).toBe('qemu-simpletrace');
    expect(info.records).toBe(1501);
    expect(info.skippedSamples.map((s) => s.reason).join('\n')).toContain(`truncated event record at byte ${ends[1500]}`);
    expect(res.requests.length).toBeGreaterThan(50);
  });
});

describe('corrupt headers and records', () => {
  it('wrong magic: one line naming the problem, nothing printed, exit 2', async () => {
    const b = Buffer.from(SIMPLE);
    b[9] ^= 0xff;
    const r = await eventsOf(b);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('bad header magic');
  });

  it('unsupported versions are named', async () => {
    for (const [v, msg] of [
      [0, 'version 0'],
      [5, 'unknown simpletrace log version 5'],
    ] as const) {
      const b = Buffer.from(SIMPLE);
      b.writeUInt32LE(v, 16);
      const r = await eventsOf(b);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(msg);
    }
  });

  it('absurd length fields stop decoding at that record, earlier records kept', async () => {
    const ends = eventEnds(SIMPLE);
    for (const len of [0, 23, 0x7fffffff, 0xffffffff]) {
      const b = Buffer.from(SIMPLE);
      b.writeUInt32LE(len, ends[9]! + 24); // record 11's length
      const r = await eventsOf(b);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe(SIMPLE_TXT.split('\n').slice(0, 10).join('\n') + '\n');
      expect(r.stderr).toContain(`event record at byte ${ends[9]}: absurd length ${len}`);
    }
  });

  it('an absurd mapping name length stops decoding', async () => {
    const b = new TraceBuilder().mapping(0, 'virtio_notify').build();
    b.writeUInt32LE(0x40000000, 24 + 16);
    const r = await eventsOf(b);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('mapping record at byte 24: absurd name length 1073741824');
  });

  it('an unknown record type stops decoding with its offset', async () => {
    const b = new TraceBuilder().mapping(0, 'virtio_notify').event(0, 100n, 7, [1n, 2n]).raw(Buffer.from('0700000000000000', 'hex')).build();
    const r = await eventsOf(b);
    expect(r.stdout).toBe('virtio_notify 0.000 pid=7 vdev=0x1 vq=0x2\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`unknown record type 7 at byte ${b.length - 8}`);
  });

  it('an event with no mapping, or whose arguments disagree with trace-events, is skipped and named', async () => {
    const b = new TraceBuilder()
      .mapping(0, 'virtio_notify')
      .event(5, 100n, 7, [1n])
      .event(0, 200n, 7, [1n]) // virtio_notify has two arguments
      .event(0, 300n, 7, [1n, 2n])
      .build();
    const r = await eventsOf(b);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('virtio_notify 0.000 pid=7 vdev=0x1 vq=0x2\n');
    expect(r.stderr).toContain('event id 5 has no mapping record');
    expect(r.stderr).toContain('virtio_notify record at byte');
    expect(r.stderr).toContain('wrong trace-events file?');
  });

  it('an event missing from trace-events prints raw words and one warning', async () => {
    const b = new TraceBuilder().mapping(3, 'made_up_event').event(3, 5000n, 9, [0xabn, 0n]).event(3, 6500n, 9, [1n, 2n]).build();
    const r = await eventsOf(b);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('made_up_event 0.000 pid=9 arg0=0xab arg1=0x0\nmade_up_event 1.500 pid=9 arg0=0x1 arg1=0x2\n');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('made_up_event is not declared');
  });

  it('garbage: never a crash, always exit 2 with one line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.boolean(), async (bytes, withHeader) => {
        const data = withHeader ? Buffer.concat([SIMPLE.subarray(0, 24), Buffer.from(bytes)]) : Buffer.from(bytes);
        const r = await eventsOf(data);
        expect([0, 2]).toContain(r.code);
        expect(r.stderr).not.toMatch(/internal error|at .*\.ts:\d+/);
        if (r.code === 2) expect(r.stderr.length).toBeGreaterThan(0);
      }),
      { numRuns: 60 },
    );
  });

  it('an empty file is an input error', async () => {
    const r = await eventsOf(Buffer.alloc(0));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('empty input');
  });
});

describe('hand-built records', () => {
  // The expected lines of this test were checked against QEMU 7.2's scripts/simpletrace.py itself
  // (sha256 1e0da9ae...2674247, Python 3.11) on the same bytes: identical output.
  it('string arguments print as Python bytes reprs (quotes, escapes, non-ASCII)', async () => {
    const b = new TraceBuilder()
      .mapping(0, 'bdrv_open_common')
      .mapping(1, 'runstate_set')
      .mapping(2, 'vm_stop_flush_all')
      .mapping(3, 'guest_cpu_enter')
      .event(0, 1_000_000n, 4242, [0x55aa00n, '/tmp/rt2/taskB/medium/vda.qcow2', 0x2002n, 'qcow2'])
      .event(0, 1_000_999n, 4242, [0n, "it's", 0n, 'say "hi"'])
      .event(0, 1_001_000n, 4242, [0n, 'both \' and "', 0n, Buffer.from([0, 9, 10, 13, 0x5c, 0x7f, 0x80, 0xff, 0x41])])
      .event(1, 1_001_000n, 4242, [9n, 'running', 0xffffffffn, ''])
      .event(2, 1_000_500n, 4242, [0xfffffffffffffffbn])
      .event(3, 1_000_500n, 4242, [0x7f00n])
      .dropped(2_000_500n, 4242, 17n)
      .build();
    const r = await eventsOf(b);
    // simpletrace.py prints the negative delta silently; blkscope also says so on stderr.
    expect(r.stderr).toMatch(/^blkscope: \S+: 1 records have a timestamp earlier than the record before them \(negative delta; first at byte \d+\)\n$/);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      "bdrv_open_common 0.000 pid=4242 bs=0x55aa00 filename=b'/tmp/rt2/taskB/medium/vda.qcow2' flags=0x2002 format_name=b'qcow2'",
      'bdrv_open_common 0.999 pid=4242 bs=0x0 filename=b"it\'s" flags=0x0 format_name=b\'say "hi"\'',
      "bdrv_open_common 0.001 pid=4242 bs=0x0 filename=b'both \\' and \"' flags=0x0 format_name=b'\\x00\\t\\n\\r\\\\\\x7f\\x80\\xffA'",
      "runstate_set 0.000 pid=4242 current_state=0x9 current_state_str=b'running' new_state=0xffffffff new_state_str=b''",
      'vm_stop_flush_all -0.500 pid=4242 ret=0xfffffffffffffffb',
      'guest_cpu_enter 0.000 pid=4242 __cpu=0x7f00',
      'Dropped_Event 1000.000 pid=4242 num_events_dropped=0x11',
      '',
    ]);
  });

  it('--style log renders the printf formats (signed ints, %p, (nil), strings)', async () => {
    const b = new TraceBuilder()
      .mapping(0, 'bdrv_open_common')
      .mapping(1, 'vm_stop_flush_all')
      .mapping(2, 'virtio_blk_rw_complete')
      .event(0, 2_000_000_123_456n, 4242, [0x55aa00n, '/tmp/x.qcow2', 0x2002n, 'qcow2'])
      .event(1, 2_000_000_223_456n, 4242, [0xfffffffffffffffbn])
      .event(2, 2_000_001_000_000n, 4242, [0n, 0x55bbn, 0xfffffffffffffffbn])
      .build();
    const r = await eventsOf(b, ['--style', 'log']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '4242@2000.000123:bdrv_open_common bs 0x55aa00 filename "/tmp/x.qcow2" flags 0x2002 format_name "qcow2"',
      '4242@2000.000223:vm_stop_flush_all ret -5',
      '4242@2000.001000:virtio_blk_rw_complete vdev (nil) req 0x55bb ret -5',
      '',
    ]);
  });

  it('v3 and v2 files name events by trace-events order', async () => {
    const idx = (n: string) => te.list.findIndex((d) => d.name === n);
    for (const v of [3, 2]) {
      const b = new TraceBuilder(v).event(idx('virtio_notify'), 10_000n, v === 3 ? 77 : 0, [1n, 2n]).event(idx('virtqueue_flush'), 12_500n, v === 3 ? 77 : 0, [3n, 1n]).build();
      const r = await eventsOf(b);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`virtio_notify 0.000 pid=${v === 3 ? 77 : 0} vdev=0x1 vq=0x2\nvirtqueue_flush 2.500 pid=${v === 3 ? 77 : 0} vq=0x3 count=0x1\n`);
    }
  });

  it('mapping records after events (modules loaded later) are honoured', async () => {
    const b = new TraceBuilder().mapping(0, 'virtio_notify').event(0, 1000n, 1, [1n, 2n]).mapping(0, 'virtqueue_flush').event(0, 2000n, 1, [3n, 4n]).build();
    const r = await eventsOf(b);
    expect(r.stdout).toBe('virtio_notify 0.000 pid=1 vdev=0x1 vq=0x2\nvirtqueue_flush 1.000 pid=1 vq=0x3 count=0x4\n');
  });
});

describe('the qemu-simpletrace format', () => {
  it('detects its header only', () => {
    expect(qemuSimpletrace.detect(SIMPLE.subarray(0, 4096))).toBe(1);
    expect(qemuSimpletrace.detect(SIMPLE.subarray(0, 23))).toBe(0);
    expect(qemuSimpletrace.detect(Buffer.from('15805@1795472738.529230:bdrv_co_preadv_part bs 0x564ce251a200'))).toBe(0);
    const wrong = Buffer.from(SIMPLE.subarray(0, 64));
    wrong[8] = 0;
    expect(qemuSimpletrace.detect(wrong)).toBe(0);
  });

  it('its registry sample decodes to one record', () => {
    let n = 0;
    const names: string[] = [];
    const dec = new SimpletraceDecoder(
      {
        event(t: EventType) {
          n++;
          names.push(t.name);
        },
        malformed(_o, reason) {
          throw new Error(reason);
        },
      },
      te,
    );
    dec.chunk(Buffer.from(qemuSimpletrace.samples[0]!.hex, 'hex'), 0);
    dec.end();
    expect(n).toBe(1);
    expect(names).toEqual(['virtio_blk_rw_complete']);
  });

  it('any chunking gives the same requests (records straddle chunk boundaries)', async () => {
    const whole = await analyzeSources([bufferSource('a', SIMPLE, 1 << 20)], { traceEvents: TE });
    for (const size of [1, 7, 33, 4096]) {
      const parts = await analyzeSources([bufferSource('a', SIMPLE, size)], { traceEvents: TE });
      expect(parts.inputs[0]!.records).toBe(whole.inputs[0]!.records);
      expect(parts.requests.map((q) => [q.id, q.op, q.sector, q.sectors, q.state])).toEqual(whole.requests.map((q) => [q.id, q.op, q.sector, q.sectors, q.state]));
    }
  });

  it('rebuilds the simple trace workload (counts from simpletrace.py\'s event counts)', async () => {
    const counts = Object.fromEntries(
      readFileSync(join(R, 'trace-simple.event-counts.txt'), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => {
          const [n, name] = l.trim().split(/\s+/);
          return [name!, Number(n)];
        }),
    );
    const res = await analyzeSources([bufferSource('trace-simple.simpletrace', SIMPLE)], { traceEvents: TE });
    const byOp: Record<string, number> = {};
    for (const q of res.requests) byOp[q.op] = (byOp[q.op] ?? 0) + 1;
    expect(res.inputs[0]!.records).toBe(SIMPLE_TXT.split('\n').length - 1);
    expect(byOp.read).toBe(counts.virtio_blk_handle_read);
    expect(byOp.write).toBe(counts.virtio_blk_handle_write);
    // every popped element is a request; the README's phases add one flush (sync -d, plus the fsync's), a discard, a write-zeroes
    expect(res.requests.length).toBe(counts.virtqueue_pop);
    expect(byOp.discard).toBe(1);
    expect(byOp['write-zeroes']).toBe(1);
    expect(res.requests.every((q) => q.state === 'completed')).toBe(true);
  });

  it('analyze reports dropped events and reversed timestamps as diagnostics', async () => {
    const b = new TraceBuilder().mapping(0, 'virtio_notify').event(0, 5000n, 1, [1n, 2n]).event(0, 4000n, 1, [1n, 2n]).dropped(6000n, 1, 3n).build();
    const res = await analyzeSources([bufferSource('t.simpletrace', b)], { traceEvents: TE });
    expect(res.model.stats.diagnostics['trace-dropped']).toBe(1);
    expect(res.model.stats.diagnostics['trace-time-reversal']).toBe(1);
    expect(res.inputs[0]!.records).toBe(3);
    expect(res.inputs[0]!.error).toBeUndefined();
  });

  it('without a trace-events file the built-in declarations rebuild the same requests', async () => {
    const withFile = await analyzeSources([bufferSource('s', SIMPLE)], { traceEvents: TE });
    const without = await analyzeSources([bufferSource('s', SIMPLE)], {});
    expect(without.requests.map((q) => [q.id, q.op, q.sector, q.sectors, q.state])).toEqual(withFile.requests.map((q) => [q.id, q.op, q.sector, q.sectors, q.state]));
    expect(without.requests.length).toBeGreaterThan(100);
  });

  it('event names from the file never reach the terminal raw', async () => {
    const b = new TraceBuilder().mapping(0, 'évent\x1b[31m\u0007x').event(0, 1000n, 1, [5n]).build();
    const r = await eventsOf(b);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('évent\\x1b[31m\\x07x 0.000 pid=1 arg0=0x5\n');
  });
});
