// The fast lane of a text format on a worker thread (src/input/text-lane-worker.ts). For a big log file whose first
// format has a fast lane (TextFormatDef.fastRecord, the QEMU log), the worker reads the file on from where the
// head read for detection ended and reads each chunk's whole lines (the plainest into numbers, the others only
// located), while the parser's thread rebuilds requests from the chunk before (TextRouter.pushRecords): on two
// CPUs, reading text and rebuilding overlap. Chunks and their records come over without a copy (their ArrayBuffers
// are transferred); the record buffers go back to be written again, one per chunk taken, which is also the credit:
// at most LANE_CREDIT chunks are ahead of the parser.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { FAST_RECORD_MAX, type TextFormatDef } from '../../parsers/types.js';

/** Chunks at the worker at once (memory stays bounded: this many chunks and their records). */
export const LANE_CREDIT = 8;

/**
 * From this many bytes on (and with two CPUs or more) a log is read on a worker. Below it the worker's start and the
 * two threads' contention cost more than they save (bench/README.md: 60 MB 5-10 % slower, 100 MB 3-4 % faster).
 */
export const LANE_MIN_BYTES = 96 * 1024 * 1024;

/**
 * The records of a chunk's whole lines: from its first line start (after the first newline when `startsMid`, the
 * chunk then going on with the line the last chunk began) to its last newline, one record per line: the format's
 * fastRecord, or [-1, offset of the line's newline] for a line the usual path reads. `rec` grows when it must.
 */
export function laneRecords(fmt: TextFormatDef, chunk: Buffer, startsMid: boolean, rec: Float64Array): { rec: Float64Array; n: number } {
  let start = 0;
  if (startsMid) {
    const nl = chunk.indexOf(10);
    if (nl < 0) return { rec, n: 0 };
    start = nl + 1;
  }
  const last = chunk.lastIndexOf(10);
  let n = 0;
  while (start <= last) {
    if (n + FAST_RECORD_MAX > rec.length) {
      const bigger = new Float64Array(rec.length * 2 + FAST_RECORD_MAX);
      bigger.set(rec.subarray(0, n));
      rec = bigger;
    }
    const len = fmt.fastRecord!(chunk, start, rec, n);
    if (len > 0) {
      start = rec[n + 1]! + 1;
      n += len;
      continue;
    }
    const end = chunk.indexOf(10, start);
    rec[n] = -1;
    rec[n + 1] = end;
    n += 2;
    start = end + 1;
  }
  return { rec, n };
}

/** What the parser's thread tells the worker: where to read, then (per chunk taken) a record buffer to write into again. */
export interface LaneStart {
  format: string;
  file: string;
  /** Byte offset to read from (the head the parser's thread read for detection ends there). */
  offset: number;
  /** Whether the byte before `offset` ends a line. */
  lineStart: boolean;
}
/** A message from the worker: a chunk (its bytes and its records, transferred), the end of the file, or an error. */
export type LaneMessage =
  | { kind: 'chunk'; buf: ArrayBuffer; len: number; rec: ArrayBuffer; n: number }
  | { kind: 'end' }
  | { kind: 'error'; message: string };

/** Bytes the worker reads at a time. */
export const LANE_CHUNK = 1 << 20;

/** Where records land: the router (TextRouter.pushRecords). */
export interface LaneSink {
  pushRecords(chunk: Buffer, rec: Float64Array, n: number): void;
}

/**
 * Whether to read the rest of a log of `size` bytes (undefined: unknown, e.g. stdin) on a worker:
 * BLKSCOPE_TEXT_WORKER=always | never | auto (default: a file of LANE_MIN_BYTES or more, two CPUs or more; on one
 * CPU the worker would only add its own work). Only files (the worker opens the file), never live input (follow
 * mode: a line must not wait for a round trip).
 */
export function wantLane(size: number | undefined, live: boolean): boolean {
  if (live || size === undefined) return false;
  const v = process.env.BLKSCOPE_TEXT_WORKER;
  if (v === 'never') return false;
  if (v === 'always') return true;
  return size >= LANE_MIN_BYTES && availableParallelism() >= 2;
}

/**
 * The compiled worker script next to this module (dist/src/input/), or from the TUI bundle in dist/tui/.
 * Undefined when running from the TypeScript sources (tests through vite): the lines are then read in-thread.
 */
function workerScript(): URL | undefined {
  for (const rel of ['./text-lane-worker.js', '../src/input/text-lane-worker.js']) {
    const u = new URL(rel, import.meta.url);
    if (u.protocol === 'file:' && existsSync(u)) return u;
  }
  return undefined;
}

/** What run() reports and obeys (analyzeSource's run and input info). */
export interface LaneRun {
  signal?: AbortSignal;
  /** Bytes of the chunk the router has just taken. */
  taken(bytes: number): void;
  /** Awaited after each chunk (the TUI's back-pressure). */
  drain?(): Promise<void>;
}

/**
 * The parser's side: the worker reads the file from `offset` on; run() takes each chunk's records back in order,
 * hands them to the router, and hands the record buffer back with a credit.
 */
export class TextLane {
  private readonly worker: Worker;
  private readonly queue: LaneMessage[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;

  private constructor(
    script: URL,
    start: LaneStart,
    private readonly sink: LaneSink,
  ) {
    this.worker = new Worker(script, { workerData: start });
    this.worker.on('message', (m: LaneMessage) => {
      this.queue.push(m);
      this.poke();
    });
    this.worker.on('error', (e: Error) => {
      this.failure = e;
      this.poke();
    });
    this.worker.on('exit', (code) => {
      if (!this.failure) this.failure = new Error(`exited with code ${code}`);
      this.poke();
    });
  }

  /** A lane reading `file` from `offset` for `fmt`, or undefined when there is no worker script. */
  static start(fmt: TextFormatDef, sink: LaneSink, file: string, offset: number, lineStart: boolean): TextLane | undefined {
    const script = workerScript();
    return script ? new TextLane(script, { format: fmt.id, file, offset, lineStart }, sink) : undefined;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Hands every chunk to the router until the end of the file (or an abort); the worker stops. */
  async run(r: LaneRun): Promise<void> {
    try {
      for (;;) {
        if (r.signal?.aborted) return;
        const m = this.queue.shift();
        if (!m) {
          if (this.failure) throw new Error(this.failure.message);
          await new Promise<void>((res) => (this.wake = res));
          continue;
        }
        if (m.kind === 'end') return;
        if (m.kind === 'error') throw new Error(m.message);
        r.taken(m.len);
        this.sink.pushRecords(Buffer.from(m.buf, 0, m.len), new Float64Array(m.rec), m.n);
        // One more credit, and the record buffer to write into again. The chunk stays here: evidence made from its
        // bytes when read keeps it alive as long as its request lives (LineBytesEvidence).
        this.worker.postMessage(m.rec, [m.rec]);
        if (r.drain) await r.drain();
      }
    } finally {
      this.worker.removeAllListeners('exit');
      await this.worker.terminate();
    }
  }
}
