// Every ftrace / trace-cmd report capture in ../shared/realtraces parses fully, one request per
// block_rq_issue; the same events in other text shapes (perf script, no latency flags, mail quoting,
// CRLF) rebuild the same requests; hostile input is reported line by line and the rest still analysed.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeFiles, analyzeText, shape } from '../helpers.js';

const REAL = '../shared/realtraces';
function realFiles(): string[] {
  const out: string[] = [];
  if (!existsSync(REAL)) return out;
  for (const d of readdirSync(REAL, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    for (const f of readdirSync(join(REAL, d.name))) {
      if (f === 'guest-ftrace-block.txt' || f === 'guest-trace.dat.report.txt' || /^ftrace-block-.*\.txt$/.test(f)) {
        if (!f.includes('formats')) out.push(join(REAL, d.name, f));
      }
    }
  }
  return out.sort();
}

const FILES = realFiles();
const count = (text: string, needle: string) => text.split('\n').filter((l) => l.includes(needle)).length;

describe('real ftrace captures', () => {
  it('finds the captures', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(5);
  });
  for (const file of FILES) {
    it(file, async () => {
      const text = readFileSync(file, 'utf8');
      const r = await analyzeFiles([file]);
      expect(r.errors).toEqual([]);
      expect(r.inputs[0]!.format).toBe('ftrace-block');
      expect(r.inputs[0]!.skipped).toBe(0);
      expect(r.requests).toHaveLength(count(text, ' block_rq_issue:'));
      // Every issued request completes in these runs (clean shutdown).
      expect(r.requests.filter((q) => q.state !== 'completed')).toEqual([]);
      expect(r.model.stats.orphans).toBe(0);
      // Markers: one per trace_marker line.
      expect(r.model.stats.diagnostics.marker ?? 0).toBe(count(text, 'tracing_mark_write:'));
    });
  }
  it('tracefs trace and trace-cmd report of the same run rebuild the same requests', async () => {
    const dir = join(REAL, 'run1-qcow2-none');
    const a = await analyzeFiles([join(dir, 'guest-ftrace-block.txt')]);
    const b = await analyzeFiles([join(dir, 'guest-trace.dat.report.txt')]);
    expect(shape(b.requests)).toEqual(shape(a.requests));
  });
});

/** run1's phase 6 excerpt, reshaped into the other text layouts the tools print. */
const SAMPLE = readFileSync('samples/ftrace/run1-phase6-dsync-flush.trace.txt', 'utf8');
const HEAD = /^(\s*)(.*?)-(\d+)\s+\[(\d+)\]\s+(\S{4,5})\s+(\d+\.\d+): (\w+): (.*)$/;
function reshape(fn: (m: RegExpExecArray) => string): string {
  return SAMPLE.split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => {
      const m = HEAD.exec(l);
      return m ? fn(m) : l;
    })
    .join('\n');
}

describe('other text shapes give the same requests', () => {
  it('perf script, trace_pipe without irq-info, mail quoting, CRLF', async () => {
    const base = await analyzeText(SAMPLE, {}, 'trace.txt');
    expect(base.requests.length).toBe(count(SAMPLE, ' block_rq_issue:'));
    const variants: Record<string, string> = {
      perf: reshape((m) => `${m[2]!.padStart(16)} ${m[3]!.padStart(5)} [${m[4]}] ${m[6]}: ${m[7] === 'tracing_mark_write' ? 'ftrace:print' : 'block:' + m[7]}: ${m[7] === 'tracing_mark_write' ? 'tracing_mark_write: ' : ''}${m[8]}`),
      noflags: reshape((m) => `${m[1]}${m[2]}-${m[3]} [${m[4]}] ${m[6]}: ${m[7]}: ${m[8]}`),
      tgid: reshape((m) => `${m[1]}${m[2]}-${m[3]} (${m[3]!.padStart(7)}) [${m[4]}] ${m[5]} ${m[6]}: ${m[7]}: ${m[8]}`),
      quoted: SAMPLE.split('\n').map((l) => '> ' + l).join('\n'),
      crlf: SAMPLE.split('\n').join('\r\n'),
      // A mail client wrapping at 78 columns (the router rejoins the pieces).
      wrapped: SAMPLE.split('\n')
        .map((l) => (l.length > 78 && !l.startsWith('#') ? l.slice(0, 78).replace(/ +$/, '') + '\n' + l.slice(78).replace(/^ +/, '') : l))
        .join('\n'),
    };
    for (const [name, text] of Object.entries(variants)) {
      const r = await analyzeText(text, {}, `${name}.txt`);
      expect(r.inputs[0]!.format, name).toBe('ftrace-block');
      expect(r.inputs[0]!.skipped, name).toBe(0);
      expect(shape(r.requests), name).toEqual(shape(base.requests));
      expect(r.model.stats.diagnostics.marker ?? 0, name).toBe(count(SAMPLE, 'tracing_mark_write'));
    }
  });
});

describe('hostile input', () => {
  it('garbled and truncated lines are skipped with their line numbers; the rest is analysed', async () => {
    const lines = SAMPLE.split('\n');
    // Line 20 (1-based) garbled, line 30 cut in the middle of its body.
    const idx20 = 19;
    const idx30 = 29;
    expect(lines[idx20]).toMatch(/block_/);
    expect(lines[idx30]).toMatch(/block_/);
    lines[idx20] = lines[idx20]!.replace(/\d+ \+ \d+/, 'XX + YY');
    lines[idx30] = lines[idx30]!.slice(0, lines[idx30]!.indexOf(': block_') + 12);
    const r = await analyzeText(lines.join('\n'), {}, 'bad.txt');
    expect(r.errors).toEqual([]);
    expect(r.inputs[0]!.skipped).toBe(2);
    expect(r.inputs[0]!.skippedSamples.map((s) => s.evidence.line)).toEqual([20, 30]);
    expect(r.requests.length).toBeGreaterThan(10);
  });
  it('a file cut in the middle of a line keeps everything before it', async () => {
    const cut = SAMPLE.slice(0, SAMPLE.indexOf('block_rq_complete: 254,0 WS () 32784 + 8') + 30);
    const r = await analyzeText(cut, {}, 'cut.txt');
    expect(r.errors).toEqual([]);
    expect(r.inputs[0]!.skipped).toBe(1);
    expect(r.requests.length).toBe(count(cut, ' block_rq_issue:'));
  });
  it('huge lines, NUL bytes and escape sequences neither throw nor get modelled', async () => {
    const evil = [
      SAMPLE.split('\n').slice(0, 30).join('\n'),
      'dd-1 [000] ..... 1.0: block_bio_queue: 254,0 W 0 + 8 [' + 'A'.repeat(300000) + ']',
      '\u0000\u0000\u0000 binary \u00ff\u00fe',
      'evil-1 [000] ..... 1.0: tracing_mark_write: \u001b]0;pwned\u0007\u001b[2J',
      'dd-1 [000] ..... 1.0: block_rq_issue: 254,0 W 4096 () 18446744073709551616 + 8 [dd]',
      'dd-1 [000] ..... 1.0: block_rq_issue: 99999,0 W 4096 () 1 + 8 [dd]',
    ].join('\n');
    const r = await analyzeText(evil, {}, 'evil.txt');
    expect(r.errors).toEqual([]);
    expect(r.inputs[0]!.format).toBe('ftrace-block');
    expect(r.inputs[0]!.skipped).toBe(3);
    expect(r.inputs[0]!.skippedSamples.map((s) => s.evidence.line)).toEqual([31, 34, 35]);
    expect(r.inputs[0]!.skippedSamples.map((s) => s.reason)).toEqual([
      'line too long for an ftrace record',
      'sector does not fit in 64 bits',
      'device number out of range',
    ]);
    expect(r.requests.length).toBe(count(evil.split('\n').slice(0, 30).join('\n'), ' block_rq_issue:'));
  });
  it('an overwritten ring buffer (entries-written > entries-in-buffer) and LOST EVENTS lines are reported', async () => {
    const text = SAMPLE.replace('entries-in-buffer/entries-written: 18871/18871', 'entries-in-buffer/entries-written: 18871/20000').replace(
      /\n(\s+init-1 .*PHASE 13)/,
      '\nCPU:0 [LOST 17 EVENTS]\n$1',
    );
    expect(text).toContain('CPU:0 [LOST 17 EVENTS]');
    const events: { code: string; message: string }[] = [];
    const { analyze } = await import('../../src/analyze.js');
    const { bufferSource } = await import('../../src/input/sources.js');
    await analyze([bufferSource('lost.txt', text)], { options: {}, sink: { event: (e) => e.kind === 'diag' && events.push({ code: e.code, message: e.message }) } });
    const lost = events.filter((e) => e.code === 'lost-events');
    expect(lost).toHaveLength(2);
    expect(lost[0]!.message).toContain('1129 oldest events');
    expect(lost[1]!.message).toContain('17 events lost');
  });
  it('an empty file and a header-only file give no requests and no crash', async () => {
    const r = await analyzeText(SAMPLE.split('\n').slice(0, 12).join('\n'), {}, 'hdr.txt');
    expect(r.requests).toEqual([]);
  });
});
