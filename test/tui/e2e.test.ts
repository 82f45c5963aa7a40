// End to end: the real binary in tmux on the seed-004 sample. Opens, navigates to the flagged request,
// shows its segment map with the repeated frame marked, filters, searches, resizes, quits with the
// terminal restored (alternate screen off, shell output visible).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, MAIN, requireTmux, Tmux } from './tmux.js';
import { xbdLog } from './gen.js';

const SAMPLE = 'samples/xen/seed-004-mail.txt';
let t: Tmux | undefined;

beforeAll(() => {
  requireTmux();
  ensureBuilt();
});
afterEach(() => {
  t?.kill();
  t = undefined;
});

describe('blkscope TUI in tmux (80×24)', () => {
  it('opens, navigates, shows the segment map, filters, searches and quits cleanly', async () => {
    t = new Tmux();
    t.start(`node ${MAIN} ${SAMPLE}`);
    let s = await t.waitFor((x) => x.includes('Requests 1/2') && x.includes('E3 W0 I0'), 'the first frame');
    expect(t.alternateOn()).toBe(true);
    expect(s).toMatch(/^E +0 dom2 +read +1-11 /m);

    // To the bottom, then back to the flagged request with E (previous finding).
    t.keys('G');
    await t.waitFor((x) => x.includes('Requests 2/2'), 'G');
    t.keys('E');
    await t.waitFor((x) => x.includes('Requests 1/2'), 'E to the flagged request');
    t.keys('Enter');
    s = await t.waitFor((x) => x.includes('▶ Detail'), 'Enter opens the detail pane');
    expect(s).toMatch(/0x27f68 +!0 +!1 +!2 +■3 +■4 +■5 +■6 +■7 +segs 0-7 REPEATED ×8/);
    expect(s).toMatch(/0x27f67 +~8 +~9 +~10 +· /);
    expect(s).toContain('disk sectors 9-11 land in frame 0x27f68 sectors 0-2 instead of frame 0x27f67');
    // The repeated frame is drawn in one colour (yellow) and misdirected cells in red.
    const coloured = t.screen(true).split('\n').find((l) => l.includes('0x27f68'))!;
    expect(coloured).toMatch(/\x1b\[[0-9;]*33m[^\n]*0x27f68/);
    expect(coloured).toMatch(/\x1b\[[0-9;]*31m[^\n]*!0/);
    // Scroll the detail pane to the original evidence lines.
    t.keys('G');
    await t.waitFor((x) => x.includes('xbdback_io domain 2: start request'), 'evidence at the end of the detail pane');

    // Filter with a live preview count.
    t.keys('Tab', 'Tab');
    await t.waitFor((x) => x.includes('▶ Requests'), 'focus back on the list');
    t.keys('\\');
    t.type('op:write');
    await t.waitFor((x) => /filter: op:write.*→ 1 requests/.test(x), 'filter preview');
    t.keys('Enter');
    s = await t.waitFor((x) => x.includes('Requests 1/1 (of 2, filtered)'), 'filter applied');
    expect(s).toMatch(/filter: op:write \(1 requests\)/);
    // Clear it again.
    t.keys(':');
    await t.waitFor((x) => x.includes('filter: op:write▏'), 'filter prompt with the current filter');
    for (let i = 0; i < 8; i++) t.keys('BSpace');
    await t.waitFor((x) => x.includes('→ 2 requests'), 'empty filter preview');
    t.keys('Enter');
    // The selected request (the write) stays selected.
    await t.waitFor((x) => x.includes('Requests 2/2') && x.includes('filter cleared'), 'filter cleared');

    // Search for a frame of the write request from the top.
    t.keys('g');
    await t.waitFor((x) => x.includes('Requests 1/2'), 'g');
    t.keys('/');
    t.type('0x226ac');
    t.keys('Enter');
    s = await t.waitFor((x) => x.includes('Requests 2/2'), 'search hit');
    expect(s).toMatch(/0x226ac +■1/);

    // Resize: the layout adapts (wider list gets the state column, taller panes).
    t.tmux('resize-window', '-t', 't', '-x', '120', '-y', '40');
    s = await t.waitFor((x) => /latency +state/.test(x), 'wider layout after resize');
    expect(s.split('\n').filter((l) => l.length > 0).length).toBeGreaterThan(24);

    // Help overlay from the keymap, then quit.
    t.keys('?');
    await t.waitFor((x) => x.includes('blkscope keys'), 'help overlay');
    t.keys('x');
    await t.waitFor((x) => x.includes('Requests 2/2'), 'help closed');
    t.keys('q');
    s = await t.waitFor((x) => x.includes('EXIT=0'), 'exit');
    expect(t.alternateOn()).toBe(false);
    expect(s).not.toContain('Requests');
  });

  it('restores the terminal on Ctrl-C', async () => {
    t = new Tmux();
    t.start(`node ${MAIN} tui ${SAMPLE}`);
    await t.waitFor((x) => x.includes('Requests 1/2'), 'the first frame');
    t.keys('C-c');
    const s = await t.waitFor((x) => /EXIT=\d+/.test(x), 'exit after Ctrl-C');
    expect(t.alternateOn()).toBe(false);
    expect(s).not.toContain('Requests');
  });

  it('prints the analyze summary when stdout is not a terminal', async () => {
    t = new Tmux();
    t.start(`node ${MAIN} ${SAMPLE} | head -5`);
    const s = await t.waitFor((x) => x.includes('EXIT='), 'exit');
    expect(s).toContain('blkscope 0.1.0: analysis summary');
    expect(s).not.toContain('Requests 1/2');
  });
});

describe('blkscope --follow in tmux', () => {
  it('shows appended requests and findings live; the view stays put unless following', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-e2e-'));
    try {
      const log = join(dir, 'live.log');
      writeFileSync(log, xbdLog(20, 2, { repeatEvery: 0 }).text);
      t = new Tmux();
      t.start(`node ${MAIN} --follow ${log}`);
      let s = await t.waitFor((x) => x.includes('Requests 2/2') && x.includes('FOLLOW'), 'first frame, following');
      expect(s).toContain('E0 W0 I0');
      // Request 23 names one frame twice: a repeated-frame finding.
      appendFileSync(log, xbdLog(22, 3).text);
      s = await t.waitFor((x) => x.includes('Requests 5/5') && x.includes('E1 W1'), 'appended requests and findings', 3000);
      expect(s).toMatch(/repeated-frame/);
      // Leave the bottom: the cursor stays where the user is while more arrives.
      t.keys('g');
      await t.waitFor((x) => x.includes('Requests 1/5') && !x.includes('FOLLOW'), 'g stops following');
      appendFileSync(log, xbdLog(25, 10).text);
      s = await t.waitFor((x) => x.includes('Requests 1/15'), 'more requests, view kept', 3000);
      expect(s).toContain('E2 W2');
      // F follows again: to the newest request.
      t.keys('F');
      await t.waitFor((x) => x.includes('Requests 15/15') && x.includes('FOLLOW'), 'F follows');
      t.keys('q');
      await t.waitFor((x) => x.includes('EXIT=0'), 'exit');
      expect(t.alternateOn()).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
