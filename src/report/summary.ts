// The `analyze` plain-text summary: inputs and formats, request counts, each finding with its evidence lines,
// the segment table/map of flagged requests and the impact. Pure: data in, string out. Every input-derived
// string goes through neutralize().
import type { Finding, InputInfo, Request, Severity } from '../model/types.js';
import { SEVERITY_RANK } from '../model/types.js';
import type { ModelStats } from '../model/model.js';
import { neutralize, neutralizeCut } from '../util/sanitize.js';
import { MAP_LEGEND, impactText, segmentMapText, segmentTable } from './segtext.js';
import { VERSION } from '../version.js';

export interface SummaryData {
  inputs: InputInfo[];
  findings: Finding[];
  flagged: Map<string, Request>;
  stats: ModelStats;
  /** Extra sections (e.g. Linux block tables), already rendered. */
  sections?: string[];
}

export interface SummaryOptions {
  /** Detail at most this many findings (default 50); the rest are counted. */
  max?: number;
  /** Evidence lines per finding (default 16). */
  evidenceLines?: number;
}

const SEV_ORDER: Severity[] = ['error', 'warning', 'info'];

function counts(rec: Record<string, number>): string {
  const parts = Object.entries(rec)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${neutralize(k)} ${v}`);
  return parts.join(', ');
}

export function renderSummary(d: SummaryData, opts: SummaryOptions = {}): string {
  const out: string[] = [];
  const max = opts.max ?? 50;
  const evMax = opts.evidenceLines ?? 16;
  out.push(`blkscope ${VERSION}: analysis summary`);
  out.push('');
  out.push('Inputs:');
  for (const i of d.inputs) {
    const fmt = i.error ? `error: ${neutralize(i.error)}` : neutralize(i.format);
    out.push(`  ${neutralize(i.file)}: ${fmt}; ${i.records} records, ${i.skipped} skipped${i.lines !== undefined && i.lines > 0 ? `, ${i.lines} lines` : ''}`);
    for (const s of i.skippedSamples.slice(0, 5)) {
      const where = s.evidence.line !== undefined ? `line ${s.evidence.line}` : `byte ${s.evidence.offset}`;
      out.push(`    skipped ${where}: ${neutralize(s.reason)}${s.evidence.text ? `: ${neutralizeCut(s.evidence.text, 100)}` : ''}`);
    }
    if (i.skipped > 5) out.push(`    (${i.skipped - 5} more skipped)`);
  }
  out.push('');
  const st = d.stats;
  out.push(`Requests: ${st.requests}${st.requests ? ` (${counts(st.byOp)})` : ''}`);
  const states = Object.keys(st.byState).length ? counts(st.byState) : '';
  if (states) out.push(`  states: ${states}`);
  if (st.orphans) out.push(`  orphan responses: ${st.orphans}`);
  if (Object.keys(st.diagnostics).length) out.push(`  backend/driver messages: ${counts(st.diagnostics)}`);
  if (st.resets) out.push(`  resets/kills/stops: ${st.resets}`);
  if (Object.keys(st.extra).length) out.push(`  other events: ${counts(st.extra)}`);
  const total = Object.values(st.byRule).reduce((a, b) => a + b, 0);
  out.push('');
  out.push(`Findings: ${total}${total ? ` (${SEV_ORDER.filter((s) => st.bySeverity[s]).map((s) => `${s} ${st.bySeverity[s]}`).join(', ')})` : ''}`);
  for (const [rule, n] of Object.entries(st.byRule).sort((a, b) => b[1] - a[1])) out.push(`  ${rule}: ${n}`);

  for (const s of d.sections ?? []) {
    out.push('');
    out.push(s.trimEnd());
  }

  // Findings, worst first, grouped by request so a request's pictures are printed once.
  const sorted = d.findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => SEVERITY_RANK[b.f.severity] - SEVERITY_RANK[a.f.severity] || a.i - b.i)
    .map((x) => x.f);
  const shown = sorted.slice(0, max);
  const groups = new Map<string, Finding[]>();
  for (const f of shown) {
    const k = f.requestKey ?? `#finding${groups.size}`;
    const g = groups.get(k);
    if (g) g.push(f);
    else groups.set(k, [f]);
  }
  for (const [key, fs] of groups) {
    const req = d.flagged.get(key);
    out.push('');
    out.push('-'.repeat(72));
    if (req) {
      const dev = req.device ? ` ${neutralize(req.device)}` : '';
      out.push(
        `Request ${neutralize(req.id)}${dev}: ${neutralize(req.op)} sector ${req.sector}, ${req.sectors} sectors, ${req.bytes} bytes, ${req.segments.length} segments, ${req.state}${req.status ? ` (${neutralize(req.status)})` : ''}${req.latency !== undefined ? `, latency ${(req.latency * 1e3).toFixed(3)} ms` : ''}`,
      );
    }
    for (const f of fs) {
      out.push(`[${f.severity}] ${f.rule}: ${neutralize(f.message)}`);
    }
    const ev = fs[0]!.evidence.length ? fs[0]!.evidence : req?.evidence ?? [];
    if (ev.length) {
      out.push('  evidence:');
      for (const e of ev.slice(0, evMax)) {
        const where = e.line !== undefined ? `${e.file}:${e.line}` : e.offset !== undefined ? `${e.file}@${e.offset}` : e.file;
        const text = e.text !== undefined ? e.text.split('\n') : [''];
        out.push(`    ${neutralize(where)}: ${neutralizeCut(text[0]!, 160)}`);
        for (const t of text.slice(1)) out.push(`    ${' '.repeat(neutralize(where).length)}  ${neutralizeCut(t, 160)}`);
      }
      if (ev.length > evMax) out.push(`    (${ev.length - evMax} more lines)`);
    }
    if (req && req.segments.length) {
      const model = (fs.find((f) => f.impact)?.impact?.model ?? req.backendModel) as Request['backendModel'];
      out.push('  segments:');
      out.push(...segmentTable(req, '    ').map(neutralize));
      const map = segmentMapText(req, model, '    ');
      if (map.length) {
        out.push('  segment map:');
        out.push(...map.map(neutralize));
        out.push(`    ${MAP_LEGEND}`);
      }
      if (req.segments.some((s) => s.firstSect !== undefined)) out.push(...impactText(req, model, '  ').map(neutralize));
    }
  }
  if (sorted.length > shown.length) {
    out.push('');
    out.push(`(${sorted.length - shown.length} more findings not shown; use --max-shown N or --json)`);
  }
  const dropped = total - d.findings.length;
  if (dropped > 0) out.push(`(${dropped} findings counted but not kept: per-rule limit reached)`);
  return out.join('\n') + '\n';
}
