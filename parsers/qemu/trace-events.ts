// QEMU trace-events declarations: event name -> argument names and types.
//
// Syntax (../shared/specs/virtio/SPEC.md §1.1): one declaration per line,
//   [props ]name(type1 arg1, type2 arg2, ...) "printf format"
// '#' comments and blank lines are skipped. Facts mirrored from QEMU's scripts/tracetool (read via the
// code corpus, qemu/qemu scripts/tracetool/__init__.py and backend/simple.py; not copied):
// - An argument containing '*' splits at its LAST '*': type = text before it + '*', name = the rest.
//   Otherwise it splits at the last whitespace. "void" alone means no arguments.
// - Properties precede the name ("disable", "vcpu", "tcg"...). A "vcpu" event gets an implicit first
//   argument `void * __cpu` (tracetool/vcpu.py transform_event; QEMU 2.8 .. 8.0).
// - The simple backend stores an argument as a string (u32 length + bytes) when its type starts with
//   "const char*", "char*", "const char *" or "char *" and has exactly one '*' (backend/simple.py
//   is_string); every other argument as a u64.
// - The simple backend's event ids (v2/v3 files, which have no mapping records) are the declaration
//   order of trace-events-all.
import { existsSync, readFileSync } from 'node:fs';

export const DEFAULT_TRACE_EVENTS = '/usr/share/qemu/trace-events-all';

export interface TraceArg {
  type: string;
  name: string;
  /** Stored by the simple backend as u32 length + bytes. */
  isString: boolean;
  /** A pointer (type ends in '*') that is not a string: printed %p by the log backend. */
  isPointer: boolean;
}

export interface TraceEventDecl {
  name: string;
  props: string[];
  args: TraceArg[];
  /** The printf format (C string literal pieces and PRI macros, as written), '' when absent. */
  fmt: string;
  /** 1-based line in the file. */
  line: number;
  /** The declaration line as written (trimmed). */
  raw: string;
}

export interface TraceEvents {
  /** Where the declarations came from (a path or 'built-in'). */
  source: string;
  /** Declarations by event name (parsed on first use: a run needs a few dozen of trace-events-all's 5000). */
  byName: { get(name: string): TraceEventDecl | undefined; has(name: string): boolean };
  /** Declaration order (the event id of v2/v3 simpletrace files). Parses every line. */
  readonly list: TraceEventDecl[];
  /** Lines that look like declarations but do not parse: "line N: reason". Parses every line. */
  readonly errors: string[];
  /** Number of lines that name an event (declarations, parsed or not). */
  readonly count: number;
}

export class TraceEventsError extends Error {}

const NAME_RE = /^\w+$/;
const STR_PREFIXES = ['const char*', 'char*', 'const char *', 'char *'];

/** The simple backend's string-argument test (tracetool backend/simple.py is_string). */
export function isStringType(type: string): boolean {
  const t = type.trimStart();
  let stars = 0;
  for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) === 42) stars++;
  return stars === 1 && STR_PREFIXES.some((p) => t.startsWith(p));
}

/** Parse one argument list ("void", "void *vdev, int ret"). Throws TraceEventsError on an empty item. */
export function parseArgs(argStr: string): TraceArg[] {
  const out: TraceArg[] = [];
  for (const raw of argStr.split(',')) {
    const arg = raw.trim();
    if (!arg) throw new TraceEventsError("empty argument (did you forget to use 'void'?)");
    if (arg === 'void') continue;
    let type: string;
    let name: string;
    const star = arg.lastIndexOf('*');
    if (star >= 0) {
      type = arg.slice(0, star + 1);
      name = arg.slice(star + 1).trim();
    } else {
      const m = /^(.*\S)\s+(\S+)$/.exec(arg);
      if (!m) throw new TraceEventsError(`argument '${arg}' has no type`);
      type = m[1]!;
      name = m[2]!;
    }
    if (!name) throw new TraceEventsError(`argument '${arg}' has no name`);
    const isString = isStringType(type);
    out.push({ type, name, isString, isPointer: !isString && type.trimEnd().endsWith('*') });
  }
  return out;
}

/** Parse one declaration line (trimmed, not a comment). Throws TraceEventsError with the reason. */
export function parseDecl(t: string, lineNo: number): TraceEventDecl {
  // [props ]name(args) "fmt" -- split by hand (a regex with optional props backtracks badly on 6000 lines).
  const open = t.indexOf('(');
  const close = open < 0 ? -1 : t.indexOf(')', open);
  const words = open < 0 ? [] : t.slice(0, open).trim().split(/\s+/);
  const name = words.pop() ?? '';
  const fmt = close < 0 ? '' : t.slice(close + 1).trim();
  if (close < 0 || !NAME_RE.test(name) || words.some((w) => !NAME_RE.test(w)) || (fmt !== '' && fmt[0] !== '"')) {
    throw new TraceEventsError('not a trace event declaration');
  }
  const args = parseArgs(t.slice(open + 1, close));
  if (words.includes('vcpu')) args.unshift({ type: 'void *', name: '__cpu', isString: false, isPointer: true });
  return { name, props: words, args, fmt, line: lineNo, raw: t };
}

/** The name a declaration line declares (text before '(' , last word), or '' when it has none. */
function declName(t: string): string {
  const open = t.indexOf('(');
  if (open <= 0) return '';
  let e = open;
  while (e > 0 && t.charCodeAt(e - 1) === 32) e--;
  let b = e;
  while (b > 0 && /\w/.test(t[b - 1]!)) b--;
  return t.slice(b, e);
}

class TraceEventsTable implements TraceEvents {
  /** name -> index into `lines` of its last declaration. */
  private readonly index = new Map<string, number>();
  private readonly decls = new Map<string, TraceEventDecl | null>();
  private all: { list: TraceEventDecl[]; errors: string[] } | undefined;
  readonly byName: TraceEvents['byName'];

  constructor(
    readonly source: string,
    private readonly lines: string[],
  ) {
    for (let i = 0; i < lines.length; i++) {
      const t = lines[i]!.trim();
      if (!t || t.charCodeAt(0) === 35) continue;
      const name = declName(t);
      if (name) this.index.set(name, i);
    }
    this.byName = { get: (n) => this.get(n), has: (n) => this.get(n) !== undefined };
  }

  get count(): number {
    return this.index.size;
  }

  private get(name: string): TraceEventDecl | undefined {
    let d = this.decls.get(name);
    if (d === undefined) {
      const i = this.index.get(name);
      if (i === undefined) return undefined;
      try {
        d = parseDecl(this.lines[i]!.trim(), i + 1);
      } catch {
        d = null;
      }
      this.decls.set(name, d);
    }
    return d ?? undefined;
  }

  private parseAll(): { list: TraceEventDecl[]; errors: string[] } {
    if (this.all) return this.all;
    const list: TraceEventDecl[] = [];
    const errors: string[] = [];
    for (let i = 0; i < this.lines.length; i++) {
      const t = this.lines[i]!.trim();
      if (!t || t.charCodeAt(0) === 35) continue;
      try {
        list.push(parseDecl(t, i + 1));
      } catch (e) {
        errors.push(`line ${i + 1}: ${(e as Error).message}`);
      }
    }
    return (this.all = { list, errors });
  }

  get list(): TraceEventDecl[] {
    return this.parseAll().list;
  }

  get errors(): string[] {
    return this.parseAll().errors;
  }
}

/**
 * A trace-events text. Lines are indexed by event name at once and parsed when an event is looked up
 * (`list`/`errors` parse them all). Later declarations of a name replace earlier ones (as simpletrace.py).
 */
export function parseTraceEvents(text: string, source = '<trace-events>'): TraceEvents {
  return new TraceEventsTable(source, text.split('\n'));
}

/**
 * Load the trace-events file: the given path, else /usr/share/qemu/trace-events-all when present.
 * Returns undefined when no path was given and the default is missing. Throws TraceEventsError
 * (one-line message naming the file) when the file cannot be read or holds no declaration.
 */
export function loadTraceEvents(path?: string): TraceEvents | undefined {
  const p = path ?? (existsSync(DEFAULT_TRACE_EVENTS) ? DEFAULT_TRACE_EVENTS : undefined);
  if (!p) return undefined;
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String((e as Error).message).split('\n')[0];
    throw new TraceEventsError(`${p}: cannot read trace-events file: ${why}`);
  }
  const te = parseTraceEvents(text, p);
  if (te.count === 0) throw new TraceEventsError(`${p}: no trace event declarations found`);
  return te;
}

const cache = new Map<string, TraceEvents | undefined>();
/** loadTraceEvents with a per-path cache (the same file is used for every input of a run). */
export function loadTraceEventsCached(path?: string): TraceEvents | undefined {
  const key = path ?? '';
  if (!cache.has(key)) cache.set(key, loadTraceEvents(path));
  return cache.get(key);
}

// ---- Built-in declarations (used when no trace-events file is given and the default is missing)

/**
 * QEMU 7.2's declarations of the virtio-blk, virtqueue, block-layer and qcow2 events blkscope reads
 * (verbatim lines of the 7.2.22 build's trace-events-all: hw/block, hw/virtio, block/ trace-events).
 * Event ids of v4 files come from mapping records, so this subset is enough to decode those events; a
 * record whose length disagrees with them (another QEMU version) is shown as raw words instead.
 */
export const BUILTIN_DECLS: readonly string[] = [
  'thread_pool_submit(void *pool, void *req, void *opaque) "pool %p req %p opaque %p"',
  'thread_pool_complete(void *pool, void *req, void *opaque, int ret) "pool %p req %p opaque %p ret %d"',
  'thread_pool_cancel(void *req, void *opaque) "req %p opaque %p"',
  'blk_co_preadv(void *blk, void *bs, int64_t offset, int64_t bytes, int flags) "blk %p bs %p offset %"PRId64" bytes %" PRId64 " flags 0x%x"',
  'blk_co_pwritev(void *blk, void *bs, int64_t offset, int64_t bytes, int flags) "blk %p bs %p offset %"PRId64" bytes %" PRId64 " flags 0x%x"',
  'bdrv_co_preadv_part(void *bs, int64_t offset, int64_t bytes, unsigned int flags) "bs %p offset %" PRId64 " bytes %" PRId64 " flags 0x%x"',
  'bdrv_co_pwritev_part(void *bs, int64_t offset, int64_t bytes, unsigned int flags) "bs %p offset %" PRId64 " bytes %" PRId64 " flags 0x%x"',
  'bdrv_co_pwrite_zeroes(void *bs, int64_t offset, int64_t bytes, int flags) "bs %p offset %" PRId64 " bytes %" PRId64 " flags 0x%x"',
  'bdrv_co_do_copy_on_readv(void *bs, int64_t offset, int64_t bytes, int64_t cluster_offset, int64_t cluster_bytes) "bs %p offset %" PRId64 " bytes %" PRId64 " cluster_offset %" PRId64 " cluster_bytes %" PRId64',
  'bdrv_co_copy_range_from(void *src, int64_t src_offset, void *dst, int64_t dst_offset, int64_t bytes, int read_flags, int write_flags) "src %p offset %" PRId64 " dst %p offset %" PRId64 " bytes %" PRId64 " rw flags 0x%x 0x%x"',
  'bdrv_co_copy_range_to(void *src, int64_t src_offset, void *dst, int64_t dst_offset, int64_t bytes, int read_flags, int write_flags) "src %p offset %" PRId64 " dst %p offset %" PRId64 " bytes %" PRId64 " rw flags 0x%x 0x%x"',
  'file_paio_submit(void *acb, void *opaque, int64_t offset, int count, int type) "acb %p opaque %p offset %"PRId64" count %d type %d"',
  'luring_init_state(void *s, size_t size) "s %p size %zu"',
  'luring_cleanup_state(void *s) "%p freed"',
  'luring_io_plug(void *s) "LuringState %p plug"',
  'luring_io_unplug(void *s, int blocked, int plugged, int queued, int inflight) "LuringState %p blocked %d plugged %d queued %d inflight %d"',
  'luring_do_submit(void *s, int blocked, int plugged, int queued, int inflight) "LuringState %p blocked %d plugged %d queued %d inflight %d"',
  'luring_do_submit_done(void *s, int ret) "LuringState %p submitted to kernel %d"',
  'luring_co_submit(void *bs, void *s, void *luringcb, int fd, uint64_t offset, size_t nbytes, int type) "bs %p s %p luringcb %p fd %d offset %" PRId64 " nbytes %zd type %d"',
  'luring_process_completion(void *s, void *aiocb, int ret) "LuringState %p luringcb %p ret %d"',
  'luring_io_uring_submit(void *s, int ret) "LuringState %p ret %d"',
  'luring_resubmit_short_read(void *s, void *luringcb, int nread) "LuringState %p luringcb %p nread %d"',
  'qcow2_add_task(void *co, void *bs, void *pool, const char *action, int cluster_type, uint64_t host_offset, uint64_t offset, uint64_t bytes, void *qiov, size_t qiov_offset) "co %p bs %p pool %p: %s: cluster_type %d file_cluster_offset %" PRIu64 " offset %" PRIu64 " bytes %" PRIu64 " qiov %p qiov_offset %zu"',
  'qcow2_writev_start_req(void *co, int64_t offset, int64_t bytes) "co %p offset 0x%" PRIx64 " bytes %" PRId64',
  'qcow2_writev_done_req(void *co, int ret) "co %p ret %d"',
  'qcow2_writev_start_part(void *co) "co %p"',
  'qcow2_writev_done_part(void *co, int cur_bytes) "co %p cur_bytes %d"',
  'qcow2_writev_data(void *co, uint64_t offset) "co %p offset 0x%" PRIx64',
  'qcow2_pwrite_zeroes_start_req(void *co, int64_t offset, int64_t bytes) "co %p offset 0x%" PRIx64 " bytes %" PRId64',
  'qcow2_pwrite_zeroes(void *co, int64_t offset, int64_t bytes) "co %p offset 0x%" PRIx64 " bytes %" PRId64',
  'qcow2_skip_cow(void *co, uint64_t offset, int nb_clusters) "co %p offset 0x%" PRIx64 " nb_clusters %d"',
  'qcow2_alloc_clusters_offset(void *co, uint64_t offset, int bytes) "co %p offset 0x%" PRIx64 " bytes %d"',
  'qcow2_handle_copied(void *co, uint64_t guest_offset, uint64_t host_offset, uint64_t bytes) "co %p guest_offset 0x%" PRIx64 " host_offset 0x%" PRIx64 " bytes 0x%" PRIx64',
  'qcow2_handle_alloc(void *co, uint64_t guest_offset, uint64_t host_offset, uint64_t bytes) "co %p guest_offset 0x%" PRIx64 " host_offset 0x%" PRIx64 " bytes 0x%" PRIx64',
  'qcow2_do_alloc_clusters_offset(void *co, uint64_t guest_offset, uint64_t host_offset, int nb_clusters) "co %p guest_offset 0x%" PRIx64 " host_offset 0x%" PRIx64 " nb_clusters %d"',
  'qcow2_cluster_alloc_phys(void *co) "co %p"',
  'qcow2_cluster_link_l2(void *co, int nb_clusters) "co %p nb_clusters %d"',
  'qcow2_l2_allocate(void *bs, int l1_index) "bs %p l1_index %d"',
  'qcow2_l2_allocate_get_empty(void *bs, int l1_index) "bs %p l1_index %d"',
  'qcow2_l2_allocate_write_l2(void *bs, int l1_index) "bs %p l1_index %d"',
  'qcow2_l2_allocate_write_l1(void *bs, int l1_index) "bs %p l1_index %d"',
  'qcow2_l2_allocate_done(void *bs, int l1_index, int ret) "bs %p l1_index %d ret %d"',
  'qcow2_cache_get(void *co, int c, uint64_t offset, bool read_from_disk) "co %p is_l2_cache %d offset 0x%" PRIx64 " read_from_disk %d"',
  'qcow2_cache_get_replace_entry(void *co, int c, int i) "co %p is_l2_cache %d index %d"',
  'qcow2_cache_get_read(void *co, int c, int i) "co %p is_l2_cache %d index %d"',
  'qcow2_cache_get_done(void *co, int c, int i) "co %p is_l2_cache %d index %d"',
  'qcow2_cache_flush(void *co, int c) "co %p is_l2_cache %d"',
  'qcow2_cache_entry_flush(void *co, int c, int i) "co %p is_l2_cache %d index %d"',
  'qcow2_process_discards_failed_region(uint64_t offset, uint64_t bytes, int ret) "offset 0x%" PRIx64 " bytes 0x%" PRIx64 " ret %d"',
  'virtio_blk_req_complete(void *vdev, void *req, int status) "vdev %p req %p status %d"',
  'virtio_blk_rw_complete(void *vdev, void *req, int ret) "vdev %p req %p ret %d"',
  'virtio_blk_handle_write(void *vdev, void *req, uint64_t sector, size_t nsectors) "vdev %p req %p sector %"PRIu64" nsectors %zu"',
  'virtio_blk_handle_read(void *vdev, void *req, uint64_t sector, size_t nsectors) "vdev %p req %p sector %"PRIu64" nsectors %zu"',
  'virtio_blk_submit_multireq(void *vdev, void *mrb, int start, int num_reqs, uint64_t offset, size_t size, bool is_write) "vdev %p mrb %p start %d num_reqs %d offset %"PRIu64" size %zu is_write %d"',
  'virtio_blk_data_plane_start(void *s) "dataplane %p"',
  'virtio_blk_data_plane_stop(void *s) "dataplane %p"',
  'virtqueue_alloc_element(void *elem, size_t sz, unsigned in_num, unsigned out_num) "elem %p size %zd in_num %u out_num %u"',
  'virtqueue_fill(void *vq, const void *elem, unsigned int len, unsigned int idx) "vq %p elem %p len %u idx %u"',
  'virtqueue_flush(void *vq, unsigned int count) "vq %p count %u"',
  'virtqueue_pop(void *vq, void *elem, unsigned int in_num, unsigned int out_num) "vq %p elem %p in_num %u out_num %u"',
  'virtio_queue_notify(void *vdev, int n, void *vq) "vdev %p n %d vq %p"',
  'virtio_notify_irqfd(void *vdev, void *vq) "vdev %p vq %p"',
  'virtio_notify(void *vdev, void *vq) "vdev %p vq %p"',
  'virtio_set_status(void *vdev, uint8_t val) "vdev %p val %u"',
];

let builtin: TraceEvents | undefined;
/** The built-in subset as a TraceEvents table (source 'built-in'). */
export function builtinTraceEvents(): TraceEvents {
  return (builtin ??= parseTraceEvents(BUILTIN_DECLS.join('\n'), BUILTIN_SOURCE));
}
export const BUILTIN_SOURCE = "blkscope's built-in QEMU 7.2 virtio/block declarations";

// ---- printf formats (for log-backend style output from binary records)

/** One conversion of a printf format. */
export interface Conversion {
  flags: string;
  /** Field width; -1 = taken from an argument ('*'). */
  width?: number;
  precision?: number;
  /** Length modifier as written (after PRI macro expansion): '', 'hh', 'h', 'l', 'll', 'z', 'j', 't', 'L'. */
  length: string;
  conv: string;
}
export type FmtPiece = string | Conversion;

/**
 * inttypes.h macros as glibc defines them on x86-64 (LP64): 64-bit types are `long`, 8/16/32-bit ones
 * print as int after promotion.
 */
function priMacro(mac: string): string | undefined {
  const m = /^PRI([diouxX])(8|16|32|64|PTR|MAX|LEAST(?:8|16|32|64)|FAST(?:8|16|32|64))?$/.exec(mac);
  if (!m) return undefined;
  const w = m[2] ?? '';
  const len = w === '64' || w === 'PTR' || w === 'MAX' || w.endsWith('64') || w === 'FAST16' || w === 'FAST32' ? 'l' : '';
  return len + m[1];
}

/** Join a declaration's format: C string literals with PRI macros between them. Undefined when not understood. */
export function joinFormat(fmt: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < fmt.length) {
    const c = fmt[i]!;
    if (c === '"') {
      i++;
      while (i < fmt.length && fmt[i] !== '"') {
        if (fmt[i] === '\\' && i + 1 < fmt.length) {
          const e = fmt[i + 1]!;
          out += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          i += 2;
        } else out += fmt[i++];
      }
      if (i >= fmt.length) return undefined;
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < fmt.length && /\w/.test(fmt[j]!)) j++;
      const conv = priMacro(fmt.slice(i, j));
      if (conv === undefined) return undefined;
      out += conv;
      i = j;
    } else if (/\s/.test(c)) i++;
    else return undefined;
  }
  return out;
}

const CONV_RE = /^%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?(hh|h|ll|l|z|j|t|L|q)?([diouxXcspfFeEgGaA%])/;

/** Split a joined printf format into literal text and conversions. Undefined when a conversion is not understood. */
export function compileFormat(joined: string): FmtPiece[] | undefined {
  const out: FmtPiece[] = [];
  let lit = '';
  for (let i = 0; i < joined.length; i++) {
    const ch = joined[i]!;
    if (ch !== '%') {
      lit += ch;
      continue;
    }
    const m = CONV_RE.exec(joined.slice(i));
    if (!m) return undefined;
    i += m[0].length - 1;
    if (m[5] === '%') {
      lit += '%';
      continue;
    }
    if (lit) out.push(lit);
    lit = '';
    out.push({
      flags: m[1] ?? '',
      width: m[2] === '*' ? -1 : m[2] ? Number(m[2]) : undefined,
      precision: m[3] === '*' ? -1 : m[3] !== undefined ? Number(m[3] || '0') : undefined,
      length: m[4] ?? '',
      conv: m[5]!,
    });
  }
  if (lit) out.push(lit);
  return out;
}

/** An argument value as the simple backend stored it: the u64 word, or the string's text. */
export type RawArg = bigint | string;

function pad(s: string, c: Conversion, width: number | undefined, numeric: boolean): string {
  if (width === undefined || s.length >= width) return s;
  if (c.flags.includes('-')) return s + ' '.repeat(width - s.length);
  if (numeric && c.flags.includes('0') && c.precision === undefined) {
    const sign = /^[-+ ]|^0[xX]/.exec(s)?.[0] ?? '';
    return sign + '0'.repeat(width - s.length) + s.slice(sign.length);
  }
  return ' '.repeat(width - s.length) + s;
}

/** Format one integer conversion of a u64 word (reinterpreted by the conversion's length, as C would). */
function formatInt(c: Conversion, v: bigint, width: number | undefined, precision: number | undefined): string {
  const bits = c.length === 'hh' ? 8 : c.length === 'h' ? 16 : c.length === '' ? 32 : 64;
  let s: string;
  let sign = '';
  if (c.conv === 'd' || c.conv === 'i') {
    let n = BigInt.asIntN(bits, v);
    if (n < 0n) {
      sign = '-';
      n = -n;
    } else if (c.flags.includes('+')) sign = '+';
    else if (c.flags.includes(' ')) sign = ' ';
    s = n.toString(10);
  } else {
    const n = BigInt.asUintN(bits, v);
    const base = c.conv === 'o' ? 8 : c.conv === 'u' ? 10 : 16;
    s = n.toString(base);
    if (c.conv === 'X') s = s.toUpperCase();
    if (c.flags.includes('#') && n !== 0n) s = (c.conv === 'x' ? '0x' : c.conv === 'X' ? '0X' : '0') + s;
  }
  if (precision !== undefined) {
    if (precision === 0 && s === '0') s = '';
    else if (s.length < precision) s = '0'.repeat(precision - s.length) + s;
  }
  return pad(sign + s, c, width, true);
}

/** printf for trace events: `args` in declaration order. Mismatches print `?` rather than failing. */
export function formatPieces(pieces: FmtPiece[], args: RawArg[], sanitize: (s: string) => string): string {
  let out = '';
  let ai = 0;
  const next = (): RawArg | undefined => args[ai++];
  for (const p of pieces) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    let width = p.width;
    let precision = p.precision;
    if (width === -1) {
      const w = next();
      width = typeof w === 'bigint' ? Number(BigInt.asIntN(32, w)) : 0;
    }
    if (precision === -1) {
      const w = next();
      precision = typeof w === 'bigint' ? Math.max(0, Number(BigInt.asIntN(32, w))) : undefined;
    }
    const v = next();
    if (v === undefined) {
      out += '?';
      continue;
    }
    switch (p.conv) {
      case 's': {
        let s = typeof v === 'string' ? v : v === 0n ? '(null)' : '?';
        if (precision !== undefined) s = s.slice(0, precision);
        out += pad(sanitize(s), p, width, false);
        break;
      }
      case 'p': {
        const n = typeof v === 'bigint' ? v : 0n;
        out += pad(n === 0n ? '(nil)' : '0x' + n.toString(16), p, width, false);
        break;
      }
      case 'c': {
        const n = typeof v === 'bigint' ? Number(v & 0xffn) : 63;
        out += pad(sanitize(String.fromCharCode(n)), p, width, false);
        break;
      }
      case 'd':
      case 'i':
      case 'u':
      case 'o':
      case 'x':
      case 'X':
        out += typeof v === 'bigint' ? formatInt(p, v, width, precision) : '?';
        break;
      default: {
        // Floating point: the simple backend stored (uint64_t)value, so only the integer part survived.
        const n = typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : NaN;
        out += pad(p.conv === 'e' || p.conv === 'E' ? n.toExponential(precision ?? 6) : p.conv === 'g' || p.conv === 'G' ? String(n) : n.toFixed(precision ?? 6), p, width, true);
      }
    }
  }
  return out;
}
