// Text renderings of a Xen blkif shared-ring dump, as users paste them into mails: `xxd` (and `xxd -g1/-u/-a`)
// and `hexdump -C`. The lines are reassembled to bytes (a `*` line repeats the previous line up to the next
// offset, as hexdump -C and xxd -a print runs of identical/zero lines; hexdump's final bare offset gives the
// length) and decoded by the binary format's decodeRing() (parsers/xen-ring.ts). Mail quoting and other prefixes
// are stripped by the pipeline before the lines get here. A new dump starts when the offset goes back to 0.
import type { Evidence } from '../src/model/types.js';
import type { LineRecord, ParserContext, PatternMatch, TextFormatDef, TextParser } from './types.js';
import { evidenceOf } from './match.js';
import { chooseLayout, decodeRing, validDumpSize } from './xen-ring.js';

const ID = 'xen-ring-hexdump';
/** Largest dump reassembled (32 pages); anything past it is reported and ignored. */
const MAX_DUMP = 32 * 4096;

const PATTERNS = {
  // 00000000: 0100 0000 0100 0000 0000 0000 0100 0000  ................
  // (groups of 1-32 bytes: xxd -g N; -c up to 32 bytes a line)
  xxd: /^(?<offset>[0-9a-fA-F]{6,16}): (?<hex>[0-9a-fA-F]{2,64}(?: [0-9a-fA-F]{2,64}){0,31})(?: {2,}(?<ascii>.{1,32}))?$/,
  // 00000000  01 00 00 00 01 00 00 00  00 00 00 00 01 00 00 00  |................|
  hexdumpC: /^(?<offset>[0-9a-fA-F]{8,16})  (?<hex>[0-9a-fA-F]{2}(?: {1,2}[0-9a-fA-F]{2}){0,15})(?: +\|(?<ascii>.{1,16})\|)?$/,
  // a run of lines equal to the previous one (hexdump -C), or of zero lines (xxd -a)
  star: /^\*$/,
  // hexdump -C ends with the length as a bare offset
  end: /^(?<offset>[0-9a-fA-F]{7,16})$/,
} as const;

type PatName = keyof typeof PATTERNS;

function match(text: string): PatternMatch | null {
  const c = text.charCodeAt(0);
  if (c === 42 /* * */) return text === '*' ? { pattern: 'star', groups: {} } : null;
  const isHex = (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
  if (!isHex) return null;
  for (const name of ['xxd', 'hexdumpC', 'end'] as PatName[]) {
    const m = PATTERNS[name].exec(text);
    if (m) return { pattern: name, groups: m.groups ?? {} };
  }
  return null;
}

/** Bytes of a hex field: "0100 0000" or "01 00  00" (groups hold whole bytes, in file order). */
function hexBytes(s: string): number[] | undefined {
  const digits = s.replace(/ /g, '');
  if (digits.length % 2) return undefined;
  const out: number[] = [];
  for (let i = 0; i < digits.length; i += 2) out.push(parseInt(digits.slice(i, i + 2), 16));
  return out;
}

interface LineAt {
  offset: number;
  line: number;
  text: string;
}

/** Reassembles one dump at a time. */
class Assembler {
  bytes = Buffer.alloc(0);
  len = 0;
  lines: LineAt[] = [];
  prev: number[] | undefined;
  star = false;
  overflowed = false;

  get empty(): boolean {
    return this.lines.length === 0;
  }

  private ensure(n: number): void {
    if (n <= this.bytes.length) return;
    const b = Buffer.alloc(Math.min(MAX_DUMP, Math.max(n, this.bytes.length * 2, 4096)));
    this.bytes.copy(b, 0, 0, this.len);
    this.bytes = b;
  }

  /** Write bytes at `off`; returns false past MAX_DUMP. */
  put(off: number, data: number[]): boolean {
    if (off + data.length > MAX_DUMP) return false;
    this.ensure(off + data.length);
    for (let i = 0; i < data.length; i++) this.bytes[off + i] = data[i]!;
    this.len = Math.max(this.len, off + data.length);
    return true;
  }

  /** Fill [len, to) by repeating the previous line (a `*` run). */
  fillTo(to: number): boolean {
    const unit = this.prev;
    if (!unit || unit.length === 0) return false;
    if (to > MAX_DUMP) return false;
    this.ensure(to);
    for (let o = this.len, k = 0; o < to; o++, k++) this.bytes[o] = unit[k % unit.length]!;
    this.len = Math.max(this.len, to);
    return true;
  }

  lineOf(offset: number): { line: number; text: string } | undefined {
    const ls = this.lines;
    let lo = 0;
    let hi = ls.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (ls[mid]!.offset <= offset) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0) return undefined;
    return { line: ls[best]!.line, text: ls[best]!.text };
  }
}

class HexdumpParser implements TextParser {
  private cur = new Assembler();
  private dumps = 0;
  constructor(private readonly ctx: ParserContext) {}

  line(rec: LineRecord, m: PatternMatch): void {
    const a = this.cur;
    if (m.pattern === 'star') {
      if (!a.empty) a.star = true;
      return;
    }
    const off = parseInt(m.groups.offset ?? '', 16);
    if (!Number.isFinite(off)) return;
    if (m.pattern === 'end') {
      if (a.empty) return;
      if (a.star) {
        if (off > a.len && !a.fillTo(off)) this.bad(rec, `a '*' run up to byte ${off} does not fit in a ring dump`);
      } else if (off !== a.len) {
        this.bad(rec, `end offset 0x${off.toString(16)} does not follow the last line (0x${a.len.toString(16)})`);
      }
      this.finish();
      return;
    }
    const data = hexBytes(m.groups.hex ?? '');
    if (!data) {
      this.bad(rec, 'odd number of hex digits');
      return;
    }
    // A new dump starts at offset 0 or when the offsets go backwards.
    if (!a.empty && (off === 0 || off < a.len)) this.finish();
    const b = this.cur;
    if (b.empty && off !== 0) {
      this.bad(rec, `dump starts at offset 0x${off.toString(16)}, not 0: the ring header is missing`);
      return;
    }
    if (off > b.len) {
      if (b.star) {
        if (!b.fillTo(off)) {
          this.bad(rec, `a '*' run up to byte ${off} does not fit in a ring dump`);
          return;
        }
      } else {
        this.bad(rec, `gap in the dump: bytes 0x${b.len.toString(16)}-0x${(off - 1).toString(16)} are missing (read as zeros)`);
        // The assembler's buffer is zero-filled past its length: writing the gap's last byte extends it.
        if (off <= MAX_DUMP) b.put(off - 1, [0]);
      }
    }
    b.star = false;
    if (!b.put(off, data)) {
      if (!b.overflowed) this.bad(rec, `dump larger than ${MAX_DUMP} bytes (32 ring pages); the rest is ignored`);
      b.overflowed = true;
      return;
    }
    b.prev = data;
    b.lines.push({ offset: off, line: rec.line, text: rec.raw });
  }

  end(): void {
    this.finish();
  }

  private bad(rec: LineRecord, why: string): void {
    this.ctx.malformed(evidenceOf(rec), `${ID}: ${why}`);
  }

  private finish(): void {
    const a = this.cur;
    this.cur = new Assembler();
    if (a.empty) return;
    this.dumps++;
    const buf = Buffer.from(a.bytes.subarray(0, a.len));
    decodeRing(buf, this.ctx.file, (ev) => this.ctx.emit(ev), {
      format: ID,
      dumpNo: this.dumps,
      lineOf: (o) => a.lineOf(o),
      malformed: (ev: Evidence, why: string) => this.ctx.malformed(ev, why),
      // detect() judged the first dump only: a later hexdump of some other page is reported, not decoded.
      minConfidence: 0.5,
    });
  }
}

/** Reassemble the head lines of the first dump and judge its header (never throws). */
function detect(lines: string[]): number {
  try {
    const a = new Assembler();
    let dumpLines = 0;
    let ended = false;
    for (let k = 0; k < lines.length; k++) {
      const l = lines[k]!;
      if (l.length > 200) continue;
      let m = match(l);
      // A line wrapped by a mail client: the pipeline rejoins it, so judge it rejoined here too.
      if (!m && k + 1 < lines.length && l.length >= 40) {
        for (const sep of ['', ' ']) {
          m = match(l + sep + lines[k + 1]!);
          if (m) {
            k++;
            break;
          }
        }
      }
      if (!m) continue;
      if (m.pattern === 'star') {
        if (!a.empty) a.star = true;
        continue;
      }
      const off = parseInt(m.groups.offset ?? '', 16);
      if (m.pattern === 'end') {
        if (a.empty) continue;
        if (a.star && off > a.len) a.fillTo(off);
        ended = true;
        break;
      }
      const data = hexBytes(m.groups.hex ?? '');
      if (!data) continue;
      if (a.empty && off !== 0) continue;
      if (!a.empty && off < a.len) {
        ended = true;
        break;
      }
      if (off > a.len && a.star) a.fillTo(off);
      if (off !== a.len) continue;
      a.star = false;
      if (!a.put(off, data)) break;
      a.prev = data;
      a.lines.push({ offset: off, line: 0, text: '' });
      dumpLines++;
    }
    if (dumpLines < 1 || a.len < 8) return 0;
    const buf = a.bytes.subarray(0, a.len);
    // When the whole dump is in the head, its size must be a ring size; otherwise assume the pages it reaches.
    const size = ended || a.len % 4096 === 0 || a.len === 3848 ? a.len : Math.ceil(a.len / 4096) * 4096;
    if (ended && !validDumpSize(a.len)) return 0;
    const c = chooseLayout(buf, size)?.confidence ?? 0;
    return c >= 0.5 ? Math.min(0.95, c) : 0;
  } catch {
    return 0;
  }
}

export const xenRingHexdump: TextFormatDef = {
  id: ID,
  title: 'Xen blkif shared-ring dump (xxd / hexdump -C text)',
  description:
    'An xxd or hexdump -C rendering of a blkif shared ring page (as pasted into mails, quoting allowed): reassembled to bytes and decoded like xen-ring.',
  url: 'https://xenbits.xen.org/gitweb/?p=xen.git;a=blob;f=xen/include/public/io/ring.h',
  family: 'xen',
  kind: 'text',
  backendModel: 'per-segment',
  fields: [
    { name: 'offset', type: 'hex', description: 'Byte offset of the line in the dump' },
    { name: 'hex', type: 'string', description: 'Bytes in file order (xxd groups of 2-16 digits, hexdump -C single bytes)' },
    { name: 'ascii', type: 'string', description: 'Printable rendering (ignored)' },
  ],
  patterns: PATTERNS,
  detect,
  match,
  samples: [
    {
      line: '00000000: 0300 0000 0100 0000 0100 0000 0100 0000  ................',
      pattern: 'xxd',
      fields: { offset: '00000000', hex: '0300 0000 0100 0000 0100 0000 0100 0000' },
      comment: 'xxd: ring header, req_prod 3, req_event 1, rsp_prod 1, rsp_event 1',
    },
    {
      line: '00000040  00 0b 00 03 00 00 00 00  07 00 00 00 00 00 00 00  |................|',
      pattern: 'hexdumpC',
      fields: { offset: '00000040', hex: '00 0b 00 03 00 00 00 00  07 00 00 00 00 00 00 00' },
      comment: 'hexdump -C: start of slot 0, a read with 11 segments on handle 768, id 7',
    },
    { line: '*', pattern: 'star', comment: 'hexdump -C / xxd -a: lines identical to the previous one were left out' },
    { line: '00001000', pattern: 'end', fields: { offset: '00001000' }, comment: 'hexdump -C: the dump is 4096 bytes long' },
  ],
  createParser: (ctx: ParserContext) => new HexdumpParser(ctx),
};
