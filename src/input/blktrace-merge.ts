// blktrace writes one file per CPU (<base>.blktrace.<cpu>); blkparse -i <base> reads them all and merges
// the records by time. expandBlktraceInputs() does the same for blkscope's inputs:
//  - "vda.blktrace.0 vda.blktrace.1 ..." (any order, other inputs in between) become one merged source;
//  - a base name "vda" (no such file, but vda.blktrace.* exist) expands like blkparse's -i;
//  - a single per-CPU file, "-" (stdin) and every other input stay as they are.
// The merge streams: it holds one partly read chunk per file and a heap of the files' next record times.
// Records are framed by hand (magic, pdu_len: parsers/linux-block/blk-io-trace.ts). Garbage in a file is
// passed through as it is (the parser reports it and resyncs); a truncated last record of a file is passed
// at the very end. The parser names the real file and byte offset through MERGED_ORIGINS.
// From WORKER_MIN_BYTES on, all of this runs on a worker thread (blktrace-merge-worker.ts), which also decodes the
// records into rows of numbers and counts blkparse's and btt's statistics; the parser takes the rows and the
// statistics from the stream's MERGED_ORIGINS entry instead of decoding and counting itself.
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileSource, stdinSource, InputError, describeFsError, type InputSource } from './sources.js';
import { HDR, magicAt, resync, timeAt } from '../../parsers/linux-block/blk-io-trace.js';
import { MERGED_ORIGINS, type MergedStream, type WorkerFeed } from '../../parsers/linux-block/origins.js';
import type { BlkCounts } from '../../parsers/linux-block/events.js';
import type { BlkRows } from '../../parsers/blktrace.js';

const PER_CPU = /^(.*)\.blktrace\.(\d+)$/;
const OUT_CHUNK = 256 * 1024;
/** Output chunks whose origins are kept (covers the pipeline's 256 KiB detection head). */
const KEEP_CHUNKS = 8;

/** Per-CPU files of base name `base` ("dir/vda" -> dir/vda.blktrace.N), sorted by CPU; [] when none. */
export function blktraceFilesOf(base: string): string[] {
  const dir = dirname(base);
  const stem = basename(base) + '.blktrace.';
  let names: string[];
  try {
    names = readdirSync(dir === '' ? '.' : dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(stem) && /^\d+$/.test(n.slice(stem.length)))
    .sort((a, b) => Number(a.slice(stem.length)) - Number(b.slice(stem.length)))
    .map((n) => (dir === '.' && !base.startsWith('./') ? n : join(dir, n)));
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Turn command-line inputs into sources: per-CPU blktrace files of one base are merged into one source
 * (at the position of the first of them); a base name expands to its per-CPU files; "-" is stdin.
 */
export function expandBlktraceInputs(paths: string[], stdin?: NodeJS.ReadableStream): InputSource[] {
  const groups = new Map<string, string[]>();
  const order: ({ kind: 'plain'; path: string } | { kind: 'group'; base: string })[] = [];
  for (const p of paths) {
    if (p === '-') {
      order.push({ kind: 'plain', path: p });
      continue;
    }
    const m = PER_CPU.exec(p);
    let base: string | undefined;
    let files: string[] = [];
    if (m && isFile(p)) {
      base = m[1]!;
      files = [p];
    } else if (!existsSync(p)) {
      const found = blktraceFilesOf(p);
      if (found.length > 0) {
        base = p;
        files = found;
      }
    }
    if (base === undefined) {
      order.push({ kind: 'plain', path: p });
      continue;
    }
    const g = groups.get(base);
    if (g) {
      for (const f of files) if (!g.includes(f)) g.push(f);
    } else {
      groups.set(base, [...files]);
      order.push({ kind: 'group', base });
    }
  }
  return order.map((o) => {
    if (o.kind === 'plain') return o.path === '-' ? stdinSource(stdin) : fileSource(o.path);
    const files = groups.get(o.base)!;
    if (files.length === 1) return fileSource(files[0]!);
    files.sort((a, b) => Number(PER_CPU.exec(a)![2]) - Number(PER_CPU.exec(b)![2]));
    return mergedBlktraceSource(files, `${o.base}.blktrace.*`);
  });
}

/** One file being merged: a window of its bytes and the next record's position and time. */
class FileCursor {
  buf: Buffer = Buffer.alloc(0);
  /** File offset of buf[0]. */
  bufOffset = 0;
  pos = 0;
  eof = false;
  time = 0;
  /** Length of the framed record at pos while the cursor is on the heap. */
  len = 0;
  private readonly it: AsyncIterator<Buffer>;

  constructor(
    readonly file: string,
    readonly index: number,
  ) {
    this.it = (createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Make at least `n` bytes available at pos (false at end of file). */
  async need(n: number): Promise<boolean> {
    while (this.buf.length - this.pos < n) {
      if (this.eof) return false;
      let r: IteratorResult<Buffer>;
      try {
        r = await this.it.next();
      } catch (e) {
        throw new InputError(this.file, describeFsError(e));
      }
      if (r.done) {
        this.eof = true;
        return false;
      }
      const rest = this.buf.subarray(this.pos);
      this.bufOffset += this.pos;
      this.buf = rest.length ? Buffer.concat([rest, r.value]) : r.value;
      this.pos = 0;
    }
    return true;
  }
}

type Step =
  | { kind: 'record'; len: number }
  | { kind: 'garbage'; len: number }
  | { kind: 'tail'; len: number }
  | { kind: 'end' };

/** Frame the next thing at the cursor: a whole record (time set), a garbage run, the truncated tail, or the end. */
async function frame(c: FileCursor): Promise<Step> {
  if (!(await c.need(4))) {
    const left = c.buf.length - c.pos;
    return left > 0 ? { kind: 'tail', len: left } : { kind: 'end' };
  }
  const o = magicAt(c.buf, c.pos);
  if (!o) {
    // Garbage: pass it up to the next plausible record start (the parser reports it with this file's offset).
    for (;;) {
      const next = resync(c.buf, c.pos + 1);
      if (magicAt(c.buf, next) || c.eof) return { kind: 'garbage', len: (magicAt(c.buf, next) ? next : c.buf.length) - c.pos };
      if (next > c.pos) return { kind: 'garbage', len: next - c.pos };
      await c.need(c.buf.length - c.pos + 4096);
    }
  }
  if (!(await c.need(HDR))) return { kind: 'tail', len: c.buf.length - c.pos };
  const le = o === 'le';
  const len = HDR + (le ? c.buf.readUInt16LE(c.pos + 46) : c.buf.readUInt16BE(c.pos + 46));
  if (!(await c.need(len))) return { kind: 'tail', len: c.buf.length - c.pos };
  c.time = timeAt(c.buf, c.pos, le);
  return { kind: 'record', len };
}

/** Synchronous framing when a whole record is already buffered: its length (time set), else 0. */
function frameFast(c: FileCursor): number {
  const buf = c.buf;
  const pos = c.pos;
  if (buf.length - pos < HDR) return 0;
  // Magic of either byte order (versions 6/7, as magicAt): LE bytes vv 74 61 65, BE bytes 65 61 74 vv.
  const b0 = buf[pos]!;
  const b3 = buf[pos + 3]!;
  let len: number;
  if (b3 === 0x65 && buf[pos + 1] === 0x74 && buf[pos + 2] === 0x61 && (b0 === 7 || b0 === 6)) {
    len = HDR + buf.readUInt16LE(pos + 46);
    if (buf.length - pos < len) return 0;
    c.time = buf.readUInt32LE(pos + 12) * 4294967296 + buf.readUInt32LE(pos + 8);
  } else if (b0 === 0x65 && buf[pos + 1] === 0x61 && buf[pos + 2] === 0x74 && (b3 === 7 || b3 === 6)) {
    len = HDR + buf.readUInt16BE(pos + 46);
    if (buf.length - pos < len) return 0;
    c.time = buf.readUInt32BE(pos + 8) * 4294967296 + buf.readUInt32BE(pos + 12);
  } else return 0;
  return len;
}

/** Where the runs of one merged chunk came from: run k starts at merged offset at[k], in file file[k] at off[k]. */
export interface OriginChunk {
  start: number;
  end: number;
  at: Float64Array;
  file: Uint16Array;
  off: Float64Array;
  n: number;
}

/** The worker's rows and statistics, queued until the parser takes them (src/input/blktrace-merge-worker.ts). */
class RowFeed implements WorkerFeed {
  counts?: BlkCounts;
  /** Row sets with the stream offset their chunk ends at. */
  private readonly queue: { end: number; set: BlkRows }[] = [];
  private lost = false;
  /** Buffers of the rows the parser has taken (done with by the time it asks for the next chunk). */
  private taken: ArrayBuffer[] = [];
  constructor(readonly files: readonly string[]) {}

  push(end: number, set: BlkRows): void {
    this.queue.push({ end, set });
    // Nobody takes them when the input turned out not to be blktrace: stay bounded.
    if (this.queue.length > 64) {
      this.queue.shift();
      this.lost = true;
    }
  }

  takeRows(end: number): BlkRows[] {
    if (this.lost) throw new Error('blktrace merge: decoded rows were dropped before the parser took them');
    const q = this.queue;
    const out: BlkRows[] = [];
    while (q.length > 0 && q[0]!.end <= end) {
      const set = q.shift()!.set;
      out.push(set);
      this.taken.push(set.rows.buffer as ArrayBuffer);
    }
    return out;
  }

  /** The taken rows' buffers, to hand back to the worker. */
  takeBuffers(): ArrayBuffer[] {
    const b = this.taken;
    this.taken = [];
    return b;
  }
}

export class Origins implements MergedStream {
  /** Set while the merge runs on a worker. */
  worker?: RowFeed;
  private chunks: OriginChunk[] = [];
  private cur = 0;
  /** The chunk added last (the worker sends it with its bytes). */
  newest: OriginChunk | undefined;
  constructor(readonly files: string[]) {}

  add(start: number, end: number, at: number[], file: number[], off: number[]): void {
    this.addChunk({ start, end, at: Float64Array.from(at), file: Uint16Array.from(file), off: Float64Array.from(off), n: at.length });
  }

  addChunk(c: OriginChunk): void {
    this.newest = c;
    this.chunks.push(c);
    if (this.chunks.length > KEEP_CHUNKS) {
      this.chunks.shift();
      if (this.cur > 0) this.cur--;
    }
  }

  resolve(offset: number): { file: string; offset: number } | undefined {
    const out = { file: '', offset: 0 };
    return this.locate(offset, out) ? out : undefined;
  }

  /** Entry index of the last answer in chunk `cur` (offsets are asked in increasing order). */
  private last = 0;

  locate(offset: number, out: { file: string; offset: number }): boolean {
    const w = this.at;
    if (!this.locateIndex(offset, w)) return false;
    out.file = this.files[w.file]!;
    out.offset = w.offset;
    return true;
  }

  private readonly at = { file: 0, offset: 0 };

  /** locate() with the file as its index in `files`. */
  locateIndex(offset: number, out: { file: number; offset: number }): boolean {
    const cs = this.chunks;
    if (cs.length === 0) return false;
    let k = this.cur < cs.length ? this.cur : 0;
    if (offset < cs[k]!.start) k = 0;
    while (k < cs.length && offset >= cs[k]!.end) k++;
    if (k >= cs.length || offset < cs[k]!.start) return false;
    const c = cs[k]!;
    const at = c.at;
    let lo: number;
    if (k === this.cur && this.last < c.n && at[this.last]! <= offset) {
      // Forward scan from the last answer (usually the same or the next entry).
      lo = this.last;
      while (lo + 1 < c.n && at[lo + 1]! <= offset) lo++;
    } else {
      lo = 0;
      let hi = c.n - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (at[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
    }
    this.cur = k;
    this.last = lo;
    out.file = c.file[lo]!;
    out.offset = c.off[lo]! + (offset - at[lo]!);
    return true;
  }
}

/** Above this many bytes in all (and with two CPUs or more), the merge runs on a worker thread (its start-up costs ~30 ms). */
const WORKER_MIN_BYTES = 16 * 1024 * 1024;

export interface MergeOptions {
  /**
   * Merge on a worker thread: 'auto' when the files hold WORKER_MIN_BYTES or more. Default: the environment's
   * BLKSCOPE_MERGE_WORKER (always | never | auto), else 'auto'.
   */
  worker?: boolean | 'auto';
}

function workerFromEnv(): boolean | 'auto' {
  const v = process.env.BLKSCOPE_MERGE_WORKER;
  return v === 'always' ? true : v === 'never' ? false : 'auto';
}

/**
 * One source reading `files` (per-CPU blktrace files of one trace) merged by record time. A big trace is merged
 * on a worker thread (src/input/blktrace-merge-worker.ts): the merged chunks are handed over without a copy and
 * the parser's thread keeps its time for decoding and the analysis (bench/README.md, blktrace).
 */
export function mergedBlktraceSource(files: string[], name: string, opts: MergeOptions = {}): InputSource {
  const origins = new Origins(files);
  MERGED_ORIGINS.set(name, origins);
  return {
    name,
    async *chunks() {
      const size = checkFiles(files);
      const mode = opts.worker ?? workerFromEnv();
      const script = mode === false ? undefined : workerScript();
      // 'auto': a big trace and a second CPU (on one CPU the worker would only add its own work).
      const auto = mode === 'auto' && availableParallelism() >= 2 && size >= WORKER_MIN_BYTES;
      if (script && (mode === true || auto)) yield* mergeOnWorker(script, files, origins);
      else yield* mergeChunks(files, origins);
    },
  };
}

/** Every file is there and not a directory (else an InputError naming it); their total size. */
function checkFiles(files: string[]): number {
  let size = 0;
  for (const f of files) {
    try {
      const st = statSync(f);
      if (st.isDirectory()) throw new InputError(f, 'is a directory');
      size += st.size;
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(f, describeFsError(e));
    }
  }
  return size;
}

/**
 * The compiled worker script: next to this module (dist/src/input/), or from the TUI bundle in dist/tui/.
 * Undefined when running from the TypeScript sources (tests through vite): the merge then runs in-thread.
 */
function workerScript(): URL | undefined {
  for (const rel of ['./blktrace-merge-worker.js', '../src/input/blktrace-merge-worker.js']) {
    const u = new URL(rel, import.meta.url);
    if (u.protocol === 'file:' && existsSync(u)) return u;
  }
  return undefined;
}

/** A message from the merge worker. */
export type MergeMessage =
  | { kind: 'chunk'; buf: ArrayBuffer; len: number; origin: OriginChunk; rows: BlkRows }
  | { kind: 'stats'; counts: BlkCounts; tail: BlkRows }
  | { kind: 'error'; file?: string; message: string }
  | { kind: 'end' };

/** Chunks handed over by the worker before the parser has taken them (memory stays bounded). */
export const WORKER_CREDIT = 8;

async function* mergeOnWorker(script: URL, files: string[], origins: Origins): AsyncGenerator<Buffer> {
  const worker = new Worker(script, { workerData: { files } });
  // The worker decodes the records and counts blkparse's and btt's statistics too; the parser (made after the
  // first chunks) takes its rows instead of decoding and skips the statistics.
  const feed = new RowFeed(files);
  origins.worker = feed;
  let end = 0;
  const queue: MergeMessage[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  worker.on('message', (m: MergeMessage) => {
    queue.push(m);
    poke();
  });
  worker.on('error', (e: Error) => {
    failure = e;
    poke();
  });
  worker.on('exit', (code) => {
    if (code !== 0 && !failure) failure = new Error(`blktrace merge worker exited with code ${code}`);
    poke();
  });
  try {
    for (;;) {
      const m = queue.shift();
      if (!m) {
        if (failure) throw new InputError(files[0]!, failure.message);
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      if (m.kind === 'end') return;
      if (m.kind === 'stats') {
        // Filled in place: the parser holds the feed since it was made.
        feed.counts = m.counts;
        feed.push(Infinity, m.tail);
        continue;
      }
      if (m.kind === 'error') throw new InputError(m.file ?? files[0]!, m.message);
      origins.addChunk(m.origin);
      end += m.len;
      feed.push(end, m.rows);
      yield Buffer.from(m.buf, 0, m.len);
      // The parser is done with that chunk (it asks for the next): one more credit, and the rows' buffers back.
      const back = feed.takeBuffers();
      worker.postMessage(back, back);
    }
  } finally {
    await worker.terminate();
  }
}

/** The merge itself: chunks of records of all files in time order (origins recorded per chunk). */
export async function* mergeChunks(files: string[], origins: Origins): AsyncGenerator<Buffer> {
  const cursors = files.map((f, i) => new FileCursor(f, i));
  let out: Buffer = Buffer.allocUnsafe(OUT_CHUNK);
  let outLen = 0;
  let outStart = 0;
  let at: number[] = [];
  let fi: number[] = [];
  let fo: number[] = [];
  const tails: { c: FileCursor; len: number }[] = [];
  // The bytes of a run (contiguous in one cursor buffer and in the output) are copied once, when the
  // run ends: one memcpy per run instead of a copy per record. A cursor's old buffer is never modified
  // (need() makes a new one), so the pending run stays valid.
  let runBuf: Buffer = out;
  let runFrom = 0;
  let runOut = 0;
  let runLen = 0;
  const copyRun = (): void => {
    if (runLen > 0) {
      if (runLen <= 64) for (let k = 0; k < runLen; k++) out[runOut + k] = runBuf[runFrom + k]!;
      else runBuf.copy(out, runOut, runFrom, runFrom + runLen);
      runLen = 0;
    }
  };
  const emit = (c: FileCursor, len: number): void => {
    const src = c.buf;
    const from = c.pos;
    if (outLen + len > out.length) {
      copyRun();
      out = growTo(out, outLen, outLen + len);
    }
    if (runLen > 0 && runBuf === src && runFrom + runLen === from && runOut + runLen === outLen) runLen += len;
    else {
      copyRun();
      runBuf = src;
      runFrom = from;
      runOut = outLen;
      runLen = len;
    }
    // One origin entry per run of bytes contiguous in both the output and one file.
    const fileOff = c.bufOffset + from;
    const n = at.length;
    if (!(n > 0 && fi[n - 1] === c.index && fo[n - 1]! + (outStart + outLen - at[n - 1]!) === fileOff)) {
      at.push(outStart + outLen);
      fi.push(c.index);
      fo.push(fileOff);
    }
    outLen += len;
    c.pos += len;
  };
  const flush = (): Buffer => {
    copyRun();
    // Hand the buffer over (the consumer owns it) and start a new one.
    const chunk = out.subarray(0, outLen);
    out = Buffer.allocUnsafe(OUT_CHUNK);
    origins.add(outStart, outStart + outLen, at, fi, fo);
    outStart += outLen;
    outLen = 0;
    at = [];
    fi = [];
    fo = [];
    return chunk;
  };
  // Heap of cursors with a framed record (c.len), by (time, file index); no allocation per record.
  const heap: FileCursor[] = [];
  const less = (a: FileCursor, b: FileCursor): boolean => a.time < b.time || (a.time === b.time && a.index < b.index);
  const push = (c: FileCursor, len: number): void => {
    c.len = len;
    let i = heap.length;
    heap.push(c);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const hp = heap[p]!;
      if (!less(c, hp)) break;
      heap[i] = hp;
      i = p;
    }
    heap[i] = c;
  };
  const pop = (): FileCursor => {
    const top = heap[0]!;
    const last = heap.pop()!;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        if (r < n && less(heap[r]!, heap[l]!)) m = r;
        if (!less(heap[m]!, last)) break;
        heap[i] = heap[m]!;
        i = m;
      }
      heap[i] = last;
    }
    return top;
  };
  /** Advance a cursor to its next record, passing garbage through; pushes it on the heap or retires it. */
  const advance = async (c: FileCursor): Promise<void> => {
    for (;;) {
      const s = await frame(c);
      if (s.kind === 'record') {
        push(c, s.len);
        return;
      }
      if (s.kind === 'garbage') {
        emit(c, s.len);
        continue;
      }
      if (s.kind === 'tail') {
        // Keep the bytes for the very end (copy: the cursor's buffer is released).
        tails.push({ c, len: s.len });
        return;
      }
      return;
    }
  };
  for (const c of cursors) await advance(c);
  while (heap.length > 0) {
    const c = pop();
    emit(c, c.len);
    // Runs: keep taking from this file while it stays earliest.
    const next = heap[0];
    for (;;) {
      const fast = frameFast(c);
      if (fast > 0) {
        if (next && (c.time > next.time || (c.time === next.time && c.index > next.index))) {
          push(c, fast);
          break;
        }
        emit(c, fast);
        if (outLen >= OUT_CHUNK) yield flush();
        continue;
      }
      const s = await frame(c);
      if (s.kind !== 'record') {
        if (s.kind === 'garbage') {
          emit(c, s.len);
          continue;
        }
        if (s.kind === 'tail') tails.push({ c, len: s.len });
        break;
      }
      if (next && (c.time > next.time || (c.time === next.time && c.index > next.index))) {
        push(c, s.len);
        break;
      }
      emit(c, s.len);
      if (outLen >= OUT_CHUNK) yield flush();
    }
    if (outLen >= OUT_CHUNK) yield flush();
  }
  for (const t of tails) emit(t.c, t.len);
  if (outLen > 0) yield flush();
}

function growTo(buf: Buffer, used: number, want: number): Buffer {
  const n = Buffer.allocUnsafe(Math.max(want, buf.length * 2));
  buf.copy(n, 0, 0, used);
  return n;
}

/**
 * Source expander for the CLI (src/cli/options.ts registerSourceExpander): undefined unless some argument
 * is a per-CPU blktrace file or a blktrace base name, else every argument as a source.
 */
export function blktraceExpander(files: string[], stdin: NodeJS.ReadableStream): InputSource[] | undefined {
  const involved = files.some((p) => p !== '-' && ((PER_CPU.test(p) && isFile(p)) || (!existsSync(p) && blktraceFilesOf(p).length > 0)));
  return involved ? expandBlktraceInputs(files, stdin) : undefined;
}
