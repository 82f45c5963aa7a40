// The format registry's contract. One file per format exports one FormatDef; parsers/index.ts lists them.
import type { AnalyzeOptions, Evidence, ParsedEvent, BackendModel } from '../src/model/types.js';

export type FieldType = 'int' | 'hex' | 'octal' | 'u64' | 'string' | 'float';

export interface FieldDef {
  name: string;
  type: FieldType;
  description: string;
}

/** A sample line: the test suite checks that it matches `pattern` and yields `fields`. */
export interface TextSample {
  line: string;
  pattern: string;
  fields?: Record<string, string | number>;
  comment?: string;
}

/** What the pipeline hands a parser. */
export interface ParserContext {
  file: string;
  options: AnalyzeOptions;
  emit(ev: ParsedEvent): void;
  /** A record that looks like this format but does not parse: counted as skipped and reported. */
  malformed(evidence: Evidence, reason: string): void;
}

/** One normalised text line with where it came from. */
export interface LineRecord {
  file: string;
  /** 1-based line number of the (first) original line. */
  line: number;
  /** Normalised text (mail quoting, syslog/dmesg prefixes, HTML entities stripped; trimmed). */
  text: string;
  /** Original line(s) as read (control characters NOT yet neutralised: renderers do that). */
  raw: string;
  /** Extra original lines when a wrapped record was rejoined. */
  more?: { line: number; raw: string }[];
}

export interface PatternMatch {
  pattern: string;
  groups: Record<string, string | undefined>;
}

export interface TextParser {
  /** A line this format matched. */
  line(rec: LineRecord, m: PatternMatch): void;
  /** A line the format's fast lane read (TextFormatDef.fastLine), in place of line(). */
  fastLine?(l: FastLine): void;
  /** Input ended. Flush what is pending. */
  end(): void;
}

interface FormatBase {
  id: string;
  title: string;
  description: string;
  /** Where the format is defined (source file, doc URL). */
  url?: string;
  family: 'xen' | 'virtio' | 'linux-block';
  fields: FieldDef[];
  /** Mapping model of the backend that writes this log, when it matters (Xen). */
  backendModel?: BackendModel;
}

export interface TextFormatDef extends FormatBase {
  kind: 'text';
  /** Named patterns with named groups. Anchored (^...$): wrapped-line rejoining relies on it. */
  patterns: Record<string, RegExp>;
  /** Lines that look like this format; one matching this but no pattern is malformed (skipped). */
  prefix?: RegExp;
  samples: TextSample[];
  /**
   * Confidence 0..1 that these (normalised) head lines are this format. Never throws.
   */
  detect(lines: string[]): number;
  /**
   * Optional fast matcher replacing the generic "try every pattern" loop.
   * Returns a match, 'malformed' (looks like this format but does not parse) or null (not this format).
   */
  match?(text: string): PatternMatch | 'malformed' | null;
  /**
   * Optional fast lane for the format's plainest lines, tried on the bytes of the input chunk before a line is cut
   * out, decoded and normalised (only when this format is the first candidate). `bytes` holds a newline at or after
   * `start`. Returns the offset of the newline ending the line when bytes[start, newline) is certainly a record of
   * this format, read exactly as match() would read its text, and filled into `out`: the router then hands `out` to
   * the parser's fastLine. -1 sends the line the usual way. A line it takes must be printable ASCII that
   * normalizeLine leaves as it is, but for a CR before the newline (which stays in the line's raw text, as on the
   * usual path).
   */
  fastLine?(bytes: Buffer, start: number, out: FastLine): number;
  /**
   * The fast lane for a worker thread (src/input/text-lane.ts): reads the line at bytes[start] as fastLine does, but
   * writes what it read as numbers into rec[at...] (at most FAST_RECORD_MAX of them): rec[at] >= 0, rec[at + 1] the
   * offset of the newline ending the line, then the format's own values. Returns the record's length, or -1 for a
   * line the usual path must read.
   */
  fastRecord?(bytes: Buffer, start: number, rec: Float64Array, at: number): number;
  /** Fills `out` from a record fastRecord wrote at rec[at], as fastLine would have filled it; returns the record's length. */
  fastReplay?(rec: Float64Array, at: number, out: FastLine): number;
  /** A slot for fastLine (the router keeps two: the line held back for rejoining, and the next one). */
  newFastLine?(): FastLine;
  createParser(ctx: ParserContext): TextParser;
}

/** Most numbers TextFormatDef.fastRecord writes for one line. */
export const FAST_RECORD_MAX = 32;

/** A line a format's fast lane read (TextFormatDef.fastLine): where it is; the format adds what it read. */
export interface FastLine {
  /** 1-based line number (set by the router). */
  line: number;
  /** The bytes the line is in (its chunk), and its bounds (set by the router). */
  src: Buffer;
  lineStart: number;
  lineEnd: number;
}

export interface BinaryParser {
  /** Next chunk of the input; `offset` is the byte offset of chunk[0] in the input. */
  chunk(buf: Buffer, offset: number): void;
  end(): void;
  /** Records parsed so far (for inputs[].records). */
  records(): number;
}

export interface BinarySample {
  /** Hex of a complete record, for the registry test. */
  hex: string;
  comment?: string;
}

export interface BinaryFormatDef extends FormatBase {
  kind: 'binary';
  /** Confidence 0..1 from the first bytes (up to 64 KiB). Must check lengths first and never throw. */
  detect(head: Buffer): number;
  createParser(ctx: ParserContext): BinaryParser;
  /** One-line example shown by `blkscope formats` (a description of a record). */
  sampleText: string;
  samples: BinarySample[];
}

export type FormatDef = TextFormatDef | BinaryFormatDef;
