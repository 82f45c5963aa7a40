// Shared helpers for text formats: the generic pattern matcher and evidence of a line record.
import type { Evidence } from '../src/model/types.js';
import type { LineRecord, PatternMatch, TextFormatDef } from './types.js';

interface Compiled {
  names: string[];
  res: RegExp[];
  /** Index of the pattern that matched last: logs repeat, so it is tried first. */
  last: number;
}
const COMPILED = Symbol('compiled patterns');

/** The format's patterns as arrays, cached on the format object (a property read per line, no map lookup). */
function compile(f: TextFormatDef): Compiled {
  const holder = f as TextFormatDef & { [COMPILED]?: Compiled };
  let c = holder[COMPILED];
  if (!c) {
    const names = Object.keys(f.patterns);
    c = { names, res: names.map((n) => f.patterns[n]!), last: 0 };
    Object.defineProperty(holder, COMPILED, { value: c, enumerable: false });
  }
  return c;
}

/** Try a format on one normalised line: its own matcher if it has one, else every pattern in order. */
export function matchText(f: TextFormatDef, text: string): PatternMatch | 'malformed' | null {
  if (f.match) return f.match(text);
  if (f.prefix && !f.prefix.test(text)) return null;
  const c = compile(f);
  const first = c.res[c.last]!.exec(text);
  if (first) return { pattern: c.names[c.last]!, groups: first.groups ?? {} };
  for (let i = 0; i < c.res.length; i++) {
    if (i === c.last) continue;
    const m = c.res[i]!.exec(text);
    if (m) {
      c.last = i;
      return { pattern: c.names[i]!, groups: m.groups ?? {} };
    }
  }
  return f.prefix ? 'malformed' : null;
}

import { detach } from '../src/util/detach.js';
export { detach };

/** Evidence for a line record: the first line, plus continuation lines of a rejoined record. */
export function evidenceOf(rec: LineRecord): Evidence {
  return {
    file: rec.file,
    line: rec.line,
    // Not copied here (most evidence dies with its request): the model detaches what findings keep.
    text: rec.more ? [rec.raw, ...rec.more.map((m) => m.raw)].join('\n') : rec.raw,
  };
}

/** Fraction of lines a format's patterns match, as a detect() confidence (0 when none). */
export function detectByPatterns(f: Pick<TextFormatDef, 'patterns' | 'prefix' | 'match'>, lines: string[], minHits = 1): number {
  let hits = 0;
  let considered = 0;
  for (const line of lines) {
    considered++;
    const m = matchText(f as TextFormatDef, line);
    if (m && m !== 'malformed') hits++;
  }
  if (hits < minHits || considered === 0) return 0;
  // Any real hit counts: pastes mix prose and log lines.
  return Math.min(1, 0.3 + (0.7 * hits) / considered);
}

/**
 * Evidence whose text is made from the input bytes it keeps only when something reads it (most evidence dies with
 * its request unread; until then it keeps those bytes alive, as a line slice keeps its chunk's text alive, and the
 * model detaches what findings keep). Subclasses say where the evidence is (file and line or byte offset) and how the
 * text is made. toJSON keeps `text` in JSON, in the order file, line or offset, text.
 */
export abstract class LazyEvidence implements Evidence {
  abstract readonly file: string;
  // Declared only: a subclass that has one sets it (no own property otherwise).
  declare readonly line?: number;
  declare readonly offset?: number;
  private t: string | undefined = undefined;

  /** The text, from the kept bytes. */
  protected abstract makeText(): string;
  /** Let go of the kept bytes. */
  protected abstract release(): void;

  get text(): string {
    if (this.t === undefined) {
      this.t = this.makeText();
      this.release();
    }
    return this.t;
  }

  set text(v: string) {
    this.t = v;
    this.release();
  }

  toJSON(): Evidence {
    const out: Evidence = { file: this.file };
    if (this.line !== undefined) out.line = this.line;
    if (this.offset !== undefined) out.offset = this.offset;
    out.text = this.text;
    return out;
  }
}

