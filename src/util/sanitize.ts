// Text from inputs never reaches the terminal raw: every control character (C0, DEL, C1) and thus every
// escape sequence (ESC/CSI/OSC...) is shown escaped, e.g. "\x1b". Use on every input-derived string before
// printing or rendering.

// C0 except tab handled below, DEL, C1 (U+0080-U+009F), and the Unicode line/paragraph separators and bidi overrides.
const CONTROL_RE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function esc(ch: string): string {
  const c = ch.charCodeAt(0);
  return c <= 0xff ? '\\x' + c.toString(16).padStart(2, '0') : '\\u' + c.toString(16).padStart(4, '0');
}

/** Neutralise control characters; tabs become a single space (keeps columns predictable). */
export function neutralize(s: string): string {
  if (!CONTROL_RE.test(s) && s.indexOf('\t') < 0) return s;
  CONTROL_RE.lastIndex = 0;
  return s.replace(/\t/g, ' ').replace(CONTROL_RE, esc);
}

/** Neutralise and cut to a display length (in UTF-16 units), marking the cut with "…". */
export function neutralizeCut(s: string, max: number): string {
  const n = neutralize(s);
  return n.length > max ? n.slice(0, Math.max(0, max - 1)) + '…' : n;
}
