// Rule docs (src/rules/<id>.md, fixed headers Summary / Why it matters / Triggers / Does not trigger /
// Options / False positives / References) reduced to the few lines a bug report quotes.
// Pure: the caller reads the file.

export interface RuleDocText {
  /** Section title -> body text (markdown, trimmed). */
  sections: Record<string, string>;
}

export function parseRuleDoc(md: string): RuleDocText {
  const sections: Record<string, string> = {};
  let cur: string | undefined;
  let buf: string[] = [];
  const flush = () => {
    if (cur !== undefined) sections[cur] = buf.join('\n').trim();
    buf = [];
  };
  for (const line of md.split(/\r?\n/)) {
    const h = /^#{2,3}\s+(.+?)\s*#*\s*$/.exec(line);
    if (h) {
      flush();
      cur = h[1]!.trim();
      continue;
    }
    if (cur !== undefined) buf.push(line);
  }
  flush();
  return { sections };
}

/** Markdown to plain prose: drop emphasis/code markers and link targets, join lines. */
export function plainText(md: string): string {
  return md
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/(^|\W)[*_]([^*_\n]+)[*_](?=\W|$)/g, '$1$2')
    .replace(/^\s*[-*+]\s+/gm, '')
    .replace(/^\s*>\s?/gm, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function paragraphs(md: string): string[] {
  return md
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0 && !p.startsWith('```') && !/^\|/.test(p));
}

function sentences(text: string): string[] {
  // Split after ". " / "? " / "! " when followed by a capital, digit or quote; keeps "e.g. foo" together.
  const out: string[] = [];
  let start = 0;
  const re = /[.!?](?=\s+["'(A-Z0-9])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const before = text.slice(Math.max(0, m.index - 4), m.index + 1);
    if (/\b(e\.g|i\.e|etc|vs|cf)\.$/i.test(before)) continue;
    out.push(text.slice(start, m.index + 1).trim());
    start = m.index + 1;
  }
  const rest = text.slice(start).trim();
  if (rest) out.push(rest);
  return out;
}

const NEXT_RE = /^(try|check|use|run|compare|upgrade|update|apply|set|switch|look|make sure|verify|disable|enable|fix|rebuild|report|capture|record|re-?run|patch|avoid)\b/i;
const NEXT_HINT_RE = /\b(fix(ed)? (in|by)|workaround|to confirm|try |upgrade|patch)\b/i;

/**
 * The 2-4 sentence explanation a report prints: what fails (from "Why it matters") and what to try
 * next (an imperative or fix/workaround sentence from the doc, when it has one).
 * `maxChars` bounds the total so the text stays a few lines.
 */
export function explanation(doc: RuleDocText | undefined, fallback: string, maxChars = 440): { why: string; next?: string } {
  if (!doc) return { why: fallback };
  const why = doc.sections['Why it matters'] ?? doc.sections['Summary'] ?? '';
  const whyParas = paragraphs(why);
  // Long parentheticals are citations and asides (revisions, seeds): a mail-sized explanation drops them.
  // A paragraph ending in ':' introduces a list: take the list along.
  let first = whyParas[0] ?? '';
  for (let i = 1; i < whyParas.length && /:\s*$/.test(first); i++) first += '\n' + whyParas[i]!;
  const whyText = first ? plainText(first).replace(/\s*\([^()]{25,}\)/g, '') : fallback;
  const whyS = sentences(whyText);
  let out = '';
  for (const s of whyS) {
    if (out && out.length + s.length + 1 > maxChars * 0.75) break;
    out += (out ? ' ' : '') + s;
  }
  if (!out) out = fallback;
  // "What to try next": first imperative sentence anywhere in the doc's guidance sections.
  let next: string | undefined;
  const order = ['Why it matters', 'False positives', 'Summary', 'Triggers', 'Options'];
  search: for (const sec of order) {
    const body = doc.sections[sec];
    if (!body) continue;
    for (const p of paragraphs(body)) {
      for (const s of sentences(plainText(p))) {
        if (out.includes(s)) continue;
        if (NEXT_RE.test(s) || NEXT_HINT_RE.test(s)) {
          next = s;
          break search;
        }
      }
    }
  }
  if (next && next.length > maxChars - out.length) next = cutClause(next, Math.max(40, maxChars - out.length - 3));
  return next ? { why: out, next } : { why: out };
}

/** Cut advice at the last clause (';' or ',') or word boundary that fits, never mid-word. */
function cutClause(s: string, max: number): string {
  const head = s.slice(0, max);
  const clause = Math.max(head.lastIndexOf('; '), head.lastIndexOf(', '));
  if (clause >= max / 2) return head.slice(0, clause).trimEnd() + '.';
  const word = head.lastIndexOf(' ');
  return (word > 0 ? head.slice(0, word) : head).trimEnd() + '...';
}
