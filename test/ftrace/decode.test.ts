// Decoding of ftrace block tracepoint lines (pure text -> BlkEvent), on lines copied from the real
// captures in ../shared/realtraces and on the documented shapes of older/newer kernels and other tools.
import { describe, expect, it } from 'vitest';
import { decodeLine, ftraceBlock, parseHead, U64_MAX_SECTOR } from '../../parsers/ftrace-block.js';
import { normalizeLine } from '../../src/input/normalize.js';
import { isFlushSector } from '../../parsers/linux-block/events.js';

function block(line: string) {
  const d = decodeLine(normalizeLine(line), { file: 't', line: 1 });
  if (!d || d.kind !== 'block') throw new Error(`not a block event: ${JSON.stringify(d)}`);
  return d.ev;
}

describe('ftrace-block samples', () => {
  it('every sample decodes through match() with its pattern and fields (also after normalisation)', () => {
    for (const s of ftraceBlock.samples) {
      for (const line of [s.line, normalizeLine(s.line)]) {
        const m = ftraceBlock.match!(line);
        expect(m, s.line).not.toBeNull();
        expect(m, s.line).not.toBe('malformed');
        if (!m || m === 'malformed') continue;
        expect(m.pattern, s.line).toBe(s.pattern);
        for (const [k, v] of Object.entries(s.fields ?? {})) expect(m.groups[k], `${s.line} ${k}`).toBe(String(v));
      }
    }
  });
});

describe('tracefs trace (Linux 6.1, run1)', () => {
  it('decodes block_rq_issue', () => {
    const ev = block('    kworker/0:1H-37      [000] .....    10.027510: block_rq_issue: 254,0 WS 4096 () 32768 + 8 [kworker/0:1H]');
    expect(ev).toMatchObject({ action: 'D', dev: '254,0', rwbs: 'WS', sector: 32768, sectors: 8, bytes: 4096, comm: 'kworker/0:1H', pid: 37, cpu: 0, time: 10.02751 });
  });
  it('decodes an IRQ completion by <idle>', () => {
    const ev = block('          <idle>-0       [000] d.H2.     5.907618: block_rq_complete: 254,0 R () 8 + 8 [0]');
    expect(ev).toMatchObject({ action: 'C', sector: 8, sectors: 8, error: 0, pid: 0 });
  });
  it('flush quirk: sector (u64)-1 is "no position", not a huge sector', () => {
    const ev = block(`          <idle>-0       [000] d.h2.    10.029231: block_rq_complete: 254,0 FF () ${U64_MAX_SECTOR} + 0 [0]`);
    expect(isFlushSector(ev.sector)).toBe(true);
    expect(ev.rwbs).toBe('FF');
    expect(ev.pc).toBeUndefined();
    const issue = block('    kworker/0:1H-37      [000] .....    10.028495: block_rq_issue: 254,0 FF 0 () 0 + 0 [kworker/0:1H]');
    expect(issue).toMatchObject({ action: 'D', sector: 0, sectors: 0, bytes: 0 });
    expect(isFlushSector(issue.sector)).toBe(false);
  });
  it('GET_ID (driver-private, rwbs N, 20 bytes)', () => {
    const ev = block('             cat-153     [000] .....    10.490303: block_rq_issue: 254,0 N 20 () 0 + 0 [cat]');
    expect(ev).toMatchObject({ action: 'D', rwbs: 'N', bytes: 20, sectors: 0, pc: true });
    expect(block(`<idle>-0 [000] d.h2. 10.490644: block_rq_complete: 254,0 N () ${U64_MAX_SECTOR} + 0 [0]`).pc).toBe(true);
  });
  it('bio events, merges, plug and unplug', () => {
    expect(block('              dd-137     [000] .....    10.026720: block_bio_queue: 254,0 WFS 32768 + 8 [dd]')).toMatchObject({ action: 'Q', rwbs: 'WFS', sector: 32768, sectors: 8, comm: 'dd' });
    expect(block('              dd-137     [000] .....    10.026797: block_getrq: 254,0 WFS 32768 + 8 [dd]').action).toBe('G');
    expect(block('          insmod-106     [000] ...1.     5.900054: block_rq_insert: 254,0 R 4096 () 0 + 8 [insmod]').action).toBe('I');
    expect(block(' kworker/u2:1-24 [000] ..... 9.1: block_bio_backmerge: 254,0 W 4104 + 8 [kworker/u2:1]')).toMatchObject({ action: 'M', sector: 4104 });
    expect(block(' dd-1 [000] ..... 9.1: block_bio_frontmerge: 254,0 W 4096 + 8 [dd]').action).toBe('F');
    expect(block('              dd-119     [000] .....     9.534037: block_plug: [dd]')).toMatchObject({ action: 'P', comm: 'dd' });
    expect(block('              dd-119     [000] .....     9.534267: block_unplug: [dd] 1')).toMatchObject({ action: 'U', depth: 1 });
  });
  it('split, remaps, requeue with an error', () => {
    expect(block(' dd-1 [001] .... 1.5: block_split: 8,0 W 2048 / 2560 [dd]')).toMatchObject({ action: 'X', sector: 2048, newSector: 2560 });
    expect(block(' dd-1 [001] .... 1.5: block_bio_remap: 8,1 W 4096 + 8 <- (8,0) 2048')).toMatchObject({ action: 'A', dev: '8,1', fromDev: '8,0', newSector: 2048 });
    expect(block(' dd-1 [001] .... 1.5: block_rq_remap: 253,0 W 4096 + 8 <- (8,0) 2048 1')).toMatchObject({ action: 'A', newSector: 2048 });
    expect(block(' kworker-9 [001] .... 1.5: block_rq_requeue: 8,0 W () 10 + 8 [0]')).toMatchObject({ action: 'R', sector: 10 });
    expect(block(' <idle>-0 [001] d.h. 1.5: block_rq_complete: 8,0 W () 10 + 8 [-5]').error).toBe(-5);
  });
  it('counts buffer-head, bio_complete and rq_merge events without modelling them', () => {
    for (const l of [
      '              dd-140   [000]    10.106784: block_dirty_buffer:   254,0 sector=5120 size=4096',
      ' ext2-1 [000] ..... 10.1: block_touch_buffer: 254,16 sector=9 size=1024',
      ' dd-1 [000] ..... 1.1: block_bio_complete: 8,0 W 10 + 8 [0]',
      ' dd-1 [000] ..... 1.1: block_rq_merge: 8,0 W 4096 () 10 + 8 [dd]',
    ]) {
      const d = decodeLine(normalizeLine(l));
      expect(d?.kind, l).toBe('count');
    }
  });
  it('trace_marker lines become markers (tracefs and trace-cmd print)', () => {
    const a = decodeLine(normalizeLine('            init-1       [000] .....     9.464580: tracing_mark_write: PHASE 1: O_DIRECT write 512B x8 at sector 2048'));
    expect(a).toMatchObject({ kind: 'marker', text: 'PHASE 1: O_DIRECT write 512B x8 at sector 2048' });
    const b = decodeLine(normalizeLine('            init-1     [000]     9.464777: print:                tracing_mark_write: PHASE 1: O_DIRECT write 512B x8 at sector 2048'));
    expect(b).toMatchObject({ kind: 'marker', text: 'PHASE 1: O_DIRECT write 512B x8 at sector 2048' });
  });
});

describe('other shapes', () => {
  it('trace-cmd report: padded event name, no latency flags, preamble', () => {
    const ev = block('    kworker/0:1H-37    [000]     5.902197: block_rq_issue:       254,0 R 4096 () 0 + 8 [kworker/0:1H]');
    expect(ev).toMatchObject({ action: 'D', sector: 0, sectors: 8, bytes: 4096 });
    expect(decodeLine('cpus=1')).toEqual({ kind: 'header' });
    expect(decodeLine('CPU 1 is empty')).toEqual({ kind: 'header' });
  });
  it('trace-cmd report -l (latency flags) and record-tgid', () => {
    expect(block(' kworker/0:1H-37 [000] d..2. 5.902197: block_rq_issue: 254,0 R 4096 () 0 + 8 [kworker/0:1H]').sector).toBe(0);
    expect(block(' dd-137 (    137) [000] ..... 10.026720: block_bio_queue: 254,0 W 0 + 8 [dd]').pid).toBe(137);
    expect(block(' dd-137 (-------) [000] ..... 10.026720: block_bio_queue: 254,0 W 0 + 8 [dd]').pid).toBe(137);
  });
  it('older kernels: 4 latency columns', () => {
    expect(block('  dd-2345  [001] d...  1234.567890: block_rq_complete: 8,0 W () 2048 + 8 [0]')).toMatchObject({ action: 'C', dev: '8,0', cpu: 1 });
  });
  it('Linux 6.10+ ioprio triple before the bracket', () => {
    expect(block(' dd-1 [000] ..... 1.0: block_rq_issue: 8,0 W 4096 () 10 + 8 be,0,4 [dd]')).toMatchObject({ action: 'D', comm: 'dd' });
    expect(block(' <idle>-0 [000] d.h1. 1.0: block_rq_complete: 8,0 W () 10 + 8 none,0,0 [0]')).toMatchObject({ action: 'C', error: 0 });
  });
  it('comm with spaces and dashes', () => {
    const h = parseHead('Web Content-12-4711 [003] ..... 55.000001: block_bio_queue: 8,0 R 8 + 8 [Web Content-12]');
    expect(h).toMatchObject({ comm: 'Web Content-12', pid: 4711, cpu: 3 });
  });
  it('perf script', () => {
    const ev = block('         swapper     0 [006] 205791.409875: block:block_rq_complete: 8,16 RM () 390439208 + 8 [0]');
    expect(ev).toMatchObject({ action: 'C', dev: '8,16', rwbs: 'RM', sector: 390439208, cpu: 6, pid: 0 });
    expect(block('  dd 1234/1235 [001]  12.345678: 1 block:block_rq_issue: 8,0 W 4096 () 10 + 8 [dd]').pid).toBe(1235);
  });
  it('lost events', () => {
    expect(decodeLine('CPU:1 [LOST 2314 EVENTS]')).toEqual({ kind: 'lost', cpu: 1, count: 2314 });
  });
});

describe('hostile input', () => {
  it('a block event with a broken body is malformed, not ignored', () => {
    expect(decodeLine('dd-1 [000] ..... 1.0: block_rq_issue: 254,0 WS 4096 () zero + 8 [dd]')).toMatchObject({ kind: 'malformed' });
    expect(decodeLine('dd-1 [000] ..... 1.0: block_rq_complete: 254,0 WS () 0 + 8')).toMatchObject({ kind: 'malformed' });
  });
  it('truncated record head is malformed', () => {
    expect(decodeLine('kworker/0:1H-37 [000] ..... 10.03: block_rq_iss')).toMatchObject({ kind: 'malformed' });
  });
  it('absurd numbers are rejected with a reason', () => {
    expect(decodeLine('dd-1 [000] ..... 1.0: block_rq_issue: 254,0 W 4096 () 99999999999999999999999 + 8 [dd]')).toMatchObject({ kind: 'malformed', reason: 'sector does not fit in 64 bits' });
    expect(decodeLine('dd-1 [000] ..... 1.0: block_rq_issue: 254,0 W 4096 () 18446744073709551614 + 8 [dd]')).toMatchObject({ kind: 'malformed' });
    expect(decodeLine('dd-1 [000] ..... 1.0: block_rq_issue: 254,0 W 4096 () 8 + 99999999999 [dd]')).toMatchObject({ kind: 'malformed' });
    expect(decodeLine('dd-1 [000] ..... 1.0: block_rq_issue: 254,0 W 99999999999 () 8 + 8 [dd]')).toMatchObject({ kind: 'malformed' });
  });
  it('huge lines and binary garbage do not throw', () => {
    expect(() => decodeLine('dd-1 [000] ..... 1.0: block_bio_queue: ' + 'x'.repeat(100000))).not.toThrow();
    expect(decodeLine('\u0000\u0001\u00ff'.repeat(1000))).toBeNull();
    expect(decodeLine('-'.repeat(50000) + '1 [')).toBeNull();
    expect(ftraceBlock.detect(['', '\u0000garbage', '# tracer: nop'])).toBe(0);
    // Long runs the head patterns could backtrack over (their comm part is bounded).
    expect(decodeLine('x' + ' '.repeat(8000) + '1 [')).toBeNull();
    expect(decodeLine('a' + '\t'.repeat(8000) + '-1 [0]')).toBeNull();
    expect(decodeLine('-1 '.repeat(2700) + '[')).toBeNull();
  });
  it('non-block events are accepted but not modelled', () => {
    expect(decodeLine('bash-1 [000] d..2. 1.0: sched_switch: prev_comm=bash prev_pid=1')).toMatchObject({ kind: 'other', event: 'sched_switch' });
  });
  it('does not claim unrelated text', () => {
    expect(ftraceBlock.detect(['254,0    0        1     0.000000000   116  Q  RS 260000 + 1 [dd]', 'hello world'])).toBe(0);
    expect(ftraceBlock.detect(['4887@1795471911.698369:blk_co_preadv blk 0x563dca068ea0 bs 0x563dca06b6d0 offset 0 bytes 512 flags 0x0'])).toBe(0);
  });
});

describe('raw field output (trace-cmd report -R)', () => {
  it('maps name=value fields, with dev as a kernel dev_t', () => {
    const ev = block('kworker/0:1H-37 [000] 10.027510: block_rq_issue: dev=266338304 sector=32768 nr_sector=8 bytes=4096 rwbs=WS comm=kworker/0:1H cmd=');
    expect(ev).toMatchObject({ action: 'D', dev: '254,0', rwbs: 'WS', sector: 32768, sectors: 8, bytes: 4096 });
    const c = block('<idle>-0 [000] 10.028111: block_rq_complete: dev=266338320 sector=8 nr_sector=8 error=0 rwbs=R cmd=');
    expect(c).toMatchObject({ action: 'C', dev: '254,16', error: 0 });
    expect(decodeLine('dd-1 [000] 1.0: block_rq_issue: dev=abc sector=1')).toMatchObject({ kind: 'malformed' });
  });
});

describe('more tool shapes', () => {
  it('perf script -F without the cpu column', () => {
    const ev = block('              dd  4711  1234.567890: block:block_rq_issue: 8,0 W 4096 () 10 + 8 [dd]');
    expect(ev).toMatchObject({ action: 'D', pid: 4711, sector: 10 });
    expect(ev.cpu).toBeUndefined();
  });
  it('a counter trace clock is reported as such, not as garbage', () => {
    expect(decodeLine('dd-1 [000] ..... 123456789: block_rq_issue: 8,0 W 4096 () 10 + 8 [dd]')).toMatchObject({ kind: 'malformed', reason: expect.stringContaining('raw counter') });
  });
});
