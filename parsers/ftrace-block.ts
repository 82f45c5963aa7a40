// Linux ftrace block tracepoints as text: /sys/kernel/tracing/trace, trace_pipe, `trace-cmd report`
// (with or without its `cpus=N` / `CPU n is empty` header lines, with or without latency flags) and
// `perf script` output of block:* events. SPEC virtio §5; formats from include/trace/events/block.h
// (Linux 6.1 print fmts in ../shared/realtraces/virtio-samples/ftrace-block-formats-linux6.1.txt).
//
// Each tracepoint maps to the blktrace action the kernel's own blktrace glue (kernel/trace/blktrace.c)
// records for it, and feeds the shared block-layer lifecycle assembler (parsers/linux-block/events.ts),
// so ftrace and blktrace inputs rebuild requests the same way.
import type { Evidence } from '../src/model/types.js';
import type { LineRecord, ParserContext, PatternMatch, TextFormatDef, TextParser } from './types.js';
import { evidenceOf } from './match.js';

import { BlkAssembler, FLUSH_SECTOR, parseRwbs, type BlkEvent } from './linux-block/events.js';

const ID = 'ftrace-block';
const MAX_LINE = 8192;

/** (u64)-1: the sector block_rq_complete prints for a request without a position (flush, driver-private). */
export const U64_MAX_SECTOR = '18446744073709551615';

// ---------------------------------------------------------------------------------------------
// Line heads.

/**
 * tracefs `trace` / `trace_pipe` and `trace-cmd report`:
 *   `comm-pid [cpu] flags ts: event: body`   (flags: 4 or 5 latency columns, absent without irq-info / in trace-cmd)
 *   `comm-pid (tgid) [cpu] ...`              (options/record-tgid)
 * comm may contain spaces and dashes: the pid is the `-digits` right before the `[cpu]` column. comm is at most
 * 15 bytes (TASK_COMM_LEN); the bound {0,64} keeps the regex work per line linear on hostile input.
 */
const FTRACE_HEAD =
  /^(?<comm>.{0,64}?)-(?<pid>\d+)\s+(?:\(\s*(?<tgid>-+|\d+)\)\s+)?\[(?<cpu>\d+)\]\s+(?:(?<flags>[^\s\d][^\s]{3,4}|\d[^\s.:]{3,4})\s+)?(?<ts>\d+\.\d+):\s+(?<event>\w+):\s*(?<body>.*)$/;
/** `perf script`: `comm pid[/tid] [cpu] ts: [period] block:event: body` (`[cpu]` absent with `-F comm,tid,time,event,trace`). */
const PERF_HEAD =
  /^(?<comm>.{0,64}?)\s+(?<pid>\d+)(?:\/(?<tid>\d+))?\s+(?:\[(?<cpu>\d+)\]\s+)?(?<ts>\d+\.\d+):\s+(?:\d+\s+)?(?<sys>block|ftrace):(?<event>\w+):\s*(?<body>.*)$/;
/** Looks like an ftrace record start (for truncated/garbled lines: malformed rather than ignored). */
const FTRACE_START = /^.{0,64}?-\d+\s+(?:\(\s*(?:-+|\d+)\)\s+)?\[\d{1,4}\]/;
/** trace-cmd report preamble and per-CPU notes. */
const HEADER = /^(?:cpus=\d+|CPU \d+ is empty|version = \d+|CPU\d+ data recorded at offset=0x[0-9a-fA-F]+|\d+ bytes in size(?: \(\d+ uncompressed\))?)$/;
/** tracefs header line with the buffer's counts (kernel/trace/trace.c print_event_info). */
const ENTRIES = /^# entries-in-buffer\/entries-written: (?<inBuffer>\d{1,15})\/(?<written>\d{1,15})\s+#P:(?<cpus>\d+)$/;
/** Ring buffer overrun, printed by tracefs (and trace-cmd) in place of the events lost. */
const LOST = /^CPU:(?<cpu>\d+) \[LOST (?:(?<n>\d+) )?EVENTS\]$/;

// ---------------------------------------------------------------------------------------------
// Bodies (TP_printk of include/trace/events/block.h). Tails are tolerant: Linux 6.10 added an ioprio
// triple `class,hint,level` before the bracket of block_rq_* events (SPEC §5 "make the tail tolerant").

const DEV = String.raw`(?<maj>\d+),(?<min>\d+)`;
const RWBS = String.raw`(?<rwbs>[A-Z]*)`;
const PRIO = String.raw`(?: (?<prio>[a-z]+,\d+,\d+))?`;
const BODY = {
  /** block_bio_queue, block_getrq, block_sleeprq, block_bio_backmerge/frontmerge, block_bio_bounce: `"%d,%d %s %llu + %u [%s]"`. */
  bio: new RegExp(String.raw`^${DEV} ${RWBS} (?<sector>\d+) \+ (?<n>\d+) \[(?<comm>.*)\]$`),
  /** block_bio_complete: `"%d,%d %s %llu + %u [%d]"`. */
  bioComplete: new RegExp(String.raw`^${DEV} ${RWBS} (?<sector>\d+) \+ (?<n>\d+) \[(?<err>-?\d+)\]$`),
  /** block_rq_insert/issue/merge (and block_io_start/done): `"%d,%d %s %u (%s) %llu + %u [%s]"` (bytes, cmd). */
  rq: new RegExp(String.raw`^${DEV} ${RWBS} (?<bytes>\d+) \((?<cmd>[^)]*)\) (?<sector>\d+) \+ (?<n>\d+)${PRIO} \[(?<comm>.*)\]$`),
  /** block_rq_complete/requeue/error: `"%d,%d %s (%s) %llu + %u [%d]"` (error). */
  rqComplete: new RegExp(String.raw`^${DEV} ${RWBS} \((?<cmd>[^)]*)\) (?<sector>\d+) \+ (?<n>\d+)${PRIO} \[(?<err>-?\d+)\]$`),
  /** block_split: `"%d,%d %s %llu / %llu [%s]"`. */
  split: new RegExp(String.raw`^${DEV} ${RWBS} (?<sector>\d+) / (?<newSector>\d+) \[(?<comm>.*)\]$`),
  /** block_bio_remap: `"%d,%d %s %llu + %u <- (%d,%d) %llu"`; block_rq_remap adds ` %u` (nr_bios). */
  remap: new RegExp(String.raw`^${DEV} ${RWBS} (?<sector>\d+) \+ (?<n>\d+) <- \((?<omaj>\d+),(?<omin>\d+)\) (?<oldSector>\d+)(?: (?<nrBios>\d+))?$`),
  /** block_plug: `"[%s]"`; block_unplug: `"[%s] %d"`. */
  plug: /^\[(?<comm>.*)\](?: (?<nr>\d+))?$/,
  /** block_dirty_buffer, block_touch_buffer: `"%d,%d sector=%llu size=%zu"`. */
  buffer: new RegExp(String.raw`^${DEV} sector=(?<sector>\d+) size=(?<size>\d+)$`),
};

type BodyKind = keyof typeof BODY;

/** Tracepoint -> blktrace action and body shape. Actions per kernel/trace/blktrace.c's probes. */
const TRACEPOINTS: Record<string, { body: BodyKind; action?: BlkEvent['action'] }> = {
  block_bio_queue: { body: 'bio', action: 'Q' },
  block_getrq: { body: 'bio', action: 'G' },
  block_sleeprq: { body: 'bio', action: 'S' },
  block_rq_insert: { body: 'rq', action: 'I' },
  block_rq_issue: { body: 'rq', action: 'D' },
  block_rq_complete: { body: 'rqComplete', action: 'C' },
  block_rq_requeue: { body: 'rqComplete', action: 'R' },
  block_bio_backmerge: { body: 'bio', action: 'M' },
  block_bio_frontmerge: { body: 'bio', action: 'F' },
  block_split: { body: 'split', action: 'X' },
  block_bio_remap: { body: 'remap', action: 'A' },
  block_rq_remap: { body: 'remap', action: 'A' },
  block_plug: { body: 'plug', action: 'P' },
  block_unplug: { body: 'plug', action: 'U' },
  // Counted, not modelled: bio-level completions, request merges (the bio merges carry the detail),
  // bounces, buffer-head events, the 6.5+ accounting pair and the error duplicate of rq_complete.
  block_bio_complete: { body: 'bioComplete' },
  block_rq_merge: { body: 'rq' },
  block_bio_bounce: { body: 'bio' },
  block_dirty_buffer: { body: 'buffer' },
  block_touch_buffer: { body: 'buffer' },
  block_io_start: { body: 'rq' },
  block_io_done: { body: 'rq' },
  block_rq_error: { body: 'rqComplete' },
};

/** The parts of a record line before the event body. */
export interface FtraceHead {
  comm: string;
  pid: number;
  cpu?: number;
  /** Seconds (the trace clock; `local`/`global` clocks count from boot). */
  time: number;
  event: string;
  body: string;
  flags?: string;
  shape: 'ftrace' | 'perf';
  /** Named groups of the head pattern, as text. */
  groups: Record<string, string | undefined>;
  /** Named groups of the body pattern, once decoded. */
  bodyGroups?: Record<string, string | undefined>;
}

/** What one line decodes to. */
export type FtraceLine =
  | { kind: 'block'; head: FtraceHead; ev: BlkEvent }
  | { kind: 'count'; head: FtraceHead; event: string }
  | { kind: 'marker'; head: FtraceHead; text: string }
  | { kind: 'other'; head: FtraceHead; event: string }
  | { kind: 'lost'; cpu: number; count?: number }
  | { kind: 'header' }
  /** tracefs `# entries-in-buffer/entries-written: A/B   #P:N`: B > A means the ring buffer overwrote B-A events. */
  | { kind: 'entries'; inBuffer: number; written: number; cpus?: number };

export type FtraceDecode = FtraceLine | { kind: 'malformed'; reason: string } | null;

/** Split a line into its head fields (no body decoding). Null when it is not a trace record line. */
export function parseHead(text: string): FtraceHead | null {
  let m = FTRACE_HEAD.exec(text);
  if (m) {
    const g = m.groups!;
    return {
      comm: g.comm!,
      pid: Number(g.pid),
      cpu: Number(g.cpu),
      time: Number(g.ts),
      event: g.event!,
      body: g.body!,
      flags: g.flags,
      shape: 'ftrace',
      groups: g,
    };
  }
  m = PERF_HEAD.exec(text);
  if (m) {
    const g = m.groups!;
    return {
      comm: g.comm!,
      pid: Number(g.tid ?? g.pid),
      cpu: g.cpu !== undefined ? Number(g.cpu) : undefined,
      time: Number(g.ts),
      event: g.sys === 'ftrace' && g.event === 'print' ? 'print' : g.event!,
      body: g.body!,
      shape: 'perf',
      groups: g,
    };
  }
  return null;
}

/** A sector as printed (%llu). (u64)-1 means "no position" and is returned as 0 with `noPos`. */
function sectorOf(s: string): { sector: number; noPos?: boolean } | string {
  if (s.length >= 16) {
    if (s === U64_MAX_SECTOR) return { sector: 0, noPos: true };
    if (s.length > 20 || (s.length === 20 && s > U64_MAX_SECTOR)) return 'sector does not fit in 64 bits';
    const v = Number(s);
    if (v > Number.MAX_SAFE_INTEGER) return 'sector beyond 2^53 (not representable)';
    return { sector: v };
  }
  return { sector: Number(s) };
}

function u32Of(s: string): number | undefined {
  if (s.length > 10) return undefined;
  const v = Number(s);
  return v > 0xffffffff ? undefined : v;
}

/**
 * Decode the body of a block tracepoint into a BlkEvent (or a counted event). Pure; evidence is the caller's.
 * Returns a reason string when the body does not have the tracepoint's shape.
 */
export function decodeBlockEvent(head: FtraceHead, evidence: Evidence): FtraceLine | string {
  const tp = TRACEPOINTS[head.event];
  if (!tp) return { kind: 'other', head, event: head.event };
  let m: { groups?: Record<string, string | undefined> } | null = BODY[tp.body].exec(head.body);
  if (!m && head.body.startsWith('dev=')) m = rawFields(head.body, tp.body);
  if (!m) return `${head.event} body does not match its format`;
  head.bodyGroups = m.groups;
  if (!tp.action) return { kind: 'count', head, event: head.event };
  const g = m.groups!;
  const base = { time: head.time, cpu: head.cpu, pid: head.pid, evidence };
  if (tp.body === 'plug') {
    const ev: BlkEvent = { ...base, dev: '', action: tp.action, rwbs: 'N', sector: 0, sectors: 0, comm: g.comm };
    if (g.nr !== undefined) {
      const nr = u32Of(g.nr);
      if (nr === undefined) return 'unplug depth out of range';
      ev.depth = nr;
    }
    return { kind: 'block', head, ev };
  }
  const dev = `${g.maj},${g.min}`;
  if (g.maj!.length > 4 || g.min!.length > 7) return 'device number out of range';
  const sec = sectorOf(g.sector!);
  if (typeof sec === 'string') return sec;
  let sectors = 0;
  if (g.n !== undefined) {
    const n = u32Of(g.n);
    if (n === undefined) return 'sector count out of range';
    sectors = n;
  }
  const ev: BlkEvent = { ...base, dev, action: tp.action, rwbs: g.rwbs!, sector: sec.sector, sectors };
  if (sec.noPos) ev.sector = FLUSH_SECTOR;
  if (g.comm !== undefined) ev.comm = g.comm;
  if (g.bytes !== undefined) {
    const b = u32Of(g.bytes);
    if (b === undefined) return 'byte count out of range';
    ev.bytes = b;
  }
  // Passthrough (driver-private) requests, e.g. virtio GET_ID: op none (rwbs N), no position, no sectors,
  // but bytes (blk_rq_trace_sector/nr_sectors print 0 for passthrough in block.h since 4.x).
  if (sectors === 0 && (ev.bytes ?? 0) > 0 && parseRwbs(ev.rwbs).op === 'unknown' && !parseRwbs(ev.rwbs).preflush) ev.pc = true;
  else if (sectors === 0 && sec.noPos && tp.action === 'C' && ev.rwbs === 'N') ev.pc = true;
  if (g.cmd) ev.pc = true;
  if (g.err !== undefined) {
    const e = Number(g.err);
    if (!Number.isSafeInteger(e)) return 'error out of range';
    ev.error = e;
  }
  if (g.newSector !== undefined) {
    const ns = sectorOf(g.newSector);
    if (typeof ns === 'string') return ns;
    ev.newSector = ns.sector;
  }
  if (g.oldSector !== undefined) {
    // Remap: BlkEvent.newSector carries the sector it was remapped from.
    const os = sectorOf(g.oldSector);
    if (typeof os === 'string') return os;
    ev.fromDev = `${g.omaj},${g.omin}`;
    ev.newSector = os.sector;
  }
  return { kind: 'block', head, ev };
}

/**
 * Raw field output (`trace-cmd report -R`: `name=value` per format field, e.g.
 * `dev=265289728 sector=0 nr_sector=8 bytes=4096 rwbs=WS comm=dd cmd=`), mapped onto the body groups.
 * dev is the kernel dev_t: major = dev >> 20, minor = dev & 0xfffff (SPEC virtio §5). UNSURE: checked against
 * the field names of events/block/*\/format, not against a real -R capture.
 */
function rawFields(body: string, kind: BodyKind): { groups: Record<string, string | undefined> } | null {
  const f: Record<string, string> = {};
  const re = /(\w+)=(\S*)/g;
  let x: RegExpExecArray | null;
  let n = 0;
  while ((x = re.exec(body)) && n++ < 32) f[x[1]!] = x[2]!;
  const dev = f.dev;
  if (dev === undefined || !/^\d{1,10}$/.test(dev)) return null;
  const dv = Number(dev);
  const g: Record<string, string | undefined> = { maj: String(Math.floor(dv / 1048576)), min: String(dv % 1048576), rwbs: f.rwbs ?? '' };
  if (!/^[A-Z]*$/.test(g.rwbs!)) return null;
  const num = (k: string) => (f[k] !== undefined && /^-?\d+$/.test(f[k]!) ? f[k] : undefined);
  switch (kind) {
    case 'bio':
    case 'bioComplete':
    case 'rq':
    case 'rqComplete':
      g.sector = num('sector');
      g.n = num('nr_sector');
      if (g.sector === undefined || g.n === undefined) return null;
      if (kind === 'rq') {
        g.bytes = num('bytes');
        if (g.bytes === undefined) return null;
      }
      if (kind === 'rqComplete' || kind === 'bioComplete') {
        g.err = num('error') ?? num('errors');
        if (g.err === undefined) return null;
      } else g.comm = f.comm ?? '';
      return { groups: g };
    default:
      return null;
  }
}

/** Marker text of a trace_marker write (`tracing_mark_write: text`, trace-cmd `print: tracing_mark_write: text`). */
function markerText(head: FtraceHead): string | null {
  if (head.event === 'tracing_mark_write') return head.body;
  if (head.event === 'print') {
    const b = head.body.trimStart();
    if (b.startsWith('tracing_mark_write: ')) return b.slice(20);
    // Older trace-cmd/perf: `print: 0xffffffff81234567s: text` (ip of the writer).
    const m = /^(?:ip=)?0x[0-9a-fA-F]+s?:? ?(.*)$/.exec(b);
    return m ? m[1]! : b;
  }
  return null;
}

/** Decode one normalised line. Null: not this format. */
export function decodeLine(text: string, evidence: Evidence = { file: '' }): FtraceDecode {
  const c = text.charCodeAt(0);
  if (text.length === 0) return null;
  if (c === 35 /* # */) {
    const e = ENTRIES.exec(text);
    if (!e) return null;
    const g = e.groups!;
    return { kind: 'entries', inBuffer: Number(g.inBuffer), written: Number(g.written), cpus: g.cpus ? Number(g.cpus) : undefined };
  }
  // Records are short (comm 16 bytes, bodies ~100, trace_marker text < 4 KiB): longer lines are not ours,
  // and the head patterns are never run on them (bounded regex work per line).
  if (text.length > MAX_LINE) return FTRACE_START.test(text.slice(0, 200)) ? { kind: 'malformed', reason: 'line too long for an ftrace record' } : null;
  if (c === 32 || c === 9) text = text.trimStart();
  if (text.indexOf('[') < 0) {
    if (HEADER.test(text)) return { kind: 'header' };
    return null;
  }
  const head = parseHead(text);
  if (!head) {
    const lost = LOST.exec(text);
    if (lost) return { kind: 'lost', cpu: Number(lost.groups!.cpu), count: lost.groups!.n ? Number(lost.groups!.n) : undefined };
    if (FTRACE_START.test(text) && /\bblock_|tracing_mark_write/.test(text)) {
      if (/\]\s+(?:\S{4,5}\s+)?\d+:\s/.test(text)) return { kind: 'malformed', reason: 'timestamp is a raw counter, not seconds (trace_clock counter/x86-tsc?): use the local, global or mono clock' };
      return { kind: 'malformed', reason: 'truncated or garbled ftrace record' };
    }
    return null;
  }
  const mt = markerText(head);
  if (mt !== null) return { kind: 'marker', head, text: mt };
  const d = decodeBlockEvent(head, evidence);
  if (typeof d === 'string') return { kind: 'malformed', reason: d };
  return d;
}

// ---------------------------------------------------------------------------------------------

/**
 * The last few decodes made by match(), reused by the parser for the same text (the router classifies a
 * line, then hands it over one line later): avoids decoding every line twice.
 */
const RECENT = 4;
const recentText: string[] = [];
const recentDecode: FtraceDecode[] = [];
let recentAt = 0;

function takeRecent(text: string): FtraceDecode | undefined {
  for (let i = 0; i < recentText.length; i++) {
    if (recentText[i] === text) {
      recentText[i] = '\u0000';
      return recentDecode[i];
    }
  }
  return undefined;
}

/** A match whose groups (head + body fields) are only assembled when someone reads them. */
function lazyMatch(pattern: string, head: FtraceHead, extra?: Record<string, string>): PatternMatch {
  let merged: Record<string, string | undefined> | undefined;
  return {
    pattern,
    get groups() {
      return (merged ??= { ...head.groups, ...head.bodyGroups, ...extra });
    },
  };
}

function match(text: string): PatternMatch | 'malformed' | null {
  const d = decodeLine(text);
  recentText[recentAt] = text;
  recentDecode[recentAt] = d;
  recentAt = (recentAt + 1) % RECENT;
  if (d === null) return null;
  if (d.kind === 'malformed') {
    // Lines a mail client may have cut: 'malformed' lets the router try to rejoin them with the next line.
    // Others (absurd numbers, counter clock, huge lines) cannot be fixed by rejoining: the parser reports
    // them with their specific reason.
    if (d.reason.endsWith('does not match its format') || d.reason.startsWith('truncated')) return 'malformed';
    return { pattern: 'invalid', groups: { reason: d.reason } };
  }
  if (d.kind === 'block' || d.kind === 'count') return lazyMatch(d.head.shape === 'perf' ? 'perf' : 'event', d.head);
  if (d.kind === 'marker') return lazyMatch('marker', d.head, { text: d.text });
  // A non-block event: accepted as part of an ftrace text (counted, not modelled).
  if (d.kind === 'other') return lazyMatch('other', d.head);
  if (d.kind === 'entries') return { pattern: 'entries', groups: { inBuffer: String(d.inBuffer), written: String(d.written) } };
  if (d.kind === 'lost') return { pattern: 'lost', groups: { cpu: String(d.cpu), n: d.count === undefined ? undefined : String(d.count) } };
  return { pattern: 'header', groups: {} };
}

export const ftraceBlock: TextFormatDef = {
  id: ID,
  kind: 'text',
  family: 'linux-block',
  title: 'Linux ftrace block events (trace, trace_pipe, trace-cmd report, perf script)',
  description:
    'Text of the kernel block:* tracepoints: /sys/kernel/tracing/trace or trace_pipe, `trace-cmd report`, `perf script`. ' +
    'Requests are rebuilt from queue/getrq/insert/issue/complete the way blkparse does; trace_marker lines become markers.',
  url: 'torvalds/linux include/trace/events/block.h; kernel/trace/blktrace.c (SPEC virtio §5)',
  fields: [
    { name: 'comm', type: 'string', description: 'task that ran when the event fired (<idle> for IRQ completions)' },
    { name: 'pid', type: 'int', description: 'task pid' },
    { name: 'cpu', type: 'int', description: 'CPU the event fired on' },
    { name: 'ts', type: 'float', description: 'trace clock, seconds' },
    { name: 'event', type: 'string', description: 'tracepoint name (block_rq_issue...)' },
    { name: 'maj', type: 'int', description: 'device major (ftrace prints dev_t as MAJ,MIN)' },
    { name: 'min', type: 'int', description: 'device minor' },
    { name: 'rwbs', type: 'string', description: 'blk_fill_rwbs flags: F(preflush) W/R/D/DE/N, then F(FUA) A(ahead) S(sync) M(meta)' },
    { name: 'bytes', type: 'int', description: 'request bytes (rq_insert/issue)' },
    { name: 'sector', type: 'u64', description: 'first 512-byte sector; 18446744073709551615 = no position (flush completion)' },
    { name: 'n', type: 'int', description: 'sectors' },
    { name: 'err', type: 'int', description: 'completion error (negative errno since 4.13)' },
  ],
  patterns: {
    event: FTRACE_HEAD,
    perf: PERF_HEAD,
    rq: BODY.rq,
    rqComplete: BODY.rqComplete,
    bio: BODY.bio,
    split: BODY.split,
    remap: BODY.remap,
    plug: BODY.plug,
    buffer: BODY.buffer,
    lost: LOST,
    header: HEADER,
    entries: ENTRIES,
  },
  samples: [
    {
      line: '    kworker/0:1H-37      [000] .....    10.027510: block_rq_issue: 254,0 WS 4096 () 32768 + 8 [kworker/0:1H]',
      pattern: 'event',
      fields: { comm: 'kworker/0:1H', pid: '37', cpu: '000', flags: '.....', ts: '10.027510', event: 'block_rq_issue', maj: '254', min: '0', rwbs: 'WS', bytes: '4096', sector: '32768', n: '8' },
      comment: 'tracefs trace, Linux 6.1 (run1)',
    },
    {
      line: '          <idle>-0       [000] d.h2.    10.029231: block_rq_complete: 254,0 FF () 18446744073709551615 + 0 [0]',
      pattern: 'event',
      fields: { comm: '<idle>', pid: '0', flags: 'd.h2.', event: 'block_rq_complete', rwbs: 'FF', sector: '18446744073709551615', n: '0', err: '0' },
      comment: 'flush quirk: a pure flush completes at sector (u64)-1',
    },
    {
      line: '          <idle>-0     [000]     5.907624: block_rq_complete:    254,0 R () 8 + 8 [0]',
      pattern: 'event',
      fields: { comm: '<idle>', pid: '0', event: 'block_rq_complete', sector: '8', n: '8', err: '0' },
      comment: 'trace-cmd report 3.1.6 (no latency flags, padded event name)',
    },
    {
      line: '         swapper     0 [006] 205791.409875: block:block_rq_complete: 8,16 RM () 390439208 + 8 [0]',
      pattern: 'perf',
      fields: { comm: 'swapper', pid: '0', cpu: '006', sys: 'block', event: 'block_rq_complete', maj: '8', min: '16', rwbs: 'RM', sector: '390439208' },
      comment: 'perf script',
    },
    { line: 'dd-97 [000] ..... 6.6: block_bio_queue: 254,0 WS 0 + 8 [dd]', pattern: 'event', fields: { event: 'block_bio_queue', rwbs: 'WS', sector: '0', n: '8', comm: 'dd' } },
    { line: 'dd-1 [000] ..... 1.0: block_rq_issue: 8,0 W 4096 () 123 + 8 be,0,4 [dd]', pattern: 'event', fields: { prio: 'be,0,4', comm: 'dd' }, comment: 'Linux 6.10+ ioprio triple' },
    { line: 'dd-1 [001] .... 1.5: block_split: 8,0 W 2048 / 2560 [dd]', pattern: 'event', fields: { sector: '2048', newSector: '2560' } },
    { line: 'dd-1 [001] .... 1.5: block_bio_remap: 8,1 W 4096 + 8 <- (8,0) 2048', pattern: 'event', fields: { omaj: '8', omin: '0', oldSector: '2048' } },
    { line: 'dd-119 [000] ..... 9.534267: block_unplug: [dd] 1', pattern: 'event', fields: { comm: 'dd', nr: '1' } },
    { line: 'dd-140 [000] 10.106784: block_dirty_buffer: 254,0 sector=5120 size=4096', pattern: 'event', fields: { sector: '5120', size: '4096' } },
    { line: 'init-1 [000] ..... 9.464580: tracing_mark_write: PHASE 1: O_DIRECT write', pattern: 'marker', fields: { text: 'PHASE 1: O_DIRECT write' } },
    { line: 'init-1 [000] 9.464777: print: tracing_mark_write: PHASE 1: O_DIRECT write', pattern: 'marker', fields: { text: 'PHASE 1: O_DIRECT write' }, comment: 'trace-cmd report' },
    { line: 'bash-1 [000] d..2. 1.0: sched_switch: prev_comm=bash prev_pid=1', pattern: 'other', fields: { event: 'sched_switch' }, comment: 'not a block event: accepted, not modelled' },
    { line: 'CPU:1 [LOST 2314 EVENTS]', pattern: 'lost', fields: { cpu: '1', n: '2314' } },
    { line: 'cpus=2', pattern: 'header' },
    { line: '# entries-in-buffer/entries-written: 892/892   #P:1', pattern: 'entries', fields: { inBuffer: '892', written: '892' } },
  ],
  detect(lines) {
    let hits = 0;
    let considered = 0;
    let headerish = 0;
    for (const line of lines) {
      if (line.length === 0) continue;
      if (line.charCodeAt(0) === 35) {
        if (line.startsWith('# tracer:')) headerish++;
        continue;
      }
      considered++;
      const d = decodeLine(line);
      if (d && (d.kind === 'block' || d.kind === 'count' || d.kind === 'marker')) hits++;
    }
    if (hits === 0 || considered === 0) return 0;
    return Math.min(1, 0.4 + (0.6 * hits) / considered + (headerish ? 0.1 : 0));
  },
  match,
  createParser(ctx) {
    return new FtraceBlockParser(ctx);
  },
};

/** Exposed for tests: the record shapes the parser saw. */
export interface FtraceStats {
  events: Record<string, number>;
  markers: number;
  lost: number;
}

class FtraceBlockParser implements TextParser {
  private readonly asm: BlkAssembler;
  private readonly counts: Record<string, number> = {};
  private markers = 0;
  private lost = 0;
  private lastFile = '';
  /** Last device seen per pid: block_plug/unplug print no device. */
  private readonly devByPid = new Map<number, string>();

  constructor(private readonly ctx: ParserContext) {
    this.asm = new BlkAssembler(ctx, { format: ID });
  }

  line(rec: LineRecord, _m: PatternMatch): void {
    this.lastFile = rec.file;
    const evidence = evidenceOf(rec);
    const cached = takeRecent(rec.text);
    const d = cached !== undefined ? withEvidence(cached, evidence) : decodeLine(rec.text, evidence);
    if (!d || d.kind === 'header') return;
    if (d.kind === 'entries') {
      if (d.written > d.inBuffer) {
        const n = d.written - d.inBuffer;
        this.lost += n;
        this.ctx.emit({
          kind: 'diag',
          code: 'lost-events',
          message: `the trace buffer overwrote its ${n} oldest events (entries-written ${d.written} > entries-in-buffer ${d.inBuffer}): requests at the start of the trace may be incomplete`,
          data: { count: n, inBuffer: d.inBuffer, written: d.written },
          evidence: [evidence],
        });
      }
      return;
    }
    if (d.kind === 'malformed') {
      this.ctx.malformed(evidence, d.reason);
      return;
    }
    if (d.kind === 'lost') {
      this.lost += d.count ?? 0;
      this.ctx.emit({
        kind: 'diag',
        code: 'lost-events',
        message: `trace buffer overrun on CPU ${d.cpu}: ${d.count ?? 'some'} events lost (requests around here may look incomplete)`,
        data: { cpu: d.cpu, count: d.count },
        evidence: [evidence],
      });
      return;
    }
    this.counts[d.head.event] = (this.counts[d.head.event] ?? 0) + 1;
    if (d.kind === 'marker') {
      this.markers++;
      this.ctx.emit({ kind: 'diag', code: 'marker', message: d.text, data: { comm: d.head.comm, pid: d.head.pid }, time: d.head.time, evidence: [evidence] });
      return;
    }
    if (d.kind !== 'block') return;
    const ev = d.ev;
    if (ev.action === 'P' || ev.action === 'U') {
      const dev = this.devByPid.get(d.head.pid);
      if (dev === undefined) return; // plug of a task with no block event yet: nothing to attach it to
      ev.dev = dev;
    } else {
      this.devByPid.set(d.head.pid, ev.dev);
    }
    this.asm.event(ev);
  }

  end(): void {
    this.asm.end();
    const names = Object.keys(this.counts).sort();
    if (names.length > 0) {
      // '*-stats' diags are merged into the model's statsExt (namespaced), not counted as messages.
      this.ctx.emit({
        kind: 'diag',
        code: 'ftrace-stats',
        message: 'ftrace events: ' + names.map((n) => `${n} ${this.counts[n]}`).join(', '),
        data: { ftrace: { events: { ...this.counts }, markers: this.markers, lostEvents: this.lost } },
        evidence: [{ file: this.lastFile }],
      });
    }
  }
}

function withEvidence(d: FtraceDecode, evidence: Evidence): FtraceDecode {
  if (d && d.kind === 'block') d.ev.evidence = evidence;
  return d;
}

