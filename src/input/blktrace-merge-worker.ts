// Worker thread of the per-CPU blktrace merge (src/input/blktrace-merge.ts, mergeOnWorker): runs mergeChunks()
// and hands each merged chunk over (its ArrayBuffer is transferred, not copied) with the chunk's origins. It also
// decodes the merged records (BlktraceCounter, binary-parser) and sends them as rows of numbers with each chunk
// (BlkRowWriter), and counts blkparse's and btt's statistics, sent before the end: the parser's thread neither
// frames, decodes nor counts, it rebuilds requests.
// At most WORKER_CREDIT chunks are ahead of the parser: the parser's thread posts one message per chunk taken.
import { parentPort, workerData } from 'node:worker_threads';
import { mergeChunks, Origins, WORKER_CREDIT, type MergeMessage } from './blktrace-merge.js';
import { InputError } from './sources.js';
import { BlkRowWriter, BlktraceCounter } from '../../parsers/blktrace.js';

const port = parentPort!;
const { files } = workerData as { files: string[] };
const origins = new Origins(files);
// Records and problems as rows, with their original file and offset (the parser's evidence).
const writer = new BlkRowWriter((offset, out) => origins.locateIndex(offset, out));
const counter = new BlktraceCounter(writer);

let credit = WORKER_CREDIT;
let wake: (() => void) | undefined;
port.on('message', (back: ArrayBuffer[]) => {
  // One chunk taken: a credit, and the rows' buffers to write into again.
  for (const b of back) writer.pool.push(b);
  credit++;
  const w = wake;
  wake = undefined;
  w?.();
});
let offset = 0;
try {
  for await (const c of mergeChunks(files, origins)) {
    counter.chunk(c, offset);
    offset += c.length;
    // A chunk owns its ArrayBuffer when it starts it (Buffer.allocUnsafe of 256 KiB is never pooled); else a copy.
    let buf = c.buffer as ArrayBuffer;
    if (c.byteOffset !== 0) {
      const copy = new Uint8Array(c.length);
      copy.set(c);
      buf = copy.buffer;
    }
    while (credit <= 0) await new Promise<void>((r) => (wake = r));
    credit--;
    const rows = writer.take();
    const msg: MergeMessage = { kind: 'chunk', buf, len: c.length, origin: origins.newest!, rows };
    port.postMessage(msg, [buf, rows.rows.buffer as ArrayBuffer]);
  }
  const counts = counter.end();
  port.postMessage({ kind: 'stats', counts, tail: writer.take() } satisfies MergeMessage);
  port.postMessage({ kind: 'end' } satisfies MergeMessage);
} catch (e) {
  const msg: MergeMessage = e instanceof InputError ? { kind: 'error', file: e.file, message: e.message } : { kind: 'error', message: e instanceof Error ? e.message : String(e) };
  port.postMessage(msg);
}
// The parser's thread terminates this worker once it has the end (or an error).
