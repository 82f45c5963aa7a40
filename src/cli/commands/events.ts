// blkscope events <file>: print the decoded QEMU trace event stream.
//
// --style simpletrace (default for simpletrace binaries) reproduces QEMU 7.2 scripts/simpletrace.py's
// Formatter output byte for byte (read via the code corpus; not copied): one line per record,
//   `NAME DELTA pid=PID ARG=0xHEX ... ARG=b'BYTES'`
// joined by single spaces (no trailing space for events without arguments); DELTA = '%0.3f' of
// (timestamp_ns - previous record's timestamp_ns) / 1000.0, the first record 0.000; u64 arguments as
// '0x%x'; string arguments as Python bytes reprs; dropped records as `Dropped_Event ... num_events_dropped=0x..`.
// --style log prints QEMU log-backend lines (`PID@SEC.USEC:NAME FORMATTED`, trace-events printf formats;
// SEC.USEC from the record's clock, CLOCK_MONOTONIC for simpletrace).
// Log-backend text input is normalised to either style (default log).
//
// Checked against QEMU 7.2's simpletrace.py itself (Debian source package qemu 1:7.2+dfsg-7+deb12u18,
// sha256 1e0da9ae...2674247): the realtraces outputs and hand-built records (strings, vcpu, dropped,
// negative deltas) match byte for byte. Unlike simpletrace.py, events missing from trace-events print as
// raw words (it exits), and backwards timestamps are also noted on stderr (it prints them silently).
// Streaming and constant memory: input in 1 MiB chunks, output assembled as bytes in 1 MiB blocks.
import type { Command } from 'commander';
import { Option } from 'commander';
import { openSync, writeSync, closeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { CliIO, CliState } from '../program.js';
import { describeFsError, fileSource, stdinSource, InputError, type InputSource } from '../../input/sources.js';
import { normalizeLine } from '../../input/normalize.js';
import { neutralize } from '../../util/sanitize.js';
import {
  SimpletraceDecoder,
  StringArgParser,
  isSimpletraceHeader,
  type EventHeader,
  type EventType,
  type SimpletraceSink,
} from '../../../parsers/qemu-simpletrace.js';
import {
  builtinTraceEvents,
  loadTraceEvents,
  TraceEventsError,
  compileFormat,
  joinFormat,
  formatPieces,
  type FmtPiece,
  type RawArg,
  type TraceEventDecl,
  type TraceEvents,
} from '../../../parsers/qemu/trace-events.js';
import { matchQemuLog } from '../../../parsers/qemu-log.js';
import { compileDecl, matchTemplate, type Template } from '../../../parsers/qemu/decl.js';

export type EventsStyle = 'simpletrace' | 'log';

export interface EventsFlags {
  style?: EventsStyle;
  traceEvents?: string;
  output?: string;
}

const BLOCK = 1 << 20;
const MAX_WARNINGS = 10;

/** What StringArgParser yields: a simple-backend string argument (u32 length, bytes). */
interface StringArg {
  len: number;
  bytes: Buffer;
}

// ---- byte output

/** Writes 1 MiB blocks to a file descriptor, or to io.stdout (as latin1 text, with backpressure). */
class ByteOut {
  buf: Buffer = Buffer.allocUnsafe(BLOCK);
  dv: DataView = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  pos = 0;
  private ready: Buffer[] = [];
  /** UTF-8 text for io.stdout (a block may end inside a character). */
  private readonly text = new StringDecoder('utf8');
  /** Written blocks kept for reuse (allocating 1 MiB buffers over and over costs full GCs). */
  private spare: Buffer[] = [];
  bytes = 0;

  constructor(
    private readonly io: CliIO,
    private readonly fd: number | undefined,
    /** The process's own stdout when the CLI runs for real: bytes go there without a detour through strings. */
    private readonly stream?: NodeJS.WriteStream,
  ) {}

  /** Make room for n bytes in `buf` (n may exceed a block: the block grows). */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.rotate(n);
  }

  private rotate(n: number): void {
    if (this.pos > 0) this.ready.push(this.buf.subarray(0, this.pos));
    const s = n <= BLOCK ? this.spare.pop() : undefined;
    this.buf = s ?? Buffer.allocUnsafe(Math.max(BLOCK, n));
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.pos = 0;
  }

  ascii(s: string): void {
    this.reserve(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  async flush(all: boolean): Promise<void> {
    if (all && this.pos > 0) this.rotate(0);
    const blocks = this.ready;
    this.ready = [];
    for (const b of blocks) {
      this.bytes += b.length;
      if (this.fd !== undefined) {
        let off = 0;
        while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
      } else if (this.stream) {
        const s = this.stream;
        if (!s.write(b)) await new Promise<void>((resolve) => s.once('drain', () => resolve()));
        // A block still queued in the stream must not be reused.
        if (s.writableLength !== 0) continue;
      } else {
        this.io.stdout(this.text.write(b));
        if (this.io.drain) await this.io.drain();
      }
      if (b.buffer.byteLength === BLOCK && this.spare.length < 4) this.spare.push(Buffer.from(b.buffer, b.byteOffset, BLOCK));
    }
  }
}

// ---- simpletrace.py style

const HEX = new Uint8Array(16);
for (let i = 0; i < 16; i++) HEX[i] = '0123456789abcdef'.charCodeAt(i);
/** 16-bit value -> its 4 hex digits as a little-endian u32 (first digit in the low byte). */
const HEX4 = new Uint32Array(65536);
for (let v = 0; v < 65536; v++) HEX4[v] = (HEX[v >> 12]! | (HEX[(v >> 8) & 15]! << 8) | (HEX[(v >> 4) & 15]! << 16) | (HEX[v & 15]! << 24)) >>> 0;
/** 0..999 -> ".ddd" as a little-endian u32. */
const DOT3 = new Uint32Array(1000);
for (let v = 0; v < 1000; v++) DOT3[v] = (46 | ((48 + Math.floor(v / 100)) << 8) | ((48 + (Math.floor(v / 10) % 10)) << 16) | ((48 + (v % 10)) << 24)) >>> 0;

/** Literal bytes as little-endian 32-bit words (the last one zero-padded) for 4-byte unaligned stores. */
interface Piece {
  w: Uint32Array;
  len: number;
}

function piece(b: Uint8Array): Piece {
  const padded = new Uint8Array(Math.ceil(b.length / 4) * 4);
  padded.set(b);
  const w = new Uint32Array(padded.length / 4);
  for (let i = 0; i < w.length; i++) w[i] = (padded[4 * i]! | (padded[4 * i + 1]! << 8) | (padded[4 * i + 2]! << 16) | (padded[4 * i + 3]! << 24)) >>> 0;
  return { w, len: b.length };
}

interface StCache {
  /** "NAME " */
  head: Piece;
  /** " ARG=0x" or " ARG=" per argument. */
  prefixes: Uint8Array[];
  pieces: Piece[];
  isString: boolean[];
  /** Bytes of everything but the argument values. */
  fixed: number;
  /** " pid=N" + the first prefix, for pid `pidFor`. */
  pidFor: number;
  pidHead: Piece | undefined;
}

function bytesOf(s: string): Uint8Array {
  return Buffer.from(s, 'utf8');
}

function stCache(t: EventType): StCache {
  let c = t.cache as StCache | undefined;
  if (c && c.head) return c;
  const args = t.args ?? [];
  const prefixes: Uint8Array[] = [];
  const isString: boolean[] = [];
  for (const a of args) {
    prefixes.push(bytesOf(` ${neutralize(a.name)}=${a.isString ? '' : '0x'}`));
    isString.push(a.isString);
  }
  const head = bytesOf(neutralize(t.name) + ' ');
  let fixed = head.length + 64;
  for (const p of prefixes) fixed += p.length + 24;
  c = { head: piece(head), prefixes, pieces: prefixes.map(piece), isString, fixed, pidFor: -1, pidHead: undefined };
  t.cache = c;
  return c;
}

/** Raw u64 words of an event with no declaration: named arg0, arg1... */
function rawCache(n: number): StCache {
  const prefixes: Uint8Array[] = [];
  for (let i = 0; i < n; i++) prefixes.push(bytesOf(` arg${i}=0x`));
  let fixed = 0;
  for (const p of prefixes) fixed += p.length + 24;
  return { head: piece(new Uint8Array(0)), prefixes, pieces: prefixes.map(piece), isString: prefixes.map(() => false), fixed, pidFor: -1, pidHead: undefined };
}

/** Formats records as simpletrace.py does, straight into the output bytes. */
export class SimpletraceStyle {
  private first = true;
  private lastHi = 0;
  private lastLo = 0;
  private readonly raw: StCache[] = [];

  constructor(private readonly out: ByteOut) {}

  /** Lines are written as they come: nothing to hand over. */
  finish(): void {}

  /** Delta in ns from the previous record (exact below 2^53). */
  private delta(hi: number, lo: number): number {
    if (this.first) {
      this.first = false;
      this.lastHi = hi;
      this.lastLo = lo;
      return 0;
    }
    const d = (hi - this.lastHi) * 4294967296 + (lo - this.lastLo);
    this.lastHi = hi;
    this.lastLo = lo;
    return d;
  }

  record(t: EventType, h: EventHeader, buf: Buffer, p: number, end: number): void {
    const c = stCache(t);
    const out = this.out;
    let args = c;
    if (!t.args) {
      const n = (end - p) >> 3;
      args = this.raw[n] ?? (this.raw[n] = rawCache(n));
    }
    out.reserve(c.fixed + args.fixed + 4 * (end - p) + 64);
    const o = out.buf;
    const dv = out.dv;
    let q = out.pos;
    // Literals go out as 4-byte stores; the few bytes written past a literal's end are overwritten next
    // (reserve() leaves the slack).
    const hw = c.head.w;
    for (let i = 0; i < hw.length; i++) dv.setUint32(q + 4 * i, hw[i]!, true);
    q = this.writeDelta(o, q + c.head.len, this.delta(h.tsHi, h.tsLo));
    // " pid=N ARG0=0x" as one piece, cached per event type and pid.
    if (args.pidFor !== h.pid) {
      args.pidFor = h.pid;
      args.pidHead = piece(Buffer.concat([bytesOf(` pid=${h.pid}`), args.prefixes[0] ?? new Uint8Array(0)]));
    }
    const ph = args.pidHead!;
    const pw = ph.w;
    for (let i = 0; i < pw.length; i++) dv.setUint32(q + 4 * i, pw[i]!, true);
    q += ph.len;
    const pieces = args.pieces;
    const isString = args.isString;
    for (let a = 0; a < pieces.length; a++) {
      if (a > 0) {
        const pre = pieces[a]!;
        const w = pre.w;
        for (let i = 0; i < w.length; i++) dv.setUint32(q + 4 * i, w[i]!, true);
        q += pre.len;
      }
      if (isString[a]) {
        const sa = StringArgParser.parse(buf.subarray(p, end)) as StringArg;
        q = writeBytesRepr(o, q, sa.bytes, 0, sa.len);
        p += 4 + sa.len;
      } else {
        // u64 little-endian -> lower-case hex without leading zeros ('%x'): whole 4-digit groups from the
        // end with one 4-byte store each (HEX4 table), the leading partial group digit by digit.
        const lo = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
        const hi = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0;
        p += 8;
        const n = hi !== 0 ? 16 - (Math.clz32(hi) >> 2) : lo !== 0 ? 8 - (Math.clz32(lo) >> 2) : 1;
        const e = q + n;
        const full = n >> 2;
        let k = e;
        for (let g = 0; g < full; g++) {
          k -= 4;
          const v = g === 0 ? lo & 0xffff : g === 1 ? lo >>> 16 : g === 2 ? hi & 0xffff : hi >>> 16;
          dv.setUint32(k, HEX4[v]!, true);
        }
        let v = full === 0 ? lo & 0xffff : full === 1 ? lo >>> 16 : full === 2 ? hi & 0xffff : hi >>> 16;
        while (k > q) {
          o[--k] = HEX[v & 15]!;
          v >>>= 4;
        }
        q = e;
      }
    }
    o[q++] = 10;
    out.pos = q;
  }

  /** Delta for text input (µs timestamps): same line layout, values given. */
  textRecord(name: string, deltaNs: number, pid: number, names: string[], values: RawArg[], strs: boolean[]): void {
    let s = `${neutralize(name)} ${fmtDelta(deltaNs)} pid=${pid}`;
    for (let i = 0; i < names.length; i++) {
      const v = values[i]!;
      s += ` ${neutralize(names[i]!)}=`;
      if (strs[i] || typeof v === 'string') s += bytesReprString(Buffer.from(String(v), 'latin1'));
      else s += '0x' + v.toString(16);
    }
    this.out.ascii(s + '\n');
  }

  /** '%0.3f' % (d / 1000.0) for an integer d of nanoseconds. */
  private writeDelta(o: Buffer, q: number, d: number): number {
    if (d < -9007199254740991 || d > 9007199254740991) {
      const s = (d / 1000).toFixed(3);
      for (let i = 0; i < s.length; i++) o[q++] = s.charCodeAt(i);
      return q;
    }
    if (d < 0) {
      o[q++] = 45;
      d = -d;
    }
    const ip = Math.floor(d / 1000);
    const fr = d - ip * 1000;
    q = writeUInt(o, q, ip);
    this.out.dv.setUint32(q, DOT3[fr]!, true);
    return q + 4;
  }
}

/** Text of '%0.3f' % (d / 1000.0). */
export function fmtDelta(d: number): string {
  if (!Number.isSafeInteger(d)) return (d / 1000).toFixed(3);
  const neg = d < 0;
  const a = Math.abs(d);
  const ip = Math.floor(a / 1000);
  return (neg ? '-' : '') + ip + '.' + String(a - ip * 1000).padStart(3, '0');
}

const scratch = new Uint8Array(24);
function writeUInt(o: Buffer, q: number, n: number): number {
  if (n < 10) {
    o[q++] = 48 + n;
    return q;
  }
  let k = 0;
  while (n > 0) {
    const d = n % 10;
    scratch[k++] = 48 + d;
    n = (n - d) / 10;
  }
  while (k > 0) o[q++] = scratch[--k]!;
  return q;
}

/** CPython's bytes repr (b'...'): single quotes unless the bytes hold ' and no ". */
export function writeBytesRepr(o: Buffer | Uint8Array, q: number, b: Uint8Array, s: number, e: number): number {
  let quote = 39;
  let hasSingle = false;
  let hasDouble = false;
  for (let i = s; i < e; i++) {
    if (b[i] === 39) hasSingle = true;
    else if (b[i] === 34) hasDouble = true;
  }
  if (hasSingle && !hasDouble) quote = 34;
  o[q++] = 98; // b
  o[q++] = quote;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c === quote || c === 92) {
      o[q++] = 92;
      o[q++] = c;
    } else if (c === 9) {
      o[q++] = 92;
      o[q++] = 116;
    } else if (c === 10) {
      o[q++] = 92;
      o[q++] = 110;
    } else if (c === 13) {
      o[q++] = 92;
      o[q++] = 114;
    } else if (c < 32 || c >= 127) {
      o[q++] = 92;
      o[q++] = 120;
      o[q++] = HEX[c >> 4]!;
      o[q++] = HEX[c & 15]!;
    } else o[q++] = c;
  }
  o[q++] = quote;
  return q;
}

export function bytesReprString(b: Uint8Array): string {
  const o = Buffer.allocUnsafe(b.length * 4 + 3);
  const n = writeBytesRepr(o, 0, b, 0, b.length);
  return o.toString('latin1', 0, n);
}

// ---- log-backend style

interface LogCache {
  pieces?: FmtPiece[];
  /** Neutralised "NAME ". */
  head?: string;
}

export class LogStyle {
  /** Lines gathered into one string before they are encoded (one Buffer.write per ~64 KiB). */
  private pending = '';

  constructor(private readonly out: ByteOut) {}

  record(t: EventType, h: EventHeader, buf: Buffer, p: number, end: number): void {
    let c = t.cache as LogCache | undefined;
    if (!c || c.head === undefined) {
      const joined = t.fmt ? joinFormat(t.fmt) : undefined;
      c = { pieces: joined !== undefined ? compileFormat(joined) : undefined, head: neutralize(t.name) + ' ' };
      t.cache = c;
    }
    const vals: RawArg[] = [];
    if (t.args) {
      for (const a of t.args) {
        if (a.isString) {
          const sa = StringArgParser.parse(buf.subarray(p, end)) as StringArg;
          vals.push(sa.bytes.toString('utf8'));
          p += 4 + sa.len;
        } else {
          vals.push(buf.readBigUInt64LE(p));
          p += 8;
        }
      }
    } else for (; p + 8 <= end; p += 8) vals.push(buf.readBigUInt64LE(p));
    let sec: number | bigint;
    let usec: number | bigint;
    if (h.tsHi < 0x200000) {
      const ns = h.tsHi * 4294967296 + h.tsLo;
      sec = Math.floor(ns / 1e9);
      usec = Math.floor((ns - sec * 1e9) / 1000);
    } else {
      const ns = (BigInt(h.tsHi) << 32n) | BigInt(h.tsLo);
      sec = ns / 1000000000n;
      usec = (ns % 1000000000n) / 1000n;
    }
    let body: string;
    if (c.pieces) body = formatPieces(c.pieces, vals, neutralize);
    else if (t.args) body = t.args.map((a, i) => `${neutralize(a.name)} ${fmtRaw(vals[i]!)}`).join(' ');
    else body = vals.map((v, i) => `arg${i} 0x${(v as bigint).toString(16)}`).join(' ');
    const us = String(usec);
    this.pending += h.pid + '@' + sec + '.' + (us.length < 6 ? '000000'.slice(us.length) + us : us) + ':' + c.head + body + '\n';
    if (this.pending.length > 65536) this.finish();
  }

  /** Hand gathered lines to the output. */
  finish(): void {
    if (this.pending) this.out.ascii(this.pending);
    this.pending = '';
  }
}

function fmtRaw(v: RawArg): string {
  return typeof v === 'string' ? neutralize(v) : '0x' + v.toString(16);
}

// ---- the command

async function runBinary(src: InputSource, first: Buffer, rest: AsyncIterator<Buffer>, te: TraceEvents | undefined, style: EventsStyle, out: ByteOut, warn: (s: string) => void): Promise<number> {
  let fatal: string | undefined;
  let warnings = 0;
  const fmt = style === 'log' ? new LogStyle(out) : new SimpletraceStyle(out);
  const sink: SimpletraceSink = {
    event(t, h, buf, p, end) {
      fmt.record(t, h, buf, p, end);
    },
    malformed(_offset, reason, isFatal) {
      if (isFatal) fatal = reason;
      else if (++warnings <= MAX_WARNINGS) warn(`${src.name}: ${reason}`);
    },
  };
  let noteBuiltin = !te;
  if (!te) te = builtinTraceEvents();
  const dec = new SimpletraceDecoder(sink, te);
  let offset = 0;
  let chunk: Buffer | undefined = first;
  while (chunk) {
    dec.chunk(chunk, offset);
    offset += chunk.length;
    if (noteBuiltin && dec.version === 4) {
      noteBuiltin = false;
      warn(`${src.name}: no trace-events file (--trace-events FILE; /usr/share/qemu/trace-events-all is missing): using the built-in QEMU 7.2 virtio/block declarations; other events print as raw u64 words arg0, arg1...`);
    }
    await out.flush(false);
    if (dec.stoppedAt !== undefined) break;
    const r = await rest.next();
    chunk = r.done ? undefined : r.value;
  }
  dec.end();
  fmt.finish();
  await out.flush(true);
  if (warnings > MAX_WARNINGS) warn(`${src.name}: ${warnings - MAX_WARNINGS} more records skipped or flagged`);
  if (dec.reversals > 0) warn(`${src.name}: ${dec.reversals} records have a timestamp earlier than the record before them (negative delta; first at byte ${dec.firstReversalAt})`);
  if (fatal) {
    warn(`${src.name}: ${fatal}${dec.records ? ` (${dec.records} records before it were printed)` : ''}`);
    return 2;
  }
  return 0;
}

interface TextDecl {
  decl?: TraceEventDecl;
  tpl?: Template;
}

async function runText(src: InputSource, first: Buffer, rest: AsyncIterator<Buffer>, te: TraceEvents | undefined, style: EventsStyle, out: ByteOut, warn: (s: string) => void): Promise<number> {
  const dec = new StringDecoder('utf8');
  let carry = '';
  let lineNo = 0;
  let events = 0;
  let warnings = 0;
  let last: number | undefined;
  const st = style === 'simpletrace' ? new SimpletraceStyle(out) : undefined;
  const decls = new Map<string, TextDecl>();
  const fields: Record<string, string | undefined> = {};
  const onLine = (raw: string) => {
    lineNo++;
    const text = normalizeLine(raw.length > 1 << 16 ? raw.slice(0, 1 << 16) : raw);
    if (!text) return;
    const m = matchQemuLog(text);
    if (!m || m === 'malformed') return;
    const g = m.groups;
    const name = g.event!;
    events++;
    if (!st) {
      out.ascii(neutralize(text) + '\n');
      return;
    }
    let d = decls.get(name);
    if (!d) {
      const decl = te?.byName.get(name);
      d = { decl, tpl: decl ? compileDecl(decl.raw) : undefined };
      // Bounded: a file of ever-new names must not grow the cache with the input.
      if (decls.size < 10000) decls.set(name, d);
    }
    const tUs = g.sec !== undefined ? Number(g.sec) * 1e6 + Number(g.usec) : 0;
    const delta = last === undefined ? 0 : (tUs - last) * 1000;
    last = tUs;
    const pid = g.tid !== undefined ? Number(g.tid) : 0;
    if (!d.decl || !d.tpl) {
      if (++warnings <= MAX_WARNINGS) warn(`${src.name}:${lineNo}: event ${neutralize(name)} has no usable trace-events declaration; printed without arguments`);
      st.textRecord(name, delta, pid, [], [], []);
      return;
    }
    for (const k in fields) delete fields[k];
    const bodyStart = text.indexOf(name, g.tid !== undefined ? text.indexOf(':') : 0) + name.length + 1;
    if (!matchTemplate(d.tpl, text, Math.min(bodyStart, text.length), fields)) {
      if (++warnings <= MAX_WARNINGS) warn(`${src.name}:${lineNo}: ${neutralize(name)} line does not match its trace-events format; skipped`);
      return;
    }
    const names: string[] = [];
    const vals: RawArg[] = [];
    const strs: boolean[] = [];
    const kinds = new Map<string, string>();
    for (const p of d.tpl.parts) if ('field' in p && p.field !== undefined) kinds.set(p.field, p.kind ?? 's');
    for (const a of d.decl.args) {
      names.push(a.name);
      strs.push(a.isString);
      const v = fields[a.name];
      vals.push(a.isString ? (v ?? '') : textToU64(v, kinds.get(a.name)));
    }
    st.textRecord(name, delta, pid, names, vals, strs);
  };
  let chunk: Buffer | undefined = first;
  while (chunk) {
    const text = carry + dec.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      onLine(text.slice(start, nl));
      start = nl + 1;
    }
    carry = text.slice(start);
    if (carry.length > 1 << 20) {
      onLine(carry);
      carry = '';
    }
    await out.flush(false);
    const r = await rest.next();
    chunk = r.done ? undefined : r.value;
  }
  const tail = carry + dec.end();
  if (tail) onLine(tail);
  await out.flush(true);
  if (warnings > MAX_WARNINGS) warn(`${src.name}: ${warnings - MAX_WARNINGS} more lines skipped or flagged`);
  if (events === 0) {
    warn(`${src.name}: no QEMU trace events found (neither a simpletrace binary nor log-backend lines)`);
    return 2;
  }
  return 0;
}

/** A log-backend field text as the u64 the simple backend would have stored. */
function textToU64(v: string | undefined, kind: string | undefined): bigint {
  if (v === undefined) return 0n;
  try {
    if (v === '(nil)') return 0n;
    if (kind === 'p' || kind === 'x') return BigInt.asUintN(64, BigInt(v.startsWith('0x') ? v : '0x' + v));
    if (kind === 'c') return BigInt(v.charCodeAt(0) || 0);
    return BigInt.asUintN(64, BigInt(v));
  } catch {
    return 0n;
  }
}

export async function runEvents(file: string, flags: EventsFlags, io: CliIO): Promise<number> {
  const warn = (s: string) => io.stderr(`blkscope: ${s}\n`);
  let te: TraceEvents | undefined;
  try {
    te = loadTraceEvents(flags.traceEvents);
  } catch (e) {
    if (e instanceof TraceEventsError) {
      warn(e.message);
      return 2;
    }
    throw e;
  }
  let fd: number | undefined;
  if (flags.output !== undefined && flags.output !== '-') {
    try {
      fd = openSync(flags.output, 'w');
    } catch (e) {
      warn(`${flags.output}: cannot write: ${describeFsError(e)}`);
      return 2;
    }
  }
  // Running as the real CLI (main.ts hands us the process's stdin): write stdout bytes directly.
  const direct = fd === undefined && io.stdin === process.stdin ? process.stdout : undefined;
  const out = new ByteOut(io, fd, direct);
  const src = file === '-' ? stdinSource(io.stdin) : fileSource(file);
  try {
    const it = src.chunks()[Symbol.asyncIterator]();
    const r = await it.next();
    if (r.done || r.value.length === 0) {
      warn(`${src.name}: empty input`);
      return 2;
    }
    let first = r.value;
    // Make sure the header is whole before deciding binary vs text.
    while (first.length < 24) {
      const more = await it.next();
      if (more.done) break;
      first = Buffer.concat([first, more.value]);
    }
    const binary = isSimpletraceHeader(first) !== null || (first.length >= 8 && first.readUInt32LE(0) === 0xffffffff && first.readUInt32LE(4) === 0xffffffff) || looksBinary(first);
    if (binary) return await runBinary(src, first, it, te, flags.style ?? 'simpletrace', out, warn);
    return await runText(src, first, it, te ?? builtinTraceEvents(), flags.style ?? 'log', out, warn);
  } catch (e) {
    if (e instanceof InputError) {
      warn(`${e.file}: ${e.message}`);
      return 2;
    }
    throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** NUL bytes in the head: not text. */
function looksBinary(head: Buffer): boolean {
  const n = Math.min(head.length, 4096);
  for (let i = 0; i < n; i++) if (head[i] === 0) return true;
  return false;
}

export function registerEvents(program: Command, io: CliIO, state: CliState): void {
  program
    .command('events')
    .description('print the decoded QEMU trace event stream (simpletrace binary or log-backend text)')
    .argument('<file>', "a QEMU simpletrace binary (trace-<pid>) or log-backend text; '-' for standard input")
    .addOption(new Option('--style <style>', 'output style: simpletrace (simpletrace.py\'s, default for binaries) or log (log backend\'s, default for text)').choices(['simpletrace', 'log']))
    .option('--trace-events <file>', 'the QEMU build\'s trace-events-all (default /usr/share/qemu/trace-events-all)')
    .option('-o, --output <file>', 'write the events to a file instead of standard output')
    .action(async (file: string, flags: EventsFlags) => {
      state.exitCode = await runEvents(file, flags, io);
    });
}
