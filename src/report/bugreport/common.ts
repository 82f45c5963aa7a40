// Pieces every bug-report renderer shares: safe strings, header facts, segment tables, map grids,
// evidence lists. Renderers only lay these out.
import type { Evidence, Request, Segment } from '../../model/types.js';
import type { SegmentMap, CellMark } from '../../model/segmap.js';
import { neutralize } from '../../util/sanitize.js';
import type { ReportData, ShownInstance } from './select.js';

export const WIDTH = 72;

/** Neutralise control characters; unless `unicode`, escape everything outside printable ASCII too. */
export function safe(s: string, unicode = false): string {
  const n = neutralize(s);
  if (unicode) return n;
  // eslint-disable-next-line no-control-regex
  if (/^[\x20-\x7e]*$/.test(n)) return n;
  let out = '';
  for (const ch of n) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c <= 0x7e) out += ch;
    else if (c <= 0xffff) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\u{' + c.toString(16) + '}';
  }
  return out;
}

/** Word-wrap prose to `width` columns with `indent` on every line; words longer than a line are split. */
export function wrap(text: string, width: number, indent = ''): string[] {
  const avail = Math.max(8, width - indent.length);
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let cur = '';
  for (let w of words) {
    while (w.length > avail) {
      if (cur) {
        lines.push(cur);
        cur = '';
      }
      lines.push(w.slice(0, avail));
      w = w.slice(avail);
    }
    if (!cur) cur = w;
    else if (cur.length + 1 + w.length <= avail) cur += ' ' + w;
    else {
      lines.push(cur);
      cur = w;
    }
  }
  if (cur) lines.push(cur);
  return lines.map((l) => indent + l);
}

/** Cut a string to `max` columns, marking the cut with "...". */
export function cut(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, Math.max(0, max - 3)) + '...';
}

/** Cut a path from the left ("...tail") so the file name stays visible. */
export function cutLeft(s: string, max: number): string {
  return s.length <= max ? s : '...' + s.slice(s.length - Math.max(0, max - 3));
}

export function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function fmtTime(t: number): string {
  return Number.isInteger(t) ? `${t}` : t.toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
}

/** Header facts as label/value pairs (values are input-derived: callers escape them). */
export function headerFacts(d: ReportData): [string, string][] {
  const out: [string, string][] = [];
  out.push(['blkscope', d.version]);
  if (d.stamp) out.push(['Generated', d.stamp]);
  const inputs = d.inputs.map((i) => {
    const bits: string[] = [];
    if (i.error) bits.push(`error: ${i.error}`);
    else bits.push(i.format || 'unrecognised');
    if (i.lines) bits.push(plural(i.lines, 'line'));
    else if (i.bytes) bits.push(plural(i.bytes, 'byte'));
    bits.push(plural(i.records, 'record'));
    if (i.skipped) bits.push(`${i.skipped} skipped`);
    return `${i.file} (${bits.join(', ')})`;
  });
  out.push([d.inputs.length === 1 ? 'Input' : 'Inputs', inputs.length ? inputs.join('; ') : '(none)']);
  const formats = [...new Set(d.inputs.flatMap((i) => i.formats))].sort();
  out.push(['Formats', formats.length ? formats.join(', ') : 'none detected']);
  const f = d.facts;
  const devs: string[] = [];
  if (f.domains.length) devs.push(`domain${f.domains.length > 1 ? 's' : ''} ${f.domains.join(', ')}${f.moreDomains ? ` (+${f.moreDomains} more)` : ''}`);
  if (f.devices.length) devs.push(`device${f.devices.length > 1 ? 's' : ''} ${f.devices.join(', ')}${f.moreDevices ? ` (+${f.moreDevices} more)` : ''}`);
  out.push(['Devices', devs.length ? devs.join('; ') : 'not named by the input']);
  if (f.firstTime !== undefined && f.lastTime !== undefined) {
    out.push(['Time span', `${fmtTime(f.firstTime)} s to ${fmtTime(f.lastTime)} s (${fmtTime(+(f.lastTime - f.firstTime).toFixed(6))} s)`]);
  } else out.push(['Time span', 'no timestamps in the input (order only)']);
  const models = Object.entries(f.backendModels).map(([m, n]) => (m === 'none' ? `not applicable (${n})` : `${m} (${n})`));
  out.push([
    'Backend model',
    (models.length ? models.join(', ') : 'n/a') + (d.backendModelOverride ? `; forced by --backend-model ${d.backendModelOverride}` : ''),
  ]);
  const ops = Object.entries(d.stats.byOp)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([o, n]) => `${o} ${n}`);
  out.push(['Requests', `${d.stats.requests}${ops.length ? ` (${ops.join(', ')})` : ''}`]);
  const sev = ['error', 'warning', 'info']
    .filter((s) => d.stats.bySeverity[s])
    .map((s) => `${s} ${d.stats.bySeverity[s]}`);
  const total = Object.values(d.stats.byRule).reduce((a, b) => a + b, 0);
  out.push(['Findings', `${total}${sev.length ? ` (${sev.join(', ')})` : ''}`]);
  return out;
}

export function sectorRange(req: Request): string {
  if (req.sectors <= 0) return `sector ${req.sector}`;
  return req.sectors === 1 ? `sector ${req.sector}` : `sectors ${req.sector}-${req.sector + req.sectors - 1}`;
}

/** "read, sectors 1-11 (11 sectors, 5632 bytes), 11 segments" */
export function requestLine(req: Request): string {
  const bits = [`${req.op}`, sectorRange(req)];
  const size = [`${plural(req.sectors, 'sector')}`, `${req.bytes} bytes`];
  let s = `${bits.join(', ')} (${size.join(', ')}), ${plural(req.segments.length, 'segment')}`;
  if (req.nrSegments !== undefined && req.nrSegments !== req.segments.length) s += ` (input says ${req.nrSegments})`;
  if (req.loggedBytes !== undefined && req.loggedBytes !== req.bytes) s += `, logged size ${req.loggedBytes}`;
  return s;
}

/** Identity facts of a request: id, device/domain, state, status, times. */
export function requestFacts(req: Request): string {
  const bits = [`id ${req.id}`];
  if (req.domain !== undefined) bits.push(`domain ${req.domain}`);
  if (req.device !== undefined) bits.push(`device ${req.device}`);
  if (req.queue !== undefined) bits.push(`queue ${req.queue}`);
  bits.push(`format ${req.format}`);
  bits.push(`#${req.seq + 1} in input order`);
  bits.push(req.state + (req.status !== undefined ? ` (${req.status})` : ''));
  if (req.submitTime !== undefined) bits.push(`at ${fmtTime(req.submitTime)} s`);
  if (req.latency !== undefined) bits.push(`latency ${fmtTime(+req.latency.toFixed(6))} s`);
  return bits.join(', ');
}

export interface SegTable {
  head: string[];
  /** Right-align these columns. */
  right: boolean[];
  rows: string[][];
  more: number;
}

function isXen(req: Request): boolean {
  return req.segments.some((s) => s.firstSect !== undefined || s.frame !== undefined || s.gref !== undefined);
}

/** The request's segment list as a table, with intended disk sectors and notes (repeated page, hole). */
export function segmentTable(req: Request, map: SegmentMap | undefined, max: number): SegTable {
  const holes = new Set(map?.holes ?? []);
  const repeated = new Set<string>();
  for (const r of map?.rows ?? []) if (r.repeated) repeated.add(r.page);
  const segs = req.segments;
  const shown = segs.slice(0, max);
  if (isXen(req)) {
    let disk = req.sector;
    const rows: string[][] = [];
    segs.forEach((s: Segment, i) => {
      const n = s.firstSect !== undefined && s.lastSect !== undefined && s.lastSect >= s.firstSect ? s.lastSect - s.firstSect + 1 : 0;
      const range = n === 0 ? '-' : n === 1 ? `${disk}` : `${disk}-${disk + n - 1}`;
      const page = s.frame ?? (s.gref !== undefined ? `gref ${s.gref}` : '?');
      const notes: string[] = [];
      if (repeated.has(page)) notes.push('repeated page');
      if (holes.has(i)) notes.push('hole');
      if (n === 0) notes.push('bad sector range');
      if (i < shown.length) rows.push([`${i}`, page, `${s.firstSect ?? '?'}`, `${s.lastSect ?? '?'}`, `${n}`, range, notes.join(', ')]);
      disk += n;
    });
    return { head: ['#', 'frame/gref', 'first', 'last', 'n', 'disk sectors', 'notes'], right: [true, false, true, true, true, false, false], rows, more: segs.length - shown.length };
  }
  const rows = shown.map((s, i) => {
    const notes: string[] = [];
    if (s.addr !== undefined && repeated.has(pageOf(s.addr)) && s.role !== 'header' && s.role !== 'status') notes.push('repeated page');
    return [`${i}`, s.addr ?? '?', s.len !== undefined ? `${s.len}` : '?', s.write === undefined ? '?' : s.write ? 'in' : 'out', s.role ?? '', notes.join(', ')];
  });
  return { head: ['#', 'address', 'bytes', 'dir', 'role', 'notes'], right: [true, false, true, false, false, false], rows, more: segs.length - shown.length };
}

function pageOf(addr: string): string {
  try {
    return '0x' + (BigInt(addr) & ~0xfffn).toString(16);
  } catch {
    return addr;
  }
}

/** Lay out a table as fixed-width text lines (no trailing spaces). */
export function textTable(head: string[], rows: string[][], right: boolean[], indent = '  '): string[] {
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    (indent + cells.map((v, c) => (right[c] ? v.padStart(w[c]!) : v.padEnd(w[c]!))).join('  ')).replace(/\s+$/, '');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
}

/** Map cell glyph (ASCII): which mark a cell carries. */
export const MARK_GLYPH: Record<CellMark, string> = {
  empty: '.',
  seg: ' ',
  misdirected: '!',
  untouched: '~',
  aliased: '*',
};

export const MARK_LEGEND: [CellMark, string][] = [
  ['seg', 'segment number: sector named by that segment'],
  ['aliased', 'named by two or more segments'],
  ['misdirected', 'receives a disk sector meant for elsewhere'],
  ['untouched', 'named by a segment, never transferred'],
  ['empty', 'not named by any segment'],
];

/** Segment label of a cell: "7", "2+" (several segments), "" (none). */
export function cellLabel(segs: number[]): string {
  if (segs.length === 0) return '';
  return segs.length === 1 ? `${segs[0]}` : `${segs[0]}+`;
}

/** Segment indices of a row as ranges: "0-7", "8, 10". */
export function segRanges(segs: number[]): string {
  const s = [...segs].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/** Evidence lines to quote: the finding's own, else the request's; unique, in input order. */
export function evidenceOf(inst: ShownInstance): Evidence[] {
  const src = inst.finding.evidence.length ? inst.finding.evidence : inst.request?.evidence ?? [];
  const seen = new Set<string>();
  const out: Evidence[] = [];
  for (const e of src) {
    const k = `${e.file}\u0000${e.line ?? ''}\u0000${e.offset ?? ''}\u0000${e.text ?? ''}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(e);
  }
  return out;
}

export function whereOf(e: Evidence): string {
  if (e.line !== undefined) return `${e.file}:${e.line}`;
  if (e.offset !== undefined) return `${e.file}@0x${e.offset.toString(16)}`;
  return e.file;
}

/** Short label of where in the input: "12" (line) or "@0x1f0" (byte offset). */
export function posOf(e: Evidence): string {
  if (e.line !== undefined) return `${e.line}`;
  if (e.offset !== undefined) return `@0x${e.offset.toString(16)}`;
  return '-';
}

export function impactSummary(inst: ShownInstance): string | undefined {
  const req = inst.request;
  if (!inst.impact) return undefined;
  const bits: string[] = [];
  if (req) bits.push(`${plural(req.sectors, 'sector')} requested`);
  bits.push(`${inst.misdirectedSectors} misdirected`);
  bits.push(`${inst.untouchedSectors} never transferred (${inst.untouchedSectors * 512} bytes of the buffer)`);
  if (inst.aliasedSectors) bits.push(`${inst.aliasedSectors} sharing memory`);
  return bits.join(', ');
}

/** The command that reproduces the report (file names shell-quoted when needed; stdin as "-"). */
export function reproduceCommand(d: ReportData): string {
  const q = (f: string) => (f === '<stdin>' ? '-' : /^[\w./,:+@%=-]+$/.test(f) ? f : `'${f.replace(/'/g, `'\\''`)}'`);
  let cmd = `blkscope report ${d.inputs.map((i) => q(i.file)).join(' ')}`;
  if (d.backendModelOverride) cmd += ` --backend-model ${d.backendModelOverride}`;
  return cmd;
}
