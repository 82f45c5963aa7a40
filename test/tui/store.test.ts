// The TUI store fed by the real pipeline on the seed-004 sample: rows, findings, filter, search, e/E, follow.
import { describe, expect, it } from 'vitest';
import { TuiStore } from '../../tui/store.js';
import { loadStore } from './helpers.js';
import { parseFilter } from '../../tui/filter.js';
import { detailLines, lineText, segmapLines } from '../../tui/format.js';
import { buildSegmentMap } from '../../src/model/segmap.js';
import { dispatchKey, helpLines, KEYMAP } from '../../tui/keymap.js';
import type { Key } from 'ink';

import { SAMPLE } from './helpers.js';

const noKey: Key = {
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false,
};
const press = (s: TuiStore, input: string, key: Partial<Key> = {}) => dispatchKey(s, input, { ...noKey, ...key });

describe('TuiStore on seed-004', () => {
  it('lists both requests and links the findings to the flagged read', async () => {
    const s = await loadStore();
    expect(s.requestCount).toBe(2);
    const r0 = s.rowData(0);
    expect(r0.op).toBe('read');
    expect(r0.nseg).toBe(11);
    expect(r0.bytes).toBe(5632);
    expect(r0.sev).toBe(3);
    expect(s.rowData(1).sev).toBe(0);
    expect(s.flaggedRows).toEqual([0]);
    expect(s.findingsOf(0).map((f) => f.rule)).toContain('repeated-frame');
    expect(s.findings.every((f, i) => s.findingRow[i] === 0)).toBe(true);
  });

  it('draws the segment map with the repeated frame, misdirected and never-transferred sectors', async () => {
    const s = await loadStore();
    const map = buildSegmentMap(s.request(0)!);
    const lines = segmapLines(map).map(lineText);
    const f68 = lines.find((l) => l.includes('0x27f68'))!;
    const f67 = lines.find((l) => l.includes('0x27f67'))!;
    expect(f68).toMatch(/REPEATED ×8/);
    // Sectors 0-2 of 0x27f68 receive disk sectors meant for 0x27f67 (window model); 3-7 are plain segments.
    expect(f68).toMatch(/!0 +!1 +!2 +■3 +■4/);
    expect(f67).toMatch(/~8 +~9 +~10 +· +·/);
    const all = detailLines(s, 0).map(lineText).join('\n');
    expect(all).toContain('frame 0x27f67 sectors 0-2 never transferred');
    expect(all).toContain('xbdback_io domain 2: frame_and_sects[7]=0x27f6803f');
  });

  it('filters by op, rule, severity and sector range, with a preview count', async () => {
    const s = await loadStore();
    const count = (t: string) => {
      const p = parseFilter(t);
      if (!p.ok) throw new Error(p.error);
      return s.countMatches(p.spec);
    };
    expect(count('op:write')).toBe(1);
    expect(count('read')).toBe(1);
    expect(count('rule:repeated')).toBe(1);
    expect(count('sev:error')).toBe(1);
    expect(count('sector:524304-524310')).toBe(1);
    expect(count('sector:1+3 op:write')).toBe(0);
    expect(parseFilter('bogus:1').ok).toBe(false);
    press(s, '\\');
    expect(s.mode).toBe('filter');
    for (const ch of 'op:write') press(s, ch);
    expect(s.previewCount).toBe(1);
    press(s, '', { return: true });
    expect(s.viewLength()).toBe(1);
    expect(s.rowData(s.selectedRow()).op).toBe('write');
    // e jumps to the flagged read: hidden by the filter, so nothing later in view.
    expect(s.nextFinding(1)).toBe(false);
    press(s, ':');
    for (let i = 0; i < 8; i++) press(s, '', { backspace: true });
    press(s, '', { return: true });
    expect(s.filter).toBeNull();
    expect(s.viewLength()).toBe(2);
  });

  it('searches with / n N and jumps between findings with e/E', async () => {
    const s = await loadStore();
    press(s, 'G');
    expect(s.cursor).toBe(1);
    press(s, 'E');
    expect(s.selectedRow()).toBe(0);
    press(s, 'e');
    expect(s.message).toBe('no later finding');
    press(s, '/');
    for (const ch of '0x226ac') press(s, ch);
    press(s, '', { return: true });
    expect(s.selectedRow()).toBe(1);
    press(s, 'n');
    expect(s.selectedRow()).toBe(1);
    press(s, '/');
    for (const ch of 'sg-hole') press(s, ch);
    press(s, '', { return: true });
    expect(s.selectedRow()).toBe(0);
  });

  it('opens a finding from the findings pane and keeps the help overlay in step with the keymap', async () => {
    const s = await loadStore();
    press(s, 'G');
    press(s, '', { tab: true });
    press(s, '', { tab: true });
    expect(s.focus).toBe('findings');
    press(s, '', { return: true });
    expect(s.selectedRow()).toBe(0);
    expect(s.focus).toBe('detail');
    press(s, '', { tab: true, shift: true });
    expect(s.focus).toBe('list');
    const help = helpLines();
    expect(help).toHaveLength(KEYMAP.length);
    for (const b of KEYMAP) for (const k of b.keys) expect(help.join('\n')).toContain(k.label);
    press(s, '?');
    expect(s.mode).toBe('help');
    press(s, 'x');
    expect(s.mode).toBe('normal');
    press(s, 'q');
    expect(s.quitRequested).toBe(true);
  });

  it('keeps the cursor where the user is unless following', async () => {
    const s = await loadStore([SAMPLE, SAMPLE], { live: true });
    expect(s.requestCount).toBe(4);
    expect(s.cursor).toBe(0);
    press(s, 'F');
    expect(s.follow).toBe(true);
    expect(s.cursor).toBe(3);
    press(s, 'k');
    expect(s.follow).toBe(false);
    press(s, 'j');
    expect(s.follow).toBe(true);
  });

  it('pages with Space/b and Ctrl-d/u, and keeps full details only for flagged and recent requests', async () => {
    const files = Array.from({ length: 12 }, () => SAMPLE);
    const s = await loadStore(files, { keepDetails: 3 });
    expect(s.requestCount).toBe(24);
    s.listHeight = 6;
    press(s, ' ');
    expect(s.cursor).toBe(6);
    press(s, 'd', { ctrl: true });
    expect(s.cursor).toBe(9);
    press(s, 'u', { ctrl: true });
    expect(s.cursor).toBe(6);
    press(s, 'b');
    expect(s.cursor).toBe(0);
    press(s, '', { pageDown: true });
    expect(s.cursor).toBe(6);
    // Even rows are the flagged reads (kept); old clean writes were dropped, the newest ones kept.
    expect(s.request(0)).toBeDefined();
    expect(s.request(1)).toBeUndefined();
    expect(s.request(23)).toBeDefined();
    expect(detailLines(s, 1).map(lineText).join('\n')).toContain('details not kept');
    expect(s.rowData(1).op).toBe('write');
  });
});
