// Segment map: the picture of a request's memory, one row per page/frame, one cell per 512-byte sector.
// Pure data; the TUI and the report renderers draw it.
import type { Impact, Request } from './types.js';
import { computeImpact, pageKey, SECTOR, SECTORS_PER_PAGE, PAGE } from './impact.js';

export type CellMark =
  /** not named by any segment */
  | 'empty'
  /** covered by one segment, placed as intended */
  | 'seg'
  /** memory reached by a disk sector meant for elsewhere (window model) */
  | 'misdirected'
  /** named by a segment but never transferred under the model */
  | 'untouched'
  /** covered by two or more segments (same memory used twice) */
  | 'aliased';

export interface SegMapCell {
  mark: CellMark;
  /** Segment indices covering this sector. */
  segs: number[];
  /** Disk sector that actually lands here under the model (Xen) — derived. */
  disk?: number;
}

export interface SegMapRow {
  /** "0x27f68" (frame), "gref 12", or guest page "0x7f3a2000". */
  page: string;
  /** Segment indices on this page, in request order. */
  segs: number[];
  /** True when this page is named by more than one segment. */
  repeated: boolean;
  cells: SegMapCell[];
}

export interface SegmentMap {
  rows: SegMapRow[];
  sectorsPerRow: number;
  impact?: Impact;
  /** Segment indices whose layout leaves a hole (non-final not ending at page end / non-first not starting at 0). */
  holes: number[];
}

/** Holes as the sg-hole check defines them (SPEC xen §5 item 5). */
export function holeSegments(req: Request): number[] {
  const out: number[] = [];
  const n = req.segments.length;
  req.segments.forEach((s, i) => {
    if (s.firstSect === undefined || s.lastSect === undefined) return;
    if ((i < n - 1 && s.lastSect !== SECTORS_PER_PAGE - 1) || (i > 0 && s.firstSect !== 0)) out.push(i);
  });
  return out;
}

export function buildSegmentMap(req: Request, model = req.backendModel ?? 'per-segment'): SegmentMap {
  const rows = new Map<string, SegMapRow>();
  const rowOf = (page: string) => {
    let r = rows.get(page);
    if (!r) {
      r = {
        page,
        segs: [],
        repeated: false,
        cells: Array.from({ length: SECTORS_PER_PAGE }, () => ({ mark: 'empty' as CellMark, segs: [] as number[] })),
      };
      rows.set(page, r);
    }
    return r;
  };
  const xen = req.segments.some((s) => s.firstSect !== undefined);
  req.segments.forEach((seg, i) => {
    if (seg.role === 'header' || seg.role === 'status') return;
    if (xen) {
      const r = rowOf(pageKey(seg));
      r.segs.push(i);
      const f = Math.max(0, seg.firstSect ?? 0);
      const l = Math.min(SECTORS_PER_PAGE - 1, seg.lastSect ?? -1);
      for (let s = f; s <= l; s++) r.cells[s]!.segs.push(i);
    } else if (seg.addr !== undefined && seg.len !== undefined) {
      // Guest-physical buffer: may span pages.
      let a: bigint;
      try {
        a = BigInt(seg.addr);
      } catch {
        return;
      }
      const end = a + BigInt(seg.len);
      let cur = a;
      const touched = new Set<string>();
      while (cur < end) {
        const pageStart = cur & ~0xfffn;
        const page = '0x' + pageStart.toString(16);
        const r = rowOf(page);
        if (!touched.has(page)) {
          r.segs.push(i);
          touched.add(page);
        }
        const pageEnd = pageStart + BigInt(PAGE);
        const stop = end < pageEnd ? end : pageEnd;
        const first = Number((cur - pageStart) / BigInt(SECTOR));
        const last = Number((stop - 1n - pageStart) / BigInt(SECTOR));
        for (let s = first; s <= last; s++) r.cells[s]!.segs.push(i);
        cur = stop;
      }
    }
  });
  for (const r of rows.values()) {
    r.repeated = r.segs.length > 1;
    for (const c of r.cells) if (c.segs.length) c.mark = c.segs.length > 1 ? 'aliased' : 'seg';
  }
  const map: SegmentMap = { rows: [...rows.values()], sectorsPerRow: SECTORS_PER_PAGE, holes: xen ? holeSegments(req) : [] };
  if (xen && req.segments.length > 0) {
    const impact = computeImpact(req, model);
    map.impact = impact;
    for (const m of impact.misdirected) {
      for (let k = 0; k < m.count; k++) {
        if (m.actual.unmapped) continue;
        const page = m.actual.frame ?? `gref ${m.actual.gref}`;
        const cell = rows.get(page)?.cells[m.actual.sect + k];
        if (cell) {
          cell.mark = 'misdirected';
          cell.disk = m.sector + k;
        }
      }
    }
    for (const u of impact.untouched) {
      const page = u.frame ?? `gref ${u.gref}`;
      const r = rows.get(page);
      if (!r) continue;
      for (let s = u.firstSect; s <= u.lastSect; s++) if (r.cells[s] && r.cells[s]!.mark !== 'misdirected') r.cells[s]!.mark = 'untouched';
    }
  }
  return map;
}

