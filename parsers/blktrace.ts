// Linux blktrace binary (struct blk_io_trace records, one file per CPU: <dev>.blktrace.<cpu>).
// Layout and codes: ../shared/specs/virtio/SPEC.md §4.1 (include/uapi/linux/blktrace_api.h); checked against
// the real captures in ../shared/realtraces (guest-vd?.blktrace.0, virtio-samples/vda.blktrace.0).
// - Host byte order; a byte-swapped magic means the other order (blkparse does the same).
// - Notify records (BLK_TC_NOTIFY): PROCESS (pid -> comm), TIMESTAMP (wall clock at start), MESSAGE (text).
// - PDUs: UNPLUG_IO/UNPLUG_TIMER and SPLIT carry a big-endian u64; REMAP a big-endian
//   {u32 dev_from, u32 dev_to, u64 sector_from}; with __BLK_TA_CGROUP (1<<8) the first 8 bytes are a cgroup id.
// - rwbs is built as blkparse's fill_rwbs does: [F flush] D|W|R|N [F fua] [A] [S] [M].
// - Times are made relative to the first record, as blkparse prints them.
// Per-CPU files are merged by time before they reach this parser (src/input/blktrace-merge.ts).
// Records are framed by hand; runs of complete records are decoded as one binary-parser batch. A big per-CPU
// merge is decoded on the merge worker (src/input/blktrace-merge.ts): this parser then reads its rows (BlkRows)
// and does the same with each record, and takes blkparse's and btt's statistics from the worker.
import { Parser } from 'binary-parser';
import type { BinaryFormatDef, BinaryParser, ParserContext } from './types.js';
import type { Evidence } from '../src/model/types.js';
import { BlkAssembler, type BlkAction, type BlkCounts, type BlkEvent } from './linux-block/events.js';
import {
  HDR,
  TA_CGROUP,
  TC_AHEAD,
  TC_DISCARD,
  TC_FLUSH,
  TC_FUA,
  TC_META,
  TC_NOTIFY,
  TC_PC,
  TC_SYNC,
  TC_WRITE,
  TN_MESSAGE,
  TN_PROCESS,
  TN_TIMESTAMP,
  anyMagicVersion,
  magicAt,
  resync,
} from './linux-block/blk-io-trace.js';
import { MERGED_ORIGINS, type OriginResolver, type WorkerFeed } from './linux-block/origins.js';

export const BLKTRACE_ID = 'blktrace';
/** Bytes decoded per binary-parser batch. */
const BATCH_BYTES = 64 * 1024;

export interface TraceRecord {
  magic: number;
  seq: number;
  timeLo: number;
  timeHi: number;
  sectorLo: number;
  sectorHi: number;
  bytes: number;
  action: number;
  pid: number;
  device: number;
  cpu: number;
  error: number;
  pduLen: number;
}

function recordParser(le: boolean): Parser {
  const p = new Parser().endianness(le ? 'little' : 'big').uint32('magic').uint32('seq');
  const u64 = (q: Parser, name: string) => (le ? q.uint32(name + 'Lo').uint32(name + 'Hi') : q.uint32(name + 'Hi').uint32(name + 'Lo'));
  return u64(u64(p, 'time'), 'sector')
    .uint32('bytes')
    .uint32('action')
    .uint32('pid')
    .uint32('device')
    .uint32('cpu')
    .uint16('error')
    .uint16('pduLen')
    // The payload is skipped here (no Buffer per record); the few records that need it read it by offset.
    .seek('pduLen');
}

export const RecordLE = recordParser(true);
export const RecordBE = recordParser(false);
let batchCount = 0;
const batchLength = (): number => batchCount;
const BatchLE = new Parser().array('recs', { type: RecordLE, length: batchLength });
const BatchBE = new Parser().array('recs', { type: RecordBE, length: batchLength });
/** Big-endian u64 PDU (unplug depth, split sector), as two halves. */
const BeU64 = new Parser().endianness('big').uint32('hi').uint32('lo');
/** struct blk_io_trace_remap, big-endian. */
const Remap = new Parser().endianness('big').uint32('devFrom').uint32('devTo').uint32('secHi').uint32('secLo');
const Timestamp = { le: new Parser().endianness('little').uint32('sec').uint32('nsec'), be: new Parser().endianness('big').uint32('sec').uint32('nsec') };

const ACTIONS: (BlkAction | undefined)[] = [
  undefined, 'Q', 'M', 'F', 'G', 'S', 'R', 'D', 'C', 'P', 'U', 'T', 'I', 'X', 'B', 'A', undefined, undefined,
];

/** By cat * 2 + hasBytes (cat is 16 bits): an array lookup per record. */
const rwbsCache: (string | undefined)[] = new Array<string | undefined>(1 << 17).fill(undefined);
/** blkparse fill_rwbs from the category bits (action >>> 16) and whether bytes is non-zero. */
export function rwbsOf(cat: number, hasBytes: boolean): string {
  const key = (cat & 0xffff) * 2 + (hasBytes ? 1 : 0);
  const hit = rwbsCache[key];
  if (hit !== undefined) return hit;
  let s = '';
  if (cat & TC_FLUSH) s += 'F';
  if (cat & TC_DISCARD) s += 'D';
  else if (cat & TC_WRITE) s += 'W';
  else if (hasBytes) s += 'R';
  else s += 'N';
  if (cat & TC_FUA) s += 'F';
  if (cat & TC_AHEAD) s += 'A';
  if (cat & TC_SYNC) s += 'S';
  if (cat & TC_META) s += 'M';
  rwbsCache[key] = s;
  return s;
}

const EMPTY = Buffer.alloc(0);
const devCache = new Map<number, string>();
let lastDev = -1;
let lastDevName = '';
function devName(d: number): string {
  if (d === lastDev) return lastDevName;
  let s = devCache.get(d);
  if (s === undefined) {
    s = `${d >>> 20},${d & 0xfffff}`;
    if (devCache.size < 4096) devCache.set(d, s);
  }
  lastDev = d;
  lastDevName = s;
  return s;
}

function cstr(b: Buffer): string {
  const z = b.indexOf(0);
  return b.toString('latin1', 0, z < 0 ? b.length : z);
}

/** The record as blkparse would print it: maj,min cpu seq sec.nsec pid action rwbs tail. */
export function blkparseLine(ev: BlkEvent): string {
  const a = ev.action === 'T' ? 'UT' : ev.action;
  let tail: string;
  const who = ev.action === 'C' || ev.action === 'R' ? `[${ev.error ?? 0}]` : `[${ev.comm ?? ev.pid ?? ''}]`;
  if (ev.pc) tail = ev.action === 'C' || ev.action === 'R' ? who : `${ev.bytes ?? 0} ${who}`;
  else if (ev.action === 'U' || ev.action === 'T') tail = `${who} ${ev.depth ?? 0}`;
  else if (ev.action === 'P') tail = who;
  else if (ev.action === 'X') tail = `${ev.sector} / ${ev.newSector ?? 0} ${who}`;
  else if (ev.action === 'A') tail = `${ev.sector} + ${ev.sectors} <- (${ev.fromDev ?? '?'}) ${ev.newSector ?? 0}`;
  else if (ev.sectors > 0) tail = `${ev.sector} + ${ev.sectors} ${who}`;
  else tail = ev.action === 'C' || ev.action === 'R' ? `${ev.sector} ${who}` : who;
  return `${ev.dev} ${ev.cpu ?? 0} ${ev.seq ?? 0} ${ev.time.toFixed(9)} ${ev.pid ?? 0} ${a} ${ev.rwbs} ${tail}`;
}

/**
 * One decoded record: the event and its own evidence (file and byte offset; the text, the blkparse line, is made
 * only when someone reads it). One object per record instead of an event plus an evidence object.
 */
class RecordEvent implements BlkEvent, Evidence {
  comm: string | undefined = undefined;
  newSector: number | undefined = undefined;
  depth: number | undefined = undefined;
  fromDev: string | undefined = undefined;
  constructor(
    public time: number,
    public dev: string,
    public cpu: number,
    public pid: number,
    public action: BlkAction,
    public rwbs: string,
    public sector: number,
    public sectors: number,
    public bytes: number,
    public write: boolean,
    public error: number,
    public seq: number,
    public pc: boolean,
    public file: string,
    public offset: number,
  ) {}

  /** The same members again (a reused object, statistics only). */
  fill(
    time: number,
    dev: string,
    cpu: number,
    pid: number,
    action: BlkAction,
    rwbs: string,
    sector: number,
    sectors: number,
    bytes: number,
    write: boolean,
    error: number,
    seq: number,
    pc: boolean,
    file: string,
    offset: number,
  ): this {
    this.time = time;
    this.dev = dev;
    this.cpu = cpu;
    this.pid = pid;
    this.action = action;
    this.rwbs = rwbs;
    this.sector = sector;
    this.sectors = sectors;
    this.bytes = bytes;
    this.write = write;
    this.error = error;
    this.seq = seq;
    this.pc = pc;
    this.file = file;
    this.offset = offset;
    this.comm = undefined;
    this.newSector = undefined;
    this.depth = undefined;
    this.fromDev = undefined;
    return this;
  }
  get evidence(): Evidence {
    return this;
  }
  get text(): string {
    return blkparseLine(this);
  }
  toJSON(): Evidence {
    return { file: this.file, offset: this.offset, text: this.text };
  }
}

/** What a BlktraceDecoder's tap sees: each record framed (header fields as decoded) and each problem. */
export interface BlkTap {
  record(r: TraceRecord, offset: number, le: boolean): void;
  malformed(offset: number, reason: string): void;
}

/**
 * Records and problems of a stretch of the stream as numbers, ROW doubles each (the merge worker decodes with
 * binary-parser and sends these with the bytes; the parser's thread then neither frames nor decodes).
 */
export interface BlkRows {
  n: number;
  rows: Float64Array;
  /** Problem texts, indexed by a problem row's R_SEQ. */
  reasons: string[];
}
const ROW = 16;
const R_KIND = 0;
const R_OFFSET = 1;
const R_SEQ = 2;
const R_TIME_LO = 3;
const R_TIME_HI = 4;
const R_SECTOR_LO = 5;
const R_SECTOR_HI = 6;
const R_BYTES = 7;
const R_ACTION = 8;
const R_PID = 9;
const R_DEVICE = 10;
const R_CPU = 11;
const R_ERROR = 12;
const R_PDU_LEN = 13;
/** Index of the record's original file (-1: unknown) and its offset there. */
const R_FILE = 14;
const R_FILE_OFFSET = 15;
const KIND_LE = 0;
const KIND_BE = 1;
const KIND_BAD = 2;

/** A BlkTap that writes rows; `locate` names a stream offset's original file (index) and offset. */
export class BlkRowWriter implements BlkTap {
  private rows: Float64Array = new Float64Array(ROW * 1024);
  private n = 0;
  private reasons: string[] = [];
  private readonly where = { file: -1, offset: 0 };
  constructor(private readonly locate: (offset: number, out: { file: number; offset: number }) => boolean) {}

  private row(kind: number, offset: number): number {
    if ((this.n + 1) * ROW > this.rows.length) {
      const bigger = new Float64Array(this.rows.length * 2);
      bigger.set(this.rows);
      this.rows = bigger;
    }
    const k = this.n++ * ROW;
    const rows = this.rows;
    rows[k + R_KIND] = kind;
    rows[k + R_OFFSET] = offset;
    const w = this.where;
    if (this.locate(offset, w)) {
      rows[k + R_FILE] = w.file;
      rows[k + R_FILE_OFFSET] = w.offset;
    } else {
      rows[k + R_FILE] = -1;
      rows[k + R_FILE_OFFSET] = 0;
    }
    return k;
  }

  record(r: TraceRecord, offset: number, le: boolean): void {
    const k = this.row(le ? KIND_LE : KIND_BE, offset);
    const rows = this.rows;
    rows[k + R_SEQ] = r.seq;
    rows[k + R_TIME_LO] = r.timeLo;
    rows[k + R_TIME_HI] = r.timeHi;
    rows[k + R_SECTOR_LO] = r.sectorLo;
    rows[k + R_SECTOR_HI] = r.sectorHi;
    rows[k + R_BYTES] = r.bytes;
    rows[k + R_ACTION] = r.action;
    rows[k + R_PID] = r.pid;
    rows[k + R_DEVICE] = r.device;
    rows[k + R_CPU] = r.cpu;
    rows[k + R_ERROR] = r.error;
    rows[k + R_PDU_LEN] = r.pduLen;
  }

  malformed(offset: number, reason: string): void {
    const k = this.row(KIND_BAD, offset);
    this.rows[k + R_SEQ] = this.reasons.length;
    this.reasons.push(reason);
  }

  /** Buffers handed back by the rows' reader, used again before new ones are made. */
  readonly pool: ArrayBuffer[] = [];

  /** The rows written since the last take() (their buffer is handed over: the next comes from the pool). */
  take(): BlkRows {
    const out: BlkRows = { n: this.n, rows: this.rows.subarray(0, this.n * ROW), reasons: this.reasons };
    const want = Math.max(ROW * 1024, this.rows.length);
    let next: Float64Array | undefined;
    while (next === undefined && this.pool.length > 0) {
      const b = this.pool.pop()!;
      if (b.byteLength >= want * 8) next = new Float64Array(b);
    }
    this.rows = next ?? new Float64Array(want);
    this.n = 0;
    this.reasons = [];
    return out;
  }
}

export class BlktraceDecoder {
  private carry: Buffer | undefined;
  private carryOffset = 0;
  private genesis: number | undefined;
  private inGarbage = false;
  records = 0;
  private readonly comms = new Map<number, string>();
  private readonly origin: OriginResolver | undefined;
  /** Wall clock at trace start from the TIMESTAMP notify record (seconds since the epoch). */
  wallClock: number | undefined;
  unknownActions = 0;
  /** Records older than one before them (a single stream of several CPUs, e.g. blktrace -o - on stdin). */

  /** Sees every record framed and every problem met, in stream order (the merge worker writes them as rows). */
  tap: BlkTap | undefined;
  /**
   * Statistics only (see BlktraceCounter): no evidence is located (events carry file '' and offset 0), and one
   * event object is reused while `passes(time)` says nothing keeps it.
   */
  private spare: RecordEvent | undefined;
  private passes: ((time: number) => boolean) | undefined;
  statisticsOnly(passes: (time: number) => boolean): void {
    this.spare = new RecordEvent(0, '', 0, 0, 'Q', '', 0, 0, 0, false, 0, 0, false, '', 0);
    this.passes = passes;
  }

  constructor(
    private readonly ctx: ParserContext,
    private readonly sink: (ev: BlkEvent) => void,
  ) {
    this.origin = MERGED_ORIGINS.get(ctx.file);
  }

  private readonly where = { file: '', offset: 0 };
  /** Rows mode: the file and offset of the record at hand, as the worker resolved them ('' = resolve here). */
  private rowFile = '';
  private rowOffset = 0;

  /** Evidence of a problem or a message record (records are their own evidence: RecordEvent). */
  private evidence(offset: number): Evidence {
    this.locate(offset);
    return { file: this.where.file, offset: this.where.offset };
  }

  /** The original file and offset of stream byte `offset`, into this.where. */
  private locate(offset: number): void {
    const w = this.where;
    if (this.rowFile !== '') {
      w.file = this.rowFile;
      w.offset = this.rowOffset;
      return;
    }
    const origin = this.origin;
    if (origin) {
      if (origin.locate) {
        if (origin.locate(offset, w)) return;
      } else {
        const o = origin.resolve(offset);
        if (o) {
          w.file = o.file;
          w.offset = o.offset;
          return;
        }
      }
    }
    w.file = this.ctx.file;
    w.offset = offset;
  }

  private seen = 0;
  /** Last comm looked up (records of one pid come in runs). */
  private commPid = -1;
  private comm: string | undefined;

  private commOf(pid: number): string | undefined {
    if (pid !== this.commPid) {
      this.commPid = pid;
      this.comm = this.comms.get(pid);
    }
    return this.comm;
  }

  chunk(buf: Buffer, offset: number): void {
    this.seen += buf.length;
    let data = buf;
    let base = offset;
    if (this.carry) {
      data = Buffer.concat([this.carry, buf]);
      base = this.carryOffset;
      this.carry = undefined;
    }
    let pos = 0;
    const n = data.length;
    while (pos < n) {
      if (n - pos < 4) break;
      const order = magicAt(data, pos);
      if (!order) {
        const v = anyMagicVersion(data, pos);
        if (v !== undefined && !this.inGarbage) {
          this.bad(base + pos, `unsupported blk_io_trace version ${v} (blkparse reads version 7)`);
        } else if (!this.inGarbage) {
          this.bad(base + pos, `not a blk_io_trace record (bad magic 0x${data.readUInt32LE(pos).toString(16).padStart(8, '0')})`);
        }
        this.inGarbage = true;
        const next = resync(data, pos + 1);
        pos = next;
        if (pos >= n - 3 && magicAt(data, pos) === undefined) break;
        continue;
      }
      if (n - pos < HDR) break;
      const le = order === 'le';
      // Frame a run of complete records of the same byte order (magic checked inline: versions 6/7 as magicAt).
      let count = 0;
      let p = pos;
      while (p + HDR <= n && p - pos < BATCH_BYTES) {
        const b0 = data[p]!;
        const b3 = data[p + 3]!;
        let len: number;
        if (le) {
          if (!(b3 === 0x65 && data[p + 2] === 0x61 && data[p + 1] === 0x74 && (b0 === 7 || b0 === 6))) break;
          len = HDR + data.readUInt16LE(p + 46);
        } else {
          if (!(b0 === 0x65 && data[p + 1] === 0x61 && data[p + 2] === 0x74 && (b3 === 7 || b3 === 6))) break;
          len = HDR + data.readUInt16BE(p + 46);
        }
        if (p + len > n) break;
        count++;
        p += len;
      }
      if (count === 0) break; // an incomplete record: wait for more bytes
      batchCount = count;
      const recs = (le ? BatchLE : BatchBE).parse(data.subarray(pos, p)).recs as TraceRecord[];
      this.inGarbage = false;
      // Record k starts where record k-1 ended (48 + its pduLen).
      let at = pos;
      const tap = this.tap;
      for (let k = 0; k < recs.length; k++) {
        const r = recs[k]!;
        if (tap) tap.record(r, base + at, le);
        this.record(r, base + at, le, data, at + HDR);
        at += HDR + r.pduLen;
      }
      pos = p;
    }
    if (pos < n) {
      this.carry = Buffer.from(data.subarray(pos));
      this.carryOffset = base + pos;
      // A record is at most 48 + 65535 bytes; more than that pending without progress is garbage.
      if (this.carry.length > HDR + 65536 * 2) {
        this.bad(this.carryOffset, 'not a blk_io_trace record (no record boundary found)');
        this.carry = undefined;
      }
    }
  }

  private bad(offset: number, reason: string): void {
    this.tap?.malformed(offset, reason);
    this.ctx.malformed(this.evidence(offset), reason);
  }

  /** Stream bytes that ended before their rows (rows mode): a record's payload may begin in them. */
  private prevBufs: { buf: Buffer; offset: number }[] = [];
  private readonly scratch: TraceRecord = { magic: 0, seq: 0, timeLo: 0, timeHi: 0, sectorLo: 0, sectorHi: 0, bytes: 0, action: 0, pid: 0, device: 0, cpu: 0, error: 0, pduLen: 0 };

  /**
   * Rows mode: the bytes `buf` at stream offset `offset`, decoded elsewhere into `sets` (the merge worker's rows,
   * in stream order). Records and problems are handled exactly as chunk() would, without framing or decoding here.
   */
  rows(buf: Buffer, offset: number, sets: BlkRows[], files: readonly string[]): void {
    const r = this.scratch;
    for (const set of sets) {
      const rows = set.rows;
      for (let i = 0, k = 0; i < set.n; i++, k += ROW) {
        const fi = rows[k + R_FILE]!;
        this.rowFile = fi >= 0 ? files[fi]! : '';
        this.rowOffset = rows[k + R_FILE_OFFSET]!;
        const at = rows[k + R_OFFSET]!;
        const kind = rows[k + R_KIND]!;
        if (kind === KIND_BAD) {
          this.ctx.malformed(this.evidence(at), set.reasons[rows[k + R_SEQ]!]!);
          continue;
        }
        r.seq = rows[k + R_SEQ]!;
        r.timeLo = rows[k + R_TIME_LO]!;
        r.timeHi = rows[k + R_TIME_HI]!;
        r.sectorLo = rows[k + R_SECTOR_LO]!;
        r.sectorHi = rows[k + R_SECTOR_HI]!;
        r.bytes = rows[k + R_BYTES]!;
        r.action = rows[k + R_ACTION]!;
        r.pid = rows[k + R_PID]!;
        r.device = rows[k + R_DEVICE]!;
        r.cpu = rows[k + R_CPU]!;
        r.error = rows[k + R_ERROR]!;
        r.pduLen = rows[k + R_PDU_LEN]!;
        const rel = at - offset;
        if (rel >= 0 || r.pduLen === 0) this.record(r, at, kind === KIND_LE, buf, rel + HDR);
        else {
          // Begun in an earlier chunk: its bytes from there (only its payload is read).
          const whole = this.spanning(at, HDR + r.pduLen, buf, offset);
          this.record(r, at, kind === KIND_LE, whole, HDR);
        }
      }
    }
    this.rowFile = '';
    this.prevBufs.push({ buf, offset });
    if (this.prevBufs.length > 2) this.prevBufs.shift();
  }

  private spanning(at: number, len: number, buf: Buffer, offset: number): Buffer {
    const parts: Buffer[] = [];
    for (const p of this.prevBufs) {
      const from = Math.max(0, at - p.offset);
      if (from < p.buf.length) parts.push(p.buf.subarray(from));
    }
    parts.push(buf);
    const whole = Buffer.concat(parts);
    return whole.length >= len ? whole : EMPTY;
  }

  /** Rows mode: the problems met at the end of the stream (the worker's end()). */
  rowsEnd(sets: BlkRows[], files: readonly string[]): void {
    this.rows(EMPTY, Infinity, sets, files);
    this.prevBufs = [];
  }

  end(): void {
    if (this.seen === 0) this.bad(0, 'empty input: no blk_io_trace record');
    if (this.carry && this.carry.length > 0) {
      const c = this.carry;
      const order = magicAt(c, 0);
      if (order && c.length >= HDR) {
        const want = HDR + (order === 'le' ? c.readUInt16LE(46) : c.readUInt16BE(46));
        this.bad(this.carryOffset, `truncated blk_io_trace record: ${c.length} of ${want} bytes`);
      } else if (order || c.length < 4) {
        this.bad(this.carryOffset, `truncated blk_io_trace record: ${c.length} of ${HDR}+ bytes`);
      } else if (!this.inGarbage) {
        this.bad(this.carryOffset, 'not a blk_io_trace record (trailing bytes)');
      }
    }
    this.carry = undefined;
  }

  private record(r: TraceRecord, offset: number, le: boolean, data: Buffer, pduAt: number): void {
    this.records++;
    const time = r.timeHi * 4294967296 + r.timeLo;
    if (this.genesis === undefined) this.genesis = time;
    const action = r.action >>> 0;
    const cat = action >>> 16;
    const needPdu = r.pduLen > 0 && (cat & TC_NOTIFY || (action & 0xff) === 10 || (action & 0xff) === 11 || (action & 0xff) === 13 || (action & 0xff) === 15);
    let pdu = needPdu ? data.subarray(pduAt, pduAt + r.pduLen) : EMPTY;
    if (action & TA_CGROUP && pdu.length >= 8) pdu = pdu.subarray(8);
    const code = action & 0xffff & ~TA_CGROUP;
    if (cat & TC_NOTIFY) {
      if (code === TN_PROCESS) {
        const name = cstr(pdu);
        if (this.comms.size < 65536 || this.comms.has(r.pid)) this.comms.set(r.pid, name);
        this.commPid = -1;
      } else if (code === TN_TIMESTAMP && pdu.length >= 8) {
        const t = (le ? Timestamp.le : Timestamp.be).parse(pdu.subarray(0, 8)) as { sec: number; nsec: number };
        this.wallClock = t.sec + t.nsec / 1e9;
      } else if (code === TN_MESSAGE) {
        this.sink({
          time: (time - this.genesis) / 1e9,
          dev: devName(r.device),
          cpu: r.cpu,
          pid: r.pid,
          action: 'm',
          rwbs: 'N',
          sector: 0,
          sectors: 0,
          message: cstr(pdu),
          evidence: this.evidence(offset),
        });
      }
      return;
    }
    const a = ACTIONS[code];
    if (!a) {
      this.unknownActions++;
      return;
    }
    const bytes = r.bytes >>> 0;
    const spare = this.spare;
    let file = '';
    let at = 0;
    if (spare === undefined) {
      this.locate(offset);
      file = this.where.file;
      at = this.where.offset;
    }
    const t = (time - this.genesis) / 1e9;
    const dev = devName(r.device);
    const rwbs = rwbsOf(cat, bytes !== 0);
    const sector = r.sectorHi * 4294967296 + r.sectorLo;
    const sectors = Math.floor(bytes / 512);
    const write = (cat & TC_WRITE) !== 0;
    const pc = (cat & TC_PC) !== 0;
    // Statistics only: one event object serves every record that goes straight through (nothing keeps it).
    const ev =
      spare !== undefined && this.passes!(t)
        ? spare.fill(t, dev, r.cpu, r.pid, a, rwbs, sector, sectors, bytes, write, r.error, r.seq, pc, file, at)
        : new RecordEvent(t, dev, r.cpu, r.pid, a, rwbs, sector, sectors, bytes, write, r.error, r.seq, pc, file, at);
    ev.comm = this.commOf(r.pid);
    if ((a === 'U' || a === 'T' || a === 'X') && pdu.length >= 8) {
      const v = BeU64.parse(pdu.subarray(0, 8)) as { hi: number; lo: number };
      const val = v.hi * 4294967296 + v.lo;
      if (a === 'X') ev.newSector = val;
      else ev.depth = val;
    } else if (a === 'A' && pdu.length >= 16) {
      const m = Remap.parse(pdu.subarray(0, 16)) as { devFrom: number; devTo: number; secHi: number; secLo: number };
      ev.fromDev = devName(m.devFrom);
      ev.newSector = m.secHi * 4294967296 + m.secLo;
    }
    this.sink(ev);
  }
}

/** Records held back to put a single stream of several CPUs (blktrace -o - | ...) in time order. */
export const REORDER_WINDOW = 8192;

/**
 * Passes events through while they come in time order. From the first one older than its predecessor on
 * (several CPUs in one stream, as `blktrace -o -` writes them), events go through a min-heap of
 * REORDER_WINDOW and leave oldest first, as blkparse sorts a piped stream. `late` counts events that were
 * still out of order when they left (the first disordered one, or ones later than the window).
 */
export class Reorderer {
  private active = false;
  private last = -Infinity;
  private n = 0;
  private readonly heap: { t: number; n: number; ev: BlkEvent }[] = [];
  late = 0;
  reordered = 0;
  constructor(
    private readonly sink: (ev: BlkEvent) => void,
    private readonly window = REORDER_WINDOW,
  ) {}

  /** Whether an event at `time` would go straight to the sink now (not held back). */
  passes(time: number): boolean {
    return !this.active && time >= this.last;
  }

  push(ev: BlkEvent): void {
    if (!this.active) {
      if (ev.time >= this.last) {
        this.last = ev.time;
        this.sink(ev);
        return;
      }
      this.active = true;
    }
    this.reordered++;
    const h = this.heap;
    h.push({ t: ev.time, n: this.n++, ev });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
    if (h.length > this.window) this.out(this.pop());
  }

  private pop(): BlkEvent {
    const h = this.heap;
    const top = h[0]!;
    const lastE = h.pop()!;
    if (h.length > 0) {
      h[0] = lastE;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top.ev;
  }

  private out(ev: BlkEvent): void {
    if (ev.time < this.last) this.late++;
    else this.last = ev.time;
    this.sink(ev);
  }

  end(): void {
    while (this.heap.length > 0) this.out(this.pop());
  }
}

function less(a: { t: number; n: number }, b: { t: number; n: number }): boolean {
  return a.t < b.t || (a.t === b.t && a.n < b.n);
}

class BlktraceParser implements BinaryParser {
  private readonly asm: BlkAssembler;
  private readonly dec: BlktraceDecoder;
  private readonly order: Reorderer;
  /** Set when the merge runs on a worker (src/input/blktrace-merge.ts): it decodes the records and counts. */
  private readonly feed: WorkerFeed | undefined;
  constructor(private readonly ctx: ParserContext) {
    this.feed = MERGED_ORIGINS.get(ctx.file)?.worker;
    this.asm = new BlkAssembler(ctx, { format: BLKTRACE_ID, stats: this.feed === undefined });
    this.order = new Reorderer((ev) => this.asm.event(ev));
    this.dec = new BlktraceDecoder(ctx, (ev) => this.order.push(ev));
  }
  chunk(buf: Buffer, offset: number): void {
    const f = this.feed;
    if (f) this.dec.rows(buf, offset, f.takeRows(offset + buf.length), f.files);
    else this.dec.chunk(buf, offset);
  }
  end(): void {
    const f = this.feed;
    if (f) this.dec.rowsEnd(f.takeRows(Infinity), f.files);
    else this.dec.end();
    this.order.end();
    if (this.dec.wallClock !== undefined) this.asm.traceStartEpoch = this.dec.wallClock;
    if (this.order.late > 0) {
      this.ctx.emit({
        kind: 'diag',
        code: 'blk-unsorted',
        message: `${this.order.late} records could not be put in time order (held back up to ${REORDER_WINDOW}): several CPUs in one file? Pass the per-CPU files instead (they are merged by time).`,
        data: { late: this.order.late, reordered: this.order.reordered },
        evidence: [],
      });
    }
    if (this.feed?.counts) this.asm.setStats(this.feed.counts);
    this.asm.end();
  }
  records(): number {
    return this.dec.records;
  }
}

/**
 * blkparse's and btt's statistics alone over a stream of blk_io_trace records (the merge worker runs this over
 * the merged stream while the parser's thread rebuilds the requests): the same decoding and time ordering as
 * the parser, without requests, evidence kept or problems reported (the parser reports them).
 */
export class BlktraceCounter {
  private readonly asm: BlkAssembler;
  private readonly dec: BlktraceDecoder;
  private readonly order: Reorderer;
  constructor(tap?: BlkTap) {
    const ctx: ParserContext = { file: '', options: {}, emit: () => undefined, malformed: () => undefined };
    this.asm = new BlkAssembler(ctx, { format: BLKTRACE_ID });
    this.order = new Reorderer((ev) => this.asm.count(ev));
    this.dec = new BlktraceDecoder(ctx, (ev) => this.order.push(ev));
    this.dec.tap = tap;
    this.dec.statisticsOnly((t) => this.order.passes(t));
  }
  chunk(buf: Buffer, offset: number): void {
    this.dec.chunk(buf, offset);
  }
  end(): BlkCounts {
    this.dec.end();
    this.order.end();
    const { devices, latency } = this.asm.stats();
    return { devices, latency };
  }
}

export const blktrace: BinaryFormatDef = {
  id: BLKTRACE_ID,
  kind: 'binary',
  family: 'linux-block',
  title: 'Linux blktrace binary (blk_io_trace)',
  description:
    'Per-CPU binary files written by blktrace (<dev>.blktrace.<cpu>): 48-byte struct blk_io_trace records ' +
    '(version 7, either byte order) with their payloads. Several files of one trace, or a base name ' +
    '("vda" for vda.blktrace.*), are merged by time as blkparse -i does. Rebuilds each request from its ' +
    'Q/G/I/M/D/C events and computes blkparse\'s per-device counts and btt\'s Q2C/D2C/Q2G/G2I/I2D/M2D.',
  url: 'https://github.com/torvalds/linux/blob/master/include/uapi/linux/blktrace_api.h',
  fields: [
    { name: 'magic', type: 'hex', description: '0x65617400 | version (7)' },
    { name: 'sequence', type: 'int', description: 'per-device event number (0 for notify records)' },
    { name: 'time', type: 'u64', description: 'nanoseconds (trace clock)' },
    { name: 'sector', type: 'u64', description: 'first 512-byte sector' },
    { name: 'bytes', type: 'int', description: 'transfer length in bytes' },
    { name: 'action', type: 'hex', description: 'low 16 bits __BLK_TA_* / __BLK_TN_*, high 16 bits BLK_TC_* categories' },
    { name: 'pid', type: 'int', description: 'process id' },
    { name: 'device', type: 'hex', description: 'dev_t: major << 20 | minor' },
    { name: 'cpu', type: 'int', description: 'CPU' },
    { name: 'error', type: 'int', description: 'completion error (positive errno)' },
    { name: 'pdu_len', type: 'int', description: 'payload bytes that follow' },
  ],
  detect(head: Buffer): number {
    try {
      if (head.length < 4) return 0;
      if (!magicAt(head, 0)) return 0;
      if (head.length < HDR) return 0.6;
      const order = magicAt(head, 0)!;
      const len = HDR + (order === 'le' ? head.readUInt16LE(46) : head.readUInt16BE(46));
      if (head.length >= len + 4) return magicAt(head, len) ? 1 : 0.7;
      return 0.9;
    } catch {
      return 0;
    }
  },
  createParser(ctx: ParserContext): BinaryParser {
    return new BlktraceParser(ctx);
  },
  sampleText: 'Q record: magic 0x65617407, seq 1, time 1000 ns, sector 2048, bytes 4096, action 0x011a0001 (Q WS), pid 97, dev 254,0, cpu 0',
  samples: [
    {
      hex:
        '07746165' + '01000000' + 'e803000000000000' + '0008000000000000' + '00100000' + '01001a01' + '61000000' +
        '0000e00f' + '00000000' + '0000' + '0000',
      comment: 'one 48-byte little-endian Q record: WS 2048 + 8 by pid 97 on 254,0',
    },
  ],
};
