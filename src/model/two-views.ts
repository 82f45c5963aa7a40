// Two views of one disk: the guest's block-layer trace (blktrace, blkparse, ftrace: devices 'MAJ,MIN') and
// the host's QEMU trace of the same run (devices = VirtIODevice pointers). Requests are matched by
// operation, sector and size, in order: guest `D sector+n` <-> host `virtio_blk_handle_* sector nsectors`
// (same 512-byte units), guest `C` <-> host `virtio_blk_req_complete`. The clocks differ (guest trace clock
// vs host wall clock), so time is never used to match (../shared/specs/virtio/SPEC.md §7).
//
// Matching, per (guest device, host device) pair: walk the host requests in submission order with a cursor
// into the guest requests; a host request takes the earliest unmatched guest request with the same signature
// within `window` positions of the cursor. Virtqueues are FIFO, so order agrees except for what the window
// absorbs (several queues, requeues). Requests outside the window or with no counterpart are one-sided.
import type { Request } from './types.js';

/** What a side of the comparison shows of a request. */
export interface ViewRequest {
  key: string;
  id: string;
  format: string;
  device?: string;
  op: string;
  sector: number;
  sectors: number;
  bytes: number;
  state: string;
  status?: string;
  /** Issue time (guest: D; host: virtqueue_pop), in that side's clock. */
  submitTime?: number;
  completeTime?: number;
  latency?: number;
  /** First evidence line. */
  line?: number;
}

export interface HostIo {
  /** blk_co_preadv / blk_co_pwritev */
  ev: string;
  offset?: number;
  bytes?: number;
  flags?: number;
  time?: number;
  line?: number;
}

export interface Marker {
  text: string;
  time?: number;
  line?: number;
}

/** Where a one-sided request lies relative to the matched span of its device pair. */
export type OneSidedWhere = 'before' | 'within' | 'after' | 'unpaired-device';

export interface TwoViewRow {
  guest?: ViewRequest;
  host?: ViewRequest;
  /** 'exact': op, sector and size agree; 'range': sector and size agree, the ops are named differently
   * (e.g. guest rwbs N for WRITE_ZEROES); 'op': same operation, the range is not traced on one side
   * (QEMU 7.2 traces no sector for DISCARD). */
  match?: MatchKind;
  /** One-sided rows: before the first / after the last matched request of the pair, or in between. */
  where?: OneSidedWhere;
  /** Guest marker (trace_marker / phase) that precedes this row, if any. */
  marker?: string;
}

export type MatchKind = 'exact' | 'range' | 'op';

export interface DevicePair {
  guest: string;
  host: string;
  matched: number;
  guestRequests: number;
  hostRequests: number;
  /** Chosen by the user (--guest-dev/--host-dev) or by the best sector/size agreement. */
  chosen: 'user' | 'auto';
}

export interface TwoViews {
  window: number;
  pairs: DevicePair[];
  rows: TwoViewRow[];
  counts: {
    matched: number;
    exact: number;
    range: number;
    op: number;
    guestOnly: number;
    hostOnly: number;
    /** One-sided requests between matched ones (the interesting kind: lost, invented or reordered far). */
    guestOnlyWithin: number;
    hostOnlyWithin: number;
  };
  /** Devices with no counterpart on the other side. */
  unpaired: { guest: string[]; host: string[] };
  /** Host block I/O no virtio request asked for (QEMU's own probe read...): seen on the host side only. */
  hostIo: HostIo[];
  /** Latency the guest sees minus what QEMU spends (pop to fill), matched data requests, seconds. */
  overhead?: { n: number; median: number; p90: number; max: number };
}

export interface CompareOptions {
  guestDev?: string;
  hostDev?: string;
  /** Positions a request may move between the two orders (default 64). */
  window?: number;
}

export interface CompareSide {
  requests: Request[];
  markers?: Marker[];
  hostIo?: HostIo[];
}

export const DEFAULT_WINDOW = 64;

export function viewOf(r: Request): ViewRequest {
  const v: ViewRequest = {
    key: r.key,
    id: r.id,
    format: r.format,
    op: String(r.op),
    sector: r.sector,
    sectors: r.sectors,
    bytes: r.bytes,
    state: r.state,
  };
  if (r.device !== undefined) v.device = r.device;
  if (r.status !== undefined) v.status = r.status;
  if (r.submitTime !== undefined) v.submitTime = r.submitTime;
  if (r.completeTime !== undefined) v.completeTime = r.completeTime;
  if (r.latency !== undefined) v.latency = r.latency;
  const line = r.evidence.find((e) => e.line !== undefined)?.line;
  if (line !== undefined) v.line = line;
  return v;
}

/** Operation class used to match: ops that carry no range compare by class only. */
function opClass(op: string): string {
  switch (op) {
    case 'flush':
    case 'barrier':
      return 'flush';
    case 'get-id':
    case 'passthrough':
      return 'id';
    case 'write-zeroes':
      return 'write-zeroes';
    default:
      return op;
  }
}

function exactSig(r: Request): string {
  const c = opClass(String(r.op));
  if (c === 'flush' || c === 'id') return c;
  return `${c}:${r.sector}:${r.sectors}`;
}

const SPECIAL = new Set(['unknown', 'write-zeroes', 'discard', 'secure-erase']);

/**
 * Loose signature (sector and size only) for ops one side names differently: the guest's rwbs 'N'
 * (unknown) or blkparse 'W' for WRITE_ZEROES, host write-zeroes. A read never matches a write this way:
 * at least one side must be one of the SPECIAL ops.
 */
function rangeSig(r: Request): string | undefined {
  const c = opClass(String(r.op));
  if (c === 'flush' || c === 'id' || r.sectors === 0) return undefined;
  return `range:${r.sector}:${r.sectors}`;
}
function specialRangeSig(r: Request): string | undefined {
  return SPECIAL.has(opClass(String(r.op))) ? rangeSig(r) : undefined;
}

/** Operation only, for a request whose range one side does not trace (sectors 0 on a ranged op). */
function opSig(r: Request): string | undefined {
  const c = opClass(String(r.op));
  if (c === 'discard' || c === 'write-zeroes' || c === 'secure-erase') return `op:${c}`;
  return undefined;
}

interface Alignment {
  /** host index -> guest index */
  pairs: [number, number, MatchKind][];
  matched: number;
}

/** Indices of guest requests per signature, consumed front to back. */
class SigIndex {
  private readonly lists = new Map<string, number[]>();
  private readonly heads = new Map<string, number>();
  constructor(
    items: Request[],
    sig: (r: Request) => string | undefined,
    private readonly used: Uint8Array,
  ) {
    items.forEach((r, i) => {
      const s = sig(r);
      if (s === undefined) return;
      let l = this.lists.get(s);
      if (!l) this.lists.set(s, (l = []));
      l.push(i);
    });
  }
  /** Earliest unused index with this signature in [lo, hi]. Indices below lo are dropped for good. */
  take(s: string | undefined, lo: number, hi: number): number | undefined {
    if (s === undefined) return undefined;
    const l = this.lists.get(s);
    if (!l) return undefined;
    let h = this.heads.get(s) ?? 0;
    while (h < l.length && (l[h]! < lo || this.used[l[h]!])) h++;
    this.heads.set(s, h);
    for (let k = h; k < l.length; k++) {
      const j = l[k]!;
      if (j > hi) return undefined;
      if (!this.used[j]) return j;
    }
    return undefined;
  }
}

/** Align one guest device's requests with one host device's, both in submission order. */
export function align(guest: Request[], host: Request[], window = DEFAULT_WINDOW): Alignment {
  const used = new Uint8Array(guest.length);
  const exact = new SigIndex(guest, exactSig, used);
  const looseAll = new SigIndex(guest, rangeSig, used);
  const looseSpecial = new SigIndex(guest, specialRangeSig, used);
  const byOp = new SigIndex(guest, opSig, used);
  const pairs: Alignment['pairs'] = [];
  let cursor = 0;
  for (let i = 0; i < host.length; i++) {
    const h = host[i]!;
    const lo = Math.max(0, cursor - window);
    const hi = cursor + window;
    let kind: MatchKind = 'exact';
    let j = exact.take(exactSig(h), lo, hi);
    if (j === undefined) {
      const special = SPECIAL.has(opClass(String(h.op)));
      j = (special ? looseAll : looseSpecial).take(rangeSig(h), lo, hi);
      kind = 'range';
    }
    if (j === undefined && h.sectors === 0) {
      j = byOp.take(opSig(h), lo, hi);
      kind = 'op';
    }
    if (j === undefined) continue;
    used[j] = 1;
    pairs.push([i, j, kind]);
    if (j + 1 > cursor) cursor = j + 1;
  }
  return { pairs, matched: pairs.length };
}

function byDevice(reqs: Request[]): Map<string, Request[]> {
  const m = new Map<string, Request[]>();
  for (const r of reqs) {
    const d = r.device ?? '?';
    let l = m.get(d);
    if (!l) m.set(d, (l = []));
    l.push(r);
  }
  for (const l of m.values()) l.sort((a, b) => a.seq - b.seq);
  return m;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[k]!;
}

/** Compare the two views. Pure: takes each side's requests (in any order; `seq` orders them). */
export function compareViews(guestSide: CompareSide, hostSide: CompareSide, opts: CompareOptions = {}): TwoViews {
  const window = opts.window ?? DEFAULT_WINDOW;
  const g = byDevice(guestSide.requests);
  const h = byDevice(hostSide.requests);

  // Device pairing: the user's, else greedily by how many requests each pair matches.
  const pairs: { gd: string; hd: string; al: Alignment; chosen: 'user' | 'auto' }[] = [];
  if (opts.guestDev !== undefined || opts.hostDev !== undefined) {
    const gds = opts.guestDev !== undefined ? [opts.guestDev] : [...g.keys()];
    const hds = opts.hostDev !== undefined ? [opts.hostDev] : [...h.keys()];
    let best: { gd: string; hd: string; al: Alignment } | undefined;
    for (const gd of gds)
      for (const hd of hds) {
        const al = align(g.get(gd) ?? [], h.get(hd) ?? [], window);
        if (!best || al.matched > best.al.matched) best = { gd, hd, al };
      }
    if (best) pairs.push({ ...best, chosen: 'user' });
  } else {
    const cand: { gd: string; hd: string; al: Alignment }[] = [];
    for (const [gd, gl] of g) for (const [hd, hl] of h) cand.push({ gd, hd, al: align(gl, hl, window) });
    cand.sort((a, b) => b.al.matched - a.al.matched || a.gd.localeCompare(b.gd) || a.hd.localeCompare(b.hd));
    const gUsed = new Set<string>();
    const hUsed = new Set<string>();
    for (const c of cand) {
      if (c.al.matched === 0) break;
      if (gUsed.has(c.gd) || hUsed.has(c.hd)) continue;
      gUsed.add(c.gd);
      hUsed.add(c.hd);
      pairs.push({ ...c, chosen: 'auto' });
    }
  }
  const pairedG = new Set(pairs.map((p) => p.gd));
  const pairedH = new Set(pairs.map((p) => p.hd));

  // Rows, ordered by host submission order; guest-only rows go after the row of the guest request before them.
  interface Keyed {
    row: TwoViewRow;
    k: number;
    sub: number;
  }
  const keyed: Keyed[] = [];
  const counts = { matched: 0, exact: 0, range: 0, op: 0, guestOnly: 0, hostOnly: 0, guestOnlyWithin: 0, hostOnlyWithin: 0 };
  const overheads: number[] = [];
  for (const p of pairs) {
    const gl = g.get(p.gd) ?? [];
    const hl = h.get(p.hd) ?? [];
    const gMatched = new Int32Array(gl.length).fill(-1);
    const hMatched = new Int32Array(hl.length).fill(-1);
    const kinds = new Map<number, MatchKind>();
    for (const [hi, gi, kind] of p.al.pairs) {
      hMatched[hi] = gi;
      gMatched[gi] = hi;
      kinds.set(hi, kind);
    }
    const firstH = p.al.pairs.length ? p.al.pairs[0]![0] : -1;
    const lastH = p.al.pairs.length ? p.al.pairs[p.al.pairs.length - 1]![0] : -1;
    let firstG = Infinity;
    let lastG = -1;
    for (const [, gi] of p.al.pairs) {
      if (gi < firstG) firstG = gi;
      if (gi > lastG) lastG = gi;
    }
    for (let hi = 0; hi < hl.length; hi++) {
      const hr = hl[hi]!;
      const gi = hMatched[hi]!;
      if (gi >= 0) {
        const gr = gl[gi]!;
        const kind = kinds.get(hi)!;
        keyed.push({ row: { guest: viewOf(gr), host: viewOf(hr), match: kind }, k: hr.seq, sub: 0 });
        counts.matched++;
        counts[kind]++;
        if (gr.latency !== undefined && hr.latency !== undefined && gr.sectors > 0) overheads.push(gr.latency - hr.latency);
      } else {
        const where: OneSidedWhere = hi < firstH ? 'before' : hi > lastH ? 'after' : 'within';
        keyed.push({ row: { host: viewOf(hr), where }, k: hr.seq, sub: 0 });
        counts.hostOnly++;
        if (where === 'within') counts.hostOnlyWithin++;
      }
    }
    // Guest-only: anchored after the host row of the nearest earlier matched guest request.
    let anchor = -1;
    let sub = 0;
    for (let gi = 0; gi < gl.length; gi++) {
      const hi = gMatched[gi]!;
      if (hi >= 0) {
        anchor = hl[hi]!.seq;
        sub = 0;
        continue;
      }
      const where: OneSidedWhere = gi < firstG ? 'before' : gi > lastG ? 'after' : 'within';
      keyed.push({ row: { guest: viewOf(gl[gi]!), where }, k: anchor, sub: ++sub });
      counts.guestOnly++;
      if (where === 'within') counts.guestOnlyWithin++;
    }
  }
  // Devices without a counterpart: all their requests are one-sided.
  for (const [hd, hl] of h) {
    if (pairedH.has(hd)) continue;
    for (const hr of hl) keyed.push({ row: { host: viewOf(hr), where: 'unpaired-device' }, k: hr.seq, sub: 0 });
    counts.hostOnly += hl.length;
  }
  let tail = Number.MAX_SAFE_INTEGER / 2;
  for (const [gd, gl] of g) {
    if (pairedG.has(gd)) continue;
    for (const gr of gl) keyed.push({ row: { guest: viewOf(gr), where: 'unpaired-device' }, k: tail, sub: gr.seq });
    counts.guestOnly += gl.length;
    tail++;
  }
  keyed.sort((a, b) => a.k - b.k || a.sub - b.sub);
  const rows = keyed.map((x) => x.row);

  // Guest markers (phases): attach each to the first row whose guest request was issued after it.
  const markers = [...(guestSide.markers ?? [])].filter((m) => m.time !== undefined).sort((a, b) => a.time! - b.time!);
  if (markers.length) {
    let mi = 0;
    let lastMarker: string | undefined;
    for (const row of rows) {
      const t = row.guest?.submitTime;
      if (t === undefined) continue;
      while (mi < markers.length && markers[mi]!.time! <= t) lastMarker = markers[mi++]!.text;
      if (lastMarker !== undefined) {
        row.marker = lastMarker;
        lastMarker = undefined;
      }
    }
  }

  const result: TwoViews = {
    window,
    pairs: pairs.map((p) => ({
      guest: p.gd,
      host: p.hd,
      matched: p.al.matched,
      guestRequests: g.get(p.gd)?.length ?? 0,
      hostRequests: h.get(p.hd)?.length ?? 0,
      chosen: p.chosen,
    })),
    rows,
    counts,
    unpaired: { guest: [...g.keys()].filter((d) => !pairedG.has(d)), host: [...h.keys()].filter((d) => !pairedH.has(d)) },
    hostIo: hostSide.hostIo ?? [],
  };
  if (overheads.length) {
    overheads.sort((a, b) => a - b);
    result.overhead = { n: overheads.length, median: quantile(overheads, 0.5), p90: quantile(overheads, 0.9), max: overheads[overheads.length - 1]! };
  }
  return result;
}
