// `blkscope report --format text`: a plain-ASCII bug report that survives mail clients:
// <= 72 columns, no tabs, no trailing spaces, nothing outside printable ASCII unless --unicode.
import type { Evidence } from '../../model/types.js';
import type { SegmentMap } from '../../model/segmap.js';
import {
  WIDTH,
  safe,
  wrap,
  cut,
  cutLeft,
  plural,
  headerFacts,
  requestLine,
  requestFacts,
  segmentTable,
  textTable,
  MARK_GLYPH,
  MARK_LEGEND,
  cellLabel,
  segRanges,
  evidenceOf,
  posOf,
  impactSummary,
  reproduceCommand,
} from './common.js';
import type { ReportData, ReportOptions, RuleSection, ShownInstance } from './select.js';

const RULE = '-'.repeat(WIDTH);
const LABEL = 15;

export interface TextOptions {
  unicode?: boolean;
  maxSegments?: number;
  maxMapRows?: number;
  maxEvidence?: number;
}

export function renderText(d: ReportData, opts: TextOptions | ReportOptions = {}): string {
  const u = !!opts.unicode;
  const s = (x: string) => safe(x, u);
  const out: string[] = [];
  out.push('blkscope bug report');
  out.push('===================');
  out.push('');
  for (const [k, v] of headerFacts(d)) {
    const lines = wrap(s(v), WIDTH, ' '.repeat(LABEL));
    out.push((k + ':').padEnd(LABEL) + (lines[0] ?? '').slice(LABEL));
    out.push(...lines.slice(1));
  }
  if (d.errors.length) {
    out.push('');
    out.push('Input problems:');
    for (const e of d.errors) out.push(...bullet(s(e)));
  }
  const skipped = d.inputs.filter((i) => i.skipped > 0);
  if (skipped.length) {
    out.push('');
    out.push('Skipped lines (look like a known format but do not parse):');
    for (const i of skipped) {
      for (const sk of i.skippedSamples.slice(0, 3)) {
        out.push(...bullet(`${s(posWhere(sk.evidence))}: ${s(sk.reason)}`));
      }
      if (i.skipped > Math.min(3, i.skippedSamples.length)) out.push(...wrap(`(${i.skipped} in ${s(i.file)} in all)`, WIDTH, '    '));
    }
  }
  out.push('');
  out.push('Findings');
  out.push('--------');
  if (d.sections.length === 0) {
    out.push('None: no check flagged anything in these inputs.');
  } else {
    const head = ['', 'rule', 'severity', 'count', 'title'];
    const right = [true, false, false, true, false];
    const rows = d.sections.map((sec, i) => [`${i + 1}`, cut(s(sec.rule), 28), sec.severity, `${sec.count}`, '']);
    const base = textTable(head, rows, right)[0]!.length;
    const room = Math.max(8, WIDTH - base);
    rows.forEach((r, i) => (r[4] = cut(s(d.sections[i]!.title), room)));
    out.push(...textTable(head, rows, right));
  }
  d.sections.forEach((sec, i) => out.push('', ...renderSection(sec, i + 1, d, opts, s)));
  out.push('');
  out.push(RULE);
  out.push(...commandLines('Reproduce:', s(reproduceCommand(d))));
  out.push(...wrap('Details of a check: blkscope explain RULE', WIDTH));
  return finish(out);
}

/** A shell command that stays pasteable: one line when it fits, else wrapped with "\" continuations. */
function commandLines(label: string, cmd: string): string[] {
  if (label.length + 1 + cmd.length <= WIDTH) return [`${label} ${cmd}`];
  const out = [label];
  let cur = '  ';
  for (const w of cmd.split(' ')) {
    if (cur.trim() && cur.length + 1 + w.length + 2 > WIDTH) {
      out.push(cur + ' \\');
      cur = '    ';
    }
    cur += (cur.trim() ? ' ' : '') + w;
  }
  out.push(cur);
  return out;
}

function posWhere(e: Evidence): string {
  return e.line !== undefined ? `${e.file}:${e.line}` : e.offset !== undefined ? `${e.file}@0x${e.offset.toString(16)}` : e.file;
}

function bullet(text: string): string[] {
  const lines = wrap(text, WIDTH, '    ');
  if (lines.length) lines[0] = '  - ' + lines[0]!.slice(4);
  return lines;
}

function renderSection(sec: RuleSection, n: number, d: ReportData, opts: TextOptions, s: (x: string) => string): string[] {
  const out: string[] = [RULE];
  out.push(...wrap(`${n}. ${s(sec.rule)} [${sec.severity}] ${s(sec.title)}`, WIDTH));
  const counted =
    sec.count === 1
      ? '1 instance.'
      : sec.notShown > 0
        ? `${sec.count} instances; ${sec.shown.length === 1 ? 'the worst is' : `${sec.shown.length} are`} shown, ${sec.notShown} more not listed${d.all ? ' (past the keep limit)' : ' (--all lists them)'}.`
        : `${sec.count} instances, all shown, worst first.`;
  out.push(...wrap(counted, WIDTH, '   '));
  out.push(RULE);
  sec.shown.forEach((inst, k) => {
    out.push('');
    if (sec.shown.length > 1) out.push(`Instance ${k + 1} of ${sec.shown.length}`, '');
    out.push(...renderInstance(inst, opts, s));
  });
  out.push('');
  out.push('What it means:');
  out.push(...wrap(s(sec.why), WIDTH, '  '));
  if (sec.next) out.push(...wrap(`Next: ${s(sec.next)}`, WIDTH, '  '));
  out.push(...wrap(`More: blkscope explain ${s(sec.rule)}`, WIDTH, '  '));
  return out;
}

function labelled(label: string, text: string): string[] {
  const lines = wrap(text, WIDTH, ' '.repeat(label.length));
  if (lines.length) lines[0] = label + lines[0]!.slice(label.length);
  return lines;
}

function renderInstance(inst: ShownInstance, opts: TextOptions, s: (x: string) => string): string[] {
  const out: string[] = [];
  const f = inst.finding;
  out.push(...labelled('Finding: ', s(f.message)));
  const req = inst.request;
  if (req && inst.seeSection !== undefined) {
    out.push(...labelled('Request: ', s(requestLine(req))));
    out.push(...wrap(`The same request as in section ${inst.seeSection} above: its segments, segment map, impact and evidence are shown there.`, WIDTH, '         '));
    return out;
  }
  if (req) {
    out.push(...labelled('Request: ', s(requestLine(req))));
    out.push(...wrap(s(requestFacts(req)), WIDTH, '         '));
    if (req.segments.length) {
      out.push('');
      out.push('Segments:');
      const t = segmentTable(req, inst.map, opts.maxSegments ?? 64);
      out.push(...textTable(t.head, t.rows.map((r) => r.map((c) => cut(s(c), 20))), t.right));
      if (t.more > 0) out.push(`  ... ${plural(t.more, 'more segment')} not listed`);
    }
    if (inst.map && inst.map.rows.length) {
      out.push('');
      out.push(...mapText(inst.map, opts.maxMapRows ?? 32, s));
    }
  } else if (f.device !== undefined) {
    out.push(...labelled('Device: ', s(f.device)));
  }
  if (inst.impactLines.length) {
    out.push('');
    out.push(`Impact (${inst.impact!.model} model):`);
    const sum = impactSummary(inst);
    if (sum) out.push(...wrap(s(sum), WIDTH, '  '));
    const lines = inst.impactLines.slice(0, 24);
    for (const l of lines) out.push(...bullet(s(l)));
    if (inst.impactLines.length > lines.length) out.push(`  ... ${inst.impactLines.length - lines.length} more`);
  }
  const ev = evidenceOf(inst);
  if (ev.length) {
    out.push('');
    out.push('Evidence (original lines):');
    out.push(...evidenceText(ev, opts.maxEvidence ?? 40, s));
  }
  return out;
}

/** The segment map as ASCII: one row per page, one 4-column cell per 512-byte sector. */
export function mapText(map: SegmentMap, maxRows: number, s: (x: string) => string): string[] {
  const out: string[] = [];
  const model = map.impact ? `${map.impact.model} model; ` : '';
  out.push(...wrap(`Segment map (${model}rows: pages, columns: 512-byte sectors):`, WIDTH));
  const rows = map.rows.slice(0, maxRows);
  const pw = Math.min(18, Math.max(4, ...rows.map((r) => s(r.page).length)));
  let head = '    ' + 'page'.padEnd(pw) + ' ';
  for (let c = 0; c < map.sectorsPerRow; c++) head += `${c}`.padStart(3) + ' ';
  out.push(head.replace(/\s+$/, ''));
  for (const r of rows) {
    let line = '  ' + (r.repeated ? 'R ' : '  ') + cut(s(r.page), pw).padEnd(pw) + ' ';
    for (const cell of r.cells) {
      const lab = cut(cellLabel(cell.segs), 3);
      line += lab.padStart(3) + (cell.mark === 'seg' ? ' ' : MARK_GLYPH[cell.mark]);
    }
    const room = WIDTH - line.length - 2;
    const note = cut(`seg ${segRanges(r.segs)}`, Math.max(0, room));
    out.push((room > 5 ? line + '  ' + note : line).replace(/\s+$/, ''));
  }
  if (map.rows.length > rows.length) out.push(`  ... ${plural(map.rows.length - rows.length, 'more page')} not drawn`);
  out.push('  Legend: N = segment N names the sector; R = page named by several');
  out.push('  segments; ' + MARK_LEGEND.filter(([m]) => m !== 'seg').map(([m, t]) => `${MARK_GLYPH[m]} ${t}`).join('; ') + '.');
  // The legend line above can be long: rewrap it.
  const legend = out.splice(out.length - 2, 2).join(' ').replace(/\s+/g, ' ').trim();
  out.push(...wrap(legend, WIDTH, '  '));
  if (map.holes.length) {
    out.push(...wrap(`Holes: segment${map.holes.length > 1 ? 's' : ''} ${segRanges(map.holes)} leave${map.holes.length > 1 ? '' : 's'} a gap (a middle segment not ending at its page end, or a later one not starting at sector 0).`, WIDTH, '  '));
  }
  return out;
}

/** Quote evidence lines: "file" headers, then "LINE | text"; long lines wrap (marked "+") and are cut after 4 pieces. */
export function evidenceText(ev: Evidence[], max: number, s: (x: string) => string): string[] {
  const out: string[] = [];
  const shown = ev.slice(0, max);
  const pw = Math.max(4, ...shown.map((e) => posOf(e).length));
  let file: string | undefined;
  for (const e of shown) {
    if (e.file !== file) {
      file = e.file;
      out.push('  ' + cutLeft(s(e.file), WIDTH - 3) + ':');
    }
    const pre = '  ' + posOf(e).padStart(pw) + ' | ';
    const cont = '  ' + '+'.padStart(pw) + ' | ';
    const avail = WIDTH - pre.length;
    // Leading padding (ftrace columns) is cut to 4 spaces: the width is better spent on the record.
    let text = e.text === undefined ? '(no text recorded)' : s(e.text).replace(/\s+$/, '').replace(/^ {5,}/, '    ');
    const pieces: string[] = [];
    while (text.length > avail && pieces.length < 3) {
      // Break after a space when one is near the end of the piece, else mid-word.
      const sp = text.lastIndexOf(' ', avail - 1);
      const at = sp >= avail - 20 && sp > 0 ? sp + 1 : avail;
      pieces.push(text.slice(0, at));
      text = text.slice(at);
    }
    if (text.length > avail) {
      let keep = avail - 16;
      let note = '';
      for (let i = 0; i < 2; i++) {
        note = ` [cut ${text.length - keep} chars]`;
        keep = Math.max(0, avail - note.length);
      }
      pieces.push(text.slice(0, keep) + note);
    } else pieces.push(text);
    pieces.forEach((p, i) => out.push(((i === 0 ? pre : cont) + p).replace(/\s+$/, '')));
  }
  if (ev.length > shown.length) {
    const rest = ev.slice(shown.length);
    out.push(`  ... ${plural(rest.length, 'more line')} (${cutLeft(s(rest[0]!.file), 30)}:${posOf(rest[0]!)}-${posOf(rest[rest.length - 1]!)})`);
  }
  return out;
}

/** Final pass: no trailing spaces, nothing past WIDTH (cut and marked), newline-terminated. */
function finish(lines: string[]): string {
  return (
    lines
      .flatMap((l) => l.split('\n'))
      .map((l) => {
        const t = l.replace(/\s+$/, '');
        return t.length > WIDTH ? t.slice(0, WIDTH - 3) + '...' : t;
      })
      .join('\n') + '\n'
  );
}
