// The QEMU log fast lane (qemuLog.fastLine: plain lines read in place in the chunk's text) must give exactly what
// the ordinary path gives: the same events, line numbers, records, skipped lines, whatever the chunking, with
// lines wrapped by a mail client, quoted, with CRLF ends or syslog/dmesg prefixes mixed in, and in follow mode
// (idle flushes). The router runs twice on the same bytes: with the format as it is, and with its fast lane off.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TextRouter } from '../../src/analyze.js';
import { qemuLog } from '../../parsers/qemu-log.js';
import type { InputInfo, ParsedEvent } from '../../src/model/types.js';
import type { ParserContext, TextFormatDef } from '../../parsers/types.js';
import { randomQemuLog, xorshift } from './random-trace.js';
import { laneRecords } from '../../src/input/text-lane.js';

const R = join(dirname(new URL(import.meta.url).pathname), '../../../shared/realtraces');
const SLOW: TextFormatDef = { ...qemuLog, fastLine: undefined, newFastLine: undefined };

interface Run {
  events: ParsedEvent[];
  info: InputInfo;
  skipped: { line?: number; text?: string; reason: string }[];
}

/**
 * Route `data` in chunks of the given sizes (cycled), with an idle() after the chunks marked in `idleAfter`.
 * `records`: each chunk's lines are read first as the worker thread reads them (laneRecords), then handed over
 * with TextRouter.pushRecords.
 */
function route(format: TextFormatDef, data: Buffer, sizes: number[], idleAfter = new Set<number>(), records = false): Run {
  const events: ParsedEvent[] = [];
  const skipped: Run['skipped'] = [];
  const info: InputInfo = { file: 'log', format: '', formats: [], records: 0, skipped: 0, skippedSamples: [], lines: 0, bytes: 0 };
  const ctx: ParserContext = {
    file: 'log',
    options: {},
    emit: (ev) => void events.push(ev),
    malformed: (ev, reason) => void skipped.push({ line: ev.line, text: ev.text, reason }),
  };
  const router = new TextRouter([format], ctx, info);
  let k = 0;
  let rec = new Float64Array(8);
  for (let off = 0; off < data.length; k++) {
    const n = sizes[k % sizes.length]!;
    const chunk = data.subarray(off, off + n);
    if (records) {
      const r = laneRecords(format, chunk, off > 0 && data[off - 1] !== 10, rec);
      rec = r.rec;
      router.pushRecords(chunk, rec, r.n);
    } else router.push(chunk);
    off += n;
    if (idleAfter.has(k)) router.idle();
  }
  router.end();
  return { events, info, skipped };
}

/** JSON of a run (evidence objects compare by value; the fast lane builds them from the chunk's text). */
function canon(r: Run): string {
  return JSON.stringify(r);
}

/** The fast lane in-thread, the worker's records and the ordinary path give the same run. */
function same(data: Buffer, sizes: number[], idleAfter?: Set<number>): Run {
  const fast = route(qemuLog, data, sizes, idleAfter);
  const slow = route(SLOW, data, sizes, idleAfter);
  const records = route(qemuLog, data, sizes, idleAfter, true);
  expect(canon(fast)).toBe(canon(slow));
  expect(canon(records)).toBe(canon(slow));
  return fast;
}

/** Deterministic damage a mail or a terminal does to a log: wrapping, quoting, CRLF, prefixes, blank lines. */
function damage(text: string, seed: number): string {
  const rnd = xorshift(seed * 2246822519);
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const r = rnd();
    if (r < 0.05 && line.length > 50) {
      // Wrapped by a mail client, at a space or anywhere.
      const cut = rnd() < 0.5 ? line.lastIndexOf(' ', 60) : 30 + Math.floor(rnd() * (line.length - 31));
      if (cut > 0) {
        out.push(line.slice(0, cut), line.slice(cut).trimStart());
        continue;
      }
    }
    if (r < 0.08) out.push('> ' + line);
    else if (r < 0.1) out.push(line + '\r');
    else if (r < 0.12) out.push('[  12.345678] ' + line);
    else if (r < 0.13) out.push('Nov 24 12:00:01 host qemu[77]: ' + line);
    else if (r < 0.14) out.push(' ' + line);
    else if (r < 0.15) out.push('');
    else if (r < 0.16) out.push(line + ' ');
    else out.push(line);
  }
  return out.join('\n');
}

describe('QEMU log fast lane', () => {
  it('gives what the ordinary path gives on the real run1 log, in any chunking', () => {
    const data = readFileSync(join(R, 'run1-qcow2-none/host-trace.log'));
    const r = same(data, [65536]);
    expect(r.info.records).toBeGreaterThan(5000);
    same(data, [1, 7, 4093, 333, 100000]);
  });

  it('gives what the ordinary path gives on damaged random logs (wrapped, quoted, CRLF, prefixed), chunked and idled', () => {
    let wrappedJoins = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const text = damage(randomQemuLog(seed), seed);
      const data = Buffer.from(text);
      const r = same(data, [97, 1024, 13, 4096], new Set([1, 5, 9]));
      same(data, [data.length]);
      // Joined records (a wrapped line put back together) show as evidence with more than one line.
      wrappedJoins += r.events.filter((e) => e.kind === 'submit' && e.req.evidence.some((ev) => (ev.text ?? '').includes('\n'))).length;
    }
    expect(wrappedJoins).toBeGreaterThan(0);
  });

  it('reads what the decoder reads where lines carry UTF-8, broken UTF-8 or characters cut by a chunk edge', () => {
    // Byte hazards between and inside log lines: multi-byte characters (2, 3 and 4 bytes), a lone lead byte before the
    // newline, a stray continuation byte, 0xff, a NUL, and a character inside an otherwise plain event line.
    const hazards = [
      Buffer.from('qemu-system-x86_64: café → disk ✓ 😀\n'),
      Buffer.from([0xc3, 0x0a]),
      Buffer.from([0x80, 0x41, 0xff, 0x00, 0x0a]),
      Buffer.from('4887@1795471911.000009:virtqueue_flush vq 0x7f7410ad8010 count 1é\n'),
      Buffer.from('4887@1795471911.000010:virtqueue_flush vq 0x7f74😀10ad8010 count 1\n'),
      Buffer.from([0xe2, 0x82]),
    ];
    for (let seed = 1; seed <= 12; seed++) {
      const rnd = xorshift(seed * 40503);
      const parts: Buffer[] = [];
      for (const line of randomQemuLog(seed).split('\n')) {
        if (rnd() < 0.08) parts.push(hazards[Math.floor(rnd() * hazards.length)]!);
        parts.push(Buffer.from(line + '\n'));
      }
      const data = Buffer.concat(parts);
      const r = same(data, [1, 2, 3, 5, 7, 11, 64, 4099]);
      same(data, [data.length]);
      expect(r.info.records).toBeGreaterThan(0);
    }
  });

  it('joins a wrapped continuation to a line the fast lane read', () => {
    // The first line parses alone (status 0); the mail client moved the rest of the number to the next line.
    const lines = [
      '4887@1795471911.000001:virtqueue_pop vq 0x7f7410ad8010 elem 0x563dc9f89800 in_num 2 out_num 1',
      '4887@1795471911.000002:virtio_blk_handle_read vdev 0x563dcaab0600 req 0x563dc9f89800 sector 8 nsectors 1',
      '4887@1795471911.000003:virtio_blk_req_complete vdev 0x563dcaab0600 req 0x563dc9f89800 status 0',
      '1',
      '4887@1795471911.000004:virtqueue_fill vq 0x7f7410ad8010 elem 0x563dc9f89800 len 513 idx 0',
    ];
    const r = same(Buffer.from(lines.join('\n') + '\n'), [4096]);
    const complete = r.events.find((e) => e.kind === 'complete') as { status?: string } | undefined;
    // "status 01" = 1: the wrapped digit was joined, as on the ordinary path.
    expect(complete?.status).toBe('error');
    expect(r.info.lines).toBe(5);
  });
});
