// Impact: where each disk sector of a request lands in memory, as the segment list intends and as the
// backend's mapping model actually places it (SPEC xen §5 item 5).
//   intended: disk sector S + cum_i + k -> (frame_i, f_i + k)
//   window:   disk sector S + j -> window byte W = f_0*512 + j*512 -> (frame of seg floor(W/4096), (W mod 4096)/512)
//             (NetBSD xbdback Xen 2 rev 1.2 / 2020 rev 1.77: one VA page per segment, contiguous transfer)
//   per-segment: each segment mapped on its own (Linux blkback, NetBSD 2005 rewrite): intended == actual.
import type { BackendModel, Impact, MemLocation, MemRange, Request, Segment } from './types.js';

export const SECTOR = 512;
export const PAGE = 4096;
export const SECTORS_PER_PAGE = PAGE / SECTOR;

/** Key that identifies a segment's memory page: frame, grant reference or guest page. */
export function pageKey(seg: Segment): string {
  if (seg.frame !== undefined) return seg.frame;
  if (seg.gref !== undefined) return `gref ${seg.gref}`;
  if (seg.addr !== undefined) return pageOfAddr(seg.addr);
  return '?';
}

export function pageOfAddr(addr: string): string {
  try {
    const a = BigInt(addr);
    return '0x' + (a & ~0xfffn).toString(16);
  } catch {
    return addr;
  }
}

/** True when the segment has a usable sector range inside a 4 KiB page. */
export function validSegment(seg: Segment): boolean {
  const f = seg.firstSect;
  const l = seg.lastSect;
  return f !== undefined && l !== undefined && f >= 0 && l >= f && l < SECTORS_PER_PAGE;
}

function loc(seg: Segment | undefined, sect: number): MemLocation {
  if (!seg) return { unmapped: true, sect };
  const out: MemLocation = { sect };
  if (seg.frame !== undefined) out.frame = seg.frame;
  else if (seg.gref !== undefined) out.gref = seg.gref;
  return out;
}

function sameLoc(a: MemLocation, b: MemLocation): boolean {
  return a.frame === b.frame && a.gref === b.gref && !!a.unmapped === !!b.unmapped && a.sect === b.sect;
}

function sameRun(prev: MemLocation, next: MemLocation): boolean {
  return prev.frame === next.frame && prev.gref === next.gref && !!prev.unmapped === !!next.unmapped && next.sect === prev.sect + 1;
}

function locKey(l: MemLocation): string {
  return `${l.unmapped ? 'unmapped' : l.frame ?? `gref ${l.gref}`}:${l.sect}`;
}

/** Intended and actual placement of every disk sector of a Xen-style request (frame/gref + first/last sect). */
export function placements(req: Request, model: BackendModel): { disk: number; expected: MemLocation; actual: MemLocation }[] {
  const segs = req.segments.filter(validSegment);
  const out: { disk: number; expected: MemLocation; actual: MemLocation }[] = [];
  if (segs.length === 0) return out;
  const f0 = segs[0]!.firstSect!;
  let j = 0;
  for (const seg of segs) {
    for (let s = seg.firstSect!; s <= seg.lastSect!; s++, j++) {
      const expected = loc(seg, s);
      let actual = expected;
      if (model === 'window') {
        const w = f0 * SECTOR + j * SECTOR;
        const page = Math.floor(w / PAGE);
        actual = loc(segs[page], (w % PAGE) / SECTOR);
      }
      out.push({ disk: req.sector + j, expected, actual });
    }
  }
  return out;
}

export function computeImpact(req: Request, model: BackendModel): Impact {
  const pl = placements(req, model);
  const misdirected: Impact['misdirected'] = [];
  let run: Impact['misdirected'][number] | undefined;
  let last: { expected: MemLocation; actual: MemLocation } | undefined;
  for (const p of pl) {
    if (sameLoc(p.expected, p.actual)) {
      run = undefined;
      last = undefined;
      continue;
    }
    if (run && last && sameRun(last.expected, p.expected) && sameRun(last.actual, p.actual) && run.sector + run.count === p.disk) {
      run.count++;
    } else {
      run = { sector: p.disk, count: 1, expected: p.expected, actual: p.actual };
      misdirected.push(run);
    }
    last = p;
  }

  // Memory intended but never reached, and memory reached more than once.
  const reached = new Map<string, { l: MemLocation; sectors: number[] }>();
  for (const p of pl) {
    const k = locKey(p.actual);
    const r = reached.get(k);
    if (r) r.sectors.push(p.disk);
    else reached.set(k, { l: p.actual, sectors: [p.disk] });
  }
  const untouched: MemRange[] = [];
  const seen = new Set<string>();
  for (const p of pl) {
    const k = locKey(p.expected);
    if (reached.has(k) || seen.has(k)) continue;
    seen.add(k);
    const prev = untouched[untouched.length - 1];
    if (prev && prev.frame === p.expected.frame && prev.gref === p.expected.gref && prev.lastSect + 1 === p.expected.sect) {
      prev.lastSect = p.expected.sect;
    } else {
      const r: MemRange = { firstSect: p.expected.sect, lastSect: p.expected.sect };
      if (p.expected.frame !== undefined) r.frame = p.expected.frame;
      if (p.expected.gref !== undefined) r.gref = p.expected.gref;
      untouched.push(r);
    }
  }
  const impact: Impact = { model, misdirected, untouched };
  const aliased: NonNullable<Impact['aliased']> = [];
  for (const r of reached.values()) {
    if (r.sectors.length > 1 && !r.l.unmapped) {
      const a: NonNullable<Impact['aliased']>[number] = { sect: r.l.sect, sectors: r.sectors };
      if (r.l.frame !== undefined) a.frame = r.l.frame;
      if (r.l.gref !== undefined) a.gref = r.l.gref;
      aliased.push(a);
    }
  }
  if (aliased.length) impact.aliased = aliased;
  return impact;
}

/** Human form of a memory location: "frame 0x27f68 sector 0" / "gref 12 sector 3" / "past the mapped pages". */
export function describeLoc(l: MemLocation): string {
  if (l.unmapped) return `unmapped memory past the last segment's page (sector ${l.sect})`;
  return `${l.frame !== undefined ? `frame ${l.frame}` : `gref ${l.gref}`} sector ${l.sect}`;
}

export function describeRange(r: MemRange): string {
  const who = r.frame !== undefined ? `frame ${r.frame}` : `gref ${r.gref}`;
  return r.firstSect === r.lastSect ? `${who} sector ${r.firstSect}` : `${who} sectors ${r.firstSect}-${r.lastSect}`;
}

/** Request-level summary lines of an impact, 1-based disk sectors as printed by the backend. */
export function describeImpact(imp: Impact): string[] {
  const lines: string[] = [];
  for (const m of imp.misdirected) {
    const disk = m.count === 1 ? `disk sector ${m.sector}` : `disk sectors ${m.sector}-${m.sector + m.count - 1}`;
    const span = (l: MemLocation) =>
      m.count === 1 || l.unmapped ? describeLoc(l) : `${l.frame !== undefined ? `frame ${l.frame}` : `gref ${l.gref}`} sectors ${l.sect}-${l.sect + m.count - 1}`;
    lines.push(`${disk} land in ${span(m.actual)} instead of ${span(m.expected)}`);
  }
  for (const u of imp.untouched) lines.push(`${describeRange(u)} never transferred`);
  for (const a of imp.aliased ?? []) {
    lines.push(`${a.frame !== undefined ? `frame ${a.frame}` : `gref ${a.gref}`} sector ${a.sect} used by disk sectors ${a.sectors.join(', ')}`);
  }
  return lines;
}
