// QEMU "simple" trace backend binary files (trace-<pid>), versions 2, 3 and 4.
//
// Layout (../shared/specs/virtio/SPEC.md §3; QEMU trace/simple.c and scripts/simpletrace.py, read via the
// code corpus: qemu/qemu trace/simple.c@ba4912cb (v4), @003f8dbc (v3); patchew-project/qemu
// scripts/simpletrace.py@02a6655d (v4 reader)). Host-endian; every file seen is x86 little-endian.
// - File header, 24 bytes: u64 0xffffffffffffffff, u64 magic 0xf2b177cb0aa429b4, u64 version.
// - v4: each record starts with a u64 record type: 0 = mapping {u64 id, u32 len, name[len]} (written for
//   every event when the file is opened, and again later when modules load), 1 = event.
// - Event record: {u64 id, u64 timestamp_ns (CLOCK_MONOTONIC), u32 length (incl. this 24-byte header),
//   u32 pid (v2: reserved)} then the arguments in declaration order: u64 each, or for a string argument
//   u32 len + bytes (no NUL, truncated at 512). v2/v3 have no record type and no mapping: the id is the
//   declaration index in trace-events-all.
// - Dropped-events record: id 0xfffffffffffffffe, one u64 argument (events lost when the ring was full).
// Argument names and types come from a trace-events file (see ./qemu/trace-events.ts).
//
// Records are framed by hand (lengths checked before every parse); the layouts themselves are
// binary-parser Parsers. Complete consecutive event records are parsed as one batch (binary-parser array
// of a counted length) so that 1 M records/s stays cheap.
import { Parser } from 'binary-parser';
import type { BinaryFormatDef, BinaryParser, ParserContext } from './types.js';
import { LazyEvidence } from './match.js';
import type { Evidence } from '../src/model/types.js';
import { argField, bigPtrKey, STORE_DEPS, storeCode, VirtioAssembler, VirtioEvent, type EventKind } from './qemu/events.js';
import { BUILTIN_SOURCE, builtinTraceEvents, loadTraceEventsCached, TraceEventsError, type TraceArg, type TraceEventDecl, type TraceEvents } from './qemu/trace-events.js';

export const SIMPLETRACE_ID = 'qemu-simpletrace';
export const HEADER_EVENT_ID_LO = 0xffffffff;
export const MAGIC_LO = 0x0aa429b4;
export const MAGIC_HI = 0xf2b177cb;
const DROPPED_ID_LO = 0xfffffffe;
const DROPPED_ID_HI = 0xffffffff;
export const HEADER_LEN = 24;
/** Event record header (after the v4 record type). */
export const REC_HDR_LEN = 24;
/**
 * Longest plausible event record: tracetool allows at most 10 arguments, and simple.c cuts strings at
 * MAX_TRACE_STRLEN 512, so 24 + 10 * (4 + 512) = 5184 bytes. Anything longer is garbage.
 */
export const MAX_RECORD_LEN = 24 + 10 * (4 + 512);
/** Event names are C identifiers; QEMU's longest is under 100 characters. */
export const MAX_NAME_LEN = 1024;
/** Events parsed per binary-parser batch (keeps batches in the young generation). */
const BATCH_BYTES = 32 * 1024;

// ---- Layouts (binary-parser, explicit little-endian). u64 values are read as two u32 halves (lo, hi):
// ids are small and timestamps are only ever subtracted, which keeps the hot path free of BigInt.

export interface FileHeader {
  idLo: number;
  idHi: number;
  magicLo: number;
  magicHi: number;
  versionLo: number;
  versionHi: number;
}
export const FileHeaderParser = new Parser()
  .endianness('little')
  .uint32('idLo')
  .uint32('idHi')
  .uint32('magicLo')
  .uint32('magicHi')
  .uint32('versionLo')
  .uint32('versionHi');

/** v4 mapping record after its record type: u64 id, u32 length, name. */
export interface MappingRecord {
  idLo: number;
  idHi: number;
  nameLen: number;
  name: string;
}
export const MappingParser = new Parser()
  .endianness('little')
  .uint32('idLo')
  .uint32('idHi')
  .uint32('nameLen')
  .string('name', { length: 'nameLen', encoding: 'utf8' });

/** Event record header. */
export interface EventHeader {
  idLo: number;
  idHi: number;
  tsLo: number;
  tsHi: number;
  length: number;
  pid: number;
}
function eventFields(p: Parser): Parser {
  return p
    .uint32('idLo')
    .uint32('idHi')
    .uint32('tsLo')
    .uint32('tsHi')
    .uint32('length')
    .uint32('pid')
    .seek(function (this: EventHeader) {
      return this.length - REC_HDR_LEN;
    });
}
/** v4 event record including its u64 record type (which framing has already checked). */
const V4EventParser = eventFields(new Parser().endianness('little').uint32('typeLo').uint32('typeHi'));
/** v2/v3 event record (no record type). */
const V3EventParser = eventFields(new Parser().endianness('little'));
let batchCount = 0;
const batchLength = (): number => batchCount;
const V4Batch = new Parser().array('recs', { type: V4EventParser, length: batchLength });
const V3Batch = new Parser().array('recs', { type: V3EventParser, length: batchLength });

/** The dropped-events record's one argument. */
export const DroppedParser = new Parser().endianness('little').uint32('countLo').uint32('countHi');
/** A string argument: u32 length then the bytes. */
export const StringArgParser = new Parser()
  .endianness('little')
  .uint32('len')
  .buffer('bytes', { length: 'len' });
/** A u64 argument as two halves. */
export const U64ArgParser = new Parser().endianness('little').uint32('lo').uint32('hi');

// ---- Event types

/** How to decode and print one event id. */
export interface EventType {
  name: string;
  /** Declared arguments (undefined when the trace-events file has no such event). */
  args?: TraceArg[];
  /** The declaration's printf format as written ('' when unknown). */
  fmt: string;
  /** Arguments that are all u64 (fast path: length must be 24 + 8 * n). */
  allU64: boolean;
  dropped: boolean;
  /** Per-consumer cache (the events command keeps its encoded strings here). */
  cache?: unknown;
  /** decodeArgs' pointer-text cache. */
  ptrs?: unknown;
}

/** EventType objects all get the same shape (fields in one order, cache present) for monomorphic hot paths. */
function makeType(name: string, args: TraceArg[] | undefined, fmt: string, dropped: boolean): EventType {
  return { name, args, fmt, allU64: args ? args.every((a) => !a.isString) : false, dropped, cache: undefined, ptrs: undefined };
}

const DROPPED_ARGS: TraceArg[] = [{ type: 'uint64_t', name: 'num_events_dropped', isString: false, isPointer: false }];

/** Sink of decoded records. `buf` holds the record; argument bytes are buf[argStart, argEnd). */
export interface SimpletraceSink {
  event(type: EventType, h: EventHeader, buf: Buffer, argStart: number, argEnd: number, fileOffset: number): void;
  /** A record that does not decode; decoding goes on (skip) or stops (fatal). */
  malformed(fileOffset: number, reason: string, fatal: boolean): void;
}

export function isSimpletraceHeader(head: Buffer): { version: number } | null {
  if (head.length < HEADER_LEN) return null;
  if (head.readUInt32LE(0) !== 0xffffffff || head.readUInt32LE(4) !== 0xffffffff) return null;
  if (head.readUInt32LE(8) !== MAGIC_LO || head.readUInt32LE(12) !== MAGIC_HI) return null;
  const hi = head.readUInt32LE(20);
  const v = head.readUInt32LE(16);
  return { version: hi === 0 ? v : -1 };
}

/**
 * Streaming decoder: feed chunks, get records. Memory: one partial record (< MAX_RECORD_LEN) carried
 * between chunks, the id->name table, one EventType per id seen.
 */
export class SimpletraceDecoder {
  version = 0;
  records = 0;
  mappings = 0;
  /** Byte offset where decoding stopped on a fatal error (undefined while fine). */
  stoppedAt: number | undefined;
  /** Records whose timestamp is earlier than the previous record's, and the first one's offset. */
  reversals = 0;
  firstReversalAt: number | undefined;
  private lastTsHi = 0;
  private lastTsLo = 0;
  private carry: Buffer | undefined;
  private carryOffset = 0;
  private headerDone = false;
  private readonly names: (string | undefined)[] = [];
  private readonly types: (EventType | undefined)[] = [];
  private readonly unknownNames = new Set<string>();
  private droppedType: EventType = makeType('Dropped_Event', DROPPED_ARGS, '"dropped %" PRIu64 " events"', true);

  /** Declarations are blkscope's built-in subset (not the build's file). */
  private readonly builtin: boolean;
  private readonly rawTypes = new Map<string, EventType>();

  constructor(
    private readonly sink: SimpletraceSink,
    private readonly te: TraceEvents | undefined,
  ) {
    this.builtin = te?.source === BUILTIN_SOURCE;
  }

  private rawType(name: string): EventType {
    let t = this.rawTypes.get(name);
    if (!t) this.rawTypes.set(name, (t = makeType(name, undefined, '', false)));
    return t;
  }

  /** Next chunk; `offset` = byte offset of chunk[0] in the file. */
  chunk(chunk: Buffer, offset: number): void {
    if (this.stoppedAt !== undefined || chunk.length === 0) return;
    let pos = 0;
    if (this.carry) {
      // Complete the partial record with the chunk's head (a record is at most MAX_RECORD_LEN + 8 bytes);
      // only that head is copied, never the whole chunk.
      const carry = this.carry;
      const head = chunk.subarray(0, Math.min(chunk.length, 2 * (MAX_RECORD_LEN + MAX_NAME_LEN + 64)));
      const joined = Buffer.concat([carry, head]);
      const base = this.carryOffset;
      this.carry = undefined;
      const used = this.decode(joined, base);
      if (this.stoppedAt !== undefined) return;
      if (used < carry.length && head.length < chunk.length) {
        // Not completed even by the head (cannot happen for valid lengths): join everything.
        const all = Buffer.concat([joined.subarray(used, carry.length), chunk]);
        const u2 = this.decode(all, base + used);
        if (this.stoppedAt === undefined && u2 < all.length) {
          this.carry = Buffer.from(all.subarray(u2));
          this.carryOffset = base + used + u2;
        }
        return;
      }
      if (head.length === chunk.length) {
        if (used < joined.length) {
          this.carry = Buffer.from(joined.subarray(used));
          this.carryOffset = base + used;
        }
        return;
      }
      pos = used - carry.length;
    }
    const view = pos === 0 ? chunk : chunk.subarray(pos);
    const used = this.decode(view, offset + pos);
    if (this.stoppedAt === undefined && used < view.length) {
      // Keep only the partial record (copied, so the big chunk is not retained).
      this.carry = Buffer.from(view.subarray(used));
      this.carryOffset = offset + pos + used;
    }
  }

  /** End of input: a partial record left over is a truncated file. */
  end(): void {
    if (this.stoppedAt !== undefined) return;
    if (!this.headerDone) {
      const have = this.carry?.length ?? 0;
      this.stop(0, have === 0 ? 'empty file: no simpletrace header' : `truncated file header (${have} of 24 bytes)`);
      return;
    }
    if (this.carry && this.carry.length > 0) {
      const c = this.carry;
      let what = 'record';
      let need = 0;
      if (this.version === 4 && c.length >= 8) {
        const t = c.readUInt32LE(0);
        if (t === 0) {
          what = 'mapping record';
          if (c.length >= 20) need = 20 + c.readUInt32LE(16);
        } else if (t === 1) {
          what = 'event record';
          if (c.length >= 32) need = 8 + c.readUInt32LE(24);
        }
      } else if (this.version !== 4) {
        what = 'event record';
        if (c.length >= 24) need = c.readUInt32LE(16);
      }
      this.stop(this.carryOffset, `truncated ${what} at byte ${this.carryOffset}: ${c.length}${need ? ` of ${need}` : ''} bytes present`);
      this.carry = undefined;
    }
  }

  private stop(fileOffset: number, reason: string): void {
    this.stoppedAt = fileOffset;
    this.sink.malformed(fileOffset, reason, true);
  }

  private decode(buf: Buffer, base: number): number {
    let pos = 0;
    const n = buf.length;
    if (!this.headerDone) {
      if (n < HEADER_LEN) return 0;
      const h = FileHeaderParser.parse(buf.subarray(0, HEADER_LEN)) as FileHeader;
      if (h.idLo !== HEADER_EVENT_ID_LO || h.idHi !== 0xffffffff || h.magicLo !== MAGIC_LO || h.magicHi !== MAGIC_HI) {
        this.stop(base, 'not a QEMU simpletrace file (bad header magic)');
        return n;
      }
      const v = h.versionHi === 0 ? h.versionLo : -1;
      if (v !== 2 && v !== 3 && v !== 4) {
        this.stop(base + 16, v === 0 ? 'simpletrace log version 0 (QEMU <= 1.1) is not supported' : `unknown simpletrace log version ${h.versionHi ? `0x${h.versionHi.toString(16)}${h.versionLo.toString(16).padStart(8, '0')}` : v}`);
        return n;
      }
      if (v !== 4 && (!this.te || this.builtin)) {
        this.stop(base + 16, `simpletrace log version ${v} has no event names: --trace-events FILE (the build's trace-events-all) is required`);
        return n;
      }
      this.version = v;
      this.headerDone = true;
      pos = HEADER_LEN;
    }
    const v4 = this.version === 4;
    const pre = v4 ? 8 : 0;
    while (pos < n) {
      if (v4) {
        if (n - pos < 8) return pos;
        const tLo = buf.readUInt32LE(pos);
        const tHi = buf.readUInt32LE(pos + 4);
        if (tHi === 0 && tLo === 0) {
          if (n - pos < 20) return pos;
          const nameLen = buf.readUInt32LE(pos + 16);
          if (nameLen > MAX_NAME_LEN) {
            this.stop(base + pos, `mapping record at byte ${base + pos}: absurd name length ${nameLen}`);
            return n;
          }
          if (n - pos < 20 + nameLen) return pos;
          const m = MappingParser.parse(buf.subarray(pos + 8, pos + 20 + nameLen)) as MappingRecord;
          this.mapping(m, base + pos);
          pos += 20 + nameLen;
          continue;
        }
        if (tHi !== 0 || tLo !== 1) {
          this.stop(base + pos, `unknown record type ${tHi ? '0x' + tHi.toString(16) + tLo.toString(16).padStart(8, '0') : tLo} at byte ${base + pos}`);
          return n;
        }
      }
      // A run of event records: frame by hand, then parse them as one batch.
      let p = pos;
      let count = 0;
      const limit = Math.min(n, pos + BATCH_BYTES);
      while (p < n) {
        if (n - p < pre + REC_HDR_LEN) break;
        if (v4 && (buf.readUInt32LE(p) !== 1 || buf.readUInt32LE(p + 4) !== 0)) break;
        const len = buf.readUInt32LE(p + pre + 16);
        if (len < REC_HDR_LEN || len > MAX_RECORD_LEN) {
          if (count > 0) break;
          this.stop(base + p, `event record at byte ${base + p}: absurd length ${len} (must be 24..${MAX_RECORD_LEN})`);
          return n;
        }
        if (n - p < pre + len) break;
        p += pre + len;
        count++;
        if (p >= limit) break;
      }
      if (count === 0) return pos; // incomplete record: wait for more bytes
      batchCount = count;
      const recs = (v4 ? V4Batch : V3Batch).parse(buf.subarray(pos, p)).recs as EventHeader[];
      let rp = pos;
      for (let i = 0; i < recs.length; i++) {
        const h = recs[i]!;
        const start = rp + pre;
        this.event(h, buf, start, start + h.length, base + rp);
        rp = start + h.length;
      }
      pos = p;
    }
    return pos;
  }

  private mapping(m: MappingRecord, fileOffset: number): void {
    this.mappings++;
    if (m.idHi !== 0 || m.idLo > 1 << 24) {
      this.sink.malformed(fileOffset, `mapping record at byte ${fileOffset}: absurd event id`, false);
      return;
    }
    this.names[m.idLo] = m.name;
    this.types[m.idLo] = undefined;
  }

  private typeFor(idLo: number, idHi: number): EventType | undefined {
    if (idHi === DROPPED_ID_HI && idLo === DROPPED_ID_LO) return this.droppedType;
    if (idHi !== 0) return undefined;
    let t = this.types[idLo];
    if (t) return t;
    let name: string | undefined;
    let decl: TraceEventDecl | undefined;
    if (this.version === 4) {
      name = this.names[idLo];
      if (name === undefined) return undefined;
      decl = this.te?.byName.get(name);
    } else {
      decl = this.te?.list[idLo];
      if (!decl) return undefined;
      name = decl.name;
    }
    t = makeType(name, decl?.args, decl?.fmt ?? '', false);
    if (idLo < 1 << 24) this.types[idLo] = t;
    return t;
  }

  private event(h: EventHeader, buf: Buffer, start: number, end: number, fileOffset: number): void {
    this.records++;
    // Timestamps that go backwards (simpletrace.py prints a negative delta and says nothing).
    if (h.tsHi < this.lastTsHi || (h.tsHi === this.lastTsHi && h.tsLo < this.lastTsLo)) {
      if (this.reversals++ === 0) this.firstReversalAt = fileOffset;
    }
    this.lastTsHi = h.tsHi;
    this.lastTsLo = h.tsLo;
    let t = this.typeFor(h.idLo, h.idHi);
    if (!t) {
      this.sink.malformed(fileOffset, `event record at byte ${fileOffset}: event id ${h.idHi ? '0x' + h.idHi.toString(16) + h.idLo.toString(16).padStart(8, '0') : h.idLo} has no ${this.version === 4 ? 'mapping record' : 'trace-events declaration'}`, false);
      return;
    }
    const argStart = start + REC_HDR_LEN;
    if (t.args) {
      const fits = t.allU64 ? end - argStart === t.args.length * 8 : stringArgsEnd(t.args, buf, argStart, end) === end;
      if (!fits) {
        if (this.builtin) {
          // Another QEMU version's layout: show the words rather than drop the record.
          t = this.rawType(t.name);
        } else {
          this.sink.malformed(
            fileOffset,
            t.allU64
              ? `${t.name} record at byte ${fileOffset}: ${end - argStart} argument bytes, trace-events declares ${t.args.length} u64 (wrong trace-events file?)`
              : `${t.name} record at byte ${fileOffset}: arguments do not fit its length ${end - start} (wrong trace-events file?)`,
            false,
          );
          return;
        }
      }
    } else if (this.te && !this.builtin && this.unknownNames.size < 1000 && !this.unknownNames.has(t.name)) {
      this.unknownNames.add(t.name);
      this.sink.malformed(fileOffset, `event ${t.name} is not declared in ${this.te.source}; its arguments are shown as raw u64 words`, false);
    }
    this.sink.event(t, h, buf, argStart, end, fileOffset);
  }
}

/** Walk declared arguments with strings; returns the end offset, or -1 when they overrun `end`. */
export function stringArgsEnd(args: TraceArg[], buf: Buffer, p: number, end: number): number {
  for (const a of args) {
    if (a.isString) {
      if (end - p < 4) return -1;
      const len = buf.readUInt32LE(p);
      if (len > end - p - 4) return -1;
      p += 4 + len;
    } else {
      if (end - p < 8) return -1;
      p += 8;
    }
  }
  return p;
}

/** u64 at buf[p] as a number when below 2^53, else a bigint. */
export function u64Value(buf: Buffer, p: number): number | bigint {
  const lo = buf.readUInt32LE(p);
  const hi = buf.readUInt32LE(p + 4);
  return hi < 0x200000 ? hi * 4294967296 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}

type ArgDecoder = (buf: Buffer, p: number, end: number) => Record<string, number | bigint | string>;

/**
 * Decoded arguments of one record (names from trace-events; raw u64 words named arg0.. otherwise).
 * Pointer arguments (type ending in '*') become lower-case hex text ("0x55c2...", NULL "0x0") as the log
 * backend prints them; other integers numbers (bigint from 2^53); strings text.
 */
export function decodeArgs(t: EventType, buf: Buffer, p: number, end: number): Record<string, number | bigint | string> {
  if (!t.args) {
    const out: Record<string, number | bigint | string> = {};
    for (let i = 0; p + 8 <= end; i++, p += 8) out['arg' + i] = u64Value(buf, p);
    return out;
  }
  let dec = t.ptrs as ArgDecoder | undefined;
  if (!dec) t.ptrs = dec = compileArgDecoder(t.args);
  return dec(buf, p, end);
}

/** The bigint branch of u64Value (values from 2^53). */
function bigU64(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** A string argument (u32 length + bytes) through the module-level binary-parser layout. */
function stringArg(buf: Buffer, p: number, end: number): { len: number; bytes: Buffer } {
  return StringArgParser.parse(buf.subarray(p, end)) as { len: number; bytes: Buffer };
}

/**
 * One event type's decoder compiled to straight-line code: reads each argument in declaration order and
 * builds the argument object as a literal with fixed keys (one shape per event type). Each pointer argument
 * keeps its last value and text in the closure (vdev, vq, bs... repeat), else goes through the intern table.
 * Keys are JSON-quoted and locals are generated (a0, lo0...), so any name from a trace-events file is inert.
 * The caller has checked that the arguments fit the record (stringArgsEnd / allU64 length), so u32 halves are
 * read as bytes (little-endian) without readUInt32LE's argument validation.
 */
function compileArgDecoder(args: TraceArg[]): ArgDecoder {
  let decl = '';
  let code = 'let lo = 0; let hi = 0;\n';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.isString) {
      code += `const r${i} = stringArg(buf, p, end); const a${i} = r${i}.bytes.toString('utf8'); p += 4 + r${i}.len;\n`;
    } else if (a.isPointer) {
      decl += `let plo${i} = -1; let phi${i} = -1; let ps${i} = '';\n`;
      code +=
        `lo = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16)) + buf[p + 3] * 16777216; hi = (buf[p + 4] | (buf[p + 5] << 8) | (buf[p + 6] << 16)) + buf[p + 7] * 16777216; p += 8;\n` +
        `if (lo !== plo${i} || hi !== phi${i}) { plo${i} = lo; phi${i} = hi; ps${i} = ptrText(lo, hi); }\n` +
        `const a${i} = ps${i};\n`;
    } else {
      code += `lo = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16)) + buf[p + 3] * 16777216; hi = (buf[p + 4] | (buf[p + 5] << 8) | (buf[p + 6] << 16)) + buf[p + 7] * 16777216; p += 8;\nconst a${i} = hi < 0x200000 ? hi * 4294967296 + lo : bigU64(lo, hi);\n`;
    }
  }
  code += 'return {' + args.map((a, i) => `${JSON.stringify(a.name)}: a${i}`).join(', ') + '};\n';
  const factory = new Function('stringArg', 'ptrText', 'bigU64', `${decl}return function decodeArgs(buf, p, end) {\n${code}};`) as (
    sa: typeof stringArg,
    pt: typeof ptrText,
    bu: typeof bigU64,
  ) => ArgDecoder;
  return factory(stringArg, ptrText, bigU64);
}


/** Interned pointer texts (QEMU reuses allocations: element pointers repeat), bounded. */
const PTR_TEXT = new Map<number, string>();

/** Lower-case hex text of the pointer hi:lo ("0x55c2..."), one string per value below 2^53. */
function ptrText(lo: number, hi: number): string {
  if (hi >= 0x200000) return '0x' + hi.toString(16) + lo.toString(16).padStart(8, '0');
  const v = hi * 4294967296 + lo;
  let t = PTR_TEXT.get(v);
  if (t === undefined) {
    // Same text as hi.toString(16) + lo padded to 8 digits (or lo alone when hi is 0).
    t = '0x' + v.toString(16);
    if (PTR_TEXT.size >= 65536) PTR_TEXT.clear();
    PTR_TEXT.set(v, t);
  }
  return t;
}

/** Record timestamp in seconds. */
export function timeOf(h: EventHeader): number {
  return (h.tsHi * 4294967296 + h.tsLo) / 1e9;
}

/**
 * Evidence for a record: file and byte offset, and a text (`NAME @SEC.NANOSEC pid=N ARG=0xHEX ARG="string"`;
 * renderers neutralise it) made from the record's bytes only when something reads it (LazyEvidence). A class, so
 * that the records of a big trace cost one small fixed-shape object each.
 */
class RecordEvidence extends LazyEvidence {
  private buf: Buffer | undefined;
  constructor(
    readonly file: string,
    override readonly offset: number,
    private readonly type: EventType,
    buf: Buffer,
    private readonly argStart: number,
    private readonly argEnd: number,
    private readonly tsHi: number,
    private readonly tsLo: number,
    private readonly pid: number,
  ) {
    super();
    this.buf = buf;
  }

  protected makeText(): string {
    const a = decodeArgs(this.type, this.buf!, this.argStart, this.argEnd);
    const ns = (BigInt(this.tsHi) << 32n) | BigInt(this.tsLo);
    let text = `${this.type.name} @${ns / 1000000000n}.${String(ns % 1000000000n).padStart(9, '0')} pid=${this.pid}`;
    for (const k in a) {
      const v = a[k]!;
      text += ` ${k}=${typeof v === 'string' ? (v.startsWith('0x') ? v : JSON.stringify(v)) : '0x' + v.toString(16)}`;
    }
    return text;
  }

  protected release(): void {
    this.buf = undefined;
  }
}

/** Fills a VirtioEvent's argument fields straight from a record's argument bytes. */
type Filler = (e: VirtioEvent, buf: Buffer, p: number, end: number) => void;

/**
 * One event type's filler compiled to straight-line code (as compileArgDecoder): every field reset to absent,
 * then each declared argument the rebuild reads (ARG_FIELDS) converted from its u64 halves or string, the
 * others skipped. No argument object, no pointer text: pointers become pointer keys (their value below 2^53).
 * The caller has checked that the arguments fit the record.
 */
function compileFiller(args: TraceArg[] | undefined): Filler {
  let code = 'clearFields(e);\nlet lo = 0; let hi = 0; let len = 0; let sv;\n';
  const names = (args ?? []).map((a) => a.name);
  for (const a of args ?? []) {
    const m = argField(a.name, names);
    if (a.isString) {
      code += 'len = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16)) + buf[p + 3] * 16777216;\n';
      // A string converts as in an argument object.
      if (m) code += "sv = buf.toString('utf8', p + 4, p + 4 + len);\n" + storeCode(m, 'sv', false);
      code += 'p += 4 + len;\n';
      continue;
    }
    if (m) {
      const [field, conv] = m;
      code += 'lo = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16)) + buf[p + 3] * 16777216; hi = (buf[p + 4] | (buf[p + 5] << 8) | (buf[p + 6] << 16)) + buf[p + 7] * 16777216;\n';
      switch (conv) {
        case 'ptr':
          code += `e.${field} = hi < 0x200000 ? hi * 4294967296 + lo : bigPtr(lo, hi);\n`;
          break;
        case 'num':
          code += `e.${field} = hi * 4294967296 + lo;\n`;
          break;
        case 'int':
          // A pointer-typed value went through its text before (intOfNum of the number); an integer as u64.
          code += a.isPointer ? `e.${field} = intOfNum(hi * 4294967296 + lo);\n` : `e.${field} = hi < 0x200000 ? intOfNum(hi * 4294967296 + lo) : lo | 0;\n`;
          break;
        case 'hostoff':
          code += `e.${field} = hi * 4294967296 + lo;\n`;
          if (!a.isPointer) code += 'e.hostOffsetInvalid = lo === 0xffffffff && hi === 0xffffffff;\n';
          break;
        case 'str':
          break;
      }
    }
    code += 'p += 8;\n';
  }
  const deps: Record<string, unknown> = { ...STORE_DEPS, bigPtr };
  const depNames = Object.keys(deps);
  const factory = new Function(...depNames, `return function fill(e, buf, p, end) {\n${code}};`) as (...d: unknown[]) => Filler;
  return factory(...depNames.map((k) => deps[k]));
}

/** Key of a pointer >= 2^53 (its text as the log backend prints it). */
function bigPtr(lo: number, hi: number): number {
  return bigPtrKey('0x' + hi.toString(16) + lo.toString(16).padStart(8, '0'));
}

/** What the analyze path keeps per event type: the assembler's kind and the filler (when it reads arguments). */
interface TypeUse {
  kind: EventKind;
  fill: Filler | undefined;
}

/**
 * The record being handed to the assembler, reused from record to record. Its evidence object (file, offset,
 * and the text built from the decoded arguments) is made only when the assembler keeps it, from the record
 * bytes it still holds while handle() runs.
 */
class RecordEvent extends VirtioEvent {
  private t: EventType | undefined = undefined;
  private buf: Buffer | undefined = undefined;
  private argStart = 0;
  private argEnd = 0;
  private recOffset = 0;
  private tsHi = 0;
  private tsLo = 0;
  private pid = 0;
  private ev: RecordEvidence | undefined = undefined;
  constructor(private readonly file: string) {
    super();
  }

  set(k: EventKind, t: EventType, h: EventHeader, buf: Buffer, argStart: number, argEnd: number, offset: number): void {
    this.kind = k;
    this.t = t;
    this.buf = buf;
    this.argStart = argStart;
    this.argEnd = argEnd;
    this.recOffset = offset;
    this.tsHi = h.tsHi;
    this.tsLo = h.tsLo;
    this.pid = h.pid;
    this.time = timeOf(h);
    this.tid = h.pid;
    this.ev = undefined;
  }

  /** Drop the record (its chunk must not be kept alive). */
  release(): void {
    this.buf = undefined;
    this.ev = undefined;
  }

  override get evidence(): Evidence {
    return (this.ev ??= new RecordEvidence(this.file, this.recOffset, this.t!, this.buf!, this.argStart, this.argEnd, this.tsHi, this.tsLo, this.pid));
  }
}

class SimpletraceParser implements BinaryParser {
  private readonly dec: SimpletraceDecoder | undefined;
  private readonly asm: VirtioAssembler;
  private readonly rec: RecordEvent;
  private fileError = false;

  constructor(private readonly ctx: ParserContext) {
    this.asm = new VirtioAssembler(ctx, { format: SIMPLETRACE_ID });
    this.rec = new RecordEvent(ctx.file);
    let te: TraceEvents | undefined;
    try {
      te = loadTraceEventsCached(ctx.options.traceEvents);
    } catch (e) {
      ctx.malformed({ file: ctx.file, offset: 0 }, e instanceof TraceEventsError ? e.message : String(e));
      this.fileError = true;
    }
    if (this.fileError) return;
    if (!te) {
      te = builtinTraceEvents();
      ctx.emit({
        kind: 'diag',
        code: 'trace-events-builtin',
        message:
          "no trace-events file (--trace-events FILE; /usr/share/qemu/trace-events-all is missing): using blkscope's built-in QEMU 7.2 virtio/block declarations; give the build's trace-events-all for anything else",
        evidence: [{ file: ctx.file, offset: 0 }],
      });
    }
    const file = ctx.file;
    const asm = this.asm;
    const rec = this.rec;
    this.dec = new SimpletraceDecoder(
      {
        event(t, h, buf, argStart, argEnd, fileOffset) {
          if (t.dropped) {
            const d = DroppedParser.parse(buf.subarray(argStart, argEnd)) as { countLo: number; countHi: number };
            const lost = d.countHi * 4294967296 + d.countLo;
            ctx.emit({
              kind: 'diag',
              code: 'trace-dropped',
              message: `QEMU dropped ${lost} trace events (simple backend ring full): requests around here may be incomplete`,
              data: { dropped: lost },
              time: timeOf(h),
              evidence: [{ file, offset: fileOffset }],
            });
            return;
          }
          // Per type, once: its kind, and a filler when the assembler reads its arguments (else it only counts it).
          let use = t.cache as TypeUse | undefined;
          if (use === undefined) {
            const kind = asm.kind(t.name);
            t.cache = use = { kind, fill: kind.needsArgs ? compileFiller(t.args) : undefined };
          }
          const fill = use.fill;
          if (fill === undefined) {
            asm.tick(use.kind, h.pid);
            return;
          }
          rec.set(use.kind, t, h, buf, argStart, argEnd, fileOffset);
          fill(rec, buf, argStart, argEnd);
          asm.handle(rec);
        },
        malformed(fileOffset, reason) {
          ctx.malformed({ file, offset: fileOffset }, reason);
        },
      },
      te,
    );
  }

  chunk(buf: Buffer, offset: number): void {
    this.dec?.chunk(buf, offset);
    this.rec.release();
  }

  end(): void {
    const dec = this.dec;
    dec?.end();
    if (dec && dec.reversals > 0) {
      this.ctx.emit({
        kind: 'diag',
        code: 'trace-time-reversal',
        message: `${dec.reversals} trace records have a timestamp earlier than the record before them (first at byte ${dec.firstReversalAt}): latencies around them are unreliable`,
        data: { records: dec.reversals, firstOffset: dec.firstReversalAt },
        evidence: [{ file: this.ctx.file, offset: dec.firstReversalAt }],
      });
    }
    this.asm.end();
  }

  records(): number {
    return this.dec?.records ?? 0;
  }
}

export const qemuSimpletrace: BinaryFormatDef = {
  id: SIMPLETRACE_ID,
  kind: 'binary',
  title: 'QEMU simple trace backend (binary)',
  description:
    'Binary trace files written by QEMU\'s "simple" trace backend (-trace events=...,file=trace-<pid>), log ' +
    'versions 2-4. Event names come from the v4 mapping records, argument names and types from the build\'s ' +
    'trace-events-all (--trace-events FILE, default /usr/share/qemu/trace-events-all, else a built-in QEMU 7.2 ' +
    'virtio/block subset). Records feed the same ' +
    'virtio-blk request rebuild as the log backend.',
  url: 'https://github.com/qemu/qemu/blob/master/scripts/simpletrace.py',
  family: 'virtio',
  fields: [
    { name: 'event_id', type: 'u64', description: 'event id (v4: named by a mapping record; v2/v3: trace-events order)' },
    { name: 'timestamp_ns', type: 'u64', description: 'CLOCK_MONOTONIC nanoseconds' },
    { name: 'length', type: 'int', description: 'record length including the 24-byte header' },
    { name: 'pid', type: 'int', description: 'QEMU process id (v3+)' },
    { name: 'args', type: 'u64', description: 'arguments: u64 each, strings as u32 length + bytes' },
  ],
  detect(head: Buffer): number {
    try {
      const h = isSimpletraceHeader(head);
      if (!h) return 0;
      return h.version === 2 || h.version === 3 || h.version === 4 ? 1 : 0.9;
    } catch {
      return 0;
    }
  },
  createParser(ctx: ParserContext): BinaryParser {
    return new SimpletraceParser(ctx);
  },
  sampleText: 'event record: rectype 1, id 7, timestamp_ns, length 48, pid 15805, vdev, req, ret (u64 each)',
  samples: [
    {
      hex:
        'ffffffffffffffff' + 'b429a40acb77b1f2' + '0400000000000000' +
        '0000000000000000' + '0700000000000000' + '16000000' + Buffer.from('virtio_blk_rw_complete').toString('hex') +
        '0100000000000000' + '0700000000000000' + '00e1f50500000000' + '30000000' + 'bd3d0000' +
        '00a21ae24c560000' + '0068a7e34c560000' + '0000000000000000',
      comment: 'file header (v4), a mapping record (id 7 = virtio_blk_rw_complete) and one event record',
    },
  ],
};
