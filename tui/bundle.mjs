// Bundles the compiled TUI (dist/tui/app.js with Ink, React and the analysis code it imports) into one ES module,
// dist/tui/app.bundle.mjs. Loading one file instead of hundreds of small modules cuts the TUI's start-up from
// ~0.4 s to ~0.1 s here (bench/README.md, TUI). The CLI uses the bundle when present, else dist/tui/app.js.
// Run after `tsc` (npm run build does both).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Ink imports react-devtools-core only for its optional DEV mode; it is not installed: stub it.
const stub = join(mkdtempSync(join(tmpdir(), 'blkscope-bundle-')), 'devtools-stub.mjs');
writeFileSync(stub, 'export default { initialize() {}, connectToDevTools() {} };\n');

await build({
  entryPoints: [join(root, 'dist/tui/app.js')],
  outfile: join(root, 'dist/tui/app.bundle.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  alias: { 'react-devtools-core': stub },
  define: { 'process.env.NODE_ENV': '"production"' },
  // Some dependencies call require(); give the ES module one.
  banner: { js: "import { createRequire as __blkscopeRequire } from 'node:module'; const require = __blkscopeRequire(import.meta.url);" },
  logLevel: 'error',
});
