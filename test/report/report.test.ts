// `blkscope report`: goldens (seed-004 and every sample with an .expected.json), the text promise
// (<= 72 columns, printable ASCII, no tabs or trailing spaces), html structure, json shape, determinism,
// hostile input, exit codes, the bounded timeline collector.
// Regenerate goldens: UPDATE_GOLDEN=1 npx vitest run test/report
import { describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/program.js';
import { selectReport } from '../../src/report/bugreport/select.js';
import { renderText } from '../../src/report/bugreport/text.js';
import { renderMarkdown } from '../../src/report/bugreport/md.js';
import { renderHtml } from '../../src/report/bugreport/html.js';
import { ReportCollector } from '../../src/report/bugreport/collect.js';
import { parseRuleDoc, explanation } from '../../src/report/bugreport/ruledoc.js';
import { Model } from '../../src/model/model.js';
import type { Request } from '../../src/model/types.js';
import { seedLikeRun } from './fixture.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..');
const GOLDEN = join(ROOT, 'test', 'report', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const SEED = 'samples/xen/seed-004-mail.txt';
const FORMATS = ['text', 'md', 'html', 'json'] as const;
const EXT: Record<(typeof FORMATS)[number], string> = { text: 'txt', md: 'md', html: 'html', json: 'json' };

async function run(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    stdin: Readable.from([Buffer.from(stdin)]),
    isTTY: false,
  };
  const prev = process.cwd();
  process.chdir(ROOT);
  try {
    const code = await main(args, io);
    return { code, out, err };
  } finally {
    process.chdir(prev);
  }
}

function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (UPDATE || !existsSync(path)) {
    if (!UPDATE) throw new Error(`missing golden ${relative(ROOT, path)} (run with UPDATE_GOLDEN=1)`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
  }
  expect(actual, `report golden ${relative(ROOT, path)} differs; if the change is intended: UPDATE_GOLDEN=1 npx vitest run test/report`).toBe(
    readFileSync(path, 'utf8'),
  );
}

/** Every problem with the text promise, as "line N: what". */
function textProblems(s: string): string[] {
  const bad: string[] = [];
  if (!s.endsWith('\n')) bad.push('no final newline');
  s.split('\n').forEach((l, i) => {
    if (l.length > 72) bad.push(`line ${i + 1}: ${l.length} columns`);
    if (/[^\x20-\x7e]/.test(l)) bad.push(`line ${i + 1}: non-ASCII or control character`);
    if (/\s$/.test(l)) bad.push(`line ${i + 1}: trailing space`);
  });
  return bad;
}

const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);
/** Structural checks: balanced tags, no script, no external references, inline SVG present. */
function htmlProblems(s: string): string[] {
  const bad: string[] = [];
  if (!s.startsWith('<!DOCTYPE html>')) bad.push('no doctype');
  const stack: string[] = [];
  const tagRe = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)([^<>]*?)(\/?)>/g;
  let m: RegExpExecArray | null;
  while ((m = tagRe.exec(s))) {
    const [, close, name, attrs, self] = m;
    const tag = name!.toLowerCase();
    if (/\b(src|srcset|action|formaction|xlink:href)\s*=/.test(attrs!)) bad.push(`external-capable attribute in <${tag}>`);
    const href = /\bhref\s*=\s*"([^"]*)"/.exec(attrs!);
    if (href && !href[1]!.startsWith('#')) bad.push(`non-local href ${href[1]}`);
    if (tag === 'script' || tag === 'iframe' || tag === 'object' || tag === 'embed' || tag === 'link') bad.push(`<${tag}> present`);
    if (/\son[a-z]+\s*=/.test(attrs!)) bad.push(`event handler in <${tag}>`);
    if (close) {
      const top = stack.pop();
      if (top !== tag) {
        bad.push(`</${tag}> closes <${top}>`);
        break;
      }
    } else if (!self && !VOID.has(tag)) stack.push(tag);
  }
  if (stack.length) bad.push(`unclosed: ${stack.join(' ')}`);
  // Text outside tags must not contain raw '<' (escaped input).
  if (/<(?![a-zA-Z/!])/.test(s)) bad.push("raw '<' in text");
  if (/url\(|@import/.test(s.slice(s.indexOf('<style>'), s.indexOf('</style>')))) bad.push('CSS loads a resource');
  if (!/<svg class="timeline"/.test(s) && !s.includes('<p class="muted">No requests.</p>')) bad.push('no inline timeline SVG');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(s)) bad.push('control character');
  return bad;
}

const expectedFor = new Map<string, string>();
function expectedOf(sample: string): string {
  return expectedFor.get(sample)!;
}

function samplesWithExpected(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.expected.json')) {
        const base = name.slice(0, -'.expected.json'.length);
        const input = readdirSync(dir)
          .sort()
          .find((n) => n !== name && (n === base || n.startsWith(base + '.')) && !n.endsWith('.expected.json') && !n.endsWith('.md'));
        if (input) {
          out.push(relative(ROOT, join(dir, input)));
          expectedFor.set(relative(ROOT, join(dir, input)), relative(ROOT, p));
        }
      }
    }
  };
  walk(join(ROOT, 'samples'));
  return out;
}

function allSamples(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!/\.(expected\.json|md)$/.test(name) && statSync(p).size < 4 << 20) out.push(relative(ROOT, p));
    }
  };
  walk(join(ROOT, 'samples'));
  return out;
}

describe('seed-004 report', () => {
  for (const f of FORMATS) {
    test(`${f} golden`, async () => {
      const r = await run(['report', SEED, '--format', f]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      golden(`seed-004.${EXT[f]}`, r.out);
      const again = await run(['report', SEED, '--format', f]);
      expect(again.out).toBe(r.out);
    });
  }

  test('text names the misdirected sectors, the repeated frame and the evidence', async () => {
    const { out } = await run(['report', SEED]);
    expect(textProblems(out)).toEqual([]);
    expect(out).toContain('repeated-frame');
    expect(out).toMatch(/R 0x27f68 +0! +1! +2!/);
    expect(out).toContain('disk sectors 9-11 land in frame 0x27f68 sectors 0-2 instead of frame');
    expect(out).toContain('samples/xen/seed-004-mail.txt:');
    expect(out).toMatch(/^ +10 \| > xbdback_io domain 2: frame_and_sects\[0\]=0x27f68000$/m);
    expect(out).not.toContain('Generated:');
  });

  test('SEED004.txt (README copy) is the current text report', async () => {
    const { out } = await run(['report', SEED]);
    const path = join(ROOT, 'src', 'report', 'bugreport', 'SEED004.txt');
    if (UPDATE) writeFileSync(path, out);
    expect(readFileSync(path, 'utf8')).toBe(out);
  });

  test('html is well formed, self-contained, with SVG map and timeline', async () => {
    const { out } = await run(['report', SEED, '--format', 'html']);
    expect(htmlProblems(out)).toEqual([]);
    expect(out).toContain('<svg class="segmap"');
    expect(out).toMatch(/<rect [^>]*fill="#d62728"/); // the flagged request on the timeline
    // The seed-004 read under the window model: 3 cells misdirected, 3 never transferred, drawn once (the
    // sg-hole section refers back to the repeated-frame one).
    const map = out.slice(out.indexOf('<svg class="segmap"'), out.indexOf('</svg>', out.indexOf('<svg class="segmap"')));
    expect(map.match(/fill="#e6550d"/g)).toHaveLength(3);
    expect(map.match(/fill="#fde0d2"/g)).toHaveLength(3);
    expect(map).toContain('receives disk sector 9');
    expect(out.match(/<svg class="segmap"/g)).toHaveLength(1);
  });

  test('json is the analyze document plus the selection', async () => {
    const rep = JSON.parse((await run(['report', SEED, '--format', 'json'])).out);
    const ana = JSON.parse((await run(['analyze', SEED, '--json'])).out);
    expect(rep.schemaVersion).toBe(1);
    const { report, ...doc } = rep;
    expect(doc).toEqual(ana);
    expect(report.rules.map((r: { rule: string }) => r.rule)).toContain('repeated-frame');
    const rf = report.rules.find((r: { rule: string }) => r.rule === 'repeated-frame');
    expect(rep.findings[rf.shown[0].finding].rule).toBe('repeated-frame');
    expect(rf.shown[0].misdirectedSectors).toBe(3);
    expect(rf.shown[0].untouchedSectors).toBe(3);
  });

  test('--all lists every instance; default counts the rest', async () => {
    const def = (await run(['report', SEED])).out;
    const all = (await run(['report', SEED, '--all'])).out;
    expect(textProblems(all)).toEqual([]);
    expect(def).toMatch(/\d+ more not listed \(--all lists\s+them\)/);
    expect(all).toMatch(/Instance 2 of \d+/);
    expect(all).not.toContain('--all lists them');
  });

  test('--output writes the file, --stamp adds the only varying line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-report-'));
    const file = join(dir, 'r.md');
    const r = await run(['report', SEED, '--format', 'md', '--output', file, '--stamp']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    const written = readFileSync(file, 'utf8');
    expect(written).toMatch(/\*\*Generated:\*\* \d{4}-\d\d-\d\dT/);
    const plain = (await run(['report', SEED, '--format', 'md'])).out;
    expect(written.split('\n').filter((l) => !l.includes('Generated:')).join('\n')).toBe(plain);
  });

  test('exit codes: --fail-on, bad input, usage errors', async () => {
    expect((await run(['report', SEED, '--fail-on', 'error'])).code).toBe(1);
    expect((await run(['report', SEED, '--fail-on', 'none'])).code).toBe(0);
    const missing = await run(['report', 'samples/no-such-file.txt']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no-such-file\.txt: no such file/);
    expect((await run(['report', SEED, '--format', 'pdf'])).code).toBe(2);
    expect((await run(['report', SEED, '--fail-on', 'bad'])).code).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-report-'));
    const bad = await run(['report', SEED, '--output', join(dir, 'nope', 'r.txt')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/cannot write/);
  });

  test('hostile input on stdin: escapes, non-ASCII, NUL bytes, a 100 kB line', async () => {
    const seed = readFileSync(join(ROOT, SEED), 'latin1');
    const evil = seed.replace(/^> xbdback/gm, 'Jun  6 21:08:01 h\u00e9\u001b[31mst /netbsd: xbdback') + '\u0000\u0001garbage \u00ff\n' + 'x'.repeat(100000) + '\n';
    for (const f of ['text', 'md', 'html'] as const) {
      const r = await run(['report', '-', '--format', f, '--all'], evil);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('repeated-frame');
      expect(r.out).not.toContain('\u001b');
      if (f === 'text') {
        expect(textProblems(r.out)).toEqual([]);
        expect(r.out).toContain('h\\u00e9\\x1b[31mst /netbsd: xbdback');
      }
      if (f === 'html') expect(htmlProblems(r.out)).toEqual([]);
    }
  });

  test('stdin input', async () => {
    const r = await run(['report', '-'], readFileSync(join(ROOT, SEED), 'utf8'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('repeated-frame');
    expect(textProblems(r.out)).toEqual([]);
  });
});

describe('per-rule samples', () => {
  const samples = samplesWithExpected();
  test('the sample set is found', () => {
    // seed-004 always exists; rule samples are added by the helpers writing checks.
    expect(allSamples()).toContain(SEED);
  });
  for (const s of samples) {
    for (const f of FORMATS) {
      test(`${s} ${f}`, async () => {
        const r = await run(['report', s, '--format', f]);
        expect(r.code, r.err).not.toBe(2);
        if (f === 'text') expect(textProblems(r.out)).toEqual([]);
        if (f === 'html') expect(htmlProblems(r.out)).toEqual([]);
        if (f === 'json') {
          // The report lists every rule the sample expects, with its count.
          const rules = JSON.parse(r.out).report.rules as { rule: string; count: number }[];
          const exp = JSON.parse(readFileSync(join(ROOT, expectedOf(s)), 'utf8')) as { findings?: { rule: string; count?: number }[] };
          if (Array.isArray(exp.findings)) {
            // Expected entries are per rule and severity: sum per rule; an entry without count matches any.
            const want = new Map<string, number | undefined>();
            const any = new Set(exp.findings.filter((e) => e.count === undefined).map((e) => e.rule));
            for (const e of exp.findings) want.set(e.rule, any.has(e.rule) ? undefined : (want.get(e.rule) ?? 0) + e.count!);
            const got = new Map(rules.map((x) => [x.rule, any.has(x.rule) ? undefined : x.count]));
            expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
          }
        }
        const name = join('samples', s.replace(/^samples\//, '') + '.' + EXT[f]);
        // json: only the report's selection (the analyze document itself is the analyze tests' business).
        const body = f === 'json' ? JSON.stringify(JSON.parse(r.out).report, null, 1) + '\n' : r.out;
        if (UPDATE || existsSync(join(GOLDEN, name))) golden(name, body);
      });
    }
  }
});

describe('text promise on every sample', () => {
  for (const s of allSamples()) {
    test(s, async () => {
      for (const extra of [[], ['--all']]) {
        const r = await run(['report', s, ...extra]);
        // Files that are not traces (a trace-events list, a README) give no report and exit 2.
        if (r.out === '') expect(r.code, r.err).toBe(2);
        else expect(textProblems(r.out)).toEqual([]);
      }
    });
  }
});

describe('renderers on a synthetic run', () => {
  test('hostile text: control bytes and non-ASCII escaped in text, escaped in md and html', () => {
    const { result, collector } = seedLikeRun(true);
    const f = result.model.findings[0]!;
    f.evidence.push({ file: f.evidence[0]!.file, line: 99, text: '<script>alert(1)</script> `x` | *y* \u202e rtl \r end' });
    const d = selectReport(result, { version: 'test', collected: collector.result() });
    const text = renderText(d, {});
    expect(textProblems(text)).toEqual([]);
    expect(text).toContain('evil\\x1b[31m.txt');
    expect(text).toContain('\\x1b]0;pwn\\x07 caf\\u00e9');
    expect(text).toMatch(/\[cut \d+ chars\]/);
    const uni = renderText(d, { unicode: true });
    expect(uni).toContain('caf\u00e9');
    expect(uni).not.toContain('\u001b');
    const html = renderHtml(d, { version: 'test' });
    expect(htmlProblems(html)).toEqual([]);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    const md = renderMarkdown(d, { version: 'test' });
    expect(md).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
    expect(md).toContain('evil\\\\x1b\\[31m.txt');
  });

  test('the worst instance is the one with the most misdirected sectors', () => {
    const { result, collector } = seedLikeRun();
    const d = selectReport(result, { version: 'test', collected: collector.result() });
    expect(d.sections).toHaveLength(1);
    expect(d.sections[0]!.shown[0]!.request!.id).toBe('0xcd40');
    expect(d.sections[0]!.shown[0]!.misdirectedSectors).toBe(3);
  });

  test('timeline collector stays bounded and keeps flagged requests', () => {
    const col = new ReportCollector(100);
    const model = new Model([], {}, col);
    for (let i = 0; i < 5000; i++) {
      const req: Request = {
        key: `k${i}`, id: `${i}`, format: 't', file: 'f', seq: 0, op: i % 3 ? 'read' : 'write',
        sector: (i * 8) % 100000, sectors: 8, bytes: 4096, segments: [], state: 'inflight', evidence: [], submitTime: i / 1000,
      };
      model.handle({ kind: 'submit', req });
      model.handle({ kind: 'retire', key: req.key });
      if (i === 4321) model.flagged.set(req.key, req);
    }
    model.end();
    const c = col.result();
    expect(c.points.length).toBeLessThanOrEqual(100);
    expect(c.points.length).toBeGreaterThan(50);
    expect(c.stride).toBe(64);
    expect(c.facts.requests).toBe(5000);
    expect(c.facts.firstTime).toBe(0);
    const d = selectReport({ inputs: [], model, errors: [] }, { version: 't', collected: c });
    expect(d.timeline.timed).toBe(true);
    expect(d.timeline.points.find((p) => p.seq === 4321)?.flagged).toBe(true);
    const html = renderHtml(d, { version: 't' });
    expect(htmlProblems(html)).toEqual([]);
    expect(html).toContain('every 64th of 5000');
  });

  test('rule doc explanation: why plus what to try next', () => {
    const doc = parseRuleDoc(
      '# x\n\n## Summary\nA thing.\n\n## Why it matters\nThe backend maps **each** segment to a page. Data lands in the wrong page. Third sentence is long enough to be dropped because the total is bounded by the limit here and beyond.\n\n## False positives\nRare. Try `--backend-model per-segment` when the backend maps segments one by one.\n',
    );
    const ex = explanation(doc, 'fallback', 160);
    expect(ex.why).toBe('The backend maps each segment to a page. Data lands in the wrong page.');
    expect(ex.next).toBe('Try --backend-model per-segment when the backend maps segments one by one.');
    expect(explanation(undefined, 'fallback').why).toBe('fallback');
  });
});
