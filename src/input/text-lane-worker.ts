// Worker thread of the text fast lane (src/input/text-lane.ts): reads the file from the offset it is given, chunk
// by chunk, reads each chunk's whole lines with its format's fastRecord (laneRecords), and sends the chunk with its
// records (both transferred, not copied). At most LANE_CREDIT chunks are ahead of the parser's thread, which posts
// a record buffer back for each chunk it has taken.
import { parentPort, workerData } from 'node:worker_threads';
import { closeSync, openSync, readSync } from 'node:fs';
import { findFormat } from '../../parsers/index.js';
import type { TextFormatDef } from '../../parsers/types.js';
import { describeFsError } from './sources.js';
import { LANE_CHUNK, LANE_CREDIT, laneRecords, type LaneMessage, type LaneStart } from './text-lane.js';

const port = parentPort!;
const start = workerData as LaneStart;
const spare: ArrayBuffer[] = [];
let credit = LANE_CREDIT;
let wake: (() => void) | undefined;
port.on('message', (back: ArrayBuffer) => {
  spare.push(back);
  credit++;
  const w = wake;
  wake = undefined;
  w?.();
});

async function main(): Promise<void> {
  const fmt = findFormat(start.format) as TextFormatDef | undefined;
  if (!fmt?.fastRecord) throw new Error(`format ${start.format} has no fast lane`);
  let fd: number;
  try {
    fd = openSync(start.file, 'r');
  } catch (e) {
    throw new Error(describeFsError(e));
  }
  try {
    let pos = start.offset;
    let startsMid = !start.lineStart;
    for (;;) {
      while (credit <= 0) await new Promise<void>((r) => (wake = r));
      const chunk = Buffer.allocUnsafeSlow(LANE_CHUNK);
      let len: number;
      try {
        len = readSync(fd, chunk, 0, LANE_CHUNK, pos);
      } catch (e) {
        throw new Error(describeFsError(e));
      }
      if (len === 0) break;
      pos += len;
      const bytes = chunk.subarray(0, len);
      const back = spare.pop();
      const { rec, n } = laneRecords(fmt, bytes, startsMid, back ? new Float64Array(back) : new Float64Array(LANE_CHUNK >> 3));
      startsMid = bytes[len - 1] !== 10;
      credit--;
      const msg: LaneMessage = { kind: 'chunk', buf: chunk.buffer as ArrayBuffer, len, rec: rec.buffer as ArrayBuffer, n };
      port.postMessage(msg, [msg.buf, msg.rec]);
    }
  } finally {
    closeSync(fd);
  }
  port.postMessage({ kind: 'end' } satisfies LaneMessage);
}

main().catch((e: unknown) => port.postMessage({ kind: 'error', message: e instanceof Error ? e.message : String(e) } satisfies LaneMessage));
