// The TUI's analysis run: the real pipeline into the store, cut into small slices so keys and frames are
// served while indexing. No React/Ink here: the CLI starts it while Ink is still loading.
import type { AnalyzeOptions } from '../src/model/types.js';
import type { InputSource } from '../src/input/sources.js';
import { analyze } from '../src/analyze.js';
import type { TuiStore } from './store.js';

/** Pieces the UI's analysis is cut into: the event loop (keys, frames) runs between them. */
const SLICE = 64 * 1024;

/** Cut a source's chunks into small slices and yield to the event loop between them (UI stays responsive). */
export function responsiveSource(src: InputSource): InputSource {
  return {
    name: src.name,
    live: src.live,
    // Known once the source has begun (a file's size): a big log is then read on a worker thread, which hands over
    // 1 MiB chunks whose lines are already read (src/input/text-lane.ts; the event loop still turns between them).
    get size() {
      return src.size;
    },
    async *chunks() {
      for await (const c of src.chunks()) {
        if (c.length <= SLICE) {
          yield c;
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        for (let off = 0; off < c.length; off += SLICE) {
          yield c.subarray(off, Math.min(c.length, off + SLICE));
          await new Promise<void>((r) => setImmediate(r));
        }
      }
    },
  };
}

/** Run the pipeline into the store (the UI renders while it streams). Resolves when the inputs end. */
export async function startAnalysis(store: TuiStore, sources: InputSource[], options: AnalyzeOptions, signal: AbortSignal): Promise<boolean> {
  try {
    const res = await analyze(sources.map(responsiveSource), { options, sink: store.sink(), signal });
    store.setDone(res.errors);
    return res.inputs.length > 0 && res.inputs.every((i) => i.error);
  } catch (e) {
    store.setDone([`analysis failed: ${e instanceof Error ? e.message : String(e)}`]);
    return true;
  }
}

