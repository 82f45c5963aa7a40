// `blkscope report --format html`: one self-contained page (inline CSS and SVG, no script, no network):
// the text report's content, the segment map drawn as SVG and a timeline of requests (sector vs time, or
// vs input order without timestamps) with flagged requests highlighted.
import type { SegmentMap, CellMark } from '../../model/segmap.js';
import {
  plural,
  headerFacts,
  requestLine,
  requestFacts,
  segmentTable,
  evidenceOf,
  impactSummary,
  posOf,
  cellLabel,
  segRanges,
  MARK_LEGEND,
  fmtTime,
  reproduceCommand,
} from './common.js';
import { neutralize } from '../../util/sanitize.js';
import type { ReportData, ReportOptions, RuleSection, ShownInstance } from './select.js';

/** HTML text/attribute: neutralised, then &, <, >, " and ' escaped. */
export function h(s: string): string {
  return neutralize(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const COLORS: Record<CellMark, string> = {
  empty: '#f4f4f4',
  seg: '#9ecae1',
  aliased: '#fdae6b',
  misdirected: '#e6550d',
  untouched: '#fde0d2',
};

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1000px;padding:0 1em;color:#222;background:#fff}
h1{font-size:1.6em;margin:0 0 .5em}h2{font-size:1.25em;margin:2em 0 .5em;border-bottom:1px solid #ccc;padding-bottom:.2em}
h3{font-size:1.05em;margin:1.2em 0 .4em}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:6px 8px;overflow-x:auto;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace}
.sev-error{color:#b00020;font-weight:600}.sev-warning{color:#a05a00;font-weight:600}.sev-info{color:#1a5e9a}
.muted{color:#666}.why{background:#fffbe6;border-left:4px solid #e0c341;padding:6px 10px}
svg{display:block;margin:.5em 0;max-width:100%;height:auto}svg text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#222}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:12px;height:12px;border:1px solid #999;margin-right:4px;vertical-align:middle}
.ev td:first-child{color:#666;text-align:right;white-space:nowrap}.ev td{font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all;border:none;padding:0 6px}
`;

export function renderHtml(d: ReportData, opts: ReportOptions): string {
  const out: string[] = [];
  out.push('<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">');
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push(`<title>blkscope bug report: ${h(d.inputs.map((i) => i.file).join(', ') || 'no input')}</title>`);
  out.push(`<style>${CSS.trim()}</style>`, '</head>', '<body>');
  out.push('<h1>blkscope bug report</h1>');
  out.push('<dl class="facts">');
  for (const [k, v] of headerFacts(d)) out.push(`<dt>${h(k)}</dt><dd>${h(v)}</dd>`);
  out.push('</dl>');
  if (d.errors.length) {
    out.push('<h3>Input problems</h3>', '<ul>');
    for (const e of d.errors) out.push(`<li>${h(e)}</li>`);
    out.push('</ul>');
  }
  const skipped = d.inputs.filter((i) => i.skipped > 0);
  if (skipped.length) {
    out.push('<h3>Skipped lines</h3>', '<ul>');
    for (const i of skipped) {
      for (const sk of i.skippedSamples.slice(0, 3)) {
        const e = sk.evidence;
        const where = e.line !== undefined ? `${e.file}:${e.line}` : e.offset !== undefined ? `${e.file}@0x${e.offset.toString(16)}` : e.file;
        out.push(`<li><code>${h(where)}</code>: ${h(sk.reason)}</li>`);
      }
      if (i.skipped > Math.min(3, i.skippedSamples.length)) out.push(`<li>${i.skipped} in ${h(i.file)} in all</li>`);
    }
    out.push('</ul>');
  }
  out.push('<h2>Findings</h2>');
  if (d.sections.length === 0) out.push('<p>None: no check flagged anything in these inputs.</p>');
  else {
    out.push('<table><thead><tr><th>#</th><th>rule</th><th>severity</th><th>count</th><th>title</th></tr></thead><tbody>');
    d.sections.forEach((s, i) =>
      out.push(
        `<tr><td class="n">${i + 1}</td><td><a href="#r${i + 1}"><code>${h(s.rule)}</code></a></td><td class="sev-${s.severity}">${s.severity}</td><td class="n">${s.count}</td><td>${h(s.title)}</td></tr>`,
      ),
    );
    out.push('</tbody></table>');
  }
  out.push('<h2>Timeline</h2>', timelineSvg(d));
  d.sections.forEach((sec, i) => out.push(...section(sec, i + 1, d, opts)));
  out.push('<hr>', `<p class="muted">Reproduce: <code>${h(reproduceCommand(d))}</code>. Details of a check: <code>blkscope explain RULE</code>.</p>`);
  out.push('</body>', '</html>');
  return out.join('\n') + '\n';
}

function section(sec: RuleSection, n: number, d: ReportData, opts: ReportOptions): string[] {
  const out: string[] = [];
  out.push(`<h2 id="r${n}">${n}. <code>${h(sec.rule)}</code> <span class="sev-${sec.severity}">${sec.severity}</span>: ${h(sec.title)}</h2>`);
  let counted: string;
  if (sec.count === 1) counted = '1 instance.';
  else if (sec.notShown > 0)
    counted = `${sec.count} instances; ${sec.shown.length === 1 ? 'the worst is' : `${sec.shown.length} are`} shown, ${sec.notShown} more not listed${d.all ? ' (past the keep limit)' : ' (<code>--all</code> lists them)'}.`;
  else counted = `${sec.count} instances, all shown, worst first.`;
  out.push(`<p class="muted">${counted}</p>`);
  sec.shown.forEach((inst, k) => {
    if (sec.shown.length > 1) out.push(`<h3>Instance ${k + 1} of ${sec.shown.length}</h3>`);
    out.push(...instance(inst, opts));
  });
  out.push(`<div class="why"><p><strong>What it means.</strong> ${h(sec.why)}</p>`);
  if (sec.next) out.push(`<p><strong>Next.</strong> ${h(sec.next)}</p>`);
  out.push(`<p class="muted">More: <code>blkscope explain ${h(sec.rule)}</code></p></div>`);
  return out;
}

function instance(inst: ShownInstance, opts: ReportOptions): string[] {
  const out: string[] = [];
  out.push(`<p><strong>Finding:</strong> ${h(inst.finding.message)}</p>`);
  const req = inst.request;
  if (req && inst.seeSection !== undefined) {
    out.push(`<p><strong>Request:</strong> ${h(requestLine(req))}. The same request as in <a href="#r${inst.seeSection}">section ${inst.seeSection}</a> above: its segments, segment map, impact and evidence are shown there.</p>`);
    return out;
  }
  if (req) {
    out.push(`<p><strong>Request:</strong> ${h(requestLine(req))}<br><span class="muted">${h(requestFacts(req))}</span></p>`);
    if (req.segments.length) {
      const t = segmentTable(req, inst.map, opts.maxSegments ?? 256);
      out.push('<table class="segs"><thead><tr>' + t.head.map((x) => `<th>${h(x)}</th>`).join('') + '</tr></thead><tbody>');
      for (const r of t.rows) out.push('<tr>' + r.map((c, i) => `<td${t.right[i] ? ' class="n"' : ''}>${h(c)}</td>`).join('') + '</tr>');
      out.push('</tbody></table>');
      if (t.more > 0) out.push(`<p class="muted">${plural(t.more, 'more segment')} not listed.</p>`);
    }
    if (inst.map && inst.map.rows.length) out.push(mapSvg(inst.map, opts.maxMapRows ?? 128));
  } else if (inst.finding.device !== undefined) out.push(`<p><strong>Device:</strong> ${h(inst.finding.device)}</p>`);
  if (inst.impactLines.length) {
    out.push(`<h3>Impact (${h(inst.impact!.model)} model)</h3>`);
    const sum = impactSummary(inst);
    if (sum) out.push(`<p>${h(sum)}</p>`);
    out.push('<ul>');
    for (const l of inst.impactLines.slice(0, 64)) out.push(`<li>${h(l)}</li>`);
    if (inst.impactLines.length > 64) out.push(`<li>${inst.impactLines.length - 64} more</li>`);
    out.push('</ul>');
  }
  const ev = evidenceOf(inst);
  if (ev.length) {
    const max = opts.maxEvidence ?? 200;
    out.push('<h3>Evidence (original lines)</h3>', '<table class="ev"><tbody>');
    let file: string | undefined;
    for (const e of ev.slice(0, max)) {
      if (e.file !== file) {
        file = e.file;
        out.push(`<tr><td></td><td><strong>${h(e.file)}</strong></td></tr>`);
      }
      const text = e.text === undefined ? '(no text recorded)' : e.text.length > 2000 ? e.text.slice(0, 2000) + ` [cut ${e.text.length - 2000} chars]` : e.text;
      out.push(`<tr><td>${h(posOf(e))}</td><td>${h(text)}</td></tr>`);
    }
    out.push('</tbody></table>');
    if (ev.length > max) out.push(`<p class="muted">${plural(ev.length - max, 'more line')} not shown.</p>`);
  }
  return out;
}

/** The segment map as SVG: a row per page, a square per 512-byte sector, coloured by mark, labelled by segment. */
export function mapSvg(map: SegmentMap, maxRows: number): string {
  const rows = map.rows.slice(0, maxRows);
  const cw = 40;
  const ch = 22;
  const left = 150;
  const top = 22;
  const width = left + map.sectorsPerRow * cw + 120;
  const height = top + rows.length * ch + 10;
  const o: string[] = [];
  o.push(`<svg class="segmap" role="img" aria-label="segment map" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`);
  for (let c = 0; c < map.sectorsPerRow; c++) o.push(`<text x="${left + c * cw + cw / 2}" y="14" text-anchor="middle">${c}</text>`);
  rows.forEach((r, i) => {
    const y = top + i * ch;
    o.push(`<text x="4" y="${y + 15}">${r.repeated ? 'R ' : ''}${h(r.page.length > 18 ? r.page.slice(0, 17) + '~' : r.page)}</text>`);
    r.cells.forEach((cell, c) => {
      const x = left + c * cw;
      const stroke = cell.mark === 'untouched' ? ' stroke-dasharray="3 2" stroke="#e6550d"' : ' stroke="#888"';
      o.push(`<rect x="${x + 1}" y="${y + 1}" width="${cw - 2}" height="${ch - 2}" fill="${COLORS[cell.mark]}"${stroke}><title>${h(`${r.page} sector ${c}: ${cell.mark}${cell.segs.length ? `, segment ${cell.segs.join('+')}` : ''}${cell.disk !== undefined ? `, receives disk sector ${cell.disk}` : ''}`)}</title></rect>`);
      const lab = cellLabel(cell.segs);
      if (lab) o.push(`<text x="${x + cw / 2}" y="${y + 15}" text-anchor="middle">${h(lab)}</text>`);
    });
    o.push(`<text x="${left + map.sectorsPerRow * cw + 8}" y="${y + 15}">seg ${h(segRanges(r.segs))}</text>`);
  });
  o.push('</svg>');
  const legend =
    '<p class="legend">' +
    MARK_LEGEND.map(([m, t]) => `<span><i style="background:${COLORS[m]}"></i>${h(t)}</span>`).join('') +
    '<span>R: page named by several segments</span></p>';
  const more = map.rows.length > rows.length ? `<p class="muted">${plural(map.rows.length - rows.length, 'more page')} not drawn.</p>` : '';
  const holes = map.holes.length ? `<p>Holes: segment${map.holes.length > 1 ? 's' : ''} ${h(segRanges(map.holes))} leave a gap in the transfer.</p>` : '';
  const title = `<p class="muted">Segment map${map.impact ? ` (${h(map.impact.model)} model)` : ''}: rows are pages, columns 512-byte sectors.</p>`;
  return title + '\n' + o.join('\n') + '\n' + legend + more + holes;
}

function num(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

/** Requests as short vertical bars: x = submit time (or input order), y = sector range; flagged in red. */
export function timelineSvg(d: ReportData): string {
  const pts = d.timeline.points;
  if (pts.length === 0) return '<p class="muted">No requests.</p>';
  const W = 960;
  const H = 320;
  const L = 90;
  const R = 20;
  const T = 10;
  const B = 40;
  const xs = pts.map((p) => (d.timeline.timed ? p.t! : p.seq));
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  pts.forEach((p, i) => {
    x0 = Math.min(x0, xs[i]!);
    x1 = Math.max(x1, xs[i]!);
    y0 = Math.min(y0, p.sector);
    y1 = Math.max(y1, p.sector + Math.max(1, p.sectors));
  });
  const [ax0, ax1, ay0, ay1] = [x0, x1, y0, y1];
  if (x1 === x0) {
    x0 -= 1;
    x1 += 1;
  }
  if (y1 === y0) y1 = y0 + 1;
  // Pad the domain so marks at the extremes stay inside the plot.
  const px = (x1 - x0) * 0.03;
  const py = (y1 - y0) * 0.04;
  x0 -= px;
  x1 += px;
  y0 -= py;
  y1 += py;
  // Few requests: wide marks; many: thin bars.
  const mw = Math.max(1.5, Math.min(8, (W - L - R) / pts.length / 2));
  const X = (v: number) => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const Y = (v: number) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  let normal = '';
  const flagged: string[] = [];
  pts.forEach((p, i) => {
    const x = X(xs[i]!);
    const ya = Y(p.sector);
    const yb = Y(p.sector + Math.max(1, p.sectors));
    const hgt = Math.max(mw, ya - yb);
    if (p.flagged) {
      if (flagged.length < 2000)
        flagged.push(`<rect x="${num(x - mw / 2 - 1)}" y="${num(ya - hgt - 1)}" width="${num(mw + 2)}" height="${num(hgt + 2)}" fill="#d62728" stroke="#7a0010"><title>${h(`#${p.seq + 1} ${p.op} sector ${p.sector} (+${p.sectors})${p.t !== undefined ? ` at ${fmtTime(p.t)} s` : ''}`)}</title></rect>`);
    } else normal += `M${num(x)} ${num(ya)}v${num(-hgt)}`;
  });
  const o: string[] = [];
  o.push(`<svg class="timeline" role="img" aria-label="timeline of requests" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`);
  o.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="#fafafa" stroke="#ccc"/>`);
  if (normal) o.push(`<path d="${normal}" stroke="#6b8fb5" stroke-width="${num(mw)}" fill="none"/>`);
  o.push(...flagged);
  // Times as seconds after the first request (epoch clocks make unreadable labels).
  const xl = (v: number) => (d.timeline.timed ? `${fmtTime(+(v - ax0).toFixed(6))} s` : `#${v + 1}`);
  o.push(`<text x="${num(X(ax0))}" y="${H - B + 16}" text-anchor="middle">${h(xl(ax0))}</text>`);
  if (ax1 !== ax0) o.push(`<text x="${num(X(ax1))}" y="${H - B + 16}" text-anchor="middle">${h(xl(ax1))}</text>`);
  o.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${d.timeline.timed ? `submit time, seconds after ${fmtTime(ax0)} s` : 'request order'}</text>`);
  o.push(`<text x="${L - 6}" y="${num(Y(ay1) + 4)}" text-anchor="end">${ay1}</text>`);
  o.push(`<text x="${L - 6}" y="${num(Y(ay0) + 4)}" text-anchor="end">${ay0}</text>`);
  o.push(`<text x="12" y="${(T + H - B) / 2}" transform="rotate(-90 12 ${(T + H - B) / 2})" text-anchor="middle">sector</text>`);
  o.push('</svg>');
  const nFlag = pts.filter((p) => p.flagged).length;
  const note = `<p class="muted">${plural(pts.length, 'request')} drawn${d.timeline.stride > 1 ? ` (every ${d.timeline.stride}th of ${d.facts.requests}, plus every flagged one)` : ''}; ${nFlag} flagged in red${nFlag > 2000 ? ' (first 2000 drawn)' : ''}.</p>`;
  return o.join('\n') + '\n' + note;
}
