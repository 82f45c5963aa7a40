// The analysis pipeline: sources -> format detection -> parsers -> model (+ rules) -> sink.
// Shared by `analyze`, `report`, the TUI and follow mode.
import { StringDecoder } from 'node:string_decoder';
import type { AnalyzeOptions, Evidence, InputInfo, ParsedEvent } from './model/types.js';
import type { BinaryFormatDef, FastLine, FormatDef, LineRecord, ParserContext, PatternMatch, TextFormatDef, TextParser } from '../parsers/types.js';
import { FORMATS, findFormat } from '../parsers/index.js';
import { RULES } from './rules/index.js';
import { Model, type ModelSink } from './model/model.js';
import { normalizeLine, quoteDepth } from './input/normalize.js';
import { TextLane, wantLane } from './input/text-lane.js';
import { InputError, type InputSource } from './input/sources.js';
import { matchText } from '../parsers/match.js';
import { detach } from './util/detach.js';

export const HEAD_BYTES = 256 * 1024;
const HEAD_LINES = 5000;
const MAX_RAW = 4096;
const MAX_SKIPPED_SAMPLES = 20;
/** A line this long or longer may have been wrapped by a mail client. */
const WRAP_MIN = 40;
const NO_BYTES = Buffer.alloc(0);

export interface AnalysisSink extends ModelSink {
  /** An input's format was decided (or not). */
  inputStarted?(info: InputInfo): void;
  inputEnded?(info: InputInfo): void;
  /** Progress: bytes read so far for the current input. */
  progress?(file: string, bytes: number): void;
  /** Called after each chunk: wait for output backpressure (stdout) before reading more. */
  drain?(): Promise<void>;
}

export interface AnalysisResult {
  inputs: InputInfo[];
  model: Model;
  /** Inputs that could not be read or recognised: "FILE: reason". */
  errors: string[];
}

export interface AnalyzeRun {
  options: AnalyzeOptions;
  sink?: AnalysisSink;
  /** Stop early (TUI quit). */
  signal?: AbortSignal;
}

export function createModel(options: AnalyzeOptions, sink: ModelSink = {}): Model {
  return new Model(RULES, options, sink);
}

export async function analyze(sources: InputSource[], run: AnalyzeRun): Promise<AnalysisResult> {
  const model = createModel(run.options, run.sink);
  const inputs: InputInfo[] = [];
  const errors: string[] = [];
  for (const src of sources) {
    if (run.signal?.aborted) break;
    const info = await analyzeSource(src, model, run);
    inputs.push(info);
    if (info.error) errors.push(`${src.name}: ${info.error}`);
    model.endInput(src.name);
    run.sink?.inputEnded?.(info);
  }
  model.end();
  return { inputs, model, errors };
}

function newInfo(file: string): InputInfo {
  return { file, format: '', formats: [], records: 0, skipped: 0, skippedSamples: [], lines: 0, bytes: 0 };
}

/** Pick formats for a head of input. Binary wins when confident; otherwise every text format that claims lines. */
export function detectFormats(head: Buffer, options: AnalyzeOptions): FormatDef[] {
  if (options.inputFormat) {
    const f = findFormat(options.inputFormat);
    return f ? [f] : [];
  }
  let bestBin: BinaryFormatDef | undefined;
  let bestConf = 0;
  for (const f of FORMATS) {
    if (f.kind !== 'binary') continue;
    let c = 0;
    try {
      c = f.detect(head);
    } catch {
      c = 0;
    }
    if (c > bestConf) {
      bestConf = c;
      bestBin = f;
    }
  }
  if (bestBin && bestConf >= 0.5) return [bestBin];
  const lines = headLines(head);
  const scored: { f: TextFormatDef; c: number }[] = [];
  for (const f of FORMATS) {
    if (f.kind !== 'text') continue;
    let c = 0;
    try {
      c = f.detect(lines);
    } catch {
      c = 0;
    }
    if (c > 0) scored.push({ f, c });
  }
  scored.sort((a, b) => b.c - a.c);
  return scored.map((s) => s.f);
}

function headLines(head: Buffer): string[] {
  const text = head.toString('utf8');
  const out: string[] = [];
  let start = 0;
  while (out.length < HEAD_LINES && start < text.length) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    const n = normalizeLine(text.slice(start, Math.min(nl, start + MAX_RAW)));
    if (n) out.push(n);
    start = nl + 1;
  }
  return out;
}

async function analyzeSource(src: InputSource, model: Model, run: AnalyzeRun): Promise<InputInfo> {
  const info = newInfo(src.name);
  const options = run.options;
  const emit = (ev: ParsedEvent) => model.handle(ev);
  const malformed = (evidence: Evidence, reason: string) => {
    info.skipped++;
    if (info.skippedSamples.length < MAX_SKIPPED_SAMPLES) info.skippedSamples.push({ evidence, reason });
  };
  const ctx: ParserContext = { file: src.name, options, emit, malformed };

  let headChunks: Buffer[] = [];
  let headLen = 0;
  let decided = false;
  let textRouter: TextRouter | undefined;
  let bin: ReturnType<BinaryFormatDef['createParser']> | undefined;
  let offset = 0;
  /** A big log's fast lane on a worker thread (src/input/text-lane.ts). */
  let lane: TextLane | undefined;

  const decide = (final: boolean): boolean => {
    const head = Buffer.concat(headChunks);
    if (options.inputFormat && !findFormat(options.inputFormat)) {
      info.error = `unknown input format '${options.inputFormat}' (see 'blkscope formats')`;
      return true;
    }
    const formats = detectFormats(head, options);
    if (formats.length === 0) {
      if (!final && src.live) return false;
      if (!final && headLen < HEAD_BYTES) return false;
      info.error = head.length === 0 ? 'empty input' : 'no supported format recognised';
      return true;
    }
    info.formats = formats.map((f) => f.id);
    info.format = info.formats.join(',');
    run.sink?.inputStarted?.(info);
    const first = formats[0]!;
    if (first.kind === 'binary') {
      bin = first.createParser(familyContext(ctx, first));
      bin.chunk(head, 0);
      offset = head.length;
    } else {
      textRouter = new TextRouter(
        formats.filter((f): f is TextFormatDef => f.kind === 'text'),
        ctx,
        info,
      );
      textRouter.push(head);
      // A big file's remaining lines are read on a worker thread, which reads the file from the end of the head on.
      const laneFormat = textRouter.laneFormat;
      if (laneFormat && !final && wantLane(src.size, src.live === true)) lane = TextLane.start(laneFormat, textRouter, src.name, head.length, head.length === 0 || head[head.length - 1] === 10);
    }
    headChunks = [];
    return true;
  };

  try {
    for await (const chunk of src.chunks()) {
      if (run.signal?.aborted) break;
      // A live source sends an empty chunk when it goes idle: release the line held for wrapped-line rejoining.
      if (chunk.length === 0) {
        textRouter?.idle();
        continue;
      }
      info.bytes! += chunk.length;
      run.sink?.progress?.(src.name, info.bytes!);
      if (!decided) {
        headChunks.push(chunk);
        headLen += chunk.length;
        if (headLen >= HEAD_BYTES || src.live) {
          decided = decide(false);
          if (decided && info.error) break;
          // The worker reads the rest: this stream stops here.
          if (lane) break;
        }
        continue;
      }
      if (bin) {
        bin.chunk(chunk, offset);
        offset += chunk.length;
      } else if (textRouter) textRouter.push(chunk);
      if (run.sink?.drain) await run.sink.drain();
    }
    if (!decided) decide(true);
  } catch (e) {
    info.error = e instanceof InputError ? e.message : describeError(e);
  }
  if (lane) {
    const sink = run.sink;
    try {
      await lane.run({
        signal: run.signal,
        taken: (bytes) => {
          info.bytes! += bytes;
          sink?.progress?.(src.name, info.bytes!);
        },
        drain: sink?.drain ? () => sink.drain!() : undefined,
      });
    } catch (e) {
      info.error = describeError(e);
    }
  }
  try {
    if (bin) {
      bin.end();
      info.records = bin.records();
    } else if (textRouter) textRouter.end();
  } catch (e) {
    info.error = info.error ?? `parser failed: ${describeError(e)}`;
  }
  return info;
}

/** A parser's context that stamps the format's family on the requests it submits. */
function familyContext(ctx: ParserContext, f: FormatDef): ParserContext {
  const family = f.family;
  const text = f.kind === 'text';
  return {
    ...ctx,
    emit: (ev) => {
      if (ev.kind === 'submit') {
        const req = ev.req;
        if (req.family === undefined) req.family = family;
        if (text && ev.ownStrings !== true) {
          // Text ids and devices are often slices of a 1 MiB input chunk: copy them so kept rows do not pin chunks.
          req.id = detach(req.id);
          if (req.device !== undefined) req.device = detach(req.device);
        }
      }
      ctx.emit(ev);
    },
  };
}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

interface Classified {
  rec: LineRecord;
  fmt?: number;
  m?: PatternMatch | 'malformed' | null;
}

/** Splits text into lines, normalises, routes each line to the format that claims it, rejoins wrapped lines. */
export class TextRouter {
  private readonly decoder = new StringDecoder('utf8');
  private carry = '';
  /** pushBytes: the last chunk ended inside a line (its text so far is in carry, or in the decoder). */
  private tail = false;
  private lineNo = 0;
  /** The line held back for rejoining a wrapped record: its record, format index and match. */
  private pendingRec: LineRecord | undefined;
  private pendingFmt: number | undefined;
  private pendingM: Classified['m'] = null;
  private readonly parsers: TextParser[];
  /** Records each format claimed. */
  private readonly claimed: number[];
  /**
   * The first format's fast lane (TextFormatDef.fastLine) and its two slots: the one the next line is read into,
   * and the other, which may hold the line held back for rejoining (fastHeld) while it is a fast-lane line.
   */
  private readonly fast: TextFormatDef | undefined;
  private fastSlot: FastLine | undefined;
  private fastOther: FastLine | undefined;
  private fastHeld: FastLine | undefined;

  constructor(
    private readonly formats: TextFormatDef[],
    private readonly ctx: ParserContext,
    private readonly info: InputInfo,
  ) {
    this.parsers = formats.map((f) => f.createParser(familyContext(ctx, f)));
    this.claimed = formats.map(() => 0);
    const f0 = formats[0];
    if (f0?.fastLine && f0.newFastLine && this.parsers[0]!.fastLine) {
      this.fast = f0;
      this.fastSlot = f0.newFastLine();
      this.fastOther = f0.newFastLine();
    }
  }

  push(chunk: Buffer): void {
    if (this.fast !== undefined) {
      this.pushBytes(chunk, this.fast);
      return;
    }
    // The decoded chunk is one flat string: lines are read in it (the line begun in the last chunk is joined first).
    const text = this.decoder.write(chunk);
    let start = 0;
    if (this.carry.length > 0) {
      const nl = text.indexOf('\n');
      if (nl < 0) {
        this.carry += text;
        this.boundCarry();
        return;
      }
      const first = this.carry + text.slice(0, nl);
      this.carry = '';
      this.onLine(first);
      start = nl + 1;
    }
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.onLine(text.slice(start, nl));
      start = nl + 1;
    }
    this.carry = text.slice(start);
    this.boundCarry();
  }

  /**
   * push() with a fast lane: the lines that lie whole in the chunk are read in its bytes. The fast lane reads the
   * plainest in place (no decoding, no line string, no normalising, no match object) and says where they end; the
   * others are decoded one by one, which gives the text the decoder would (a newline byte is never part of a UTF-8
   * sequence). The decoder only sees the chunk's tail, the line that goes on in the next chunk.
   */
  private pushBytes(chunk: Buffer, fast: TextFormatDef): void {
    let start = this.headLine(chunk);
    if (start < 0) return;
    const last = chunk.lastIndexOf(10);
    while (start <= last) {
      const nl = fast.fastLine!(chunk, start, this.fastSlot!);
      if (nl >= 0 && nl - start <= MAX_RAW) {
        this.onFastLine(chunk, start, nl);
        start = nl + 1;
        continue;
      }
      const end = chunk.indexOf(10, start);
      this.onLine(chunk.toString('utf8', start, end));
      start = end + 1;
    }
    this.keepTail(chunk, start);
  }

  /**
   * push() for a chunk whose whole lines a worker thread has read already (src/input/text-lane.ts: laneRecords):
   * `rec[0, n)` holds one record per line, the fast lane's (TextFormatDef.fastRecord) or [-1, end of the line] for
   * a line to read the usual way. Same lines, same order, same reading as pushBytes.
   */
  pushRecords(chunk: Buffer, rec: Float64Array, n: number): void {
    const fast = this.fast!;
    let start = this.headLine(chunk);
    if (start < 0) return;
    for (let i = 0; i < n; ) {
      if (rec[i]! < 0) {
        const end = rec[i + 1]!;
        this.onLine(chunk.toString('utf8', start, end));
        start = end + 1;
        i += 2;
        continue;
      }
      const nl = rec[i + 1]!;
      i += fast.fastReplay!(rec, i, this.fastSlot!);
      if (nl - start <= MAX_RAW) this.onFastLine(chunk, start, nl);
      else this.onLine(chunk.toString('utf8', start, nl));
      start = nl + 1;
    }
    this.keepTail(chunk, start);
  }

  /** Whether a fast-lane worker can read this router's lines (src/input/text-lane.ts). */
  get laneFormat(): TextFormatDef | undefined {
    return this.fast?.fastRecord && this.fast.fastReplay ? this.fast : undefined;
  }

  /**
   * The line begun in the last chunk (its text in carry, a character cut in two in the decoder) when it ends in
   * this one: processed, and the offset after it returned. 0 when the last chunk ended with its line; -1 when this
   * chunk has no newline (it all goes on the carry).
   */
  private headLine(chunk: Buffer): number {
    if (!this.tail) return 0;
    const nl = chunk.indexOf(10);
    if (nl < 0) {
      this.carry += this.decoder.write(chunk);
      this.boundCarry();
      return -1;
    }
    const head = this.decoder.write(chunk.subarray(0, nl + 1));
    const first = this.carry + head.slice(0, -1);
    this.carry = '';
    this.tail = false;
    this.onLine(first);
    return nl + 1;
  }

  /** The chunk's bytes from `start` (after its last newline) begin the next line. */
  private keepTail(chunk: Buffer, start: number): void {
    if (start < chunk.length) {
      this.carry = this.decoder.write(chunk.subarray(start));
      this.tail = true;
      this.boundCarry();
    }
  }

  /** Bound the carry: a single "line" of many MB is cut into 1 MiB pieces. */
  private boundCarry(): void {
    if (this.carry.length > 1 << 20) {
      this.onLine(this.carry);
      this.carry = '';
    }
  }

  /** Live input is idle: process the line held back for rejoining (a follow-mode request must not wait for the next line). */
  idle(): void {
    this.flushHeld();
  }

  end(): void {
    const rest = this.carry + this.decoder.end();
    this.carry = '';
    if (rest.length > 0) this.onLine(rest);
    this.flushHeld();
    for (const p of this.parsers) p.end();
    // Report the formats that claimed records (all candidates when none did).
    const used = this.formats.filter((_, i) => this.claimed[i]! > 0).map((f) => f.id);
    if (used.length) {
      this.info.formats = used;
      this.info.format = used.join(',');
    }
  }

  /** Format index of the last classify() (no object per line on the hot path). */
  private classified: number | undefined;

  private classify(text: string): PatternMatch | 'malformed' | null {
    let malformedAt: number | undefined;
    for (let i = 0; i < this.formats.length; i++) {
      const m = matchText(this.formats[i]!, text);
      if (m === null) continue;
      if (m === 'malformed') {
        if (malformedAt === undefined) malformedAt = i;
        continue;
      }
      this.classified = i;
      return m;
    }
    this.classified = malformedAt;
    return malformedAt === undefined ? null : 'malformed';
  }

  /** Process the line held back for rejoining, whichever lane read it. */
  private flushHeld(): void {
    const p = this.pendingRec;
    if (p) {
      this.pendingRec = undefined;
      this.process(p, this.pendingFmt, this.pendingM);
      return;
    }
    const h = this.fastHeld;
    if (h) {
      this.fastHeld = undefined;
      this.claim(0);
      this.parsers[0]!.fastLine!(h);
      // The slot no longer keeps its chunk alive.
      h.src = NO_BYTES;
    }
  }

  /** A record for format `fmt`. */
  private claim(fmt: number): void {
    this.info.records++;
    this.claimed[fmt]!++;
  }

  /** A line the fast lane read into fastSlot: as onLine, without a string for it. */
  private onFastLine(chunk: Buffer, start: number, end: number): void {
    this.lineNo++;
    this.info.lines!++;
    const cur = this.fastSlot!;
    cur.line = this.lineNo;
    cur.src = chunk;
    cur.lineStart = start;
    cur.lineEnd = end;
    // A line that parsed is never joined to the one before it: that one is done.
    this.flushHeld();
    this.fastHeld = cur;
    this.fastSlot = this.fastOther;
    this.fastOther = cur;
  }

  private onLine(rawLine: string): void {
    // A fast-lane line held back becomes an ordinary held-back record: this line may join it.
    const h = this.fastHeld;
    if (h) {
      this.fastHeld = undefined;
      const raw = h.src.toString('latin1', h.lineStart, h.lineEnd);
      // Its text is the line as normalizeLine leaves it: itself, less a CR before the newline.
      const text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
      this.pendingRec = { file: this.ctx.file, line: h.line, text, raw };
      this.pendingFmt = 0;
      this.pendingM = matchText(this.formats[0]!, text);
    }
    this.lineNo++;
    this.info.lines!++;
    const raw = rawLine.length > MAX_RAW ? rawLine.slice(0, MAX_RAW) + '…' : rawLine;
    const text = normalizeLine(rawLine.length > 1 << 16 ? rawLine.slice(0, 1 << 16) : rawLine);
    const rec: LineRecord = { file: this.ctx.file, line: this.lineNo, text, raw };
    // The line's classification stays in fields (no object per line); only a rejoin builds Classified objects.
    let m: Classified['m'] = null;
    let fmt: number | undefined;
    if (text) {
      m = this.classify(text);
      fmt = this.classified;
    }
    const pRec = this.pendingRec;
    if (pRec) {
      if (m === null && text && pRec.raw.length >= WRAP_MIN && quoteDepth(pRec.raw) === quoteDepth(rawLine)) {
        const joined = this.tryJoin({ rec: pRec, fmt: this.pendingFmt, m: this.pendingM }, { rec, fmt, m });
        if (joined) {
          this.pendingRec = undefined;
          this.process(joined.rec, joined.fmt, joined.m);
          return;
        }
      }
      this.process(pRec, this.pendingFmt, this.pendingM);
    }
    this.pendingRec = rec;
    this.pendingFmt = fmt;
    this.pendingM = m;
  }

  private tryJoin(p: Classified, c: Classified): Classified | undefined {
    for (const sep of ['', ' ']) {
      const text = p.rec.text + sep + c.rec.text;
      const m = this.classify(text);
      const fmt = this.classified;
      if (m && m !== 'malformed') {
        // A line that already parsed alone is only joined when the joined text parses with the same pattern.
        if (p.m && p.m !== 'malformed' && (p.fmt !== fmt || p.m.pattern !== m.pattern)) continue;
        return {
          rec: { ...p.rec, text, more: [...(p.rec.more ?? []), { line: c.rec.line, raw: c.rec.raw }] },
          fmt,
          m,
        };
      }
    }
    return undefined;
  }

  private process(rec: LineRecord, fmt: number | undefined, m: Classified['m']): void {
    if (!m) return;
    if (m === 'malformed') {
      const f = this.formats[fmt!]!;
      this.ctx.malformed({ file: rec.file, line: rec.line, text: rec.raw }, `looks like ${f.id} but does not parse`);
      return;
    }
    this.claim(fmt!);
    this.parsers[fmt!]!.line(rec, m);
  }
}
