// Paste normalizer: turns a line as pasted from a mail, a web archive, syslog or dmesg into the bare
// message the format patterns expect. Keeps nothing but the text; line numbers stay with the caller.

const ENTITY: Record<string, string> = {
  gt: '>',
  lt: '<',
  amp: '&',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  '#39': "'",
  '#x27': "'",
  '#62': '>',
  '#60': '<',
  '#38': '&',
};
const ENTITY_RE = /&(#x?[0-9a-fA-F]+|[a-zA-Z]+);/g;

/** Decode the HTML entities web mail archives put in text (&gt;, &amp;, &#39;, ...). */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  // &amp;gt; from double-escaped archives decodes in two rounds.
  for (let round = 0; round < 2 && s.indexOf('&') >= 0; round++) {
    s = s.replace(ENTITY_RE, (all, name: string) => {
      const known = ENTITY[name] ?? ENTITY[name.toLowerCase()];
      if (known !== undefined) return known;
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        if (Number.isFinite(code) && code > 0 && code < 0x110000) return String.fromCodePoint(code);
      }
      return all;
    });
  }
  return s;
}

// Mail quoting: "> ", ">> ", "> > ", ">" with any depth, optionally indented.
const QUOTE_RE = /^(?:[ \t]*>)+[ \t]?/;
// Classic BSD syslog: "Jun  6 21:08:01 host tag[pid]: " (tag optional: "host /netbsd: ", "host kernel: ").
const SYSLOG_BSD_RE = /^(?:<\d{1,3}>)?[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ (?:[^\s:[\]]+(?:\[\d+\])?: ?)?/;
// ISO timestamps (journalctl -o short-iso, rsyslog high precision): "2024-01-02T03:04:05.123+00:00 host kernel: ".
const SYSLOG_ISO_RE = /^(?:<\d{1,3}>)?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)? \S+ (?:[^\s:[\]]+(?:\[\d+\])?: ?)?/;
// RFC 5424: "<34>1 2003-10-11T22:14:15.003Z host app procid msgid [sd]|- msg".
const SYSLOG_5424_RE = /^<\d{1,3}>1 \S+ \S+ \S+ \S+ \S+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?/;
// Bare "host kernel: " / "host /netbsd: " without a date.
const HOST_TAG_RE = /^\S+ (?:kernel|\/netbsd|netbsd|\/bsd)(?:\[\d+\])?: /;
// printk level "<4>" and dmesg stamps "[  123.456789] ", also "[Tue Jun  6 21:08:01 2023] " (dmesg -T).
const KLEVEL_RE = /^<\d>/;
const KSTAMP_RE = /^\[\s*\d+\.\d+\]\s?|^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\]\s?/;
const XEN_RE = /^\((?:XEN|d\d+)\)\s?/;

/**
 * Strip one layer at a time until nothing changes: quoting, syslog prefixes, kernel stamps, (XEN).
 * Returns the trimmed message.
 */
export function normalizeLine(line: string): string {
  let s = line;
  if (s.length > 0 && s.charCodeAt(s.length - 1) === 13) s = s.slice(0, -1);
  s = decodeEntities(s);
  for (let i = 0; i < 8; i++) {
    const before = s;
    const c = s.charCodeAt(0);
    // Fast path: most trace lines start with a lower-case letter, a digit or spaces and carry no prefix.
    if (c === 62 /* > */ || c === 32 || c === 9) {
      const m = QUOTE_RE.exec(s);
      if (m) s = s.slice(m[0].length);
      else if (c === 32 || c === 9) s = s.trimStart();
    }
    const d = s.charCodeAt(0);
    if (d === 91 /* [ */) {
      const m = KSTAMP_RE.exec(s);
      if (m) s = s.slice(m[0].length);
    } else if (d === 40 /* ( */) {
      const m = XEN_RE.exec(s);
      if (m) s = s.slice(m[0].length);
    } else if (d === 60 /* < */) {
      const m = SYSLOG_5424_RE.exec(s) ?? SYSLOG_ISO_RE.exec(s) ?? SYSLOG_BSD_RE.exec(s) ?? KLEVEL_RE.exec(s);
      if (m) s = s.slice(m[0].length);
    } else if (d >= 65 && d <= 90 /* A-Z */) {
      const m = SYSLOG_BSD_RE.exec(s);
      if (m) s = s.slice(m[0].length);
    } else if (d >= 48 && d <= 57 /* 0-9 */ && s.charCodeAt(4) === 45 /* YYYY- */) {
      const m = SYSLOG_ISO_RE.exec(s);
      if (m) s = s.slice(m[0].length);
    }
    if (s === before) {
      // Cheap precheck before the regex: "host kernel: " / "host /netbsd: " has its tag after the first space.
      const sp = s.indexOf(' ');
      if (sp > 0 && sp < 64) {
        const c2 = s.charCodeAt(sp + 1);
        if (c2 === 107 /* k */ || c2 === 47 /* / */ || c2 === 110 /* n */ || c2 === 98 /* b */) {
          const m = HOST_TAG_RE.exec(s);
          if (m) s = s.slice(m[0].length);
        }
      }
    }
    if (s === before) break;
  }
  // Most lines begin and end with printable ASCII: nothing to trim, skip the copy.
  const a = s.charCodeAt(0);
  const z = s.charCodeAt(s.length - 1);
  return a > 32 && a < 127 && z > 32 && z < 127 ? s : s.trim();
}

/** Quote depth of a raw line (number of '>' markers), used to keep wrapped-line joins within one quote level. */
export function quoteDepth(line: string): number {
  const m = QUOTE_RE.exec(decodeEntities(line));
  if (!m) return 0;
  let n = 0;
  for (const ch of m[0]) if (ch === '>') n++;
  return n;
}
