// `blkscope report --format md`: the text report laid out for issue trackers (GitHub/GitLab markdown):
// tables for the summary and segments, fenced blocks for the segment map and quoted log lines.
import {
  WIDTH,
  safe,
  plural,
  headerFacts,
  requestLine,
  requestFacts,
  segmentTable,
  evidenceOf,
  impactSummary,
  reproduceCommand,
} from './common.js';
import { mapText, evidenceText } from './text.js';
import type { ReportData, ReportOptions, RuleSection, ShownInstance } from './select.js';

/** Inline markdown text: neutralised, markdown punctuation and HTML escaped. */
export function mdText(s: string): string {
  return safe(s, true)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~#!])/g, '\\$1');
}

/** A fenced block whose fence is longer than any backtick run inside. */
export function fence(lines: string[], info = 'text'): string[] {
  let longest = 0;
  for (const l of lines) for (const m of l.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const f = '`'.repeat(Math.max(3, longest + 1));
  return [f + info, ...lines, f];
}

function mdTable(head: string[], rows: string[][], right: boolean[]): string[] {
  const line = (cells: string[]) => '| ' + cells.join(' | ') + ' |';
  return [line(head.map((h) => (h === '' ? ' ' : mdText(h)))), line(right.map((r) => (r ? '---:' : '---'))), ...rows.map((r) => line(r.map((c) => (c === '' ? ' ' : mdText(c)))))];
}

export function renderMarkdown(d: ReportData, opts: ReportOptions): string {
  const out: string[] = [];
  out.push('# blkscope bug report', '');
  for (const [k, v] of headerFacts(d)) out.push(`- **${mdText(k)}:** ${mdText(v)}`);
  if (d.errors.length) {
    out.push('', '**Input problems:**', '');
    for (const e of d.errors) out.push(`- ${mdText(e)}`);
  }
  const skipped = d.inputs.filter((i) => i.skipped > 0);
  if (skipped.length) {
    out.push('', '**Skipped lines** (look like a known format but do not parse):', '');
    for (const i of skipped) {
      for (const sk of i.skippedSamples.slice(0, 3)) {
        const e = sk.evidence;
        const where = e.line !== undefined ? `${e.file}:${e.line}` : e.offset !== undefined ? `${e.file}@0x${e.offset.toString(16)}` : e.file;
        out.push(`- ${mdText(where)}: ${mdText(sk.reason)}`);
      }
      if (i.skipped > Math.min(3, i.skippedSamples.length)) out.push(`- (${i.skipped} in ${mdText(i.file)} in all)`);
    }
  }
  out.push('', '## Findings', '');
  if (d.sections.length === 0) out.push('None: no check flagged anything in these inputs.');
  else
    out.push(
      ...mdTable(
        ['#', 'rule', 'severity', 'count', 'title'],
        d.sections.map((s, i) => [`${i + 1}`, s.rule, s.severity, `${s.count}`, s.title]),
        [true, false, false, true, false],
      ),
    );
  d.sections.forEach((sec, i) => out.push('', ...section(sec, i + 1, d, opts)));
  out.push('', '---', '');
  out.push(...fence([safe(reproduceCommand(d), true)], 'sh'));
  out.push('', `Details of a check: \`blkscope explain RULE\``);
  return out.join('\n') + '\n';
}

function section(sec: RuleSection, n: number, d: ReportData, opts: ReportOptions): string[] {
  const out: string[] = [`## ${n}. \`${safe(sec.rule, true).replace(/`/g, "'")}\` (${sec.severity}): ${mdText(sec.title)}`, ''];
  if (sec.count === 1) out.push('1 instance.');
  else if (sec.notShown > 0)
    out.push(
      `${sec.count} instances; ${sec.shown.length === 1 ? 'the worst is' : `${sec.shown.length} are`} shown, ${sec.notShown} more not listed${d.all ? ' (past the keep limit)' : ' (`--all` lists them)'}.`,
    );
  else out.push(`${sec.count} instances, all shown, worst first.`);
  sec.shown.forEach((inst, k) => {
    out.push('');
    if (sec.shown.length > 1) out.push(`### Instance ${k + 1} of ${sec.shown.length}`, '');
    out.push(...instance(inst, opts));
  });
  out.push('', '**What it means.** ' + mdText(sec.why));
  if (sec.next) out.push('', '**Next.** ' + mdText(sec.next));
  out.push('', `More: \`blkscope explain ${safe(sec.rule, true).replace(/`/g, "'")}\``);
  return out;
}

function instance(inst: ShownInstance, opts: ReportOptions): string[] {
  const out: string[] = [];
  const s = (x: string) => safe(x, true);
  out.push(`**Finding:** ${mdText(inst.finding.message)}`, '');
  const req = inst.request;
  if (req && inst.seeSection !== undefined) {
    out.push(`**Request:** ${mdText(requestLine(req))}. The same request as in section ${inst.seeSection} above: its segments, segment map, impact and evidence are shown there.`);
    return out;
  }
  if (req) {
    out.push(`**Request:** ${mdText(requestLine(req))}  `, mdText(requestFacts(req)));
    if (req.segments.length) {
      const t = segmentTable(req, inst.map, opts.maxSegments ?? 64);
      out.push('', '**Segments**', '', ...mdTable(t.head, t.rows, t.right));
      if (t.more > 0) out.push('', `${plural(t.more, 'more segment')} not listed.`);
    }
    if (inst.map && inst.map.rows.length) out.push('', '**Segment map**', '', ...fence(mapText(inst.map, opts.maxMapRows ?? 32, s)));
  } else if (inst.finding.device !== undefined) out.push(`**Device:** ${mdText(inst.finding.device)}`);
  if (inst.impactLines.length) {
    out.push('', `**Impact** (${inst.impact!.model} model)`);
    const sum = impactSummary(inst);
    if (sum) out.push('', mdText(sum));
    out.push('');
    for (const l of inst.impactLines.slice(0, 24)) out.push(`- ${mdText(l)}`);
    if (inst.impactLines.length > 24) out.push(`- ... ${inst.impactLines.length - 24} more`);
  }
  const ev = evidenceOf(inst);
  if (ev.length) out.push('', '**Evidence** (original lines)', '', ...fence(evidenceText(ev, opts.maxEvidence ?? 40, s).map((l) => l.slice(0, WIDTH * 2))));
  return out;
}
