// Plain-text pictures of a request: its segment table and its segment map (ASCII).
import type { Request } from '../model/types.js';
import { buildSegmentMap, type CellMark } from '../model/segmap.js';
import { describeImpact } from '../model/impact.js';

export const MAP_LEGEND = "'#' sector transferred as intended  'X' receives a disk sector meant elsewhere  '-' never transferred  '@' used twice  '.' not in the request";

const MARK: Record<CellMark, string> = { empty: '.', seg: '#', misdirected: 'X', untouched: '-', aliased: '@' };

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Segment table: one line per segment. */
export function segmentTable(req: Request, indent = ''): string[] {
  if (req.segments.length === 0) return [];
  const xen = req.segments.some((s) => s.firstSect !== undefined);
  const lines: string[] = [];
  if (xen) {
    const w = Math.max(5, ...req.segments.map((s) => (s.frame ?? (s.gref !== undefined ? `gref ${s.gref}` : '?')).length));
    lines.push(`${indent}seg  ${pad('frame', w)}  first  last  bytes  disk sectors`);
    let disk = req.sector;
    req.segments.forEach((s, i) => {
      const f = s.firstSect ?? 0;
      const l = s.lastSect ?? 0;
      const n = l >= f ? l - f + 1 : 0;
      const page = s.frame ?? (s.gref !== undefined ? `gref ${s.gref}` : '?');
      const range = n === 0 ? '-' : n === 1 ? `${disk}` : `${disk}-${disk + n - 1}`;
      lines.push(`${indent}${pad(String(i), 3)}  ${pad(page, w)}  ${pad(String(f), 5)}  ${pad(String(l), 4)}  ${pad(String(n * 512), 5)}  ${range}`);
      disk += n;
    });
  } else {
    lines.push(`${indent}seg  ${pad('address', 18)}  ${pad('length', 7)}  dir        role`);
    req.segments.forEach((s, i) => {
      lines.push(
        `${indent}${pad(String(i), 3)}  ${pad(s.addr ?? '?', 18)}  ${pad(String(s.len ?? '?'), 7)}  ${pad(s.write === undefined ? '?' : s.write ? 'dev-write' : 'dev-read', 9)}  ${s.role ?? ''}`.trimEnd(),
      );
    });
  }
  return lines;
}

/** ASCII segment map: one row per page/frame, one cell per 512-byte sector. */
export function segmentMapText(req: Request, model = req.backendModel, indent = ''): string[] {
  const map = buildSegmentMap(req, model ?? 'per-segment');
  if (map.rows.length === 0) return [];
  const w = Math.max(4, ...map.rows.map((r) => r.page.length));
  const lines: string[] = [`${indent}${pad('page', w)}  sectors   segments`];
  for (const r of map.rows) {
    const cells = r.cells.map((c) => MARK[c.mark]).join('');
    const segs = r.segs.length > 4 ? `${r.segs[0]}-${r.segs[r.segs.length - 1]}` : r.segs.join(',');
    lines.push(`${indent}${pad(r.page, w)}  ${cells}  ${segs}${r.repeated ? `  repeated x${r.segs.length}` : ''}`);
  }
  if (map.holes.length) lines.push(`${indent}holes at segment(s) ${map.holes.join(', ')}`);
  return lines;
}

export function impactText(req: Request, model = req.backendModel, indent = ''): string[] {
  const map = buildSegmentMap(req, model ?? 'per-segment');
  if (!map.impact) return [];
  const lines = describeImpact(map.impact);
  if (lines.length === 0) return [`${indent}impact (${map.impact.model} model): every sector lands where the segment list says`];
  return [`${indent}impact (${map.impact.model} model):`, ...lines.map((l) => `${indent}  ${l}`)];
}
