#!/usr/bin/env node
// TUI benchmark (needs `npm run build`): the real Ink app (tui/app.tsx Root + TuiStore) rendering to a fake
// 120x40 TTY, fed by the real pipeline.
//  1. time to first frame on a generated N-request NetBSD xbdback log (default 1,000,000 requests);
//  2. key -> frame latency (p50/p95) while indexing and after it, for j/k/Space/b/G/g/e/E; a frame counts when
//     its text shows the key's effect (the list position "Requests X/");
//  3. follow latency: append one request to a followed file -> the frame that shows it (30 samples);
//  4. optionally (--tmux) time to first frame of the real binary in tmux (includes Node start-up).
// usage: node bench/tui.mjs [REQUESTS] [--tmux]
import { createWriteStream, mkdtempSync, rmSync, appendFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, PassThrough } from 'node:stream';
import { execFileSync } from 'node:child_process';
process.env.NODE_ENV ??= 'production'; // as the CLI does (src/cli/commands/tui.ts)
const { default: React } = await import('react');
const { render } = await import('ink');

const { Root } = await import('../dist/tui/app.js');
const { startAnalysis } = await import('../dist/tui/analysis.js');
const { TuiStore } = await import('../dist/tui/store.js');
const { analyze } = await import('../dist/src/analyze.js');
const { fileSource } = await import('../dist/src/input/sources.js');
const { followSource } = await import('../dist/src/input/follow.js');

const N = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const useTmux = process.argv.includes('--tmux');
const dir = mkdtempSync(join(tmpdir(), 'blkscope-tui-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function requestText(i) {
  const cons = 0x1000 + i;
  const bad = i % 1000 === 999;
  const n = bad ? 11 : 1 + (i % 4);
  let s = `xbdback op ${i & 1} req_cons 0x${cons.toString(16)} req_prod 0x${(cons + 1).toString(16)}/0x${((cons + 1) & 63).toString(16)} resp_prod 0x${cons.toString(16)}/0x${(cons & 63).toString(16)}\n`;
  for (let k = 0; k < n; k++) {
    const fas = bad ? (k < 8 ? 0x27f68000 + k * 9 : 0x27f67000 + (k - 8) * 9) : (0x20000 + ((i * 4 + k) & 0xfffff)) * 4096 + 7;
    s += `xbdback_io domain 2: frame_and_sects[${k}]=0x${fas.toString(16)}\n`;
  }
  s += `xbdback_io domain 2: start sect ${i * 32} start 0 size ${bad ? 5632 : n * 4096}\nxbdback_io domain 2: start request\n`;
  return s;
}

async function generate(file, count) {
  const out = createWriteStream(file);
  let buf = '';
  for (let i = 0; i < count; i++) {
    buf += requestText(i);
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise((r) => out.once('drain', r));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise((r) => out.on('finish', r));
}

class FakeTTY extends Writable {
  constructor() {
    super({ decodeStrings: false });
    this.isTTY = true;
    this.columns = 120;
    this.rows = 40;
    this.waiters = [];
    this.history = [];
    this.writes = 0;
    this.last = '';
  }
  _write(chunk, _enc, cb) {
    const s = chunk.toString();
    this.writes++;
    this.last = s;
    const now = performance.now();
    this.history.push({ t: now, s });
    if (this.history.length > 64) this.history.shift();
    this.waiters = this.waiters.filter((w) => {
      if (w.pred(s)) {
        w.resolve(now);
        return false;
      }
      return true;
    });
    cb();
  }
  /** First write at or after `since` (performance.now()) matching pred: already written, or still to come. */
  waitFor(pred, timeoutMs = 10000, since = Infinity) {
    const seen = this.history.find((h) => h.t >= since && pred(h.s));
    if (seen) return Promise.resolve(seen.t);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        if (this.waiters.includes(w)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error('timeout'));
        }
      }, timeoutMs);
    });
  }
}

function fakeStdin() {
  const s = new PassThrough();
  s.isTTY = true;
  s.setRawMode = () => s;
  s.ref = () => s;
  s.unref = () => s;
  return s;
}

const pct = (xs, p) => {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))];
};
const fmt = (x) => `${x.toFixed(1)} ms`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function mount(store, stdout = new FakeTTY()) {
  const stdin = fakeStdin();
  const app = render(React.createElement(Root, { store, color: true }), { stdout, stdin, exitOnCtrlC: false, patchConsole: false, maxFps: 60 });
  return { stdout, stdin, app };
}

/** Press keys; each sample = key written -> first frame showing the expected list position. */
async function keyLatencies(store, stdout, stdin, keys, gapMs = 25) {
  const lat = [];
  for (const key of keys) {
    const before = store.cursor;
    const t0 = performance.now();
    stdin.write(key);
    // The handler runs when Ink reads stdin; the frame after it shows the new position.
    await new Promise((r) => setImmediate(r));
    const pos = store.cursor;
    if (pos === before && key !== 'e' && key !== 'E') {
      await sleep(gapMs);
      continue;
    }
    const want = `Requests ${pos + 1}/`;
    try {
      const t1 = await stdout.waitFor((s) => s.includes(want), 5000, t0);
      lat.push(t1 - t0);
    } catch {
      /* no visible change (e.g. E at the first finding) */
    }
    await sleep(gapMs + Math.random() * 10);
  }
  return lat;
}

const keysMix = () => {
  const k = [];
  for (let i = 0; i < 40; i++) k.push('j');
  for (let i = 0; i < 10; i++) k.push(' ');
  for (let i = 0; i < 10; i++) k.push('e');
  for (let i = 0; i < 5; i++) k.push('E');
  for (let i = 0; i < 10; i++) k.push('b');
  for (let i = 0; i < 20; i++) k.push('k');
  k.push('G', 'g', 'G', 'g');
  return k;
};

// ---- 1 + 2: big trace ------------------------------------------------------------------------------
const file = join(dir, 'xbd.log');
let t = performance.now();
await generate(file, N);
const size = statSync(file).size;
console.log(`generated ${N} requests, ${(size / 1048576).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const store = new TuiStore({});
const out0 = new FakeTTY();
const firstFrame = out0.waitFor((s) => s.includes('Requests'));
const firstRows = out0.waitFor((s) => /Requests \d+\/[1-9]/.test(s));
const t0 = performance.now();
const { stdout, stdin, app } = mount(store, out0);
const done = startAnalysis(store, [fileSource(file)], { maxFindingsPerRule: 100000 }, new AbortController().signal).then(() => performance.now());
const tFirst = (await firstFrame) - t0;
const tFirstRows = (await firstRows) - t0;
// Keys while indexing.
const during = await keyLatencies(store, stdout, stdin, keysMix().slice(0, 60), 25);
const tDone = (await done) - t0;
store.flush();
await sleep(100);
const rssAfter = process.memoryUsage().rss;
const after = await keyLatencies(store, stdout, stdin, [...keysMix(), ...keysMix()], 25);
app.unmount();
store.dispose();

console.log(`first frame: ${fmt(tFirst)} (first rows on screen ${fmt(tFirstRows)}); all ${store.requestCount} requests indexed in ${(tDone / 1000).toFixed(1)} s; RSS ${(rssAfter / 1048576).toFixed(0)} MB`);
console.log(`key->frame while indexing: n=${during.length} p50 ${fmt(pct(during, 50))} p95 ${fmt(pct(during, 95))} max ${fmt(Math.max(...during))}`);
console.log(`key->frame after indexing: n=${after.length} p50 ${fmt(pct(after, 50))} p95 ${fmt(pct(after, 95))} max ${fmt(Math.max(...after))}`);

// ---- 3: follow latency -------------------------------------------------------------------------------
{
  const live = join(dir, 'live.log');
  writeFileSync(live, requestText(0));
  const ac = new AbortController();
  const st = new TuiStore({ follow: true, live: true });
  const o = new FakeTTY();
  const ready = o.waitFor((s) => s.includes('Requests 1/1'));
  const m = mount(st, o);
  const run = startAnalysis(st, [followSource(live, { signal: ac.signal })], {}, ac.signal);
  await ready;
  const lat = [];
  for (let i = 1; i <= 30; i++) {
    await sleep(150 + Math.random() * 100);
    const want = `Requests ${i + 1}/${i + 1}`;
    const a0 = performance.now();
    appendFileSync(live, requestText(i));
    lat.push((await m.stdout.waitFor((s) => s.includes(want), 5000, a0)) - a0);
  }
  ac.abort();
  await run;
  m.app.unmount();
  st.dispose();
  console.log(`follow append->frame: n=${lat.length} p50 ${fmt(pct(lat, 50))} p95 ${fmt(pct(lat, 95))} max ${fmt(Math.max(...lat))}`);
}

// ---- 4: real binary in tmux -------------------------------------------------------------------------
if (useTmux) {
  const sock = `blkscope-bench-${process.pid}`;
  const tm = (...a) => execFileSync('tmux', ['-L', sock, '-f', '/dev/null', ...a], { encoding: 'utf8' });
  const placeholder = [];
  const rows = [];
  for (let k = 0; k < 5; k++) {
    const s0 = performance.now();
    let p = 0;
    tm('new-session', '-d', '-s', 'b', '-x', '120', '-y', '40', `node dist/src/cli/main.js tui ${file}; sleep 60`);
    for (;;) {
      const scr = tm('capture-pane', '-t', 'b', '-p');
      if (!p && /blkscope: opening|Requests/.test(scr)) p = performance.now() - s0;
      if (/Requests \d+\/[1-9]/.test(scr)) break;
      if (performance.now() - s0 > 20000) throw new Error('tmux: no frame');
    }
    rows.push(performance.now() - s0);
    placeholder.push(p);
    tm('kill-server');
  }
  console.log(`real binary in tmux (incl. Node start-up): placeholder p50 ${fmt(pct(placeholder, 50))}; Ink UI with rows p50 ${fmt(pct(rows, 50))} max ${fmt(Math.max(...rows))}`);
}
process.exit(0);
