// Pure views: store state -> lines of styled spans. No React here; components only draw these lines.
// Every input-derived string goes through neutralize() before it becomes a span.
import type { Finding, Request } from '../src/model/types.js';
import { buildSegmentMap, type CellMark, type SegmentMap } from '../src/model/segmap.js';
import { describeImpact } from '../src/model/impact.js';
import { neutralize } from '../src/util/sanitize.js';
import type { RowData, TuiStore } from './store.js';

export type Color = 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'gray' | 'white';

export interface Span {
  text: string;
  color?: Color;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}
export type Line = Span[];

export const SEV_MARK: Record<number, Span> = {
  0: { text: ' ' },
  1: { text: 'I', color: 'blue', bold: true },
  2: { text: 'W', color: 'yellow', bold: true },
  3: { text: 'E', color: 'red', bold: true },
};
const SEV_RANK: Record<string, number> = { info: 1, warning: 2, error: 3 };

export function lineText(l: Line): string {
  return l.map((s) => s.text).join('');
}

/** Cut a line to `width` columns (spans are single-width text after neutralize). */
export function cutLine(l: Line, width: number): Line {
  const out: Line = [];
  let left = width;
  for (const s of l) {
    if (left <= 0) break;
    if (s.text.length <= left) {
      out.push(s);
      left -= s.text.length;
    } else {
      out.push({ ...s, text: left > 1 ? s.text.slice(0, left - 1) + '…' : s.text.slice(0, left) });
      left = 0;
    }
  }
  return out;
}

/** Pad a line with spaces to `width` (for inverse selection bars). */
export function padLine(l: Line, width: number): Line {
  const len = l.reduce((n, s) => n + s.text.length, 0);
  return len < width ? [...l, { text: ' '.repeat(width - len) }] : l;
}

function pad(s: string, n: number, right = false): string {
  if (s.length > n) return n > 1 ? s.slice(0, n - 1) + '…' : s.slice(0, n);
  return right ? s.padStart(n) : s.padEnd(n);
}

export function fmtSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-';
  if (bytes < 1024) return `${bytes}B`;
  if (bytes < 1024 * 1024) return `${+(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)}K`;
  if (bytes < 1024 ** 3) return `${+(bytes / 1024 ** 2).toFixed(1)}M`;
  return `${+(bytes / 1024 ** 3).toFixed(1)}G`;
}

export function fmtLatency(s: number): string {
  if (!Number.isFinite(s)) return '-';
  if (s < 1e-3) return `${+(s * 1e6).toFixed(0)}us`;
  if (s < 1) return `${+(s * 1e3).toPrecision(3)}ms`;
  return `${+s.toPrecision(3)}s`;
}

export function fmtTime(t: number): string {
  return Number.isFinite(t) ? t.toFixed(6) : '-';
}

export function fmtRange(sector: number, sectors: number): string {
  if (sectors <= 0) return sector ? String(sector) : '-';
  return sectors === 1 ? String(sector) : `${sector}-${sector + sectors - 1}`;
}

interface Col {
  title: string;
  width: number;
  right?: boolean;
  minCols: number;
  get(d: RowData): string;
}

const COLS: Col[] = [
  { title: '#', width: 7, right: true, minCols: 0, get: (d) => String(d.seq) },
  { title: 'time', width: 15, right: true, minCols: 110, get: (d) => fmtTime(d.time) },
  { title: 'id', width: 8, minCols: 120, get: (d) => neutralize(d.id) },
  { title: 'device', width: 8, minCols: 0, get: (d) => neutralize(d.device) || '-' },
  { title: 'op', width: 6, minCols: 0, get: (d) => neutralize(d.op) },
  { title: 'sectors', width: 19, minCols: 0, get: (d) => fmtRange(d.sector, d.sectors) },
  { title: 'size', width: 6, right: true, minCols: 0, get: (d) => fmtSize(d.bytes) },
  { title: 'segs', width: 4, right: true, minCols: 0, get: (d) => String(d.nseg) },
  { title: 'status', width: 8, minCols: 0, get: (d) => neutralize(d.status) || (d.state === 'completed' ? 'ok' : '-') },
  { title: 'latency', width: 8, right: true, minCols: 0, get: (d) => fmtLatency(d.latency) },
  { title: 'state', width: 10, minCols: 100, get: (d) => d.state },
];

function colsFor(width: number): Col[] {
  return COLS.filter((c) => width >= c.minCols);
}

export function listHeader(width: number): Line {
  const t = '  ' + colsFor(width).map((c) => pad(c.title, c.width, c.right)).join(' ');
  return cutLine([{ text: t, bold: true }], width);
}

export function formatRow(d: RowData, width: number): Line {
  const body = colsFor(width)
    .map((c) => pad(c.get(d), c.width, c.right))
    .join(' ');
  const op = d.op === 'write' ? 'yellow' : d.op === 'read' ? undefined : 'cyan';
  return cutLine([SEV_MARK[d.sev] ?? SEV_MARK[0]!, { text: ' ' }, { text: body, color: op as Color | undefined }], width);
}

// ---- segment map ----------------------------------------------------------------------------------

const CELL: Record<CellMark, { glyph: string; color?: Color; inverse?: boolean; dim?: boolean }> = {
  empty: { glyph: '·', dim: true },
  seg: { glyph: '■', color: 'green' },
  misdirected: { glyph: '!', color: 'red', inverse: true },
  untouched: { glyph: '~', color: 'red' },
  aliased: { glyph: '&', color: 'magenta', inverse: true },
};

export const SEGMAP_LEGEND: Line = [
  { text: '  ' },
  { text: '■n', color: 'green' },
  { text: ' seg n ' },
  { text: '!n', color: 'red', inverse: true },
  { text: ' misdirected sector lands here ' },
  { text: '~n', color: 'red' },
  { text: ' never transferred ' },
  { text: '&n', color: 'magenta', inverse: true },
  { text: ' 2+ segs ' },
  { text: '·', dim: true },
  { text: ' unnamed' },
];

/** Draw a segment map: one row per page/frame, one 4-column cell per 512-byte sector. */
export function segmapLines(map: SegmentMap, holes: number[] = map.holes): Line[] {
  const out: Line[] = [];
  const labelW = Math.max(10, ...map.rows.map((r) => neutralize(r.page).length + 1));
  const head: Line = [{ text: '  ' + pad('page', labelW) }];
  for (let s = 0; s < map.sectorsPerRow; s++) head.push({ text: pad(`s${s}`, 4), dim: true });
  out.push(head);
  for (const r of map.rows) {
    const rowColor: Color | undefined = r.repeated ? 'yellow' : undefined;
    const line: Line = [{ text: '  ' }, { text: pad(neutralize(r.page), labelW), color: rowColor, bold: r.repeated }];
    for (const c of r.cells) {
      const st = CELL[c.mark];
      const label = c.segs.length ? String(c.segs[0]) : '';
      const color = c.mark === 'seg' && r.repeated ? 'yellow' : st.color;
      line.push({ text: pad(st.glyph + label, 3), color, inverse: st.inverse, dim: st.dim });
      line.push({ text: ' ' });
    }
    const segs = r.segs.length === 1 ? `seg ${r.segs[0]}` : `segs ${compactList(r.segs)}`;
    line.push({ text: segs, dim: !r.repeated });
    if (r.repeated) line.push({ text: ` REPEATED ×${r.segs.length}`, color: 'yellow', bold: true });
    const h = r.segs.filter((i) => holes.includes(i));
    if (h.length) line.push({ text: ` hole (seg ${compactList(h)})`, color: 'magenta' });
    out.push(line);
  }
  return out;
}

function compactList(ns: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < ns.length) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j]! + 1) j++;
    parts.push(j > i ? `${ns[i]}-${ns[j]}` : String(ns[i]));
    i = j + 1;
  }
  return parts.join(',');
}

const MODEL_TEXT: Record<string, string> = {
  window: 'window model: one page mapped per segment, one contiguous transfer',
  'per-segment': 'per-segment model: each segment mapped on its own',
};

function evidenceLines(ev: Request['evidence'], max: number, file: string): Line[] {
  const out: Line[] = [];
  const width = Math.max(...ev.slice(0, max).map((e) => String(e.line ?? e.offset ?? '?').length), 1);
  for (const e of ev.slice(0, max)) {
    // The request's own file is named once in the header; other files are named on their lines.
    const pos = e.line !== undefined ? String(e.line) : e.offset !== undefined ? `@${e.offset}` : '?';
    const where = e.file === file ? pos.padStart(width + 1) : `${neutralize(e.file)}:${pos}`;
    const texts = (e.text ?? '').split('\n');
    texts.forEach((t, k) => {
      out.push([{ text: '  ' }, { text: k === 0 ? where : ' '.repeat(where.length), dim: true }, { text: '  ' + neutralize(t) }]);
    });
  }
  if (ev.length > max) out.push([{ text: `  … ${ev.length - max} more evidence lines`, dim: true }]);
  return out;
}

export function findingSpan(f: Finding): Line {
  return [SEV_MARK[SEV_RANK[f.severity] ?? 1]!, { text: ' ' }, { text: neutralize(f.rule), bold: true }, { text: '  ' + neutralize(f.message) }];
}

/** Everything the detail pane shows for one row. */
export function detailLines(store: TuiStore, row: number): Line[] {
  if (row < 0) return [[{ text: store.done ? 'no requests' : 'waiting for requests…', dim: true }]];
  const d = store.rowData(row);
  const req = store.request(row);
  const out: Line[] = [];
  out.push([
    SEV_MARK[d.sev] ?? SEV_MARK[0]!,
    { text: ' ' },
    { text: `#${d.seq} id ${neutralize(d.id)}`, bold: true },
    { text: ` ${neutralize(d.device) || '-'} ${neutralize(d.op)} sectors ${fmtRange(d.sector, d.sectors)} (${d.sectors} × 512 B = ${d.bytes} B) ${d.nseg} segs ${d.state}` },
    { text: d.status ? ` status ${neutralize(d.status)}` : '' },
    { text: Number.isFinite(d.latency) ? ` latency ${fmtLatency(d.latency)}` : '' },
  ]);
  if (!req) {
    out.push([
      { text: `details not kept: segments and evidence are kept for flagged requests and the newest ${store.keepDetails} others`, dim: true },
    ]);
    return out;
  }
  const extra: string[] = [`format ${neutralize(req.format)}`];
  if (req.loggedBytes !== undefined) extra.push(`logged size ${req.loggedBytes} B`);
  if (req.loggedStartOffset !== undefined) extra.push(`logged start ${req.loggedStartOffset}`);
  if (req.nrSegments !== undefined && req.nrSegments !== req.segments.length) extra.push(`declares ${req.nrSegments} segments`);
  if (req.ring?.reqCons !== undefined) extra.push(`req_cons 0x${req.ring.reqCons.toString(16)}`);
  if (req.ring?.reqProd !== undefined) extra.push(`req_prod 0x${req.ring.reqProd.toString(16)}`);
  out.push([{ text: '  ' + extra.join(', '), dim: true }]);

  let map: SegmentMap | undefined;
  try {
    map = req.segments.length ? buildSegmentMap(req) : undefined;
  } catch {
    map = undefined;
  }
  if (map && map.rows.length) {
    const model = req.backendModel ?? 'per-segment';
    out.push([{ text: 'Segment map', bold: true }, { text: ` (${MODEL_TEXT[model] ?? model}; 1 cell = 512 B)`, dim: true }]);
    out.push(...segmapLines(map));
    out.push(SEGMAP_LEGEND);
    const imp = map.impact ? describeImpact(map.impact) : [];
    if (imp.length) {
      out.push([{ text: 'Impact', bold: true }, { text: ' (derived)', dim: true }]);
      for (const l of imp) out.push([{ text: '  ' }, { text: neutralize(l), color: 'red' }]);
    } else if (map.impact) out.push([{ text: '  no misdirected or untransferred sectors under this model', dim: true }]);
  } else if (req.segments.length === 0) out.push([{ text: '  no segments listed', dim: true }]);

  const findings = store.findingsOf(row);
  if (findings.length) {
    out.push([{ text: 'Findings', bold: true }]);
    for (const f of findings) out.push([{ text: '  ' }, ...findingSpan(f)]);
  }

  out.push([{ text: 'Evidence', bold: true }, { text: ` (${neutralize(req.file)}, line: original text)`, dim: true }]);
  out.push(...evidenceLines(req.evidence, 200, req.file));
  return out;
}

export function findingLine(store: TuiStore, fi: number): Line {
  const f = store.findings[fi]!;
  const row = store.findingRow[fi]!;
  const where = row >= 0 ? `#${store.rowData(row).seq}` : '-';
  return [
    SEV_MARK[SEV_RANK[f.severity] ?? 1]!,
    { text: ' ' },
    { text: pad(neutralize(f.rule), 18), bold: true },
    { text: ' ' + pad(where, 8) },
    { text: neutralize(f.message) },
  ];
}

export function fmtBytes(n: number): string {
  return fmtSize(n).replace(/B$/, ' B');
}

export function statusLine(store: TuiStore, width = 200): Line {
  const parts: Line = [];
  const c = store.countBySev;
  parts.push({ text: ` │ ${store.requestCount} req` });
  parts.push({ text: ' │ ' }, { text: `E${c.error}`, color: c.error ? 'red' : undefined }, { text: ' ' }, { text: `W${c.warning}`, color: c.warning ? 'yellow' : undefined }, { text: ` I${c.info}` });
  if (store.follow) parts.push({ text: ' │ ' }, { text: 'FOLLOW', color: 'green', bold: true });
  if (store.filter) parts.push({ text: ` │ filter: ${store.filter.text} (${store.viewLength()})`, color: 'magenta' });
  if (!store.done) {
    const file = store.currentInput;
    const bytes = store.progressBytes.get(file) ?? 0;
    const total = store.totalBytes.get(file);
    const pct = total && !store.live ? ` ${Math.min(100, Math.floor((bytes / total) * 100))}%` : '';
    parts.push({ text: ` │ ${store.live ? 'live' : 'reading'}${pct} ${fmtBytes(bytes)}`, color: 'cyan' });
  }
  if (store.search) parts.push({ text: ` │ /${neutralize(store.search)}`, dim: true });
  if (store.errors.length) parts.push({ text: ` │ ${neutralize(store.errors[0]!)}`, color: 'red' });
  // Input name and format first; the name gives way (cut from the left) so the state stays visible.
  const inputs = new Set<string>([...store.inputs.map((i) => i.file), store.currentInput].filter(Boolean));
  let name = [...inputs].map((f) => neutralize(f)).join(',') || '-';
  const fmt = store.currentFormat || store.inputs.map((i) => i.format).filter(Boolean).join(',');
  const fmtText = ` ${fmt ? neutralize(fmt) : 'detecting…'}`;
  const rest = parts.reduce((n, p) => n + p.text.length, 0) + fmtText.length + 1;
  const budget = Math.max(8, width - rest);
  if (name.length > budget) name = '…' + name.slice(name.length - budget + 1);
  return [{ text: ` ${name}`, bold: true }, { text: fmtText }, ...parts];
}

export interface Layout {
  listRows: number;
  detailRows: number;
  findingsRows: number;
}

/** Pane heights (content rows, excluding each pane's title) for a terminal size. */
export function layout(rows: number, focus: string, listLen = Infinity): Layout {
  // Total output stays below the terminal height: titles (3) + status + hint lines (2) + 1 spare.
  const content = Math.max(3, rows - 6);
  let list: number;
  let findings: number;
  if (focus === 'detail') {
    list = Math.max(1, Math.floor(content * 0.2));
    findings = Math.max(1, Math.floor(content * 0.12));
  } else if (focus === 'findings') {
    list = Math.max(1, Math.floor(content * 0.3));
    findings = Math.max(1, Math.floor(content * 0.3));
  } else {
    list = Math.max(1, Math.floor(content * 0.4));
    findings = Math.max(1, Math.floor(content * 0.15));
  }
  // A short list gives its spare rows to the detail pane (list rows include the column header).
  list = Math.max(2, Math.min(list, listLen + 1));
  const detail = Math.max(1, content - list - findings);
  return { listRows: list, detailRows: detail, findingsRows: findings };
}
