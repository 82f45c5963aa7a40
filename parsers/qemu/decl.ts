// Compiles QEMU trace-events declarations into matchers for the log backend's text.
// Declaration syntax (docs/devel/tracing.rst): `name(type arg, ...) "printf format"`, where the format is
// C string literals concatenated with inttypes.h macros ("offset %"PRIu64" size %zu").
// The log backend prints `NAME ` followed by that format (scripts/tracetool/backend/log.py).

export type FieldKind = 'p' | 'd' | 'u' | 'x' | 's' | 'c';

/** One piece of a format: a literal (`lit`) or a field (`field`, `kind`). One shape for all parts (monomorphic). */
export interface Part {
  lit?: string;
  field?: string;
  kind?: FieldKind;
}

export interface Template {
  name: string;
  args: string[];
  parts: Part[];
}

const PRI: Record<string, string> = {
  PRId64: 'lld',
  PRIi64: 'lld',
  PRIu64: 'llu',
  PRIx64: 'llx',
  PRIX64: 'llx',
  PRId32: 'd',
  PRIu32: 'u',
  PRIx32: 'x',
  PRId16: 'd',
  PRIu16: 'u',
  PRIx16: 'x',
  PRId8: 'd',
  PRIu8: 'u',
  PRIx8: 'x',
  PRIu: 'u',
  PRIxPTR: 'lx',
};

/** Parse one declaration line. Returns undefined for comments or lines it does not understand. */
export function compileDecl(line: string): Template | undefined {
  const m = /^\s*(?:disable\s+|vcpu\s+|tcg\s+)*([a-zA-Z0-9_]+)\((.*?)\)\s*(".*)$/.exec(line);
  if (!m) return undefined;
  const name = m[1]!;
  const args: string[] = [];
  const argText = m[2]!.trim();
  if (argText && argText !== 'void') {
    for (const a of argText.split(',')) {
      const am = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(a.trim());
      if (!am) return undefined;
      args.push(am[1]!);
    }
  }
  // Join the literals, expanding PRI macros between them.
  let fmt = '';
  const rest = m[3]!;
  let i = 0;
  while (i < rest.length) {
    const c = rest[i]!;
    if (c === '"') {
      i++;
      while (i < rest.length && rest[i] !== '"') {
        if (rest[i] === '\\' && i + 1 < rest.length) {
          const e = rest[i + 1]!;
          fmt += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
        } else fmt += rest[i++];
      }
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < rest.length && /[A-Za-z0-9_]/.test(rest[j]!)) j++;
      const mac = rest.slice(i, j);
      const conv = PRI[mac];
      if (conv === undefined) return undefined;
      fmt += conv;
      i = j;
    } else i++;
  }
  const parts: Part[] = [];
  let lit = '';
  let argIdx = 0;
  for (let k = 0; k < fmt.length; k++) {
    const ch = fmt[k]!;
    if (ch !== '%') {
      lit += ch;
      continue;
    }
    if (fmt[k + 1] === '%') {
      lit += '%';
      k++;
      continue;
    }
    const cm = /^%[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z|j|t|L)?([diuxXpscoeEfg])/.exec(fmt.slice(k));
    if (!cm) return undefined;
    const conv = cm[1]!;
    const kind: FieldKind =
      conv === 'p' ? 'p' : conv === 'd' || conv === 'i' ? 'd' : conv === 'u' ? 'u' : conv === 'x' || conv === 'X' ? 'x' : conv === 'c' ? 'c' : 's';
    if (lit) parts.push({ lit, field: undefined, kind: undefined });
    lit = '';
    const arg = args[argIdx++] ?? `arg${argIdx}`;
    parts.push({ lit: undefined, field: arg, kind });
    k += cm[0].length - 1;
  }
  if (lit) parts.push({ lit, field: undefined, kind: undefined });
  return { name, args, parts };
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Match `s` from `pos` to its end against a template, storing field texts in `out`.
 * Returns false on any mismatch (out may then hold partial values).
 */
export function matchTemplate(t: Template, s: string, pos: number, out: Record<string, string | undefined>): boolean {
  const parts = t.parts;
  const n = s.length;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.lit !== undefined) {
      if (!s.startsWith(part.lit, pos)) return false;
      pos += part.lit.length;
      continue;
    }
    const start = pos;
    switch (part.kind) {
      case 'p':
        if (s.startsWith('(nil)', pos)) pos += 5;
        else {
          if (s.charCodeAt(pos) !== 48 || s.charCodeAt(pos + 1) !== 120) return false;
          pos += 2;
          const h = pos;
          while (pos < n && isHex(s.charCodeAt(pos))) pos++;
          if (pos === h) return false;
        }
        break;
      case 'd':
      case 'u': {
        if (part.kind === 'd' && s.charCodeAt(pos) === 45) pos++;
        const d = pos;
        while (pos < n && isDigit(s.charCodeAt(pos))) pos++;
        if (pos === d) return false;
        break;
      }
      case 'x': {
        const h = pos;
        while (pos < n && isHex(s.charCodeAt(pos))) pos++;
        if (pos === h) return false;
        break;
      }
      case 'c':
        if (pos >= n) return false;
        pos++;
        break;
      case 's': {
        const next = parts[i + 1];
        if (!next) pos = n;
        else if (next.lit !== undefined) {
          const at = s.indexOf(next.lit, pos);
          if (at < 0) return false;
          pos = at;
        } else return false;
        break;
      }
    }
    out[part.field!] = s.slice(start, pos);
  }
  return pos === n;
}

/** Convert a matched field text to a value: pointers and strings stay text, numbers become numbers (bigint past 2^53). */
export function fieldValue(kind: FieldKind, text: string): number | bigint | string {
  switch (kind) {
    case 'p':
    case 's':
    case 'c':
      return text;
    case 'x': {
      if (text.length <= 13) return parseInt(text, 16);
      const b = BigInt('0x' + text);
      return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
    default: {
      if (text.length <= 15) return Number(text);
      const b = BigInt(text);
      return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(b) : b;
    }
  }
}

/** A compiled template's field names and kinds in order (for scanTemplate's value array). */
export function fieldsOf(t: Template): { names: string[]; kinds: FieldKind[] } {
  const names: string[] = [];
  const kinds: FieldKind[] = [];
  for (const p of t.parts) {
    if (p.field !== undefined) {
      names.push(p.field);
      kinds.push(p.kind!);
    }
  }
  return { names, kinds };
}

/**
 * Fast variant of matchTemplate: stores field values (numbers and pointers parsed while scanning, strings as
 * text) in `vals` by field position. No keyed stores on objects: this runs once per trace line.
 */
export function scanTemplate(t: Template, s: string, pos: number, vals: (number | bigint | string)[]): boolean {
  const parts = t.parts;
  const n = s.length;
  let f = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const lit = part.lit;
    if (lit !== undefined) {
      const ln = lit.length;
      if (pos + ln > n) return false;
      for (let j = 0; j < ln; j++) if (s.charCodeAt(pos + j) !== lit.charCodeAt(j)) return false;
      pos += ln;
      continue;
    }
    const kind = part.kind!;
    const start = pos;
    if (kind === 'p') {
      // Pointers become numbers (exact up to 13 hex digits, i.e. every user-space address): no substring
      // of the input line is kept, so long-lived maps keyed by pointers do not pin the input's text.
      if (s.charCodeAt(pos) === 48 && s.charCodeAt(pos + 1) === 120) {
        pos += 2;
        const h = pos;
        let v = 0;
        let c = s.charCodeAt(pos);
        for (;;) {
          let dv: number;
          if (c >= 48 && c <= 57) dv = c - 48;
          else if (c >= 97 && c <= 102) dv = c - 87;
          else if (c >= 65 && c <= 70) dv = c - 55;
          else break;
          v = v * 16 + dv;
          c = s.charCodeAt(++pos);
        }
        if (pos === h) return false;
        vals[f++] = pos - h > 13 ? BigInt('0x' + s.slice(h, pos)) : v;
      } else if (s.startsWith('(nil)', pos)) {
        pos += 5;
        vals[f++] = 0;
      } else return false;
    } else if (kind === 'u' || kind === 'd') {
      let neg = false;
      if (kind === 'd' && s.charCodeAt(pos) === 45) {
        neg = true;
        pos++;
      }
      const d = pos;
      let v = 0;
      let c = s.charCodeAt(pos);
      while (c >= 48 && c <= 57) {
        v = v * 10 + (c - 48);
        c = s.charCodeAt(++pos);
      }
      if (pos === d) return false;
      vals[f++] = pos - d > 15 ? fieldValue(kind, s.slice(start, pos)) : neg ? -v : v;
    } else if (kind === 'x') {
      const h = pos;
      let v = 0;
      let c = s.charCodeAt(pos);
      for (;;) {
        let dv: number;
        if (c >= 48 && c <= 57) dv = c - 48;
        else if (c >= 97 && c <= 102) dv = c - 87;
        else if (c >= 65 && c <= 70) dv = c - 55;
        else break;
        v = v * 16 + dv;
        c = s.charCodeAt(++pos);
      }
      if (pos === h) return false;
      vals[f++] = pos - h > 13 ? fieldValue('x', s.slice(h, pos)) : v;
    } else if (kind === 'c') {
      if (pos >= n) return false;
      pos++;
      vals[f++] = s.slice(start, pos);
    } else {
      const next = parts[i + 1];
      if (!next) pos = n;
      else if (next.lit !== undefined) {
        const at = s.indexOf(next.lit, pos);
        if (at < 0) return false;
        pos = at;
      } else return false;
      vals[f++] = s.slice(start, pos);
    }
  }
  return pos === n;
}

/** Value of each ASCII hex digit, -1 for every other character below 128. */
const HEX_DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_DIGITS[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_DIGITS[97 + i] = HEX_DIGITS[65 + i] = 10 + i;

/** A compiled scanner: the event's argument object (one fixed shape), or null when the text does not fit. */
export type CompiledScan = (s: string, pos: number) => Record<string, number | bigint | string> | null;

/**
 * A compiled fast scanner (see compileScanner's `fields`): reads the layout in the bytes of a line from `pos` (the
 * byte after the event name's space) and writes the values into `e` (the store code may use the offset `o`).
 * Returns the offset of the newline that ends the line (after a CR, if any) when the line fits exactly;
 * FAST_NO_FIT when it does not (as the plain scanner's null); FAST_SLOW when a value would need the plain scanner's
 * slow path (more than 13 hex or 15 decimal digits, a BigInt).
 * The bytes must hold a newline at or after `pos`: every read stops at the first byte that does not fit, and a
 * newline fits nothing but the end.
 */
export type CompiledFastScan = (b: Uint8Array, pos: number, e: object, o: number) => number;
export const FAST_NO_FIT = -1;
export const FAST_SLOW = -2;

/** The code a fast scanner runs to store field `name`, whose number is in the variable `value`, into `e` ('' = not kept). */
export type FieldStore = (name: string, value: string) => string;

/**
 * Compile a template into straight-line code doing exactly what scanTemplate does (same values, same
 * rejections), building the argument object at the end. Field names come from trace-events declarations
 * and are checked to be identifiers; literals are embedded as char codes, so the generated code is fixed text.
 * One function per layout: no loop over parts, no value array, monomorphic field stores.
 *
 * With `fields`, the same reading is compiled for the bytes of a line (a CompiledFastScan: typed-array reads cost
 * about half of charCodeAt's, and the line needs no decoding): it runs the code `fields` gives to store each field
 * into `e` instead (`prelude` runs first, e.g. to reset them; `deps` are what that code refers to). A byte that is
 * not ASCII never fits a literal, digit or hex digit, so it reads as the text would. Layouts with text fields
 * (%s, %c) have none (undefined).
 */
export function compileScanner(t: Template): CompiledScan;
export function compileScanner(t: Template, fields: FieldStore, prelude: string, deps: Readonly<Record<string, unknown>>): CompiledFastScan | undefined;
export function compileScanner(t: Template, fields?: FieldStore, prelude = '', deps: Readonly<Record<string, unknown>> = {}): CompiledScan | CompiledFastScan | undefined {
  const fast = fields !== undefined;
  const parts = t.parts;
  const names: string[] = [];
  const fail = fast ? `return ${FAST_NO_FIT};` : 'return null;';
  /** The character (text) or byte (fast) at `at`. */
  const ch = (at: string): string => (fast ? `s[${at}]` : `s.charCodeAt(${at})`);
  /** Whether `lit` is at pos (char codes, or bytes: the literals are ASCII). */
  const litAt = (lit: string): string => [...lit].map((_, j) => `${ch(`pos + ${j}`)} === ${lit.charCodeAt(j)}`).join(' && ');
  /** `a` = v, or the slow path's value when the digits are more than `max` (the fast scanner gives up instead). */
  const value = (a: string, cond: string, slowExpr: string, plain: string): string => (fast ? `if (${cond}) return ${FAST_SLOW};\n${a} = ${plain};\n` : `${a} = ${cond} ? ${slowExpr} : ${plain};\n`);
  let code = (fast ? prelude + '\n' : 'const n = s.length; ') + 'let c = 0; let v = 0; let h = 0; let neg = false; let at = 0;\n';
  let stores = '';
  let f = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const lit = part.lit;
    if (lit !== undefined) {
      if (fast && !/^[\x20-\x7e]*$/.test(lit)) return undefined;
      if (fast || lit.length <= 24) code += `if (!(${litAt(lit)})) ${fail}\n`;
      else code += `if (!s.startsWith(${JSON.stringify(lit)}, pos)) ${fail}\n`;
      code += `pos += ${lit.length};\n`;
      continue;
    }
    const name = part.field!;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`qemu decl: bad field name ${name}`);
    names.push(name);
    const a = `a${f++}`;
    code += `let ${a};\n`;
    const hexLoop = fast
      ? // A digit's value from a table (-1: not a hex digit).
        'c = s[pos]; v = 0;\nfor (;;) { let dv; if (c < 128 && (dv = HEX[c]) >= 0) { v = v * 16 + dv; c = s[++pos]; } else break; }\n'
      : 'c = s.charCodeAt(pos); v = 0;\n' +
        'for (;;) { let dv; if (c >= 48 && c <= 57) dv = c - 48; else if (c >= 97 && c <= 102) dv = c - 87; ' +
        'else if (c >= 65 && c <= 70) dv = c - 55; else break; v = v * 16 + dv; c = s.charCodeAt(++pos); }\n';
    switch (part.kind!) {
      case 'p': {
        const nil = fast ? litAt('(nil)') : "s.startsWith('(nil)', pos)";
        code +=
          `if (${ch('pos')} === 48 && ${ch('pos + 1')} === 120) {\npos += 2; h = pos;\n` +
          hexLoop +
          `if (pos === h) ${fail}\n` +
          value(a, 'pos - h > 13', "BigInt('0x' + s.slice(h, pos))", 'v') +
          `} else if (${nil}) { pos += 5; ${a} = 0; } else ${fail}\n`;
        break;
      }
      case 'u':
      case 'd': {
        code += `h = pos; neg = false;\n`;
        if (part.kind === 'd') code += `if (${ch('pos')} === 45) { neg = true; pos++; }\n`;
        code +=
          `at = pos; v = 0; c = ${ch('pos')};\nwhile (c >= 48 && c <= 57) { v = v * 10 + (c - 48); c = ${ch('++pos')}; }\n` +
          `if (pos === at) ${fail}\n` +
          value(a, 'pos - at > 15', `fieldValue(${JSON.stringify(part.kind)}, s.slice(h, pos))`, 'neg ? -v : v');
        break;
      }
      case 'x':
        code += 'h = pos;\n' + hexLoop + `if (pos === h) ${fail}\n` + value(a, 'pos - h > 13', "fieldValue('x', s.slice(h, pos))", 'v');
        break;
      case 'c':
        if (fast) return undefined;
        code += `if (pos >= n) return null;\n${a} = s.slice(pos, pos + 1); pos++;\n`;
        break;
      default: {
        if (fast) return undefined;
        const next = parts[i + 1];
        code += 'h = pos;\n';
        if (!next) code += 'pos = n;\n';
        else if (next.lit !== undefined) code += `at = s.indexOf(${JSON.stringify(next.lit)}, pos);\nif (at < 0) return null;\npos = at;\n`;
        else code += 'return null;\n';
        code += `${a} = s.slice(h, pos);\n`;
      }
    }
    if (fast) stores += fields(name, a);
  }
  const fname = `scan_${t.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  if (fast) {
    // The line ends here: a newline, or CR LF (normalizeLine drops the CR).
    code += `if (s[pos] !== 10) { if (s[pos] !== 13 || s[pos + 1] !== 10) ${fail}\npos++; }\n${stores}return pos;\n`;
    const all: Record<string, unknown> = { ...deps, HEX: HEX_DIGITS };
    const depNames = Object.keys(all);
    const factory = new Function(...depNames, `return function fast_${fname}(s, pos, e, o) {\n${code}};`) as (...d: unknown[]) => CompiledFastScan;
    return factory(...depNames.map((k) => all[k]));
  }
  code += `if (pos !== n) return null;\nreturn {${names.map((nm, i) => `${JSON.stringify(nm)}: a${i}`).join(', ')}};\n`;
  const factory = new Function('fieldValue', `return function ${fname}(s, pos) {\n${code}};`) as (
    fv: typeof fieldValue,
  ) => CompiledScan;
  return factory(fieldValue);
}
