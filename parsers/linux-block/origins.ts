// Where a byte of a merged per-CPU blktrace stream came from. src/input/blktrace-merge.ts interleaves the
// records of vda.blktrace.0, .1, ... by time into one stream; it registers a resolver under the stream's
// name so that the parser's evidence names the real file and byte offset.
import type { BlkCounts } from './events.js';
import type { BlkRows } from '../blktrace.js';

export interface OriginResolver {
  /** Original file and offset of the merged stream's byte `offset` (offsets are asked in increasing order). */
  resolve(offset: number): { file: string; offset: number } | undefined;
  /** The same into `out` (no allocation); false when unknown. */
  locate?(offset: number, out: { file: string; offset: number }): boolean;
}

/** What the merge worker hands the parser besides the bytes: the records it decoded, and its statistics. */
export interface WorkerFeed {
  /** The rows of the stream up to byte `end`, in order (each chunk's, then the end's with Infinity). */
  takeRows(end: number): BlkRows[];
  /** The rows' file names, by index. */
  readonly files: readonly string[];
  /** blkparse's and btt's statistics over the merged records; set before the last chunk has been taken. */
  counts?: BlkCounts;
}

/** A merged stream's entry: its origins, and the worker's feed when the merge runs on a worker. */
export interface MergedStream extends OriginResolver {
  worker?: WorkerFeed;
}

export const MERGED_ORIGINS = new Map<string, MergedStream>();
