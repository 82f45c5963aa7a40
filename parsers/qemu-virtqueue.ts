// QEMU virtqueue introspection dumps (QEMU >= 7.2): HMP `info virtio-queue-status` /
// `info virtio-queue-element` text, QMP `x-query-virtio-queue-status` / `x-query-virtio-queue-element` JSON
// (one reply per line, pretty-printed, or HMP text inside `human-monitor-command` replies), and HMP `xp`
// memory dumps of guest-physical bytes (used to decode the virtio_blk_outhdr of live requests).
//
// Facts this parser relies on (realtraces/virtqueue-elements/README.md, QEMU 7.2 hw/virtio/virtio.c
// qmp_x_query_virtio_queue_element / monitor/hmp-cmds.c hmp_virtio_queue_element, virtio spec §2.7, §5.2.6):
// * The element `index` ARGUMENT is a position in the avail ring (taken modulo num); without it QEMU reads
//   position last_avail_idx (the next element it would pop, not yet popped). The returned `index` is the
//   head descriptor id read from avail->ring[pos].
// * Only positions in [used_idx, last_avail_idx) were popped by QEMU and are not yet completed: those are the
//   live requests. The avail ring is never cleared, so every other slot names a request that completed long
//   ago (stale); its descriptors may have been reused (tails of newer chains) or freed (garbage).
//   Positions in [last_avail_idx, shadow_avail_idx) were made available by the guest but not yet popped.
// * QEMU 7.2 lists a chain in REVERSE order (it prepends each descriptor). The orientation is taken from the
//   `next` flags (every descriptor but the last of a chain has it), so a fixed QEMU is handled too.
// * virtio-blk request: 16-byte device-readable header {le32 type, le32 ioprio, le64 sector}, data
//   descriptors, 1-byte device-writable status. HMP prints `len` with %d, so a huge length shows negative.
// * QMP numbers beyond 2^53 (garbage addresses of stale slots) are kept exact by quoting them before JSON.parse.
// A dump is a snapshot, not a trace: live requests are submitted (expectsCompletion false) and retired when
// the same queue is dumped again or the input ends, so never-completed does not apply to them.
import type { Evidence, Op, Request, Segment } from '../src/model/types.js';
import type { LineRecord, ParserContext, PatternMatch, TextFormatDef, TextParser } from './types.js';
import { evidenceOf } from './match.js';

/**
 * A copy of a string that does not share storage with the input chunk it was sliced from: V8 keeps the whole
 * chunk (up to 1 MiB) alive for as long as a slice of it is referenced, so everything this parser keeps
 * (evidence, device paths) is copied.
 */
function own(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** Evidence for a line record, detached from the input chunk. */
function evidence(rec: LineRecord): Evidence {
  const ev = evidenceOf(rec);
  if (ev.text !== undefined) ev.text = own(ev.text);
  return ev;
}

const ID = 'qemu-virtqueue';
/** Highest guest-physical address any current architecture can name (52-bit MAXPHYADDR). */
const MAX_PHYS = 1n << 52n;
/** Stop stitching a multi-line JSON reply beyond this many characters. */
const MAX_JSON = 4 << 20;
/** Bytes of `xp` output kept for header/status lookups. */
const MAX_XP_BYTES = 1 << 20;
/** Largest `xp` dump kept (bytes): header (16), status (1) and data previews, not whole ring tables. */
const MAX_XP_KEEP = 256;
/** Pending QMP requests waiting for their reply. */
const MAX_PENDING_CMDS = 64;
/** Descriptors of live-window (or not yet placeable) elements kept at once, over all queues. */
const MAX_RETAINED_DESCS = 1 << 20;
/** Descriptors kept per element: a chain never exceeds the 32768-entry maximum queue size. */
const MAX_DESCS = 32768;
const MAX_EVIDENCE = 8;

const HEX = '0x[0-9a-fA-F]{1,16}';
const PATTERNS = {
  // The virtqueue and xp commands get strict patterns of their own so that a wrapped-line rejoin never glues
  // the next (unclaimed) output line, e.g. an error message, onto them.
  promptVq: /^\((?:qemu|QEMU)\) (?<cmd>info virtio-queue-(?:status|element) \S{1,1000} \d{1,5}(?: \d{1,5})?)$/,
  promptXp: /^\((?:qemu|QEMU)\) (?<cmd>xp ?\/\d{0,6}[a-z]{0,2} (?:0x)?[0-9a-fA-F]{1,16})$/,
  prompt: /^\((?:qemu|QEMU)\)(?: (?<cmd>.*))?$/,
  path: /^(?<path>\/\S{0,1000}):$/,
  key: /^(?<key>device_name|queue_index|inuse|used_idx|signalled_used|signalled_used_valid|last_avail_idx|shadow_avail_idx|num|num_default|align|index|flags|idx|ring):(?:\s+(?<value>\S{1,200}))?$/,
  section: /^(?<section>VRing|desc|descs|avail|used):(?:\s+(?<value>0x[0-9a-fA-F]{1,40}))?$/,
  desc: /^addr (?<addr>0x[0-9a-fA-F]{1,40}) len (?<len>-?\d{1,20})(?: \((?<flags>[a-z, ]{0,200})\))?,?$/,
  xp: new RegExp(`^(?<addr>[0-9a-fA-F]{8,16}): (?<values>${HEX}(?: ${HEX}){0,63})$`),
  json: /^(?:[-<]> )?\{.*\}$/,
  jsonOpen: /^(?:[-<]> )?[{[].*$/,
  jsonCont: /^["}\]].*$/,
} as const;

type PatName = keyof typeof PATTERNS;

/** Scan a line that starts with '{': 'whole' when the braces close exactly at the end, 'open' when they never close, null otherwise. */
function jsonShape(s: string): 'whole' | 'open' | null {
  let depth = 0;
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inStr) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inStr = false;
      continue;
    }
    if (c === 34) inStr = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) depth++;
    else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
      if (depth === 0) return i === s.length - 1 ? 'whole' : null;
      if (depth < 0) return null;
    }
  }
  return depth > 0 ? 'open' : null;
}

/** QMP traffic as QEMU's docs and many logs show it: "-> " before a command, "<- " before a reply or event. */
function jsonBody(text: string): string {
  return (text.startsWith('-> ') || text.startsWith('<- ')) && text.length > 3 ? text.slice(3).trimStart() : text;
}

function matchLine(raw: string): PatternMatch | 'malformed' | null {
  const text = jsonBody(raw);
  const c = text.charCodeAt(0);
  if (c === 123 /* { */) {
    const shape = jsonShape(text);
    if (shape === 'whole') return { pattern: 'json', groups: {} };
    if (shape === 'open') return { pattern: 'jsonOpen', groups: {} };
    return null;
  }
  if (c === 91 /* [ */ || c === 93 /* ] */ || c === 125 /* } */ || c === 34 /* " */) {
    return { pattern: c === 91 ? 'jsonOpen' : 'jsonCont', groups: {} };
  }
  const order: PatName[] =
    c === 40 /* ( */
      ? ['promptVq', 'promptXp', 'prompt']
      : c === 47 /* / */
        ? ['path']
        : c === 97 /* a */
          ? ['desc', 'key', 'section', 'xp']
          : c >= 48 && c <= 57
            ? ['xp']
            : ['key', 'section', 'xp'];
  for (const name of order) {
    const m = PATTERNS[name].exec(text);
    if (m) return { pattern: name, groups: m.groups ?? {} };
  }
  if (text.startsWith('addr 0x')) return 'malformed';
  return null;
}

const STRONG = [
  /^\((?:qemu|QEMU)\).*\b(?:info virtio-queue-(?:status|element)|x-query-virtio-queue-(?:status|element))\b/,
  /"execute":\s*"x-query-virtio-queue-(?:status|element)"/,
  /"vring-desc":\s*\d/,
  /"descs":\s*\[/,
  /^(?:last_avail_idx|shadow_avail_idx):\s+\d+$/,
  /"command-line":\s*"info virtio-queue-(?:status|element)/,
];

const PROMPT_RE = /^\((?:qemu|QEMU)\)(?: |$)/;
/** QMP greeting, command, reply or event lines. */
const QMP_RE = /^(?:[-<]> )?\{\s*"(?:QMP|execute|exec-oob|return|error|event|timestamp)"\s*:/;

function detect(lines: string[]): number {
  let strong = 0;
  let descs = 0;
  let descHdr = 0;
  let prompts = 0;
  for (const l of lines) {
    if (l.length > 1 << 16) continue;
    if (STRONG.some((r) => r.test(l))) strong++;
    else if (PATTERNS.desc.test(l)) descs++;
    else if (l === 'descs:') descHdr++;
    else if (PROMPT_RE.test(l) || QMP_RE.test(l)) prompts++;
    if (strong >= 2) break;
  }
  if (strong > 0) return 0.95;
  if (descHdr > 0 && descs > 0) return 0.7;
  // A monitor session (HMP prompts, QMP lines) with none of our commands in its head (e.g. only "stop", or QMP
  // events): claim it weakly so that it is read (as nothing) rather than rejected; any other format wins.
  if (prompts > 0) return 0.2;
  return 0;
}

// ---------------------------------------------------------------------------------------------------------

interface Desc {
  addr: bigint;
  /** u32 length (HMP %d printed lengths are taken modulo 2^32). */
  len: number;
  flags: string[];
}

interface Elem {
  device?: string;
  queue?: number;
  /** avail position argument (undefined: QEMU used last_avail_idx). */
  pos?: number;
  head?: number;
  descs: Desc[];
  availIdx?: number;
  usedIdx?: number;
  form: 'hmp' | 'qmp';
  evidence: Evidence[];
  broken?: string;
}

interface QueueStatus {
  usedIdx: number;
  lastAvailIdx: number;
  shadowAvailIdx?: number;
  inuse?: number;
  num: number;
  evidence: Evidence[];
}

interface QueueState {
  device: string;
  queue: number;
  status?: QueueStatus;
  elems: Elem[];
  /** Keys of live requests submitted for the previous snapshot of this queue (retired on the next one). */
  live: string[];
  epoch: number;
  /** Slots of the current snapshot already classified and dropped. */
  counts: Counts;
}

type Counts = Record<'live' | 'stale' | 'partial' | 'garbage' | 'pending' | 'next' | 'duplicate' | 'unplaced', number>;

function newCounts(): Counts {
  return { live: 0, stale: 0, partial: 0, garbage: 0, pending: 0, next: 0, duplicate: 0, unplaced: 0 };
}

type Placement =
  | { kind: 'next' | 'unplaced' | 'pending' | 'stale' }
  | { kind: 'window'; pos: number; k: number; used: number };

/**
 * Where an element sits relative to the live window [used_idx, last_avail_idx) of its queue's status (or, with
 * no status, of the element's own used.idx/avail.idx, which is approximate).
 */
function place(e: Elem, st: QueueStatus | undefined): Placement {
  if (e.pos === undefined) return { kind: 'next' }; // no index argument: QEMU showed last_avail_idx, not popped yet
  let used: number;
  let last: number;
  let shadow: number | undefined;
  let num: number;
  if (st) {
    used = st.usedIdx;
    last = st.lastAvailIdx;
    shadow = st.shadowAvailIdx;
    num = st.num || 256;
  } else if (e.usedIdx !== undefined && e.availIdx !== undefined) {
    used = e.usedIdx;
    last = e.availIdx;
    num = 256;
  } else return { kind: 'unplaced' };
  const pos = e.pos % num;
  const windowLen = Math.min((last - used) & 0xffff, num);
  const k = (((pos - (used % num)) % num) + num) % num;
  if (k < windowLen) return { kind: 'window', pos, k, used };
  const pendLen = shadow === undefined ? windowLen : Math.min((shadow - used) & 0xffff, num);
  return { kind: k < pendLen ? 'pending' : 'stale' };
}

type Mode =
  | { kind: 'none' }
  | { kind: 'other' }
  | { kind: 'status'; path?: string; queue?: number }
  | { kind: 'element'; path?: string; queue?: number; pos?: number }
  | { kind: 'xp'; keep: boolean };

interface Block {
  kind: 'status' | 'element';
  device?: string;
  queue?: number;
  pos?: number;
  fields: Record<string, string>;
  section?: string;
  descs: Desc[];
  evidence: Evidence[];
  broken?: string;
}

const OPS: Record<number, Op> = {
  0: 'read',
  1: 'write',
  2: 'scsi-cmd',
  4: 'flush',
  8: 'get-id',
  10: 'get-lifetime',
  11: 'discard',
  13: 'write-zeroes',
  14: 'secure-erase',
  15: 'zone-append',
  16: 'zone-report',
  18: 'zone-open',
  20: 'zone-close',
  22: 'zone-finish',
  24: 'zone-reset',
  26: 'zone-reset-all',
};

function opOfType(type: number): Op {
  const t = type & 0x7fffffff; // legacy VIRTIO_BLK_T_BARRIER flag 0x80000000
  return OPS[t] ?? `type-${t}`;
}

function hex(a: bigint): string {
  return '0x' + a.toString(16);
}

function parseIntStrict(s: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (s === undefined || !/^\d{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= max ? n : undefined;
}

function parseBig(s: unknown): bigint | undefined {
  try {
    if (typeof s === 'number') return Number.isSafeInteger(s) && s >= 0 ? BigInt(s) : undefined;
    if (typeof s === 'string' && /^(?:0x[0-9a-fA-F]{1,16}|\d{1,20})$/.test(s)) {
      const v = BigInt(s);
      return v < 1n << 64n ? v : undefined;
    }
  } catch {
    /* not a number */
  }
  return undefined;
}

function u32(n: number): number | undefined {
  if (!Number.isInteger(n)) return undefined;
  if (n < 0 && n >= -0x80000000) return n + 0x100000000;
  return n >= 0 && n <= 0xffffffff ? n : undefined;
}

/** Strip terminal echo from a raw monitor socket: the command is the text after the last escape sequence. */
function cleanCommand(cmd: string): string {
  if (cmd.indexOf('\x1b') < 0) return cmd.trim();
  const parts = cmd.split(/\x1b\[[0-9;?]*[A-Za-z]/);
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i]!.replace(/[\x00-\x1f\x7f]/g, '').trim();
    if (p) return p;
  }
  return '';
}

class VirtqueueParser implements TextParser {
  private mode: Mode = { kind: 'none' };
  private block: Block | undefined;
  private readonly queues = new Map<string, QueueState>();
  /** xp bytes: line start address -> bytes (little-endian units already split into bytes). */
  private readonly mem = new Map<bigint, { bytes: Uint8Array; ev: Evidence }>();
  private memBytes = 0;
  private memFull = false;
  private json: { text: string; rec: LineRecord } | undefined;
  private readonly cmds: { execute: string; args: Record<string, unknown>; id?: unknown; evidence: Evidence }[] = [];
  private unplaced = 0;
  private unplacedEvidence: Evidence | undefined;
  private gen = 0;
  /** Descriptors held by buffered elements (bounded by MAX_RETAINED_DESCS). */
  private retained = 0;

  constructor(private readonly ctx: ParserContext) {}

  line(rec: LineRecord, m: PatternMatch): void {
    const p = m.pattern as PatName;
    // While a multi-line reply is open, bare '{' / '[' / '"…' / '}' lines continue it; a compact object ('{"…')
    // or any monitor line starts something new, so the open reply was cut short.
    const body = p.startsWith('json') ? jsonBody(rec.text) : rec.text;
    const arrow = body !== rec.text;
    const continues = p === 'jsonCont' || (p === 'jsonOpen' && !arrow && !body.startsWith('{"'));
    if (this.json && !continues) {
      // A new top-level object or any monitor line while a JSON reply is open: the open one was cut short.
      this.failJson('JSON reply ends early (truncated)');
    }
    switch (p) {
      case 'json':
        this.onJson(body, rec);
        return;
      case 'jsonOpen':
      case 'jsonCont':
        this.stitch(body, rec);
        return;
      case 'promptVq':
      case 'promptXp':
      case 'prompt':
        this.onCommand(cleanCommand(m.groups.cmd ?? ''), evidence(rec), rec.text.startsWith('(QEMU)'));
        return;
      default:
        this.onHmp(p, m.groups, evidence(rec), rec);
    }
  }

  end(): void {
    if (this.json) this.failJson('JSON reply ends early (input ended)');
    this.closeBlock();
    for (const q of this.queues.values()) this.finalize(q);
    for (const q of this.queues.values()) {
      for (const key of q.live) this.ctx.emit({ kind: 'retire', key });
      q.live = [];
    }
    if (this.memFull) {
      this.ctx.emit({
        kind: 'diag',
        code: 'virtqueue-xp-budget',
        message: `xp memory dumps beyond ${MAX_XP_BYTES} bytes were not kept: headers dumped after that stay undecoded (type unknown)`,
        data: { limit: MAX_XP_BYTES },
        evidence: [],
      });
    }
    if (this.unplaced > 0) {
      this.ctx.emit({
        kind: 'diag',
        code: 'virtqueue-unplaced-elements',
        message: `${this.unplaced} virtqueue element(s) without a known device, queue or avail position (command line missing): not counted as requests`,
        data: { count: this.unplaced },
        evidence: this.unplacedEvidence ? [this.unplacedEvidence] : [],
      });
    }
  }

  // --- HMP ------------------------------------------------------------------------------------------------

  /** A monitor command line. `qmpShell`: the "(QEMU)" prompt of scripts/qmp/qmp-shell ("cmd key=value ..."). */
  private onCommand(cmd: string, ev: Evidence, qmpShell = false): void {
    this.closeBlock();
    const words = cmd.split(/\s+/).filter(Boolean);
    const w0 = words[0] ?? '';
    if (w0 === 'info' && (words[1] === 'virtio-queue-status' || words[1] === 'virtio-queue-element')) {
      const path = words[2];
      const queue = parseIntStrict(words[3], 0xffff);
      if (words[1] === 'virtio-queue-status') this.mode = { kind: 'status', path, queue };
      else {
        const pos = words[4] === undefined ? undefined : parseIntStrict(words[4], 0xffff);
        if (words[4] !== undefined && pos === undefined) this.ctx.malformed(ev, `avail position '${words[4]}' is not a 16-bit number`);
        this.mode = { kind: 'element', path, queue, pos };
      }
      this.pendingCmdEvidence = ev;
      return;
    }
    if (qmpShell || w0 === 'x-query-virtio-queue-status' || w0 === 'x-query-virtio-queue-element') {
      // qmp-shell: "(QEMU) x-query-virtio-queue-element path=/machine/... queue=0 index=3"; every command
      // is queued so that replies pair with the right request.
      if (!w0) {
        this.mode = { kind: 'other' };
        return;
      }
      const args: Record<string, unknown> = {};
      for (const w of words.slice(1)) {
        const eq = w.indexOf('=');
        if (eq > 0) args[w.slice(0, eq)] = /^\d+$/.test(w.slice(eq + 1)) ? Number(w.slice(eq + 1)) : w.slice(eq + 1);
      }
      this.pushCmd(w0, args, undefined, ev);
      this.mode = { kind: 'other' };
      return;
    }
    if (w0 === 'xp' || w0.startsWith('xp/')) {
      // Keep only small dumps (headers, status bytes, data previews), not whole rings: "/512gx" = 4 KiB.
      const fmt = /\/(\d*)([a-z]*)/.exec(w0 === 'xp' ? words[1] ?? '' : w0.slice(2));
      const count = fmt && fmt[1] ? Number(fmt[1]) : 1;
      const letters = fmt ? fmt[2]! : '';
      const unit = letters.includes('b') ? 1 : letters.includes('h') ? 2 : letters.includes('g') ? 8 : 4;
      this.mode = { kind: 'xp', keep: count * unit <= MAX_XP_KEEP };
      return;
    }
    this.mode = { kind: 'other' };
  }

  private pendingCmdEvidence: Evidence | undefined;

  private onHmp(p: PatName, g: Record<string, string | undefined>, ev: Evidence, rec: LineRecord): void {
    if (p === 'xp') {
      if ((this.mode.kind === 'xp' && this.mode.keep) || this.mode.kind === 'none') this.onXp(g.addr!, g.values!, ev);
      return;
    }
    if (p === 'path') {
      this.closeBlock();
      const mode = this.mode;
      if (mode.kind === 'status' || mode.kind === 'element') {
        const b: Block = { kind: mode.kind, device: own(g.path!), fields: {}, descs: [], evidence: [] };
        if (this.pendingCmdEvidence) b.evidence.push(this.pendingCmdEvidence);
        b.evidence.push(ev);
        b.queue = mode.queue;
        if (mode.kind === 'element') b.pos = mode.pos;
        this.block = b;
      } else if (mode.kind === 'none') {
        // A paste without prompts: the block kind follows from its keys.
        this.block = { kind: 'element', device: own(g.path!), fields: {}, descs: [], evidence: [ev] };
        this.guessKind = true;
      }
      this.pendingCmdEvidence = undefined;
      return;
    }
    const b = this.block;
    if (!b) return;
    if (p === 'desc') {
      if (b.kind !== 'element') return;
      const addr = parseBig(g.addr);
      const len = u32(Number(g.len));
      if (addr === undefined || len === undefined) {
        b.broken = 'descriptor address or length out of range';
        this.ctx.malformed(ev, `virtqueue descriptor '${rec.text.slice(0, 80)}': address or length out of range`);
        return;
      }
      const flags = (g.flags ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (b.descs.length < MAX_DESCS) b.descs.push({ addr, len, flags });
      else b.broken = `chain longer than ${MAX_DESCS} descriptors`;
      if (b.evidence.length < MAX_EVIDENCE) b.evidence.push(ev);
      return;
    }
    if (p === 'section') {
      const sec = g.section!;
      if (g.value !== undefined) {
        // status block ring addresses: "desc: 0x...", "avail: 0x...", "used: 0x..."
        b.fields[`vring_${sec}`] = g.value;
        return;
      }
      b.section = sec;
      return;
    }
    if (p === 'key') {
      const key = g.key!;
      const value = g.value ?? '';
      if (this.guessKind) {
        if (key === 'queue_index') b.kind = 'status';
        if (key === 'index' || key === 'queue_index') this.guessKind = false;
      }
      if ((key === 'flags' || key === 'idx' || key === 'ring') && (b.section === 'avail' || b.section === 'used')) {
        b.fields[`${b.section}_${key}`] = value;
      } else b.fields[key] = value;
      if (key === 'last_avail_idx' && b.evidence.length < MAX_EVIDENCE) b.evidence.push(ev);
    }
  }

  private guessKind = false;

  private closeBlock(): void {
    const b = this.block;
    this.block = undefined;
    this.guessKind = false;
    if (!b) return;
    const f = b.fields;
    if (b.kind === 'status') {
      const queue = b.queue ?? parseIntStrict(f.queue_index, 0xffff);
      const st = this.statusOf(
        {
          usedIdx: f.used_idx,
          lastAvailIdx: f.last_avail_idx,
          shadowAvailIdx: f.shadow_avail_idx,
          inuse: f.inuse,
          num: f.num,
        },
        b.evidence,
      );
      if (!st) {
        // vhost devices print no last/shadow avail index: nothing to place elements with. Present but absurd: malformed.
        if (f.used_idx !== undefined && f.last_avail_idx !== undefined)
          this.ctx.malformed(b.evidence[b.evidence.length - 1] ?? { file: this.ctx.file }, 'virtqueue status with absurd indexes (not 16-bit) or ring size');
        return;
      }
      this.onStatus(b.device, queue, st);
      return;
    }
    if (b.fields.index === undefined && b.descs.length === 0) return;
    const e: Elem = {
      device: b.device,
      queue: b.queue,
      pos: b.pos,
      head: parseIntStrict(f.index, 0xffff),
      descs: b.descs,
      availIdx: parseIntStrict(f.avail_idx, 0xffff),
      usedIdx: parseIntStrict(f.used_idx, 0xffff),
      form: 'hmp',
      evidence: b.evidence,
    };
    if (b.broken) e.broken = b.broken;
    this.onElement(e);
  }

  private onXp(addrText: string, values: string, ev: Evidence): void {
    if (this.memFull) return;
    let addr: bigint;
    try {
      addr = BigInt('0x' + addrText);
    } catch {
      return;
    }
    const bytes: number[] = [];
    for (const v of values.split(' ')) {
      const digits = v.length - 2;
      const width = digits <= 2 ? 1 : digits <= 4 ? 2 : digits <= 8 ? 4 : 8;
      let n = BigInt(v);
      for (let i = 0; i < width; i++) {
        bytes.push(Number(n & 0xffn)); // x86 guest: little-endian units
        n >>= 8n;
      }
    }
    if (this.memBytes + bytes.length > MAX_XP_BYTES) {
      this.memFull = true;
      return;
    }
    this.memBytes += bytes.length;
    this.mem.set(addr, { bytes: Uint8Array.from(bytes), ev });
  }

  /** Bytes [addr, addr+n) from xp dumps, with the dump lines they came from; undefined when any byte is missing. */
  private readMem(addr: bigint, n: number): { bytes: Uint8Array; evidence: Evidence[] } | undefined {
    const out = new Uint8Array(n);
    const evidence: Evidence[] = [];
    for (let i = 0; i < n; i++) {
      const a = addr + BigInt(i);
      let found = false;
      for (let k = 0n; k < 64n && !found; k++) {
        const chunk = this.mem.get(a - k);
        if (chunk && Number(k) < chunk.bytes.length) {
          out[i] = chunk.bytes[Number(k)]!;
          if (!evidence.includes(chunk.ev)) evidence.push(chunk.ev);
          found = true;
        }
      }
      if (!found) return undefined;
    }
    return { bytes: out, evidence };
  }

  // --- QMP ------------------------------------------------------------------------------------------------

  private stitch(body: string, rec: LineRecord): void {
    if (!this.json) {
      if (body.charCodeAt(0) !== 123 && body.charCodeAt(0) !== 91) return; // stray continuation
      this.json = { text: body, rec };
      return;
    }
    this.json.text += body;
    if (this.json.text.length > MAX_JSON) {
      this.failJson(`JSON reply longer than ${MAX_JSON} characters`);
      return;
    }
    if (jsonShape(this.json.text) === 'whole') {
      const { text, rec: first } = this.json;
      this.json = undefined;
      this.onJson(text, first);
    }
  }

  private failJson(reason: string): void {
    const j = this.json!;
    this.json = undefined;
    // The reader keeps 64 KiB of a line: a longer single-line reply arrives cut.
    if (j.rec.raw.endsWith('…') && j.rec.text.length >= 60000) reason = 'JSON line longer than 64 KiB (cut by the reader): not analysed';
    this.ctx.malformed({ file: j.rec.file, line: j.rec.line, text: own(j.rec.raw) }, reason);
  }

  private onJson(text: string, rec: LineRecord): void {
    let obj: unknown;
    try {
      // Keep 64-bit addresses exact: quote long integers before parsing.
      obj = JSON.parse(text.replace(/("addr"\s*:\s*)(\d{16,})/g, '$1"$2"'));
    } catch {
      this.ctx.malformed({ file: rec.file, line: rec.line, text: own(rec.raw) }, 'not valid JSON (truncated or garbled QMP line)');
      return;
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return;
    const o = obj as Record<string, unknown>;
    const ev = evidence(rec);
    if (typeof o.execute === 'string' || typeof o['exec-oob'] === 'string') {
      const args = o.arguments && typeof o.arguments === 'object' ? (o.arguments as Record<string, unknown>) : {};
      this.pushCmd(String(o.execute ?? o['exec-oob']), args, o.id, ev);
      return;
    }
    if ('return' in o || 'error' in o) {
      const cmd = this.popCmd(o.id);
      if ('error' in o) return;
      this.onReply(cmd, o.return, ev, rec);
    }
    // greeting, events: nothing to do
  }

  private pushCmd(execute: string, args: Record<string, unknown>, id: unknown, evidence: Evidence): void {
    this.cmds.push({ execute, args, id, evidence });
    if (this.cmds.length > MAX_PENDING_CMDS) this.cmds.shift();
  }

  private popCmd(id: unknown) {
    if (id !== undefined) {
      const i = this.cmds.findIndex((c) => c.id === id);
      if (i >= 0) return this.cmds.splice(i, 1)[0];
    }
    return this.cmds.shift();
  }

  private onReply(
    cmd: { execute: string; args: Record<string, unknown>; evidence: Evidence } | undefined,
    ret: unknown,
    ev: Evidence,
    rec: LineRecord,
  ): void {
    const evidence = cmd ? [cmd.evidence, ev] : [ev];
    const path = cmd && typeof cmd.args.path === 'string' ? cmd.args.path : undefined;
    const queue = cmd ? numOf(cmd.args.queue) : undefined;
    if (typeof ret === 'string') {
      if (cmd?.execute === 'human-monitor-command' && typeof cmd.args['command-line'] === 'string') this.replayHmp(cmd.args['command-line'], ret, rec);
      return;
    }
    if (!ret || typeof ret !== 'object' || Array.isArray(ret)) return;
    const r = ret as Record<string, unknown>;
    const isStatus = cmd ? cmd.execute === 'x-query-virtio-queue-status' : 'last-avail-idx' in r;
    const isElem = cmd ? cmd.execute === 'x-query-virtio-queue-element' : Array.isArray(r.descs);
    if (isStatus) {
      const st = this.statusOf(
        {
          usedIdx: r['used-idx'],
          lastAvailIdx: r['last-avail-idx'],
          shadowAvailIdx: r['shadow-avail-idx'],
          inuse: r.inuse,
          num: r['vring-num'],
        },
        evidence,
      );
      if (!st) {
        if (r['used-idx'] !== undefined && r['last-avail-idx'] !== undefined)
          this.ctx.malformed(ev, 'virtqueue status with absurd indexes (not 16-bit) or ring size');
        return;
      }
      this.onStatus(path, queue ?? numOf(r['queue-index']), st);
      return;
    }
    if (!isElem) return;
    const e: Elem = {
      device: path,
      queue,
      pos: undefined,
      head: numOf(r.index),
      descs: [],
      form: 'qmp',
      evidence,
    };
    if (cmd && cmd.args.index !== undefined) {
      const pos = numOf(cmd.args.index);
      if (pos === undefined || pos > 0xffff) {
        this.ctx.malformed(cmd.evidence, 'element index argument is not a 16-bit number');
        return;
      }
      e.pos = pos;
    }
    if (!cmd) e.queue = undefined;
    const avail = r.avail as Record<string, unknown> | undefined;
    const used = r.used as Record<string, unknown> | undefined;
    if (avail && typeof avail === 'object') e.availIdx = numOf(avail.idx);
    if (used && typeof used === 'object') e.usedIdx = numOf(used.idx);
    const descs = Array.isArray(r.descs) ? r.descs : [];
    if (descs.length > MAX_DESCS) e.broken = `chain longer than ${MAX_DESCS} descriptors`;
    for (const d of descs.slice(0, MAX_DESCS)) {
      const dd = d as Record<string, unknown> | null;
      const addr = dd ? parseBig(dd.addr) : undefined;
      const len = dd && typeof dd.len === 'number' ? u32(dd.len) : undefined;
      if (!dd || addr === undefined || len === undefined) {
        e.broken = 'descriptor address or length out of range';
        this.ctx.malformed(ev, 'virtqueue descriptor with address or length out of range');
        continue;
      }
      const flags = Array.isArray(dd.flags) ? dd.flags.filter((x): x is string => typeof x === 'string') : [];
      e.descs.push({ addr, len, flags });
    }
    this.onElement(e);
  }

  /** HMP text returned by human-monitor-command: replay it through the HMP state machine. */
  private replayHmp(commandLine: string, text: string, rec: LineRecord): void {
    this.onCommand(cleanCommand(commandLine), evidence(rec));
    for (const raw of text.split('\n').slice(0, 1 << 20)) {
      const t = raw.replace(/\r$/, '').trim();
      if (!t) continue;
      const m = matchLine(t);
      if (!m || m === 'malformed' || m.pattern.startsWith('json') || m.pattern.startsWith('prompt')) continue;
      const sub: LineRecord = { file: rec.file, line: rec.line, text: t, raw: raw.slice(0, 4096) };
      this.onHmp(m.pattern as PatName, m.groups, evidence(sub), sub);
    }
    this.closeBlock();
    this.mode = { kind: 'other' };
  }

  // --- snapshot bookkeeping ------------------------------------------------------------------------------

  private statusOf(
    v: { usedIdx: unknown; lastAvailIdx: unknown; shadowAvailIdx: unknown; inuse: unknown; num: unknown },
    evidence: Evidence[],
  ): QueueStatus | undefined {
    const used = numOf(v.usedIdx);
    const last = numOf(v.lastAvailIdx);
    const num = numOf(v.num);
    if (used === undefined || last === undefined || used > 0xffff || last > 0xffff) return undefined;
    if (num !== undefined && (num < 1 || num > 32768)) return undefined;
    const st: QueueStatus = { usedIdx: used, lastAvailIdx: last, num: num !== undefined && num >= 1 && num <= 32768 ? num : 0, evidence };
    const shadow = numOf(v.shadowAvailIdx);
    if (shadow !== undefined && shadow <= 0xffff) st.shadowAvailIdx = shadow;
    const inuse = numOf(v.inuse);
    if (inuse !== undefined) st.inuse = inuse;
    return st;
  }

  private queueOf(device: string, queue: number): QueueState {
    const k = `${device}\u0000${queue}`;
    let q = this.queues.get(k);
    if (!q) {
      q = { device, queue, elems: [], live: [], epoch: 0, counts: newCounts() };
      this.queues.set(k, q);
    }
    return q;
  }

  private onStatus(device: string | undefined, queue: number | undefined, st: QueueStatus): void {
    if (device === undefined || queue === undefined) return;
    const q = this.queueOf(device, queue);
    // A new status starts a new snapshot of this queue: classify what the previous one collected.
    this.finalize(q);
    q.status = st;
  }

  private onElement(e: Elem): void {
    if (e.device === undefined || e.queue === undefined || e.queue > 0xffff) {
      this.unplaced++;
      this.unplacedEvidence ??= e.evidence[0];
      return;
    }
    const q = this.queueOf(e.device, e.queue);
    if (q.status) {
      // Placed at once: slots outside the live window are only counted, never kept.
      const at = place(e, q.status);
      if (at.kind !== 'window') {
        q.counts[at.kind]++;
        if (at.kind === 'stale') this.staleSlot(q, e, 'stale');
        return;
      }
    }
    if (this.retained + e.descs.length > MAX_RETAINED_DESCS) {
      q.counts.unplaced++;
      return;
    }
    this.retained += e.descs.length;
    q.elems.push(e);
  }

  /** One avail slot that is not a live request: counted per slot so summaries show how many were set aside. */
  private staleSlot(q: QueueState, e: Elem, why: 'stale' | 'partial' | 'garbage' | 'duplicate'): void {
    const what = {
      stale: 'outside [used_idx, last_avail_idx): names a request that completed long ago',
      partial: 'in the live window but not header…status shaped (completed and reused while the dump ran)',
      garbage: 'in the live window but with garbage descriptors (freed indirect table or bad length)',
      duplicate: 'same head descriptor or header buffer as a later live slot: completed and reused',
    }[why];
    this.ctx.emit({
      kind: 'diag',
      code: 'virtqueue-stale-slot',
      device: q.device,
      message: `queue ${q.queue} avail slot ${e.pos ?? '?'} (head ${e.head ?? '?'}) ${what}; not a request`,
      data: { queue: q.queue, pos: e.pos, head: e.head, why },
      evidence: e.evidence.slice(0, 1),
    });
  }

  private finalize(q: QueueState): void {
    const elems = q.elems;
    const counts = q.counts;
    q.elems = [];
    q.counts = newCounts();
    for (const e of elems) this.retained -= e.descs.length;
    if (elems.length === 0 && Object.values(counts).every((n) => n === 0)) return;
    q.epoch++;
    for (const key of q.live) this.ctx.emit({ kind: 'retire', key });
    q.live = [];
    const st = q.status;
    const seenPos = new Set<number>();
    const seenHead = new Set<string>();
    const cands: { e: Elem; chain: Desc[]; k: number; absPos: number }[] = [];
    const windowFrom = st ? 'status' : 'element';
    for (const e of elems) {
      const at = place(e, st);
      if (at.kind !== 'window') {
        counts[at.kind]++;
        continue;
      }
      const { pos, k, used } = at;
      if (seenPos.has(pos)) {
        counts.duplicate++;
        continue;
      }
      const chain = orient(e.descs);
      const shape = chain ? chainShape(chain) : 'partial';
      if (e.broken || shape !== 'ok' || !chain) {
        const why = shape === 'garbage' || e.broken ? 'garbage' : 'partial';
        counts[why]++;
        this.staleSlot(q, e, why);
        continue;
      }
      seenPos.add(pos);
      cands.push({ e, chain, k, absPos: (used + k) & 0xffff });
    }
    // One head descriptor (or one header buffer: Linux keeps one virtblk_req per tag) cannot be in flight twice.
    // When two live slots share one, the older pop completed during the dump and its memory was reused: keep
    // the most recent pop (highest window offset) and count the other as a duplicate.
    cands.sort((a, b) => b.k - a.k);
    const kept: typeof cands = [];
    for (const c of cands) {
      const hk = c.e.head !== undefined ? `h${c.e.head}` : undefined;
      const ak = `a${c.chain[0]!.addr}`;
      if ((hk && seenHead.has(hk)) || seenHead.has(ak)) {
        counts.duplicate++;
        this.staleSlot(q, c.e, 'duplicate');
        continue;
      }
      if (hk) seenHead.add(hk);
      seenHead.add(ak);
      kept.push(c);
    }
    kept.sort((a, b) => a.k - b.k);
    for (const c of kept) {
      const req = this.buildRequest(q, c.e, c.chain, c.absPos, st, windowFrom);
      this.ctx.emit({ kind: 'submit', req });
      q.live.push(req.key);
      counts.live++;
    }
    const data: Record<string, unknown> = { device: q.device, queue: q.queue, ...counts };
    if (st) {
      data.usedIdx = st.usedIdx;
      data.lastAvailIdx = st.lastAvailIdx;
      if (st.shadowAvailIdx !== undefined) data.shadowAvailIdx = st.shadowAvailIdx;
      if (st.inuse !== undefined) data.inuse = st.inuse;
    } else data.window = windowFrom;
    const evidence = st ? st.evidence.slice(0, 4) : (elems[0]?.evidence.slice(0, 2) ?? []);
    {
      this.ctx.emit({
        kind: 'diag',
        code: 'virtqueue-snapshot',
        device: q.device,
        message:
          `queue ${q.queue}: ${counts.live} live request(s); ${counts.stale} stale slot(s) outside [used_idx, last_avail_idx)` +
          (counts.partial ? `, ${counts.partial} live-window slot(s) not header…status shaped` : '') +
          (counts.garbage ? `, ${counts.garbage} with garbage descriptors` : '') +
          (counts.pending ? `, ${counts.pending} available but not popped` : '') +
          (counts.duplicate ? `, ${counts.duplicate} duplicate(s)` : '') +
          ' (not counted as requests)',
        data,
        evidence,
      });
    }
    if (st && st.inuse !== undefined && st.inuse !== ((st.lastAvailIdx - st.usedIdx) & 0xffff)) {
      this.ctx.emit({
        kind: 'diag',
        code: 'virtqueue-inuse-mismatch',
        device: q.device,
        message: `queue ${q.queue}: inuse ${st.inuse} but last_avail_idx - used_idx = ${(st.lastAvailIdx - st.usedIdx) & 0xffff}`,
        data: { queue: q.queue, inuse: st.inuse, usedIdx: st.usedIdx, lastAvailIdx: st.lastAvailIdx },
        evidence,
      });
    }
  }

  private buildRequest(q: QueueState, e: Elem, chain: Desc[], absPos: number, st: QueueStatus | undefined, windowFrom: string): Request {
    const n = chain.length;
    const segments: Segment[] = chain.map((d, i) => ({
      addr: hex(d.addr),
      len: d.len,
      write: d.flags.includes('write'),
      role: i === 0 ? 'header' : i === n - 1 ? 'status' : 'data',
    }));
    const data = chain.slice(1, n - 1);
    const bytes = data.reduce((s, d) => s + d.len, 0);
    const info: Record<string, unknown> = {
      availPos: absPos,
      head: e.head,
      listedOrder: e.descs.length > 1 && !e.descs[0]!.flags.includes('next') ? 'reversed' : 'forward',
      form: e.form,
      window: st
        ? { usedIdx: st.usedIdx, lastAvailIdx: st.lastAvailIdx, shadowAvailIdx: st.shadowAvailIdx, inuse: st.inuse, from: 'status' }
        : { usedIdx: e.usedIdx, availIdx: e.availIdx, from: windowFrom },
      snapshot: q.epoch,
    };
    // The element's own used.idx (read at query time) already passed this position: it probably completed
    // while the dump ran (approximate: completion order can differ from pop order).
    if (e.usedIdx !== undefined) {
      const ahead = (e.usedIdx - absPos) & 0xffff;
      if (ahead > 0 && ahead < 0x8000) info.usedPassedAtQuery = true;
    }
    let op: Op = 'unknown';
    let sector = 0;
    let sectors = 0;
    const hdrMem = this.readMem(chain[0]!.addr, 16);
    const hdr = hdrMem?.bytes;
    if (hdr) {
      const dv = new DataView(hdr.buffer, hdr.byteOffset, 16);
      const type = dv.getUint32(0, true);
      const ioprio = dv.getUint32(4, true);
      const sec = dv.getBigUint64(8, true);
      op = opOfType(type);
      info.header = { type, ioprio, sector: sec <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sec) : sec.toString() };
      info.opSource = 'header';
      if (sec <= BigInt(Number.MAX_SAFE_INTEGER)) sector = Number(sec);
      if (op === 'read' || op === 'write') sectors = Math.floor(bytes / 512);
      const dataWrite = data.length > 0 && data.every((d) => d.flags.includes('write'));
      const dataRead = data.length > 0 && data.every((d) => !d.flags.includes('write'));
      if ((op === 'read' && dataRead) || (op === 'write' && dataWrite)) info.directionMismatch = true;
    } else {
      // No header bytes: the direction of the data descriptors says read-like (device writes) or write-like.
      const w = data.filter((d) => d.flags.includes('write')).length;
      info.direction = data.length === 0 ? 'none' : w === data.length ? 'in' : w === 0 ? 'out' : 'mixed';
      info.opSource = 'unknown (no xp header bytes)';
    }
    const status = this.readMem(chain[n - 1]!.addr, 1);
    if (status) info.statusByte = status.bytes[0];
    const req: Request = {
      key: `${this.ctx.file}:${q.device}:q${q.queue}:a${absPos}:h${e.head ?? '?'}#${q.epoch}.${this.gen++}`,
      id: `q${q.queue}:${e.head ?? '?'}`,
      format: ID,
      file: this.ctx.file,
      seq: 0,
      device: q.device,
      queue: q.queue,
      op,
      sector,
      sectors,
      bytes,
      segments,
      state: 'inflight',
      expectsCompletion: false,
      evidence: [...e.evidence.slice(0, MAX_EVIDENCE), ...(hdrMem?.evidence ?? [])],
      info,
    };
    return req;
  }
}

function numOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v === 'string') return parseIntStrict(v);
  return undefined;
}

/** The chain in device order: QEMU 7.2 lists it reversed; the `next` flags tell which end is the tail. */
function orient(descs: Desc[]): Desc[] | undefined {
  const n = descs.length;
  if (n < 2) return undefined;
  const hasNext = (d: Desc) => d.flags.includes('next');
  const allNextBut = (skip: number) => descs.every((d, i) => i === skip || hasNext(d));
  if (!hasNext(descs[0]!) && allNextBut(0)) return [...descs].reverse();
  if (!hasNext(descs[n - 1]!) && allNextBut(n - 1)) return descs;
  return undefined;
}

/** 'ok' for header (readable, exactly 16 B: virtio_blk_outhdr) … data … status (writable), readable before writable, sane addresses. */
function chainShape(chain: Desc[]): 'ok' | 'partial' | 'garbage' {
  for (const d of chain) {
    if (d.flags.some((f) => f !== 'next' && f !== 'write')) return 'garbage'; // indirect/avail/used inside a listed chain
    if (d.addr + BigInt(d.len) > MAX_PHYS) return 'garbage';
    if (d.len === 0) return 'garbage';
  }
  const head = chain[0]!;
  const tail = chain[chain.length - 1]!;
  if (head.flags.includes('write') || head.len !== 16) return 'partial';
  if (!tail.flags.includes('write')) return 'partial';
  let seenWrite = false;
  for (const d of chain) {
    const w = d.flags.includes('write');
    if (!w && seenWrite) return 'partial';
    seenWrite ||= w;
  }
  return 'ok';
}

export const qemuVirtqueue: TextFormatDef = {
  id: ID,
  kind: 'text',
  title: 'QEMU virtqueue introspection (HMP/QMP, QEMU >= 7.2)',
  description:
    'HMP `info virtio-queue-status` / `info virtio-queue-element` text and QMP `x-query-virtio-queue-status` / ' +
    '`x-query-virtio-queue-element` JSON, with HMP `xp` dumps of header bytes. Live requests are the avail positions ' +
    'in [used_idx, last_avail_idx); every other slot is stale and only counted. A dump is a snapshot: no completions.',
  url: 'https://gitlab.com/qemu-project/qemu/-/blob/v7.2.0/hw/virtio/virtio.c (qmp_x_query_virtio_queue_element)',
  family: 'virtio',
  fields: [
    { name: 'path', type: 'string', description: 'QOM path of the virtio device backend (the request device)' },
    { name: 'queue', type: 'int', description: 'virtqueue index' },
    { name: 'index', type: 'int', description: 'element: head descriptor id read from avail->ring[pos]' },
    { name: 'used_idx', type: 'int', description: 'used->idx: completions published to the guest' },
    { name: 'last_avail_idx', type: 'int', description: 'next avail position QEMU will pop' },
    { name: 'shadow_avail_idx', type: 'int', description: 'avail->idx last read by QEMU (guest producer index)' },
    { name: 'addr', type: 'hex', description: 'descriptor guest-physical address' },
    { name: 'len', type: 'int', description: 'descriptor length in bytes (HMP prints it signed)' },
    { name: 'flags', type: 'string', description: 'descriptor flags: next, write, indirect (avail/used only in garbage)' },
  ],
  patterns: PATTERNS as unknown as Record<string, RegExp>,
  samples: [
    {
      line: '(qemu) info virtio-queue-element /machine/peripheral/vblk1/virtio-backend 0 3',
      pattern: 'promptVq',
      fields: { cmd: 'info virtio-queue-element /machine/peripheral/vblk1/virtio-backend 0 3' },
    },
    { line: '(qemu) xp /16xb 0x101c8210', pattern: 'promptXp', fields: { cmd: 'xp /16xb 0x101c8210' } },
    { line: '(qemu) info virtio', pattern: 'prompt', fields: { cmd: 'info virtio' } },
    { line: '/machine/peripheral/vblk1/virtio-backend:', pattern: 'path', fields: { path: '/machine/peripheral/vblk1/virtio-backend' } },
    { line: 'last_avail_idx:       260', pattern: 'key', fields: { key: 'last_avail_idx', value: '260' } },
    { line: 'desc:         0x00000000101ee000', pattern: 'section', fields: { section: 'desc', value: '0x00000000101ee000' } },
    {
      line: 'addr 0x2e23000 len 512 (write, next),',
      pattern: 'desc',
      fields: { addr: '0x2e23000', len: '512', flags: 'write, next' },
      comment: 'listed in reverse order by QEMU 7.2',
    },
    {
      line: '00000000101c8210: 0x00 0x00 0x00 0x00 0x04 0x40 0x00 0x00',
      pattern: 'xp',
      fields: { addr: '00000000101c8210', values: '0x00 0x00 0x00 0x00 0x04 0x40 0x00 0x00' },
    },
    {
      line: '{"return": {"index": 40, "name": "virtio-blk", "descs": [{"flags": ["write"], "len": 1, "addr": 270303776}], "avail": {"idx": 261, "flags": 0, "ring": 40}, "used": {"idx": 257, "flags": 0}}}',
      pattern: 'json',
    },
    {
      line: '<- {"return": {"signalled-used": 480, "inuse": 4, "queue-index": 0, "last-avail-idx": 484, "used-idx": 480, "shadow-avail-idx": 484, "vring-num": 256}}',
      pattern: 'json',
      comment: 'QMP traffic as shown in QEMU docs and logs ("-> " command, "<- " reply)',
    },
  ],
  detect(lines: string[]): number {
    try {
      return detect(lines);
    } catch {
      return 0;
    }
  },
  match: matchLine,
  createParser(ctx: ParserContext): TextParser {
    return new VirtqueueParser(ctx);
  },
};
