// The Ink app rendered with ink-testing-library (fixed 100 columns) on the real seed-004 analysis.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import React from 'react';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render, cleanup } from 'ink-testing-library';
import { loadStore } from './helpers.js';
import type { TuiStore } from '../../tui/store.js';

// Colours on, so the NO_COLOR test has something to remove (chalk reads this when it loads).
vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});
let Root: typeof import('../../tui/app.js').Root;
beforeAll(async () => {
  ({ Root } = await import('../../tui/app.js'));
});

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

afterEach(() => cleanup());

async function mount(store: TuiStore, color = true) {
  const app = render(<Root store={store} color={color} />);
  await tick();
  const frame = () => {
    const f = app.lastFrame();
    if (!f) throw new Error('empty frame');
    return f;
  };
  const key = async (s: string) => {
    app.stdin.write(s);
    store.flush();
    await tick();
  };
  return { app, frame, text: () => strip(frame()), key };
}

describe('TUI components (100 columns)', () => {
  it('shows the list, the drawn segment map of the flagged request, findings and the status line', async () => {
    const store = await loadStore();
    const { text } = await mount(store);
    const t = text();
    const lines = t.split('\n');
    expect(lines.every((l) => l.length <= 100)).toBe(true);
    expect(t).toMatch(/Requests 1\/2/);
    expect(t).toMatch(/^E +0 dom2 +read +1-11 +5\.5K +11/m);
    expect(t).toMatch(/0x27f68 +!0 +!1 +!2 +■3 +■4 +■5 +■6 +■7 +segs 0-7 REPEATED ×8/);
    expect(t).toMatch(/0x27f67 +~8 +~9 +~10 +·/);
    expect(t).toMatch(/Findings 1\/3/);
    expect(t).toContain('seed-004-mail.txt netbsd-xbdback │ 2 req │ E3 W0 I0');
    // Below the terminal height (24 rows default): Ink never falls back to clearing the screen.
    expect(lines.length).toBeLessThan(24);
  });

  it('navigates, opens the detail pane, scrolls to the evidence and filters with a live preview', async () => {
    const store = await loadStore();
    const { text, key } = await mount(store);
    await key('j');
    expect(text()).toMatch(/Requests 2\/2/);
    expect(text()).toMatch(/0x226af +■0 +■0/);
    await key('k');
    await key('\r');
    expect(store.focus).toBe('detail');
    expect(text()).toMatch(/▶ Detail/);
    await key('G');
    expect(text()).toContain('xbdback_io domain 2: start request');
    await key('\t');
    expect(text()).toMatch(/▶ Findings/);
    await key('\\');
    await key('op:write');
    expect(text()).toMatch(/filter: op:write.*→ 1 requests/);
    await key('\r');
    expect(text()).toMatch(/Requests 1\/1 \(of 2, filtered\)/);
    expect(text()).toMatch(/filter: op:write \(1\)/);
  });

  it('shows the help overlay generated from the keymap', async () => {
    const store = await loadStore();
    const { text, key } = await mount(store);
    await key('?');
    expect(text()).toContain('blkscope keys');
    expect(text()).toMatch(/e\s+next flagged request/);
    expect(text()).toMatch(/F\s+follow new requests on\/off/);
    await key('x');
    expect(text()).toMatch(/Requests 1\/2/);
  });

  it('follows NO_COLOR: same text, no colour codes', async () => {
    const store = await loadStore();
    const coloured = await mount(store, true);
    const withColor = coloured.frame();
    cleanup();
    const plain = await mount(store, false);
    const noColor = plain.frame();
    expect(withColor).toMatch(/\x1b\[3[0-9]m/);
    expect(noColor).not.toMatch(/\x1b\[3[0-9]m/);
    const trimmed = (s: string) => strip(s).split('\n').map((l) => l.trimEnd()).join('\n');
    expect(trimmed(noColor)).toBe(trimmed(withColor));
  });

  it('neutralises control characters from the input (file name and evidence)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-tui-'));
    const evil = join(dir, 'evil\x1b[2Jname\x07.txt');
    const text = readFileSync('samples/xen/seed-004-mail.txt', 'utf8').replace('> xbdback op 0', '> \x1b]0;pwned\x07xbdback op 0');
    writeFileSync(evil, text);
    copyFileSync(evil, evil); // same file, exercised through a real path
    const store = await loadStore([evil]);
    const { frame, key } = await mount(store);
    await key('\r');
    await key('G');
    const f = frame();
    expect(f).not.toContain('\x1b[2J');
    expect(f).not.toContain('\x07');
    expect(f).not.toContain('\x1b]0;');
    expect(strip(f)).toContain('evil\\x1b[2Jname\\x07.txt');
  });
});
