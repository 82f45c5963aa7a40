// Shared by the TUI tests: a store filled by the real pipeline.
import { analyze } from '../../src/analyze.js';
import { fileSource } from '../../src/input/sources.js';
import { TuiStore } from '../../tui/store.js';

export const SAMPLE = 'samples/xen/seed-004-mail.txt';

export async function loadStore(files = [SAMPLE], opts: ConstructorParameters<typeof TuiStore>[0] = {}): Promise<TuiStore> {
  const store = new TuiStore(opts);
  const res = await analyze(
    files.map((f) => fileSource(f)),
    { options: {}, sink: store.sink() },
  );
  store.setDone(res.errors);
  store.flush();
  return store;
}

