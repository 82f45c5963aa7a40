// Where a byte of a merged per-CPU blktrace stream came from. src/input/blktrace-merge.ts interleaves the
// records of vda.blktrace.0, .1, ... by time into one stream; it registers a resolver under the stream's
// name so that the parser's evidence names the real file and byte offset.

export interface OriginResolver {
  /** Original file and offset of the merged stream's byte `offset` (offsets are asked in increasing order). */
  resolve(offset: number): { file: string; offset: number } | undefined;
  /** The same into `out` (no allocation); false when unknown. */
  locate?(offset: number, out: { file: string; offset: number }): boolean;
}

export const MERGED_ORIGINS = new Map<string, OriginResolver>();
