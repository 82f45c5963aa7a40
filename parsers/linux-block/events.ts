// Linux block-layer lifecycle events (blktrace binary, blkparse text, ftrace/trace-cmd/perf text) and the
// assembler that rebuilds requests from them.
//
// Sources (facts, not code): ../shared/specs/virtio/SPEC.md §4 (blk_io_trace, blkparse text) and §5 (ftrace);
// blkparse accounting and btt's latency pairing as read in the blktrace tree (blkparse.c dump_trace_fs /
// account_*; btt trace_queue.c, trace_im.c, trace_issue.c, trace_complete.c, inlines.h, dip_rb.c).
//
// One BlkEvent per Q/G/I/D/C/M/F/R/X/A/P/U/S/T/B/m record. The assembler:
//  - keeps queued bios (Q) until a request takes them (G/I: the request's first bio; M/F: merged bios);
//  - emits one Request per request issued to the driver (D; for ftrace one per block_rq_issue), with its
//    merged bios in req.info.bios, and completes it on C (status 'ok'/'error');
//  - handles requeues (R: the request goes back to pending; the next D re-issues the same request),
//    splits (X), remaps (A), plugs (P/U/T), the flush quirk (sector 2^64-1 = a pure flush);
//  - counts exactly what blkparse's per-device summary counts and the btt latencies (Q2C D2C Q2G G2I I2D M2D),
//    and emits them from end() as a diag event {code:'blk-stats', data: BlkStatsData}.
import type { Evidence, Op, Request } from '../../src/model/types.js';
import type { ParserContext } from '../types.js';

export type BlkAction = 'Q' | 'G' | 'I' | 'D' | 'C' | 'M' | 'F' | 'R' | 'X' | 'A' | 'P' | 'U' | 'S' | 'T' | 'B' | 'm';

export interface BlkEvent {
  /** Seconds (float). blktrace/blkparse: relative to the first event; ftrace: the trace clock. */
  time: number;
  /** 'MAJ,MIN' */
  dev: string;
  cpu?: number;
  pid?: number;
  comm?: string;
  action: BlkAction;
  /** blkparse / kernel rwbs string (e.g. 'WS', 'FWS', 'FN', 'RA', 'DS', 'FF'). */
  rwbs: string;
  /** First sector (512 B). The flush quirk value 18446744073709551615 may be passed as is. */
  sector: number;
  sectors: number;
  /** Completion error: 0 ok; blktrace positive errno; ftrace negative errno. */
  error?: number;
  /** X: split point; A: the sector it was remapped from. */
  newSector?: number;
  /** A: device it was remapped from ('MAJ,MIN'). */
  fromDev?: string;
  /** U/T: requests unplugged. */
  depth?: number;
  /** Transfer bytes when known exactly (blktrace `bytes`); default sectors*512. */
  bytes?: number;
  /** The record's WRITE category bit (blktrace); derived from rwbs when absent. */
  write?: boolean;
  /** Passthrough (BLK_TC_PC) record, e.g. virtio GET_ID: counted apart, never a data request. */
  pc?: boolean;
  /** Per-device sequence number (blktrace), used as the request id users see. */
  seq?: number;
  /** m: message text. */
  message?: string;
  evidence: Evidence;
}

/** Sector value the kernel logs for a pure flush in ftrace/blktrace ((u64)-1). */
export const FLUSH_SECTOR = 18446744073709551615;
export function isFlushSector(s: number): boolean {
  return s >= 1.8446744073709550e19;
}

export interface RwbsInfo {
  op: Op;
  /** WRITE category (blkparse counts the event as a write). */
  write: boolean;
  preflush: boolean;
  fua: boolean;
  sync: boolean;
  meta: boolean;
  ahead: boolean;
}

const rwbsCache = new Map<string, RwbsInfo>();

/**
 * Decode an rwbs string. blkparse (fill_rwbs): [F=flush category] then D (discard) | W | R | N, then F (FUA) A S M.
 * Kernel ftrace (blk_fill_rwbs): [F=preflush] then W | D | DE (secure erase) | F (flush op) | R | N, then F A S M.
 */
export function parseRwbs(rwbs: string): RwbsInfo {
  const hit = rwbsCache.get(rwbs);
  if (hit) return hit;
  let i = 0;
  let preflush = false;
  const s = rwbs;
  if (s[0] === 'F' && s.length > 1 && 'FWRDN'.includes(s[1]!)) {
    preflush = true;
    i = 1;
  }
  let op: Op = 'unknown';
  let write = false;
  const c = s[i];
  if (c === 'W') {
    op = 'write';
    write = true;
    i++;
  } else if (c === 'R') {
    op = 'read';
    i++;
  } else if (c === 'D') {
    i++;
    if (s[i] === 'E') {
      op = 'secure-erase';
      i++;
    } else op = 'discard';
    // Discard is a write op (op_is_write) in every kernel that has REQ_OP_DISCARD: the WRITE bit is set.
    write = true;
  } else if (c === 'F') {
    op = 'flush';
    i++;
  } else if (c === 'N') {
    op = preflush ? 'flush' : 'unknown';
    i++;
  }
  let fua = false;
  let sync = false;
  let meta = false;
  let ahead = false;
  for (; i < s.length; i++) {
    const f = s[i];
    if (f === 'F') fua = true;
    else if (f === 'S') sync = true;
    else if (f === 'M') meta = true;
    else if (f === 'A') ahead = true;
  }
  const info: RwbsInfo = { op, write, preflush, fua, sync, meta, ahead };
  if (rwbsCache.size < 4096) rwbsCache.set(rwbs, info);
  return info;
}

/** 'N' (no read/write op) with data: only REQ_OP_WRITE_ZEROES prints so in Linux 6.1 ftrace (blk_fill_rwbs default). */
function isDataN(rwbs: string): boolean {
  return rwbs === 'N' || rwbs === 'NS' || rwbs === 'NM' || rwbs === 'NSM';
}

// ---------------------------------------------------------------------------------------------------------
// Statistics

export interface RW {
  read: number;
  write: number;
}
export interface BlkDeviceStats {
  queued: RW;
  dispatched: RW;
  completed: RW;
  merged: RW;
  requeued: RW;
  /** KiB as blkparse prints them: the bytes of the counted events summed, then >> 10. */
  queuedKiB: RW;
  dispatchedKiB: RW;
  completedKiB: RW;
  mergedKiB: RW;
  /** Largest number of requests issued and not completed, per direction (blkparse "Read depth"). */
  depth: RW;
  pc: { queued: RW; dispatched: RW; requeued: RW; completed: RW };
  unplugs: { io: number; timer: number };
  events: number;
}

export interface LatencyStat {
  n: number;
  /** Seconds. */
  min: number;
  avg: number;
  max: number;
  p50?: number;
  p90?: number;
  p99?: number;
}

export const LATENCY_METRICS = ['Q2C', 'D2C', 'Q2G', 'G2I', 'I2D', 'M2D'] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];

export interface BlkStatsData {
  devices: Record<string, BlkDeviceStats>;
  latency: Record<string, Partial<Record<LatencyMetric, LatencyStat>>>;
  /** Assembler-level counters: requests built, orphans, requeues, splits... */
  blkAssembler: Record<string, number>;
}

function rw(): RW {
  return { read: 0, write: 0 };
}

function newDeviceStats(): BlkDeviceStats {
  return {
    queued: rw(),
    dispatched: rw(),
    completed: rw(),
    merged: rw(),
    requeued: rw(),
    queuedKiB: rw(),
    dispatchedKiB: rw(),
    completedKiB: rw(),
    mergedKiB: rw(),
    depth: rw(),
    pc: { queued: rw(), dispatched: rw(), requeued: rw(), completed: rw() },
    unplugs: { io: 0, timer: 0 },
    events: 0,
  };
}

/** Running min/avg/max over integer nanoseconds, with a log histogram for percentiles. */
const HIST_BUCKETS = 64 * 16;

class Acc {
  n = 0;
  min = 0;
  max = 0;
  total = 0;
  /** 16 buckets per power of two (2^64 ns at most): counts and sums (the bucket mean is exact when values repeat). */
  private readonly counts = new Float64Array(HIST_BUCKETS);
  private readonly sums = new Float64Array(HIST_BUCKETS);
  private lastNs = -1;
  private lastBucket = 0;
  add(ns: number): void {
    if (this.n++ === 0) {
      this.min = this.max = this.total = ns;
    } else {
      // btt's avg_update: min, else max (a value never updates both).
      if (ns < this.min) this.min = ns;
      else if (ns > this.max) this.max = ns;
      this.total += ns;
    }
    // Latencies repeat (same device, same size): the last value's bucket is reused.
    let b: number;
    if (ns === this.lastNs) b = this.lastBucket;
    else {
      b = ns <= 1 ? 0 : Math.min(HIST_BUCKETS - 1, Math.floor(Math.log2(ns) * 16));
      this.lastNs = ns;
      this.lastBucket = b;
    }
    this.counts[b]!++;
    this.sums[b]! += ns;
  }
  percentile(p: number): number {
    const want = Math.ceil((p / 100) * this.n);
    let seen = 0;
    for (let k = 0; k < HIST_BUCKETS; k++) {
      const n = this.counts[k]!;
      if (n === 0) continue;
      seen += n;
      if (seen >= want) return Math.min(this.max, Math.max(this.min, this.sums[k]! / n));
    }
    return this.max;
  }
  toJSON(): LatencyStat {
    return {
      n: this.n,
      min: this.min / 1e9,
      avg: this.n ? this.total / this.n / 1e9 : 0,
      max: this.max / 1e9,
      p50: this.percentile(50) / 1e9,
      p90: this.percentile(90) / 1e9,
      p99: this.percentile(99) / 1e9,
    };
  }
}

/** btt's per-Q record ("struct io" of type Q with its g/i/m/d times). Times in ns; -1 = not seen. */
interface BttQ {
  start: number;
  end: number;
  t: number;
  g: number;
  i: number;
  m: number;
  d: number;
  /** Removed (completed or replaced); dropped from the array at the next compaction. */
  dead: boolean;
}

/**
 * btt's pairing for one device: Q's kept by start sector (duplicates dropped), G/I/M find the Q holding
 * their sector, D/C take the Q's wholly inside their range. Events with 0 bytes are ignored, as in btt.
 */
class BttDevice {
  /** Q's sorted by start; removed ones are marked dead and compacted away in bulk. */
  private qs: BttQ[] = [];
  private dead = 0;
  private readonly found: BttQ[] = [];
  readonly acc: Record<LatencyMetric, Acc> = {
    Q2C: new Acc(),
    D2C: new Acc(),
    Q2G: new Acc(),
    G2I: new Acc(),
    I2D: new Acc(),
    M2D: new Acc(),
  };

  private lowerBound(s: number): number {
    const a = this.qs;
    // Sequential I/O looks up the newest Q's (the end of the array): checked before the binary search.
    const n = a.length;
    if (n === 0 || a[n - 1]!.start < s) return n;
    if (n === 1 || a[n - 2]!.start < s) return n - 1;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]!.start < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The Q whose [start, end) holds sector s (the live one with the largest start <= s). */
  private find(s: number): BttQ | undefined {
    const a = this.qs;
    if (a.length === 0) return undefined;
    let idx = this.lowerBound(s + 1) - 1;
    while (idx >= 0 && a[idx]!.dead) idx--;
    if (idx < 0) return undefined;
    const q = a[idx]!;
    return s >= q.start && s < q.end ? q : undefined;
  }

  /** Q's wholly inside [s, e): this.found[0 .. count) (entries past count are stale; no array resize per call). */
  private contained(s: number, e: number): number {
    const a = this.qs;
    const out = this.found;
    let n = 0;
    for (let k = this.lowerBound(s); k < a.length; k++) {
      const q = a[k]!;
      if (q.start >= e) break;
      if (q.end <= e && !q.dead) {
        if (n < out.length) out[n] = q;
        else out.push(q);
        n++;
      }
    }
    return n;
  }

  /** btt ignores a device's events until its first Q (or A) with data ("pre-culling"). */
  started = false;

  queue(start: number, nsec: number, t: number): void {
    this.started = true;
    // A second Q with the same start replaces the first, which leaves without a Q2C (as btt 2.09 does).
    const a0 = this.qs;
    for (let k = this.lowerBound(start); k < a0.length && a0[k]!.start === start; k++) {
      if (!a0[k]!.dead) {
        this.remove(a0[k]!);
        break;
      }
    }
    const q: BttQ = { start, end: start + nsec, t, g: -1, i: -1, m: -1, d: -1, dead: false };
    const a = this.qs;
    if (a.length === 0 || a[a.length - 1]!.start < start) a.push(q);
    else a.splice(this.lowerBound(start), 0, q);
  }

  getrq(s: number, t: number): void {
    const q = this.find(s);
    if (!q) return;
    q.g = t;
    this.acc.Q2G.add(tdelta(q.t, t));
  }

  insert(s: number, t: number): void {
    const q = this.find(s);
    if (!q) return;
    q.i = t;
    if (q.g !== -1) this.acc.G2I.add(tdelta(q.g, t));
  }

  merge(s: number, t: number): void {
    const q = this.find(s);
    if (!q) return;
    q.m = t;
  }

  issue(s: number, nsec: number, t: number): void {
    const n = this.contained(s, s + nsec);
    const list = this.found;
    for (let k = 0; k < n; k++) {
      const q = list[k]!;
      if (q.i !== -1) this.acc.I2D.add(tdelta(q.i, t));
      else if (q.m !== -1) this.acc.M2D.add(tdelta(q.m, t));
      q.d = t;
    }
  }

  complete(s: number, nsec: number, t: number): void {
    const n = this.contained(s, s + nsec);
    const list = this.found;
    for (let k = 0; k < n; k++) {
      const q = list[k]!;
      this.acc.Q2C.add(tdelta(q.t, t));
      if (q.d !== -1) this.acc.D2C.add(tdelta(q.d, t));
      this.remove(q);
    }
  }

  private remove(q: BttQ): void {
    if (q.dead) return;
    q.dead = true;
    const a = this.qs;
    // Usually one of the newest Q's: taken out of the array at once, so that it dies young (a Q marked dead
    // stays referenced until the next compaction, long enough to be promoted to V8's old space).
    for (let k = a.length - 1, stop = Math.max(0, a.length - 16); k >= stop; k--) {
      if (a[k] === q) {
        if (k === a.length - 1) a.pop();
        else a.splice(k, 1);
        return;
      }
    }
    this.dead++;
    if (this.dead > 64 && this.dead * 2 > a.length) {
      this.qs = a.filter((x) => !x.dead);
      this.dead = 0;
    }
  }

  pending(): number {
    return this.qs.length - this.dead;
  }
}

function tdelta(from: number, to: number): number {
  return from < to ? to - from : 1;
}

// ---------------------------------------------------------------------------------------------------------
// Lifecycle

/** A queued bio. Its own fields are what req.info.bios shows (JSON); the evidence stays private. */
class Bio {
  declare pid?: number;
  declare comm?: string;
  declare merge?: 'back' | 'front';
  declare mergeTime?: number;
  declare splitFrom?: number;
  declare remapFrom?: { dev?: string; sector: number };
  readonly #evidence: Evidence;
  constructor(
    public sector: number,
    public sectors: number,
    public queueTime: number,
    public rwbs: string,
    evidence: Evidence,
  ) {
    this.#evidence = evidence;
  }
  get evidence(): Evidence {
    return this.#evidence;
  }
}

interface PendingReq {
  sector: number;
  sectors: number;
  rwbs: string;
  bios: Bio[];
  /** Earliest Q of its bios. */
  queueTime?: number;
  getTime?: number;
  insertTime?: number;
  evidence: Evidence[];
  /** Set once issued: the Request in the model (a requeued request keeps it). */
  req?: Request;
  requeues: number;
}

/**
 * Objects keyed by sector: one value, or an array only when several share a sector (rare).
 * The latest push sits in a one-entry slot outside the Map until the next push (a Q is usually taken by the
 * very next G, a D often completed before the next D): no Map set/get/delete for those. Invariant: the Map
 * has no entry for the slot's key. Map order stays push order (the slot moves in before any later push).
 */
class Multi<T extends object> {
  private readonly m = new Map<number, T | T[]>();
  private has = false;
  private sk = 0;
  private sv: T | undefined;
  push(k: number, v: T): void {
    if (this.has) {
      this.has = false;
      const sv = this.sv!;
      this.sv = undefined;
      if (this.sk === k) {
        this.m.set(k, [sv, v]);
        return;
      }
      this.m.set(this.sk, sv);
    }
    const c = this.m.get(k);
    if (c === undefined) {
      this.has = true;
      this.sk = k;
      this.sv = v;
    } else if (Array.isArray(c)) c.push(v);
    else this.m.set(k, [c, v]);
  }
  /**
   * Remove and return the oldest value at k: takeWhere with a predicate that accepts anything, written out
   * because it runs for most events (delegating to takeWhere measured ~4 % slower on a 5 M-event trace).
   */
  shift(k: number): T | undefined {
    if (this.has && this.sk === k) {
      const v = this.sv;
      this.has = false;
      this.sv = undefined;
      return v;
    }
    const c = this.m.get(k);
    if (c === undefined) return undefined;
    if (!Array.isArray(c)) {
      this.m.delete(k);
      return c;
    }
    const v = c.shift();
    if (c.length === 1) this.m.set(k, c[0]!);
    else if (c.length === 0) this.m.delete(k);
    return v;
  }
  last(k: number): T | undefined {
    if (this.has && this.sk === k) return this.sv;
    const c = this.m.get(k);
    return Array.isArray(c) ? c[c.length - 1] : c;
  }
  /** Remove and return the first value at k that `pred(v, arg)` accepts (pred: a module-level function, no closure per call). */
  takeWhere<A>(k: number, pred: (v: T, arg: A) => boolean, arg: A): T | undefined {
    if (this.has && this.sk === k) {
      const v = this.sv!;
      if (!pred(v, arg)) return undefined;
      this.has = false;
      this.sv = undefined;
      return v;
    }
    const c = this.m.get(k);
    if (c === undefined) return undefined;
    if (!Array.isArray(c)) {
      if (!pred(c, arg)) return undefined;
      this.m.delete(k);
      return c;
    }
    let i = -1;
    for (let j = 0; j < c.length; j++) {
      if (pred(c[j]!, arg)) {
        i = j;
        break;
      }
    }
    if (i < 0) return undefined;
    const v = c.splice(i, 1)[0]!;
    if (c.length === 1) this.m.set(k, c[0]!);
    else if (c.length === 0) this.m.delete(k);
    return v;
  }
  firstKey(): number | undefined {
    for (const k of this.m.keys()) return k;
    return this.has ? this.sk : undefined;
  }
}

function add(r: RW, write: boolean, v: number): void {
  if (write) r.write += v;
  else r.read += v;
}
/** Depth down by one, not below 0. */
function dec(r: RW, write: boolean): void {
  if (write) {
    if (r.write) r.write--;
  } else if (r.read) r.read--;
}
/** Depth up by one; the maximum follows. */
function deeper(cur: RW, max: RW, write: boolean): void {
  if (write) {
    if (++cur.write > max.write) max.write = cur.write;
  } else if (++cur.read > max.read) max.read = cur.read;
}

function isSplitBio(b: Bio): boolean {
  return b.splitFrom !== undefined;
}
function pendingSize(p: PendingReq): number {
  return p.req?.sectors ?? p.sectors;
}
function hasSize(p: PendingReq, sectors: number): boolean {
  return pendingSize(p) === sectors;
}
function hasData(p: PendingReq): boolean {
  return pendingSize(p) > 0;
}

interface DevState {
  /** Queued bios not yet in a request, by start sector (FIFO for duplicates). */
  queued: Multi<Bio>;
  nQueued: number;
  /** Requests built (G/I) or requeued, not issued. */
  pending: PendingReq[];
  /** Issued requests by start sector, FIFO. */
  issued: Multi<PendingReq>;
  nIssued: number;
  stats: BlkDeviceStats;
  /** Byte sums behind the KiB figures. */
  bytes: { queued: RW; merged: RW; dispatched: RW; completed: RW };
  curDepth: RW;
  btt: BttDevice;
}

/** Above this many bios waiting on one device, the oldest are dropped (memory stays bounded). */
const MAX_QUEUED = 65536;
const MAX_PENDING = 16384;
const MAX_EVIDENCE = 32;
/**
 * A built request's PendingReq.evidence: full (MAX_EVIDENCE entries), so every (guarded) push onto it is
 * skipped; never read (the request has its own array).
 */
const ISSUED_EVIDENCE: Evidence[] = new Array<Evidence>(MAX_EVIDENCE);

export interface BlkAssemblerOptions {
  /** Format id for Request.format. */
  format: string;
  /**
   * Count btt/blkparse statistics (default true). False when another thread counts them over the same records
   * (the per-CPU merge worker, src/input/blktrace-merge.ts): end() then reports what setStats() was given.
   */
  stats?: boolean;
}

/** The per-device part of BlkStatsData: what account() counts. */
export type BlkCounts = Pick<BlkStatsData, 'devices' | 'latency'>;

export class BlkAssembler {
  private readonly devs = new Map<string, DevState>();
  private readonly counters: Record<string, number> = {
    requests: 0,
    completions: 0,
    orphanCompletions: 0,
    flushSequenceCompletions: 0,
    requeues: 0,
    splits: 0,
    remaps: 0,
    plugs: 0,
    messages: 0,
    mergesWithoutRequest: 0,
    issuesWithoutQueue: 0,
    dropped: 0,
  };
  private gen = 0;
  private readonly format: string;
  private ended = false;
  /** Wall clock (s since the epoch) at trace start, when the input says (blktrace TIMESTAMP notify). */
  traceStartEpoch: number | undefined;

  private readonly counting: boolean;
  /** Statistics counted elsewhere (stats: false). */
  private counted: BlkCounts | undefined;

  constructor(
    private readonly ctx: ParserContext,
    opts: BlkAssemblerOptions | string = 'blktrace',
  ) {
    this.format = typeof opts === 'string' ? opts : opts.format;
    this.counting = typeof opts === 'string' || opts.stats !== false;
  }

  /** Statistics counted by another thread over the same records (with stats: false). */
  setStats(c: BlkCounts): void {
    this.counted = c;
  }

  /** Only the statistics of an event (blkparse's counts and btt's pairing), no request rebuilt. */
  count(ev: BlkEvent): void {
    const d = this.dev(ev.dev);
    this.account(d, ev, isFlushSector(ev.sector) ? 0 : ev.sector);
  }

  private lastDevName: string | undefined;
  private lastDev: DevState | undefined;

  private dev(name: string): DevState {
    if (name === this.lastDevName) return this.lastDev!;
    let d = this.devs.get(name);
    if (!d) {
      d = {
        queued: new Multi<Bio>(),
        nQueued: 0,
        pending: [],
        issued: new Multi<PendingReq>(),
        nIssued: 0,
        stats: newDeviceStats(),
        bytes: { queued: rw(), merged: rw(), dispatched: rw(), completed: rw() },
        curDepth: rw(),
        btt: new BttDevice(),
      };
      this.devs.set(name, d);
    }
    this.lastDevName = name;
    this.lastDev = d;
    return d;
  }

  event(ev: BlkEvent): void {
    const d = this.dev(ev.dev);
    let sector = ev.sector;
    let flushQuirk = false;
    if (isFlushSector(sector)) {
      sector = 0;
      flushQuirk = true;
    }
    if (this.counting) this.account(d, ev, sector);
    switch (ev.action) {
      case 'Q':
        if (!ev.pc) this.onQueue(d, ev, sector);
        break;
      case 'G':
        if (!ev.pc) this.onGetRq(d, ev, sector);
        break;
      case 'I':
        if (!ev.pc) this.onInsert(d, ev, sector);
        break;
      case 'M':
      case 'F':
        this.onMerge(d, ev, sector, ev.action === 'F');
        break;
      case 'D':
        this.onIssue(d, ev, sector, flushQuirk);
        break;
      case 'C':
        this.onComplete(d, ev, sector, flushQuirk);
        break;
      case 'R':
        this.onRequeue(d, ev, sector);
        break;
      case 'X':
        this.onSplit(d, ev, sector);
        break;
      case 'A':
        this.counters.remaps!++;
        this.onRemap(d, ev, sector);
        break;
      case 'P':
        this.counters.plugs!++;
        break;
      case 'm':
        this.counters.messages!++;
        break;
      default:
        break;
    }
  }

  // blkparse's per-device accounting (dump_trace_fs / dump_trace_pc) and btt's pairing.
  private account(d: DevState, ev: BlkEvent, sector: number): void {
    const st = d.stats;
    const by = d.bytes;
    st.events++;
    // ftrace prints REQ_OP_WRITE_ZEROES as 'N' with data; blktrace sets its WRITE bit (blkparse shows 'W').
    const w = ev.write ?? (parseRwbs(ev.rwbs).write || (ev.sectors > 0 && !ev.pc && isDataN(ev.rwbs)));
    const bytes = ev.bytes ?? ev.sectors * 512;
    const cur = d.curDepth;
    // RW fields are updated through add()/dec() with a boolean (not obj[key]: a keyed access per event).
    if (ev.pc) {
      switch (ev.action) {
        case 'Q':
          add(st.pc.queued, w, 1);
          break;
        case 'R':
          dec(cur, w);
          add(st.pc.requeued, w, 1);
          break;
        case 'D':
          add(st.pc.dispatched, w, 1);
          deeper(cur, st.depth, w);
          break;
        case 'C':
          dec(cur, w);
          add(st.pc.completed, w, 1);
          break;
      }
      return; // btt ignores PC records
    }
    const t = Math.round(ev.time * 1e9);
    const nsec = Math.floor(bytes / 512);
    switch (ev.action) {
      case 'Q':
        add(st.queued, w, 1);
        add(by.queued, w, bytes);
        if (bytes) d.btt.queue(sector, nsec, t);
        break;
      case 'M':
      case 'F':
        add(st.merged, w, 1);
        add(by.merged, w, bytes);
        if (bytes && d.btt.started) d.btt.merge(sector, t);
        break;
      case 'G':
        if (bytes && d.btt.started) d.btt.getrq(sector, t);
        break;
      case 'I':
        if (bytes && d.btt.started) d.btt.insert(sector, t);
        break;
      case 'R':
        dec(cur, w);
        add(st.requeued, w, 1);
        add(by.dispatched, w, -bytes);
        break;
      case 'D':
        add(st.dispatched, w, 1);
        add(by.dispatched, w, bytes);
        deeper(cur, st.depth, w);
        if (bytes && d.btt.started) d.btt.issue(sector, nsec, t);
        break;
      case 'C':
        dec(cur, w);
        add(st.completed, w, 1);
        add(by.completed, w, bytes);
        if (bytes && d.btt.started) d.btt.complete(sector, nsec, t);
        break;
      case 'U':
        st.unplugs.io++;
        break;
      case 'T':
        st.unplugs.timer++;
        break;
    }
  }

  private newBio(ev: BlkEvent, sector: number): Bio {
    const b = new Bio(sector, ev.sectors, ev.time, ev.rwbs, ev.evidence);
    if (ev.pid !== undefined) b.pid = ev.pid;
    if (ev.comm !== undefined) b.comm = ev.comm;
    return b;
  }

  private onQueue(d: DevState, ev: BlkEvent, sector: number): void {
    const bio = this.newBio(ev, sector);
    // A split remainder queued again at the same sector replaces the split-off placeholder.
    const old = d.queued.takeWhere(sector, isSplitBio, undefined);
    if (old) {
      bio.splitFrom = old.splitFrom;
      d.nQueued--;
    }
    d.queued.push(sector, bio);
    d.nQueued++;
    if (d.nQueued > MAX_QUEUED) this.dropOldestQueued(d);
  }

  private dropOldestQueued(d: DevState): void {
    // Map iteration order is insertion order: the first key is (close to) the oldest.
    const k = d.queued.firstKey();
    if (k === undefined) return;
    d.queued.shift(k);
    d.nQueued--;
    this.counters.dropped!++;
  }

  private takeQueued(d: DevState, sector: number): Bio | undefined {
    const b = d.queued.shift(sector);
    if (b) d.nQueued--;
    return b;
  }

  private newPending(ev: BlkEvent, sector: number, bio: Bio | undefined): PendingReq {
    const p: PendingReq = {
      sector,
      sectors: ev.sectors,
      rwbs: ev.rwbs,
      bios: bio ? [bio] : [],
      evidence: bio ? [bio.evidence] : [],
      requeues: 0,
    };
    if (bio) p.queueTime = bio.queueTime;
    return p;
  }

  private addPending(d: DevState, p: PendingReq): void {
    d.pending.push(p);
    if (d.pending.length > MAX_PENDING) {
      d.pending.shift();
      this.counters.dropped!++;
    }
  }

  private findPending(d: DevState, sector: number): number {
    const a = d.pending;
    for (let k = 0; k < a.length; k++) if (a[k]!.sector === sector) return k;
    return -1;
  }

  private onGetRq(d: DevState, ev: BlkEvent, sector: number): void {
    const bio = this.takeQueued(d, sector);
    const p = this.newPending(ev, sector, bio);
    p.getTime = ev.time;
    p.evidence.push(ev.evidence);
    this.addPending(d, p);
  }

  private onInsert(d: DevState, ev: BlkEvent, sector: number): void {
    const k = this.findPending(d, sector);
    let p: PendingReq;
    if (k >= 0) p = d.pending[k]!;
    else {
      p = this.newPending(ev, sector, this.takeQueued(d, sector));
      this.addPending(d, p);
    }
    p.insertTime = ev.time;
    p.sectors = Math.max(p.sectors, ev.sectors);
    p.rwbs = ev.rwbs;
    if (p.evidence.length < MAX_EVIDENCE) p.evidence.push(ev.evidence);
  }

  private onMerge(d: DevState, ev: BlkEvent, sector: number, front: boolean): void {
    const bio = this.takeQueued(d, sector) ?? this.newBio(ev, sector);
    bio.merge = front ? 'front' : 'back';
    bio.mergeTime = ev.time;
    const a = d.pending;
    let target: PendingReq | undefined;
    for (let k = a.length - 1; k >= 0; k--) {
      const p = a[k]!;
      if (front ? p.sector === sector + ev.sectors : p.sector + p.sectors === sector) {
        target = p;
        break;
      }
    }
    if (!target) {
      this.counters.mergesWithoutRequest!++;
      return;
    }
    if (front) target.sector = sector;
    target.sectors += ev.sectors;
    target.bios.push(bio);
    if (bio.queueTime < (target.queueTime ?? Infinity)) target.queueTime = bio.queueTime;
    if (target.evidence.length < MAX_EVIDENCE) target.evidence.push(bio.evidence, ev.evidence);
  }

  private onIssue(d: DevState, ev: BlkEvent, sector: number, flushQuirk: boolean): void {
    const k = this.findPending(d, sector);
    let p: PendingReq;
    if (k >= 0) {
      p = d.pending[k]!;
      if (k === d.pending.length - 1) d.pending.pop();
      else d.pending.splice(k, 1);
    } else {
      const bio = ev.pc ? undefined : this.takeQueued(d, sector);
      if (!bio && !ev.pc) this.counters.issuesWithoutQueue!++;
      p = this.newPending(ev, sector, bio);
    }
    if (p.evidence.length < MAX_EVIDENCE) p.evidence.push(ev.evidence);
    if (p.req) {
      // Re-issue after a requeue: the same request goes to the driver again.
      const info = p.req.info!;
      info.issues = ((info.issues as number) ?? 1) + 1;
      if (p.req.evidence.length < MAX_EVIDENCE) p.req.evidence.push(ev.evidence);
    } else {
      p.req = this.buildRequest(ev, p, sector, flushQuirk);
      p.evidence = ISSUED_EVIDENCE;
      this.counters.requests!++;
      this.ctx.emit({ kind: 'submit', req: p.req });
    }
    d.issued.push(sector, p);
    d.nIssued++;
  }

  private buildRequest(ev: BlkEvent, p: PendingReq, sector: number, flushQuirk: boolean): Request {
    const r = parseRwbs(ev.rwbs);
    let op: Op = r.op;
    const sectors = ev.sectors;
    if (ev.pc) op = 'passthrough';
    else if (flushQuirk || (sectors === 0 && (r.preflush || op === 'flush'))) op = 'flush';
    else if (op === 'unknown' && sectors === 0 && r.preflush) op = 'flush';
    // ftrace 'N' with data is REQ_OP_WRITE_ZEROES in Linux 6.1; the op stays 'unknown' (with info.writeZeroes) for now:
    // typing it 'write-zeroes' makes unflushed-writes flag it, which changes the ftrace samples' expectations.
    const n = ++this.gen;
    const id = ev.seq !== undefined ? String(ev.seq) : `${ev.dev}#${n}`;
    const bios = p.bios;
    const info: Record<string, unknown> = { rwbs: ev.rwbs, bios, issues: 1, requeues: 0 };
    if (r.preflush) info.preflush = true;
    if (r.fua) info.fua = true;
    if (r.sync) info.sync = true;
    if (r.meta) info.meta = true;
    if (r.ahead) info.readahead = true;
    if (p.queueTime !== undefined) info.queueTime = p.queueTime;
    if (p.getTime !== undefined) info.getTime = p.getTime;
    if (p.insertTime !== undefined) info.insertTime = p.insertTime;
    if (ev.comm !== undefined) info.issuer = ev.comm;
    if (ev.cpu !== undefined) info.cpu = ev.cpu;
    if (ev.pc) info.bytes = ev.bytes ?? 0;
    if (op === 'unknown' && sectors > 0 && isDataN(ev.rwbs)) info.writeZeroes = true;
    const bytes = ev.pc ? (ev.bytes ?? 0) : sectors * 512;
    const req: Request = {
      key: `${this.ctx.file}|${ev.dev}|${n}`,
      id,
      format: this.format,
      file: this.ctx.file,
      seq: 0,
      device: ev.dev,
      op,
      sector: op === 'flush' ? 0 : sector,
      sectors: op === 'flush' ? 0 : sectors,
      bytes,
      segments: [],
      submitTime: ev.time,
      state: 'inflight',
      expectsCompletion: true,
      // The pending request's array is handed over (p.evidence is never read once the request is built;
      // onIssue replaces it with the full ISSUED_EVIDENCE so later guarded pushes are skipped).
      evidence: p.evidence.length <= MAX_EVIDENCE ? p.evidence : p.evidence.slice(0, MAX_EVIDENCE),
      info,
    };
    return req;
  }

  private takeIssued(d: DevState, sector: number): PendingReq | undefined {
    const p = d.issued.shift(sector);
    if (p) d.nIssued--;
    return p;
  }

  /** Take the issued request at `sector` that fits a completion of `sectors` (0 = flush or flush-sequence end). */
  private takeIssuedFor(d: DevState, sector: number, sectors: number): PendingReq | undefined {
    let p = d.issued.takeWhere(sector, hasSize, sectors);
    // Partial or odd-sized completion: the oldest data request there.
    if (!p && sectors > 0) p = d.issued.takeWhere(sector, hasData, undefined);
    if (p) d.nIssued--;
    return p;
  }

  private onComplete(d: DevState, ev: BlkEvent, sector: number, flushQuirk: boolean): void {
    if (ev.pc) {
      // Passthrough completions carry no sector: the oldest issued PC request.
      const p = this.takeIssued(d, sector);
      if (p?.req) this.finish(p, ev);
      else this.orphan(ev);
      return;
    }
    const p = this.takeIssuedFor(d, sector, flushQuirk ? 0 : ev.sectors);
    if (p?.req) {
      this.finish(p, ev);
      return;
    }
    if (ev.sectors === 0) {
      // End of a flush sequence ("C WS 32768 [0]" after the data and the post-flush completed), or of a
      // pure REQ_PREFLUSH request (G FWS) that was never issued itself: drop that pending one.
      const k = this.findPending(d, sector);
      if (k >= 0 && d.pending[k]!.sectors === 0) d.pending.splice(k, 1);
      this.counters.flushSequenceCompletions!++;
      return;
    }
    this.orphan(ev);
  }

  private finish(p: PendingReq, ev: BlkEvent): void {
    const req = p.req!;
    const err = ev.error ?? 0;
    if (err !== 0) req.info!.error = err;
    this.counters.completions!++;
    this.ctx.emit({ kind: 'complete', key: req.key, status: err === 0 ? 'ok' : 'error', time: ev.time, evidence: ev.evidence, req });
  }

  private orphan(ev: BlkEvent): void {
    this.counters.orphanCompletions!++;
    this.ctx.emit({
      kind: 'orphan',
      device: ev.dev,
      id: `${ev.rwbs} ${ev.sector} + ${ev.sectors}`,
      status: (ev.error ?? 0) === 0 ? 'ok' : 'error',
      time: ev.time,
      evidence: [ev.evidence],
    });
  }

  private onRequeue(d: DevState, ev: BlkEvent, sector: number): void {
    this.counters.requeues!++;
    const p = this.takeIssued(d, sector);
    if (!p || !p.req) return;
    p.requeues++;
    const info = p.req.info!;
    info.requeues = p.requeues;
    if (p.req.evidence.length < MAX_EVIDENCE) p.req.evidence.push(ev.evidence);
    this.addPending(d, p);
    this.ctx.emit({
      kind: 'diag',
      code: 'blk-requeue',
      device: ev.dev,
      message: `request ${p.req.id} (${ev.rwbs} ${sector} + ${ev.sectors}) requeued (${p.requeues})`,
      data: { key: p.req.key, requeues: p.requeues, sector, sectors: ev.sectors },
      time: ev.time,
      evidence: [ev.evidence],
    });
  }

  private onSplit(d: DevState, ev: BlkEvent, sector: number): void {
    this.counters.splits!++;
    const at = ev.newSector;
    if (at === undefined) return;
    const bio = d.queued.last(sector);
    if (!bio || at <= bio.sector || at >= bio.sector + bio.sectors) return;
    const rest = new Bio(at, bio.sector + bio.sectors - at, bio.queueTime, bio.rwbs, bio.evidence);
    rest.splitFrom = bio.sector;
    if (bio.pid !== undefined) rest.pid = bio.pid;
    if (bio.comm !== undefined) rest.comm = bio.comm;
    bio.sectors = at - bio.sector;
    d.queued.push(at, rest);
    d.nQueued++;
  }

  private onRemap(d: DevState, ev: BlkEvent, sector: number): void {
    const bio = d.queued.last(sector);
    if (bio && ev.newSector !== undefined) bio.remapFrom = { dev: ev.fromDev, sector: ev.newSector };
  }

  /** Input ended: emit the statistics. Requests still in flight stay in the model (never-completed). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const data = this.stats();
    this.ctx.emit({
      kind: 'diag',
      code: 'blk-stats',
      message: `block-layer statistics for ${Object.keys(data.devices).length} device(s)`,
      data: data as unknown as Record<string, unknown>,
      evidence: [],
    });
  }

  stats(): BlkStatsData {
    const devices: Record<string, BlkDeviceStats> = {};
    const latency: BlkStatsData['latency'] = {};
    let queuedLeft = 0;
    let pendingLeft = 0;
    for (const [name, d] of this.devs) {
      const kib = (v: RW): RW => ({ read: Math.floor(v.read / 1024), write: Math.floor(v.write / 1024) });
      d.stats.queuedKiB = kib(d.bytes.queued);
      d.stats.mergedKiB = kib(d.bytes.merged);
      d.stats.dispatchedKiB = kib(d.bytes.dispatched);
      d.stats.completedKiB = kib(d.bytes.completed);
      devices[name] = d.stats;
      const l: Partial<Record<LatencyMetric, LatencyStat>> = {};
      for (const m of LATENCY_METRICS) {
        const a = d.btt.acc[m];
        if (a.n > 0) l[m] = a.toJSON();
      }
      latency[name] = l;
      queuedLeft += d.nQueued;
      pendingLeft += d.pending.length;
    }
    const extra: Record<string, number> = { queuedLeft, pendingLeft };
    if (this.traceStartEpoch !== undefined) extra.traceStartEpoch = this.traceStartEpoch;
    const counted = this.counting ? { devices, latency } : (this.counted ?? { devices: {}, latency: {} });
    return { ...counted, blkAssembler: { ...this.counters, ...extra } };
  }
}

