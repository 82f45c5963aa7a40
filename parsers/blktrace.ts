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
// Records are framed by hand; runs of complete records are decoded as one binary-parser batch.
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
import { MERGED_ORIGINS, type OriginResolver } from './linux-block/origins.js';

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

/** Evidence of one binary record; its text (the blkparse line) is made only when someone reads it. */
class RecordEvidence implements Evidence {
  #event: BlkEvent | undefined;
  constructor(
    public file: string,
    public offset: number,
  ) {}
  attach(ev: BlkEvent): void {
    this.#event = ev;
  }
  get text(): string | undefined {
    return this.#event ? blkparseLine(this.#event) : undefined;
  }
  toJSON(): Evidence {
    const t = this.text;
    return t === undefined ? { file: this.file, offset: this.offset } : { file: this.file, offset: this.offset, text: t };
  }
}

const NO_EVIDENCE: Evidence = Object.freeze({ file: '', offset: 0 });

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

  constructor(
    private readonly ctx: ParserContext,
    private readonly sink: (ev: BlkEvent) => void,
    /** False: events carry one shared placeholder evidence (statistics only, nothing is reported). */
    private readonly withEvidence = true,
  ) {
    this.origin = MERGED_ORIGINS.get(ctx.file);
  }

  private readonly where = { file: '', offset: 0 };

  private evidence(offset: number): Evidence {
    const origin = this.origin;
    if (origin) {
      if (origin.locate) {
        if (origin.locate(offset, this.where)) return new RecordEvidence(this.where.file, this.where.offset);
      } else {
        const o = origin.resolve(offset);
        if (o) return new RecordEvidence(o.file, o.offset);
      }
    }
    return new RecordEvidence(this.ctx.file, offset);
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
      for (let k = 0; k < recs.length; k++) {
        const r = recs[k]!;
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
    this.ctx.malformed(this.evidence(offset), reason);
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
    const ev: BlkEvent = {
      time: (time - this.genesis) / 1e9,
      dev: devName(r.device),
      cpu: r.cpu,
      pid: r.pid,
      comm: this.commOf(r.pid),
      action: a,
      rwbs: rwbsOf(cat, bytes !== 0),
      sector: r.sectorHi * 4294967296 + r.sectorLo,
      sectors: Math.floor(bytes / 512),
      bytes,
      write: (cat & TC_WRITE) !== 0,
      error: r.error,
      seq: r.seq,
      // Every field present from the start: one object shape for all records.
      pc: (cat & TC_PC) !== 0,
      newSector: undefined,
      depth: undefined,
      fromDev: undefined,
      evidence: this.withEvidence ? this.evidence(offset) : NO_EVIDENCE,
    };
    if (this.withEvidence) (ev.evidence as RecordEvidence).attach(ev);
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
  /** Set when the merge worker counts the statistics (src/input/blktrace-merge.ts). */
  private readonly workerStats: { counts?: BlkCounts } | undefined;
  constructor(private readonly ctx: ParserContext) {
    this.workerStats = MERGED_ORIGINS.get(ctx.file)?.workerStats;
    this.asm = new BlkAssembler(ctx, { format: BLKTRACE_ID, stats: this.workerStats === undefined });
    this.order = new Reorderer((ev) => this.asm.event(ev));
    this.dec = new BlktraceDecoder(ctx, (ev) => this.order.push(ev));
  }
  chunk(buf: Buffer, offset: number): void {
    this.dec.chunk(buf, offset);
  }
  end(): void {
    this.dec.end();
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
    if (this.workerStats?.counts) this.asm.setStats(this.workerStats.counts);
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
  constructor() {
    const ctx: ParserContext = { file: '', options: {}, emit: () => undefined, malformed: () => undefined };
    this.asm = new BlkAssembler(ctx, { format: BLKTRACE_ID });
    this.order = new Reorderer((ev) => this.asm.count(ev));
    this.dec = new BlktraceDecoder(ctx, (ev) => this.order.push(ev), false);
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
