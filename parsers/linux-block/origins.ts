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

/** A merged stream's entry: its origins, and the statistics when the merge worker counts them. */
export interface MergedStream extends OriginResolver {
  /**
   * Present when the merge runs on a worker that also counts blkparse's and btt's statistics over the merged
   * records (the parser then skips counting them); `counts` arrives before the last chunk has been taken.
   */
  workerStats?: { counts?: BlkCounts };
  /**
   * Present when the merge worker decodes the records as well: the rows of the stream up to byte `end`, in order
   * (the parser takes them with each chunk, then the end's with Infinity). `files` are the rows' file names.
   */
  rows?: unknown[];
  takeRows?(end: number): BlkRows[];
  files?: readonly string[];
}

export const MERGED_ORIGINS = new Map<string, MergedStream>();
