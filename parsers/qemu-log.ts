// QEMU "log" trace backend text: `TID@SEC.USEC:event args` (QEMU 4.0-5.2 always, >= 6.0 with
// `-msg timestamp=on`; PID instead of TID before 4.0) or bare `event args` (QEMU >= 6.0 default, very old
// "stderr" backend). Lines come from QEMU's stderr or `-D logfile`, mixed with other messages.
// Code that prints them: scripts/tracetool/backend/log.py (qemu/qemu), see ../shared/specs/virtio/SPEC.md §2.
// Event argument layouts: the trace-events declarations below (QEMU 7.2 /usr/share/qemu/trace-events-all,
// hw/block/trace-events, hw/virtio/trace-events, block/trace-events), plus the pre-vdev virtio_blk_* forms
// of QEMU <= 2.x and the zoned events of QEMU 8.0.
import { FAST_RECORD_MAX, type FastLine, type LineRecord, type PatternMatch, type TextFormatDef, type TextParser, type ParserContext } from './types.js';
import type { Evidence } from '../src/model/types.js';
import { evidenceOf, LazyEvidence } from './match.js';
import { compileDecl, compileScanner, FAST_SLOW, matchTemplate, type CompiledFastScan, type CompiledScan, type FieldStore, type Template } from './qemu/decl.js';
import { argField, compileArgsFiller, STORE_DEPS, storeCode, VirtioAssembler, VirtioEvent, type ArgsFiller, type EventKind } from './qemu/events.js';

/** Declarations whose arguments blkscope reads or whose layout it checks. Others are accepted as unknown events. */
const DECLS = [
  // hw/block/trace-events (vdev first, QEMU >= 2.11)
  'virtio_blk_req_complete(void *vdev, void *req, int status) "vdev %p req %p status %d"',
  'virtio_blk_rw_complete(void *vdev, void *req, int ret) "vdev %p req %p ret %d"',
  'virtio_blk_handle_write(void *vdev, void *req, uint64_t sector, size_t nsectors) "vdev %p req %p sector %"PRIu64" nsectors %zu"',
  'virtio_blk_handle_read(void *vdev, void *req, uint64_t sector, size_t nsectors) "vdev %p req %p sector %"PRIu64" nsectors %zu"',
  'virtio_blk_submit_multireq(void *vdev, void *mrb, int start, int num_reqs, uint64_t offset, size_t size, bool is_write) "vdev %p mrb %p start %d num_reqs %d offset %"PRIu64" size %zu is_write %d"',
  // pre-vdev forms (QEMU <= 2.x)
  'virtio_blk_req_complete(void *req, int status) "req %p status %d"',
  'virtio_blk_rw_complete(void *req, int ret) "req %p ret %d"',
  'virtio_blk_handle_write(void *req, uint64_t sector, size_t nsectors) "req %p sector %"PRIu64" nsectors %zu"',
  'virtio_blk_handle_read(void *req, uint64_t sector, size_t nsectors) "req %p sector %"PRIu64" nsectors %zu"',
  'virtio_blk_submit_multireq(void *mrb, int start, int num_reqs, uint64_t offset, size_t size, bool is_write) "mrb %p start %d num_reqs %d offset %"PRIu64" size %zu is_write %d"',
  // zoned (QEMU >= 8.0): sectors print in hex
  'virtio_blk_zone_report_complete(void *vdev, void *req, unsigned int nr_zones, int ret) "vdev %p req %p nr_zones %d ret %d"',
  'virtio_blk_zone_report_complete(void *vdev, void *req, unsigned int nr_zones, int ret) "vdev %p req %p nr_zones %u ret %d"',
  'virtio_blk_zone_mgmt_complete(void *vdev, void *req, int ret) "vdev %p req %p ret %d"',
  'virtio_blk_zone_append_complete(void *vdev, void *req, int64_t sector, int ret) "vdev %p req %p, append sector 0x%" PRIx64 " ret %d"',
  'virtio_blk_handle_zone_report(void *vdev, void *req, int64_t sector, unsigned int nr_zones) "vdev %p req %p sector 0x%" PRIx64 " nr_zones %d"',
  'virtio_blk_handle_zone_report(void *vdev, void *req, int64_t sector, unsigned int nr_zones) "vdev %p req %p sector 0x%" PRIx64 " nr_zones %u"',
  'virtio_blk_handle_zone_mgmt(void *vdev, void *req, uint8_t op, int64_t sector, int64_t len) "vdev %p req %p op 0x%x sector 0x%" PRIx64 " len 0x%" PRIx64 ""',
  'virtio_blk_handle_zone_reset_all(void *vdev, void *req, int64_t sector, int64_t len) "vdev %p req %p sector 0x%" PRIx64 " cap 0x%" PRIx64 ""',
  'virtio_blk_handle_zone_append(void *vdev, void *req, int64_t sector) "vdev %p req %p, append sector 0x%" PRIx64 ""',
  // hw/block/dataplane/trace-events
  'virtio_blk_data_plane_start(void *s) "dataplane %p"',
  'virtio_blk_data_plane_stop(void *s) "dataplane %p"',
  // hw/virtio/trace-events
  'virtqueue_alloc_element(void *elem, size_t sz, unsigned in_num, unsigned out_num) "elem %p size %zd in_num %u out_num %u"',
  'virtqueue_fill(void *vq, const void *elem, unsigned int len, unsigned int idx) "vq %p elem %p len %u idx %u"',
  'virtqueue_flush(void *vq, unsigned int count) "vq %p count %u"',
  'virtqueue_pop(void *vq, void *elem, unsigned int in_num, unsigned int out_num) "vq %p elem %p in_num %u out_num %u"',
  'virtio_queue_notify(void *vdev, int n, void *vq) "vdev %p n %d vq %p"',
  'virtio_notify_irqfd(void *vdev, void *vq) "vdev %p vq %p"',
  'virtio_notify(void *vdev, void *vq) "vdev %p vq %p"',
  'virtio_set_status(void *vdev, uint8_t val) "vdev %p val %u"',
  // block/trace-events
  'blk_co_preadv(void *blk, void *bs, int64_t offset, int64_t bytes, int flags) "blk %p bs %p offset %"PRId64" bytes %" PRId64 " flags 0x%x"',
  'blk_co_pwritev(void *blk, void *bs, int64_t offset, int64_t bytes, int flags) "blk %p bs %p offset %"PRId64" bytes %" PRId64 " flags 0x%x"',
  'bdrv_co_preadv_part(void *bs, int64_t offset, int64_t bytes, unsigned int flags) "bs %p offset %" PRId64 " bytes %" PRId64 " flags 0x%x"',
  'bdrv_co_pwritev_part(void *bs, int64_t offset, int64_t bytes, unsigned int flags) "bs %p offset %" PRId64 " bytes %" PRId64 " flags 0x%x"',
  'bdrv_co_pwrite_zeroes(void *bs, int64_t offset, int64_t bytes, int flags) "bs %p offset %" PRId64 " bytes %" PRId64 " flags 0x%x"',
  // block/qcow2 (trace-events of block/)
  'qcow2_add_task(void *co, void *bs, void *pool, const char *action, int cluster_type, uint64_t host_offset, uint64_t offset, uint64_t bytes, void *qiov, size_t qiov_offset) "co %p bs %p pool %p: %s: cluster_type %d file_cluster_offset %" PRIu64 " offset %" PRIu64 " bytes %" PRIu64 " qiov %p qiov_offset %zu"',
  'qcow2_writev_start_req(void *co, int64_t offset, int64_t bytes) "co %p offset 0x%" PRIx64 " bytes %" PRId64',
  'qcow2_writev_done_req(void *co, int ret) "co %p ret %d"',
  'qcow2_writev_data(void *co, uint64_t offset) "co %p offset 0x%" PRIx64',
  'qcow2_handle_alloc(void *co, uint64_t guest_offset, uint64_t host_offset, uint64_t bytes) "co %p guest_offset 0x%" PRIx64 " host_offset 0x%" PRIx64 " bytes 0x%" PRIx64',
  'qcow2_l2_allocate_done(void *bs, int l1_index, int ret) "bs %p l1_index %d ret %d"',
  'qcow2_cache_flush(void *co, int c) "co %p is_l2_cache %d"',
  'qcow2_cache_entry_flush(void *co, int c, int i) "co %p is_l2_cache %d index %d"',
];

type Value = number | bigint | string;

interface Variant {
  t: Template;
  /** The layout compiled to code: scans the body and builds the args object with one fixed shape per variant. */
  scan: CompiledScan;
  /** The args object's values into the assembler's event fields (compiled per layout). */
  fill: ArgsFiller;
  /** Its event's index in SPECS. */
  spec: number;
  /** The layout read in place from the chunk's bytes into a fast-lane slot (undefined: layouts with text fields). */
  fast: CompiledFastScan | undefined;
  /** The same reading with the kept fields' values written as numbers into a Float64Array, in `kept` order (fastRecord). */
  rec: CompiledFastScan | undefined;
  /** Fills a fast-lane slot from those numbers, as `fast` fills it (fastReplay). */
  replay: Replay;
  /** The layout's fields the rebuild keeps, each once. */
  kept: string[];
  /** Index in VARIANTS (a fast-lane record's code). */
  code: number;
}

type Replay = (e: VirtioEvent, r: Float64Array, o: number) => void;

interface EventSpec {
  /** The event name as a constant (internalised) string. */
  name: string;
  /** Index in SPECS (a parser keeps its assembler's EventKind per spec). */
  index: number;
  variants: Variant[];
}

const SPECS = new Map<string, EventSpec>();
/** Every variant by its code. */
const VARIANTS: Variant[] = [];
for (const d of DECLS) {
  const t = compileDecl(d);
  if (!t) throw new Error(`qemu-log: bad declaration ${d}`);
  let s = SPECS.get(t.name);
  if (!s) SPECS.set(t.name, (s = { name: t.name, index: SPECS.size, variants: [] }));
  const names = t.parts.filter((p) => p.field !== undefined).map((p) => p.field!);
  const kept = [...new Set(names.filter((n) => argField(n, names)))];
  const fast = compileScanner(t, fieldStores(names), 'clearFields(e);', STORE_DEPS);
  const v: Variant = {
    t,
    scan: compileScanner(t),
    fill: compileArgsFiller(names),
    spec: s.index,
    fast,
    rec: fast && 4 + kept.length <= FAST_RECORD_MAX ? compileScanner(t, (name, value) => (kept.includes(name) ? `e[o + ${kept.indexOf(name)}] = ${value};\n` : ''), '', {}) : undefined,
    replay: compileReplay(names, kept),
    kept,
    code: VARIANTS.length,
  };
  s.variants.push(v);
  VARIANTS.push(v);
}

/** A layout's fields into the rebuild's event, as compileArgsFiller stores them (the scanner's values are numbers). */
function fieldStores(names: string[]): FieldStore {
  return (name, value) => {
    const m = argField(name, names);
    return m ? storeCode(m, value, true) : '';
  };
}

/** Fills an event from the numbers a record scanner wrote (r[o + i] = the value of kept[i]), as fieldStores' code would. */
function compileReplay(names: string[], kept: string[]): Replay {
  let code = 'clearFields(e);\nlet v = 0;\n';
  kept.forEach((name, i) => (code += `v = r[o + ${i}];\n` + storeCode(argField(name, names)!, 'v', true)));
  const deps = Object.keys(STORE_DEPS);
  const factory = new Function(...deps, `return function replay(e, r, o) {\n${code}};`) as (...d: unknown[]) => Replay;
  return factory(...deps.map((k) => STORE_DEPS[k]));
}

function nameHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}
/** Event names by SPECS index. */
const SPEC_NAMES = [...SPECS.keys()];
const SPEC_LIST = [...SPECS.values()];
/** The known names by hash: an open-addressing table of SPEC_LIST index + 1 (0 = empty). */
const NAME_SLOTS = 1024;
const NAME_TABLE = new Int16Array(NAME_SLOTS);
const NAME_HASHES = new Int32Array(SPEC_LIST.length);
SPEC_LIST.forEach((spec, i) => {
  const h = nameHash(spec.name);
  NAME_HASHES[i] = h;
  let k = h & (NAME_SLOTS - 1);
  while (NAME_TABLE[k] !== 0) k = (k + 1) & (NAME_SLOTS - 1);
  NAME_TABLE[k] = i + 1;
});

/** The known event named by s[from, to) (text or bytes), whose name hash (nameHash) is h; undefined when none. */
function specOf(h: number, s: string | Uint8Array, from: number, to: number): EventSpec | undefined {
  for (let k = h & (NAME_SLOTS - 1); ; k = (k + 1) & (NAME_SLOTS - 1)) {
    const i = NAME_TABLE[k]! - 1;
    if (i < 0) return undefined;
    if (NAME_HASHES[i] !== h) continue;
    const spec = SPEC_LIST[i]!;
    const name = spec.name;
    if (name.length !== to - from) continue;
    if (typeof s === 'string') {
      if (s.startsWith(name, from)) return spec;
      continue;
    }
    let j = 0;
    while (j < name.length && name.charCodeAt(j) === s[from + j]) j++;
    if (j === name.length) return spec;
  }
}

/** Names of QEMU trace-event prefixes used to accept unknown bare lines (without TID@SEC.USEC:). */
const BARE_FAMILIES = /^(?:virtio|virtqueue|vhost|blk|bdrv|qcow2|qed|luring|laio|file|thread_pool|dma|iothread|aio|qemu|vring|nvme|scsi|ide|ahci|raw|vmdk|vpc|vdi|nbd|job|block|mirror|backup|stream|commit)_[a-z0-9_]*$/;

const EMPTY: Record<string, Value> = Object.freeze({}) as Record<string, Value>;

const LINE_RE = /^(?:(?<tid>\d+)@(?<sec>\d+)\.(?<usec>\d{6}):)?(?<event>[a-z][a-z0-9_]*)(?: (?<body>.*))?$/;

/** A matched line: the event, its prefix values and its field values (groups are built only when asked for). */
class QemuMatch implements PatternMatch {
  readonly pattern = 'event';
  constructor(
    readonly text: string,
    readonly event: string,
    readonly prefixEnd: number,
    readonly tid: number | undefined,
    readonly time: number | undefined,
    readonly variant: Variant | undefined,
    readonly args: Record<string, Value>,
  ) {}

  /** Named groups as text, like LINE_RE plus the event's fields (samples, generic callers). */
  get groups(): Record<string, string | undefined> {
    const m = LINE_RE.exec(this.text);
    const g: Record<string, string | undefined> = { ...(m?.groups ?? {}) };
    if (this.variant) {
      const body = g.body ?? '';
      matchTemplate(this.variant.t, body, 0, g);
    }
    return g;
  }
}

/** The last prefix readPrefix read (module scratch: no object per line). */
let prefixTid = 0;
let prefixTime = 0;

/** The offset after the digits digitsAt last read (module scratch). */
let digitsEnd = 0;

/** The decimal digits from s[i] (text or bytes) as a number; digitsEnd is set to the offset after them. */
function digitsAt(s: string | Uint8Array, i: number): number {
  let v = 0;
  if (typeof s === 'string') {
    for (let c = s.charCodeAt(i); c >= 48 && c <= 57; c = s.charCodeAt(++i)) v = v * 10 + (c - 48);
  } else {
    for (let c = s[i]!; c >= 48 && c <= 57; c = s[++i]!) v = v * 10 + (c - 48);
  }
  digitsEnd = i;
  return v;
}

/** The character code (text) or byte at s[i]. */
function codeAt(s: string | Uint8Array, i: number): number {
  return typeof s === 'string' ? s.charCodeAt(i) : s[i]!;
}

/**
 * `TID@SEC.USEC:` at `pos` (a digit there) in a line's text or bytes: the offset after it, with prefixTid /
 * prefixTime set, or -1 when the digits are not such a prefix. Stops at the first character that does not fit, so it
 * reads a line in place inside a longer text or chunk as well (a newline fits nothing).
 */
function readPrefix(s: string | Uint8Array, pos: number): number {
  const t = digitsAt(s, pos);
  if (codeAt(s, digitsEnd) !== 64 /* @ */) return -1;
  const s0 = digitsEnd + 1;
  const sec = digitsAt(s, s0);
  if (digitsEnd === s0 || codeAt(s, digitsEnd) !== 46 /* . */) return -1;
  const u0 = digitsEnd + 1;
  const usec = digitsAt(s, u0);
  if (digitsEnd - u0 !== 6 || codeAt(s, digitsEnd) !== 58 /* : */) return -1;
  prefixTid = t;
  prefixTime = sec + usec / 1e6;
  return digitsEnd + 1;
}

/** Hash of the last name readName read (module scratch). */
let nameHashOut = 0;

/** An event name ([a-z0-9_]*) from `pos` up to `end`: the offset after it; its hash in nameHashOut. */
function readName(s: string, pos: number, end: number): number {
  let h = 0;
  while (pos < end) {
    const c = s.charCodeAt(pos);
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95) {
      h = (Math.imul(h, 31) + c) | 0;
      pos++;
    } else break;
  }
  nameHashOut = h;
  return pos;
}

/** Fast matcher: prefix by hand, the event name, then the event's own layout. */
export function matchQemuLog(text: string): PatternMatch | 'malformed' | null {
  const n = text.length;
  let pos = 0;
  let tid: number | undefined;
  let time: number | undefined;
  const c0 = text.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) {
    pos = readPrefix(text, 0);
    if (pos < 0) return null;
    tid = prefixTid;
    time = prefixTime;
  }
  const prefixEnd = pos;
  // event name, hashed while scanning (no slice for known events)
  const e0 = pos;
  pos = readName(text, pos, n);
  if (pos === e0 || (pos < n && text.charCodeAt(pos) !== 32)) return tid !== undefined ? 'malformed' : null;
  const bodyStart = pos < n ? pos + 1 : n;
  const spec = specOf(nameHashOut, text, e0, pos);
  if (!spec) {
    const event = text.slice(e0, pos);
    if (tid === undefined && !BARE_FAMILIES.test(event)) return null;
    return new QemuMatch(text, event, prefixEnd, tid, time, undefined, EMPTY);
  }
  return matchSpec(spec, text, bodyStart, prefixEnd, tid, time);
}

function matchSpec(spec: EventSpec, text: string, bodyStart: number, prefixEnd: number, tid: number | undefined, time: number | undefined): PatternMatch | 'malformed' {
  for (const v of spec.variants) {
    const args = v.scan(text, bodyStart);
    if (args !== null) return new QemuMatch(text, spec.name, prefixEnd, tid, time, v, args);
  }
  return 'malformed';
}


/** A fast-lane slot: the line's place, its event and prefix values, and the rebuild's fields filled in place. */
class QemuFastLine extends VirtioEvent implements FastLine {
  line = 0;
  src: Buffer = EMPTY_BYTES;
  lineStart = 0;
  lineEnd = 0;
  /** Index of the event in SPECS. */
  spec = 0;
  file = '';
  private ev: Evidence | undefined = undefined;
  /** A new line is in the slot (its evidence is not made yet). */
  reset(): void {
    this.ev = undefined;
  }
  override get evidence(): Evidence {
    return (this.ev ??= new LineBytesEvidence(this.file, this.line, this.src, this.lineStart, this.lineEnd));
  }
}

/**
 * A fast-lane line's evidence: as evidenceOf's (the raw line is the line itself: printable ASCII, nothing normalised
 * away), with the text made from the chunk's bytes only when something reads it (LazyEvidence).
 */
class LineBytesEvidence extends LazyEvidence {
  private src: Buffer | undefined;
  constructor(
    readonly file: string,
    override readonly line: number,
    src: Buffer,
    private readonly start: number,
    private readonly end: number,
  ) {
    super();
    this.src = src;
  }

  protected makeText(): string {
    return this.src!.toString('latin1', this.start, this.end);
  }

  protected release(): void {
    this.src = undefined;
  }
}

const EMPTY_BYTES = Buffer.alloc(0);

/** The known event whose name ([a-z0-9_]+) is at b[pos] followed by a space: its spec, with nameEnd set to the space. */
let nameEnd = 0;
function specAtBytes(b: Uint8Array, pos: number): EventSpec | undefined {
  const e0 = pos;
  let h = 0;
  let c = b[pos]!;
  while ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95) {
    h = (Math.imul(h, 31) + c) | 0;
    c = b[++pos]!;
  }
  if (pos === e0 || c !== 32) return undefined;
  nameEnd = pos;
  return specOf(h, b, e0, pos);
}

/** What fastMatch read: the line's TID and time (undefined without a prefix). */
let fastTid: number | undefined;
let fastTime: number | undefined;

/**
 * The fast lane: the line at b[start] read in its bytes, as matchQemuLog and the layout's scanner would read its
 * text, for lines with a known event whose layout has no text field. The layout's values go into `out` (a slot,
 * or a record array from `outAt`). Returns the variant and sets fastNl to the offset of the newline ending the line, or
 * undefined to leave the line to the usual path (unknown events, text fields, values beyond 2^53, a line that does
 * not fit, which the usual path reports as malformed). There must be a newline at or after `start`.
 */
let fastNl = 0;
function fastMatch(b: Buffer, start: number, out: object, outAt: number, record: boolean): Variant | undefined {
  let pos = start;
  fastTid = undefined;
  fastTime = undefined;
  const c = b[pos]!;
  if (c >= 48 && c <= 57) {
    pos = readPrefix(b, pos);
    if (pos < 0) return undefined;
    fastTid = prefixTid;
    fastTime = prefixTime;
  } else if (!(c >= 97 && c <= 122)) return undefined;
  const spec = specAtBytes(b, pos);
  if (!spec) return undefined;
  for (const v of spec.variants) {
    const scan = record ? v.rec : v.fast;
    if (!scan) return undefined;
    const r = scan(b, nameEnd + 1, out, outAt);
    if (r >= 0) {
      fastNl = r;
      return v;
    }
    if (r === FAST_SLOW) return undefined;
  }
  return undefined;
}

/** TextFormatDef.fastLine: the line read into a slot. */
function fastQemuLine(b: Buffer, start: number, out: FastLine): number {
  const q = out as QemuFastLine;
  const v = fastMatch(b, start, q, 0, false);
  if (!v) return -1;
  q.spec = v.spec;
  q.tid = fastTid;
  q.time = fastTime;
  return fastNl;
}

/** TextFormatDef.fastRecord: [code, newline offset, tid (NaN: none), time (NaN: none), the kept values...]. */
function fastQemuRecord(b: Buffer, start: number, rec: Float64Array, at: number): number {
  const v = fastMatch(b, start, rec, at + 4, true);
  if (!v) return -1;
  rec[at] = v.code;
  rec[at + 1] = fastNl;
  rec[at + 2] = fastTid ?? NaN;
  rec[at + 3] = fastTime ?? NaN;
  return 4 + v.kept.length;
}

/** TextFormatDef.fastReplay: a slot filled from a fastQemuRecord record. */
function fastQemuReplay(rec: Float64Array, at: number, out: FastLine): number {
  const q = out as QemuFastLine;
  const v = VARIANTS[rec[at]!]!;
  v.replay(q, rec, at + 4);
  q.spec = v.spec;
  const tid = rec[at + 2]!;
  const time = rec[at + 3]!;
  q.tid = tid === tid ? tid : undefined;
  q.time = time === time ? time : undefined;
  return 4 + v.kept.length;
}

/**
 * The line being handed to the assembler, reused from line to line. Its evidence (a detached copy of the line) is
 * made only when the assembler keeps it, while handle() runs.
 */
class LineEvent extends VirtioEvent {
  private rec: LineRecord | undefined = undefined;
  private ev: Evidence | undefined = undefined;
  set(k: EventKind, time: number | undefined, tid: number | undefined, rec: LineRecord): void {
    this.kind = k;
    this.time = time;
    this.tid = tid;
    this.rec = rec;
    this.ev = undefined;
  }
  release(): void {
    this.rec = undefined;
    this.ev = undefined;
  }
  override get evidence(): Evidence {
    return (this.ev ??= evidenceOf(this.rec!));
  }
}

class QemuLogParser implements TextParser {
  private readonly asm: VirtioAssembler;
  private readonly ev = new LineEvent();
  /** This assembler's kind per known event (SPECS index). */
  private readonly kinds: (EventKind | undefined)[] = [];
  private readonly file: string;
  constructor(ctx: ParserContext) {
    this.asm = new VirtioAssembler(ctx, { format: 'qemu-log' });
    this.file = ctx.file;
  }

  line(rec: LineRecord, m: PatternMatch): void {
    let qm: QemuMatch | undefined = m instanceof QemuMatch ? m : undefined;
    if (!qm) {
      // A match made elsewhere (rejoined line): parse the text again.
      const again = matchQemuLog(rec.text);
      if (!(again instanceof QemuMatch)) return;
      qm = again;
    }
    const asm = this.asm;
    const v = qm.variant;
    let k: EventKind;
    if (v) k = this.kinds[v.spec] ??= asm.kind(qm.event);
    else k = asm.kind(qm.event);
    if (!k.needsArgs) {
      asm.tick(k, qm.tid ?? 0);
      return;
    }
    const e = this.ev;
    e.set(k, qm.time, qm.tid, rec);
    if (v) v.fill(e, qm.args);
    else clearEvent(e);
    asm.handle(e);
    e.release();
  }

  /** A line the fast lane read: its fields are in the slot already. */
  fastLine(l: FastLine): void {
    const q = l as QemuFastLine;
    const asm = this.asm;
    const k = (this.kinds[q.spec] ??= asm.kind(SPEC_NAMES[q.spec]!));
    if (!k.needsArgs) {
      asm.tick(k, q.tid ?? 0);
      return;
    }
    q.kind = k;
    q.file = this.file;
    q.reset();
    asm.handle(q);
  }

  end(): void {
    this.asm.end();
  }
}

/** An event without a layout (no arguments known): every field absent. */
const EMPTY_FILL = compileArgsFiller([]);
function clearEvent(e: VirtioEvent): void {
  EMPTY_FILL(e, EMPTY);
}

const KNOWN_CORE = new Set(['virtqueue_pop', 'virtqueue_fill', 'virtio_blk_handle_read', 'virtio_blk_handle_write', 'virtio_blk_req_complete', 'virtio_blk_rw_complete', 'virtio_queue_notify', 'virtio_set_status', 'virtio_blk_data_plane_start', 'virtio_blk_data_plane_stop', 'blk_co_preadv', 'blk_co_pwritev']);

export const qemuLog: TextFormatDef = {
  id: 'qemu-log',
  kind: 'text',
  title: 'QEMU log trace backend (virtio-blk)',
  description:
    'QEMU trace events written by the "log" backend (-trace / -D file), with or without `-msg timestamp=on` ' +
    '(TID@SEC.USEC: prefix; PID before QEMU 4.0). Rebuilds virtio-blk requests from virtqueue_pop/fill and ' +
    'virtio_blk_* events; host block-layer events (blk_co_*, bdrv_co_*, qcow2_*, luring_*) are attached or counted.',
  url: 'https://github.com/qemu/qemu/blob/master/scripts/tracetool/backend/log.py',
  family: 'virtio',
  fields: [
    { name: 'tid', type: 'int', description: 'host thread id (pid before QEMU 4.0); only with timestamps' },
    { name: 'sec', type: 'int', description: 'gettimeofday seconds' },
    { name: 'usec', type: 'int', description: 'microseconds (6 digits)' },
    { name: 'event', type: 'string', description: 'trace event name' },
    { name: 'vdev', type: 'hex', description: 'VirtIODevice pointer (the disk)' },
    { name: 'vq', type: 'hex', description: 'VirtQueue pointer' },
    { name: 'elem', type: 'hex', description: 'VirtQueueElement pointer (= virtio_blk req pointer)' },
    { name: 'req', type: 'hex', description: 'VirtIOBlockReq pointer' },
    { name: 'in_num', type: 'int', description: 'device-writable descriptors of the popped element' },
    { name: 'out_num', type: 'int', description: 'device-readable descriptors of the popped element' },
    { name: 'sector', type: 'u64', description: 'first 512-byte sector (decimal; hex for zone events)' },
    { name: 'nsectors', type: 'int', description: 'length in 512-byte sectors' },
    { name: 'len', type: 'int', description: 'virtqueue_fill: bytes written into device-writable buffers (reads: data + 1)' },
    { name: 'status', type: 'int', description: 'virtio-blk status: 0 OK, 1 IOERR, 2 UNSUPP' },
    { name: 'ret', type: 'int', description: 'block-layer return: 0 or -errno' },
    { name: 'offset', type: 'u64', description: 'byte offset (blk_co_*, bdrv_co_*: decimal; qcow2_*: hex)' },
    { name: 'bytes', type: 'int', description: 'byte count' },
  ],
  patterns: { event: LINE_RE },
  samples: [
    {
      line: '4887@1795471925.894709:virtio_blk_handle_read vdev 0x563dcaab0600 req 0x563dc9f89800 sector 260010 nsectors 1',
      pattern: 'event',
      fields: { tid: '4887', sec: '1795471925', usec: '894709', event: 'virtio_blk_handle_read' },
      comment: 'QEMU 7.2 with -msg timestamp=on (realtraces run1)',
    },
    {
      line: '4887@1795471911.777373:virtqueue_pop vq 0x7f7410ad8010 elem 0x563dc9f89800 in_num 2 out_num 1',
      pattern: 'event',
      fields: { tid: '4887', event: 'virtqueue_pop' },
    },
    {
      line: '4887@1795471911.777497:virtqueue_fill vq 0x7f7410ad8010 elem 0x563dc9f89800 len 513 idx 0',
      pattern: 'event',
      fields: { event: 'virtqueue_fill' },
    },
    {
      line: 'virtio_blk_req_complete vdev 0x557b38a8d310 req 0x557b38b5aac0 status 0',
      pattern: 'event',
      fields: { event: 'virtio_blk_req_complete' },
      comment: 'QEMU >= 6 without -msg timestamp=on (stderr)',
    },
    {
      line: '4887@1795471926.260339:virtio_blk_submit_multireq vdev 0x563dcab9e380 mrb 0x7ffe6301e3f0 start 0 num_reqs 2 offset 5120 size 33792 is_write 0',
      pattern: 'event',
      fields: { event: 'virtio_blk_submit_multireq' },
      comment: 'two adjacent reads merged by QEMU (offset and size in bytes)',
    },
    {
      line: '4585@1795471889.703436:qcow2_handle_alloc co 0x55c26c6cdbe0 guest_offset 0x0 host_offset 0xffffffffffffffff bytes 0x1000',
      pattern: 'event',
      fields: { event: 'qcow2_handle_alloc' },
    },
  ],
  detect(lines: string[]): number {
    let considered = 0;
    let hits = 0;
    for (const l of lines) {
      if (!l) continue;
      considered++;
      const m = matchQemuLog(l);
      if (m instanceof QemuMatch && (m.tid !== undefined || KNOWN_CORE.has(m.event) || SPECS.has(m.event))) hits++;
    }
    if (hits === 0 || considered === 0) return 0;
    return Math.min(1, 0.4 + (0.6 * hits) / considered);
  },
  match: matchQemuLog,
  fastLine: fastQemuLine,
  fastRecord: fastQemuRecord,
  fastReplay: fastQemuReplay,
  newFastLine: (): FastLine => new QemuFastLine(),
  createParser(ctx: ParserContext): TextParser {
    return new QemuLogParser(ctx);
  },
};
