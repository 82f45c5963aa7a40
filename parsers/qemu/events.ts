// QEMU trace events -> blkscope requests, for every QEMU trace backend (log text, simpletrace binary...).
// A backend parser turns each record into a VirtioEvent (the event's kind + the arguments the rebuild reads,
// as numbers) and feeds it to a VirtioAssembler, which rebuilds virtio-blk requests. A backend that has an
// argument object (named as in QEMU's trace-events declarations) hands it over as a QemuEvent instead.
//
// Facts used (see ../shared/specs/virtio/SPEC.md §1-2, §7 and ../shared/realtraces/README.md):
// - `req` of virtio_blk_* equals `elem` of virtqueue_pop/fill: VirtIOBlockReq starts with its
//   VirtQueueElement (hw/block/virtio-blk.c: virtqueue_pop(vq, sizeof(VirtIOBlockReq))).
// - Element pointers are reused as soon as a request completes: a request is (vdev, pointer, generation),
//   the generation counting pops of that pointer.
// - Request sequence: virtio_queue_notify -> virtqueue_alloc_element -> virtqueue_pop ->
//   virtio_blk_handle_read/write -> blk_co_preadv/pwritev -> ... -> virtio_blk_rw_complete ->
//   virtio_blk_req_complete -> virtqueue_fill -> virtqueue_flush -> virtio_notify(_irqfd).
//   virtio_blk_req_complete() calls virtqueue_push() (= fill + flush) synchronously, so a traced fill
//   follows its req_complete on the same thread.
// - FLUSH, DISCARD, WRITE_ZEROES and GET_ID have no virtio_blk_handle_* event (QEMU 7.2): FLUSH is
//   pop out 1 / in 1 / fill len 1; DISCARD and WRITE_ZEROES out 2 / in 1 / len 1 (WRITE_ZEROES shows
//   blk_co_pwritev flags 0x2 = BDRV_REQ_ZERO_WRITE); GET_ID out 1 / in 2 / len 21 (20-byte id + status).
// - A read fills len = data bytes + 1 status byte; a write fills len 1.
// - virtio_blk_submit_multireq (only when >= 2 requests are merged): offset/size in bytes.
// - virtio_set_status val 0 = device reset; virtio_blk_data_plane_stop ends the dataplane.
import type { Evidence, Op, ParsedEvent, Request } from '../../src/model/types.js';
import { newRequest } from '../../src/model/request.js';
import { detach } from '../../src/util/detach.js';
import { RecentMap } from '../../src/util/recent-map.js';
import type { ParserContext } from '../types.js';

/** One QEMU trace event with its arguments as an object, whatever backend it came from. */
export interface QemuEvent {
  name: string;
  args: Record<string, number | bigint | string>;
  /** Seconds (wall clock for the log backend, trace clock for simpletrace). */
  time?: number;
  /** Host thread id (log backend with timestamps; simpletrace pid field). */
  tid?: number;
  evidence: Evidence;
}

export interface VirtioAssemblerOptions {
  /** Format id stamped on requests (default 'qemu-log'). */
  format?: string;
  /** Keep at most this many evidence lines per request (default 8). */
  maxEvidence?: number;
}

// ---- Pointers as numbers ------------------------------------------------------------------------
// The rebuild keys its tables by pointer value. A pointer below 2^53 (every user-space address) is its own
// number; larger ones (only in damaged or synthetic input) get a negative id through a bounded table. Text
// ("0x55c2...", NULL "0x0") is made only for what is reported: request ids, devices, queues.

const PTR_TEXT = new Map<number, string>();
const BIG_PTR_ID = new Map<string, number>();
const BIG_PTR_TEXT: string[] = [];
/** Distinct pointers >= 2^53 given an exact id; past that they are approximated by their double value. */
const MAX_BIG_PTRS = 65536;

/** The key of a pointer >= 2^53 written as lower-case hex without leading zeros ("0xffff..."). */
export function bigPtrKey(text: string): number {
  let id = BIG_PTR_ID.get(text);
  if (id === undefined) {
    if (BIG_PTR_TEXT.length >= MAX_BIG_PTRS) return Number(BigInt(text));
    // A copy: the text may be cut from an input chunk, and request ids are made from it (never copied again).
    const own = detach(text);
    BIG_PTR_TEXT.push(own);
    id = -BIG_PTR_TEXT.length;
    BIG_PTR_ID.set(own, id);
  }
  return id;
}

/** Pointer argument value (number, bigint or text as printed) -> pointer key; NaN when absent. */
export function ptrKeyOf(v: number | bigint | string | undefined): number {
  if (v === undefined) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return v <= 0x1fffffffffffffn && v >= 0n ? Number(v) : bigPtrKey('0x' + v.toString(16));
  const s = v.toLowerCase();
  if (s === '(nil)') return 0;
  if (/^0x[0-9a-f]{1,16}$/.test(s)) return ptrKeyOf(BigInt(s));
  return bigPtrKey(s);
}

/** Pointer key -> lower-case hex text ("0x55c2..."); one string per value. */
export function ptrText(k: number): string {
  if (k < 0) return BIG_PTR_TEXT[-k - 1]!;
  let t = PTR_TEXT.get(k);
  if (t === undefined) {
    if (PTR_TEXT.size >= 65536) PTR_TEXT.clear();
    t = '0x' + k.toString(16);
    PTR_TEXT.set(k, t);
  }
  return t;
}

/** Pointer key -> text, undefined when absent (NaN). */
function ptrOpt(k: number): string | undefined {
  return k === k ? ptrText(k) : undefined;
}

/** NaN (absent) -> undefined. */
function opt(x: number): number | undefined {
  return x === x ? x : undefined;
}

/** Numeric argument as a number (bigints beyond 2^53 lose precision; sectors and lengths never get there). */
export function numArg(v: number | bigint | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const n = v.startsWith('0x') || v.startsWith('0X') ? parseInt(v.slice(2), 16) : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Signed 32-bit value of a numeric argument (simpletrace stores ints as u64: 0xffff...fffb = -5). */
export function intOfNum(n: number): number {
  return n > 0x7fffffff && n <= 0xffffffff ? n - 0x100000000 : n >= 2 ** 63 ? -1 : n;
}

/** Signed 32-bit argument. */
export function intArg(v: number | bigint | string | undefined): number | undefined {
  if (typeof v === 'bigint') return Number(BigInt.asIntN(32, v));
  const n = numArg(v);
  return n === undefined ? undefined : intOfNum(n);
}

/** virtio-blk status byte (virtio spec §5.2.6): 0 OK, 1 IOERR, 2 UNSUPP; zoned codes 3..6 kept raw. */
export function virtioStatus(s: number): string {
  return s === 0 ? 'ok' : s === 1 ? 'error' : s === 2 ? 'unsupported' : String(s);
}

// ---- Event kinds --------------------------------------------------------------------------------

// What the assembler does with an event, by name (one code per behaviour).
const C_OTHER = 0; // not a virtio/host event: counted as unknown
const C_HOST = 1; // host block-layer event: host I/O of the thread's request
const C_NOTIFY_QUEUE = 2;
const C_NOTIFY = 3;
const C_COUNT_ONLY = 4; // virtqueue_alloc_element, virtqueue_flush
const C_POP = 5;
const C_HANDLE_READ = 6;
const C_HANDLE_WRITE = 7;
const C_HANDLE_ZONE = 8;
const C_RW_COMPLETE = 9;
const C_REQ_COMPLETE = 10;
const C_FILL = 11;
const C_MULTIREQ = 12;
const C_SET_STATUS = 13;
const C_DP_START = 14;
const C_DP_STOP = 15;
const C_BLK_CO = 16; // blk_co_preadv / blk_co_pwritev
const C_HOST_RET = 17; // qcow2_writev_done_req, qcow2_l2_allocate_done, luring_process_completion
const C_QCOW2_WRITEV_DATA = 18;
const C_QCOW2_HANDLE_ALLOC = 19;
const C_QCOW2_ADD_TASK = 20;
const C_BDRV_PWRITEV_PART = 21;
const C_BDRV_PWRITE_ZEROES = 22;
/** Codes >= this are host events. */
const FIRST_HOST_CODE = C_BLK_CO;

const CODES = new Map<string, number>([
  ['virtio_queue_notify', C_NOTIFY_QUEUE],
  ['virtio_notify', C_NOTIFY],
  ['virtio_notify_irqfd', C_NOTIFY],
  ['virtqueue_alloc_element', C_COUNT_ONLY],
  ['virtqueue_flush', C_COUNT_ONLY],
  ['virtqueue_pop', C_POP],
  ['virtio_blk_handle_read', C_HANDLE_READ],
  ['virtio_blk_handle_write', C_HANDLE_WRITE],
  ['virtio_blk_handle_zone_report', C_HANDLE_ZONE],
  ['virtio_blk_handle_zone_mgmt', C_HANDLE_ZONE],
  ['virtio_blk_handle_zone_reset_all', C_HANDLE_ZONE],
  ['virtio_blk_handle_zone_append', C_HANDLE_ZONE],
  ['virtio_blk_rw_complete', C_RW_COMPLETE],
  ['virtio_blk_zone_report_complete', C_RW_COMPLETE],
  ['virtio_blk_zone_mgmt_complete', C_RW_COMPLETE],
  ['virtio_blk_zone_append_complete', C_RW_COMPLETE],
  ['virtio_blk_req_complete', C_REQ_COMPLETE],
  ['virtqueue_fill', C_FILL],
  ['virtio_blk_submit_multireq', C_MULTIREQ],
  ['virtio_set_status', C_SET_STATUS],
  ['virtio_blk_data_plane_start', C_DP_START],
  ['virtio_blk_data_plane_stop', C_DP_STOP],
  ['blk_co_preadv', C_BLK_CO],
  ['blk_co_pwritev', C_BLK_CO],
  ['qcow2_writev_done_req', C_HOST_RET],
  ['qcow2_l2_allocate_done', C_HOST_RET],
  ['luring_process_completion', C_HOST_RET],
  ['qcow2_writev_data', C_QCOW2_WRITEV_DATA],
  ['qcow2_handle_alloc', C_QCOW2_HANDLE_ALLOC],
  ['qcow2_add_task', C_QCOW2_ADD_TASK],
  ['bdrv_co_pwritev_part', C_BDRV_PWRITEV_PART],
  ['bdrv_co_pwrite_zeroes', C_BDRV_PWRITE_ZEROES],
]);

/** Host block-layer and image-format events: attached to a request or counted, never requests. */
const HOST_PREFIXES = ['blk_', 'bdrv_', 'qcow2_', 'luring_', 'laio_', 'file_', 'thread_pool_', 'raw_', 'nvme_', 'qed_', 'vmdk_'];
function isHostEvent(name: string): boolean {
  for (const p of HOST_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}

function codeOf(name: string): number {
  return CODES.get(name) ?? (isHostEvent(name) ? C_HOST : C_OTHER);
}

/**
 * An event name as one assembler sees it: what it does with it, and its counter. Backends look a kind up once
 * per event type (VirtioAssembler.kind) and hand it with every record of that type.
 */
export class EventKind {
  /** Events of this name so far (the JSON stats' byEvent). */
  n = 0;
  /** The kind whose `n` counts this one's events: itself, or the shared overflow kind past MAX_KINDS names. */
  counter: EventKind = this;
  readonly code: number;
  /** handle() reads the event's arguments; when false, tick() does the same work without them. */
  readonly needsArgs: boolean;
  /** A qcow2_* event (context of the thread's next file-node write). */
  readonly qcow2: boolean;
  /** A qcow2 event after which a file-node write carries metadata tables (block/qcow2-cache.c, qcow2-cluster.c). */
  readonly metadataWriter: boolean;
  constructor(readonly name: string) {
    const c = codeOf(name);
    this.code = c;
    this.needsArgs = c !== C_OTHER && c !== C_HOST && c !== C_COUNT_ONLY && c !== C_BDRV_PWRITE_ZEROES;
    this.qcow2 = name.startsWith('qcow2_');
    this.metadataWriter = name === 'qcow2_cache_entry_flush' || name === 'qcow2_l2_allocate_write_l2' || name === 'qcow2_l2_allocate_write_l1';
  }
}

/**
 * One record for VirtioAssembler.handle(), reused from record to record by the backend that fills it: the
 * arguments the rebuild reads, as numbers (pointers as pointer keys; NaN = the event has no such argument).
 * `evidence` is read only while handle() runs (a backend may build it then, from the record it still holds).
 */
export abstract class VirtioEvent {
  kind: EventKind = NO_KIND;
  time: number | undefined = undefined;
  tid: number | undefined = undefined;
  // pointers (keys)
  vdev = NaN;
  vq = NaN;
  elem = NaN;
  req = NaN;
  dp = NaN;
  bs = NaN;
  blk = NaN;
  // numbers
  n = NaN;
  inNum = NaN;
  outNum = NaN;
  sector = NaN;
  nsectors = NaN;
  len = NaN;
  ret = NaN;
  status = NaN;
  isWrite = NaN;
  start = NaN;
  numReqs = NaN;
  offset = NaN;
  size = NaN;
  val = NaN;
  bytes = NaN;
  flags = NaN;
  op = NaN;
  hostOffset = NaN;
  /** host_offset is (uint64_t)-1 (qcow2_handle_alloc: no host cluster yet). */
  hostOffsetInvalid = false;
  action: string | undefined = undefined;
  abstract get evidence(): Evidence;
}
const NO_KIND = new EventKind('');

/**
 * Which VirtioEvent field each trace-events argument name fills, and how its value converts: 'ptr' pointer
 * key, 'num' number, 'int' signed 32-bit, 'hostoff' number + the (uint64_t)-1 flag, 'str' text.
 */
/** How an argument's value converts to its field: pointer key, number, signed 32-bit, host offset (+ the (uint64_t)-1 flag), text. */
export type ArgConv = 'ptr' | 'num' | 'int' | 'hostoff' | 'str';

export const ARG_FIELDS: Readonly<Record<string, readonly [field: string, conv: ArgConv]>> = {
  vdev: ['vdev', 'ptr'],
  vq: ['vq', 'ptr'],
  elem: ['elem', 'ptr'],
  req: ['req', 'ptr'],
  s: ['dp', 'ptr'],
  dataplane: ['dp', 'ptr'],
  bs: ['bs', 'ptr'],
  blk: ['blk', 'ptr'],
  n: ['n', 'num'],
  in_num: ['inNum', 'num'],
  out_num: ['outNum', 'num'],
  sector: ['sector', 'num'],
  nsectors: ['nsectors', 'num'],
  len: ['len', 'num'],
  ret: ['ret', 'int'],
  status: ['status', 'int'],
  is_write: ['isWrite', 'num'],
  start: ['start', 'num'],
  num_reqs: ['numReqs', 'num'],
  offset: ['offset', 'num'],
  size: ['size', 'num'],
  val: ['val', 'num'],
  bytes: ['bytes', 'num'],
  flags: ['flags', 'num'],
  op: ['op', 'num'],
  host_offset: ['hostOffset', 'hostoff'],
  action: ['action', 'str'],
};
/** Every numeric field of VirtioEvent (reset to NaN before an event's own arguments are filled in). */
export const NUM_FIELDS: readonly string[] = [...new Set(Object.values(ARG_FIELDS).filter(([, c]) => c !== 'str').map(([f]) => f))];

const INV_OFFSET = 0xffffffffffffffffn;

/** Set every argument field of a VirtioEvent to "absent" (straight-line code over the fixed field names). */
export const clearFields = new Function('e', NUM_FIELDS.map((f) => `e.${f} = NaN;`).join(' ') + ' e.hostOffsetInvalid = false; e.action = undefined;') as (e: VirtioEvent) => void;

/** Fills a VirtioEvent's argument fields from an argument object of a known layout. */
export type ArgsFiller = (e: VirtioEvent, a: Record<string, number | bigint | string>) => void;

/**
 * The filler of argument objects with these keys (a text backend's event layout), compiled to straight-line
 * code: the same conversions as ObjectEvent.set, without walking the object. Keys are JSON-quoted, field names
 * are VirtioEvent's own.
 */
export function compileArgsFiller(names: readonly string[]): ArgsFiller {
  let code = 'clearFields(e);\nlet v;\n';
  for (const name of names) {
    const m = argField(name, names);
    if (m) code += `v = a[${JSON.stringify(name)}];\n` + storeCode(m, 'v', false);
  }
  const deps = Object.keys(STORE_DEPS);
  const factory = new Function(...deps, `return function fillArgs(e, a) {\n${code}};`) as (...d: unknown[]) => ArgsFiller;
  return factory(...deps.map((k) => STORE_DEPS[k]));
}

/** What the code storeCode writes refers to (a compiled filler's parameters). */
export const STORE_DEPS: Readonly<Record<string, unknown>> = { clearFields, ptrKeyOf, numArg, intArg, intOfNum, INV: INV_OFFSET };

/** The field an argument fills in a layout with these argument names (`s` wins over `dataplane`, as `a.s ?? a.dataplane` did). */
export function argField(name: string, names: readonly string[]): readonly [field: string, conv: ArgConv] | undefined {
  // Own names only: an argument may be called `constructor` or `toString`.
  const m = Object.prototype.hasOwnProperty.call(ARG_FIELDS, name) ? ARG_FIELDS[name] : undefined;
  if (m && name === 'dataplane' && names.includes('s')) return undefined;
  return m;
}

/**
 * Code storing the value of the JS expression `v` (evaluated once, a variable) into the event `e`'s field,
 * converted as the rebuild reads it. `numberOnly`: the value is known to be a number (a scanner's digits).
 * Field names are VirtioEvent's own: the code is fixed text.
 */
export function storeCode([field, conv]: readonly [string, ArgConv], v: string, numberOnly: boolean): string {
  const num = (whenNumber: string, otherwise: string): string => (numberOnly ? whenNumber : `typeof ${v} === 'number' ? ${whenNumber} : ${otherwise}`);
  switch (conv) {
    case 'ptr':
      return `e.${field} = ${num(v, `ptrKeyOf(${v})`)};\n`;
    case 'num':
      return `e.${field} = ${num(v, `numArg(${v}) ?? NaN`)};\n`;
    case 'int':
      return `e.${field} = ${num(`intOfNum(${v})`, `intArg(${v}) ?? NaN`)};\n`;
    case 'hostoff':
      return `e.${field} = ${num(v, `numArg(${v}) ?? NaN`)};\ne.hostOffsetInvalid = ${numberOnly ? `${v} === 0xffffffffffffffff` : `typeof ${v} === 'bigint' ? ${v} === INV : ${v} === 0xffffffffffffffff`};\n`;
    case 'str':
      return `e.action = ${numberOnly ? 'undefined' : `typeof ${v} === 'string' ? ${v} : undefined`};\n`;
  }
}

/** Fillers of argument objects by their key lists (event(): few shapes, compiled once each; bounded). */
const OBJECT_FILLERS = new Map<string, ArgsFiller>();

/** A VirtioEvent filled from a QemuEvent's argument object. */
class ObjectEvent extends VirtioEvent {
  src: QemuEvent | undefined = undefined;
  override get evidence(): Evidence {
    return this.src!.evidence;
  }
  set(k: EventKind, q: QemuEvent): void {
    this.kind = k;
    this.src = q;
    this.time = q.time;
    this.tid = q.tid;
    const names = Object.keys(q.args);
    const sig = names.join('\0');
    let fill = OBJECT_FILLERS.get(sig);
    if (!fill) {
      if (OBJECT_FILLERS.size >= 256) OBJECT_FILLERS.clear();
      OBJECT_FILLERS.set(sig, (fill = compileArgsFiller(names)));
    }
    fill(this, q.args);
  }
}

interface Pending {
  req: Request;
  elem: number;
  /** In the open table (popped, not yet completed, reset or popped again). */
  isOpen: boolean;
  vq?: number;
  tid?: number;
  inNum?: number;
  outNum?: number;
  /** submit emitted to the model. */
  submitted: boolean;
  /** handle_read/write seen (op and sector known). */
  handled: boolean;
  /** blk_co_* submission seen (for multireq and host I/O attribution). */
  issued: boolean;
  zeroWrite: boolean;
  status: number | undefined;
  completeTime: number | undefined;
  completeEvidence: Evidence | undefined;
  hostIo: number;
  /** Generation of the element pointer when it was popped (the key's #N, but see submit). */
  gen: number;
}

interface HostIo {
  ev: string;
  offset?: number;
  bytes?: number;
  flags?: number;
}

/** A reset or dataplane stop waiting for its device to drain. */
interface PendingReset {
  vdev: string | undefined;
  reason: 'reset' | 'stop';
  time: number | undefined;
  evidence: Evidence;
}

/** Element pointers the assembler remembers a generation and a last completion for (the most recent). */
const MAX_POINTERS = 1 << 15;

/** Distinct event names an assembler keeps a kind (and a byEvent count) for; the rest count under OVERFLOW_NAME. */
const MAX_KINDS = 65536;
const OVERFLOW_NAME = '(other event names)';

/** Host writes below this file offset are reported (the first cluster at qcow2's default 64 KiB cluster size). */
const QCOW2_LOW_WRITE_LIMIT = 65536;

export class VirtioAssembler {
  private readonly format: string;
  private readonly maxEvidence: number;
  /** Open (popped, not completed) requests by element pointer. */
  private readonly open = new Map<number, Pending>();
  /** Generation counters per element pointer (QEMU reuses a few; a trace whose pointers keep changing keeps the last MAX_POINTERS). */
  private readonly gens = new RecentMap<number, number>(MAX_POINTERS);
  /** The highest generation forgotten (a forgotten pointer popped again goes on from there). */
  private genFloor = 0;
  /** vq pointer -> device and queue index (virtio_queue_notify / virtio_notify). */
  private readonly vqs = new Map<number, { vdev?: string; vdevKey: number; n?: number }>();
  /** dataplane pointer -> vdev (data_plane_start follows the device's set_status on the same thread). */
  private readonly dataplanes = new Map<number, string>();
  private lastStatusVdev: string | undefined;
  private readonly devStatus = new Map<string, number>();
  /** The device of the last request completed per element pointer (an orphan completion's device). */
  private readonly done = new RecentMap<number, string | undefined>(MAX_POINTERS);
  /** Elements completed without a fill (a late fill is not a second completion). */
  private readonly unfilled = new Map<number, boolean>();
  /** Resets/stops traced while the device still had requests open, by vdev ('' = unknown device). */
  private readonly pendingResets = new Map<string, PendingReset[]>();
  /** Completed by req_complete, waiting for the fill that follows on the same thread. */
  private readonly awaitingFill = new Map<number, Pending>();
  /** The request a thread is working on (host I/O attribution). */
  private readonly current = new Map<number, Pending>();
  /** Last merged batch per thread: the next blk_co_* is its submission. */
  private readonly lastBatch = new Map<number, Pending[]>();
  /** qcow2 file (protocol) nodes, learnt from the data write that follows qcow2_writev_data. */
  private readonly fileNodes = new Set<number>();
  /** Last qcow2 event per thread (context of the next file-node write). */
  private readonly lastQcow2 = new Map<number, { kind: EventKind; offset?: number }>();
  /** Event kinds by name; `counted` lists them in the order they were first counted (byEvent's order). */
  private readonly kinds = new Map<string, EventKind>();
  private readonly counted: EventKind[] = [];
  /** Counts the events of names past the first MAX_KINDS (damaged or hostile input). */
  private overflow: EventKind | undefined;
  /** The event handed over by event() (QemuEvent objects). */
  private readonly objectEvent = new ObjectEvent();
  private unknown = 0;
  /** virtqueue_pop events seen (0: the trace does not enable it). */
  private pops = 0;
  private batches = 0;
  private events = 0;

  constructor(
    private readonly ctx: ParserContext,
    opts: VirtioAssemblerOptions = {},
  ) {
    this.format = opts.format ?? 'qemu-log';
    this.maxEvidence = opts.maxEvidence ?? 8;
  }

  /** This assembler's kind for an event name (backends keep it per event type). */
  kind(name: string): EventKind {
    let k = this.kinds.get(name);
    if (!k) {
      // A copy of the name: a log line's event name is a slice of its input chunk, which must not stay alive.
      k = new EventKind(detach(name));
      // The names the rebuild acts on always get their own (a fixed few).
      if (this.kinds.size < MAX_KINDS || CODES.has(k.name)) this.kinds.set(k.name, k);
      else k.counter = this.overflow ??= new EventKind(OVERFLOW_NAME);
    }
    return k;
  }

  private bump(k: EventKind): void {
    const c = k.counter;
    if (c.n++ === 0) this.counted.push(c);
  }

  private count(name: string): void {
    this.bump(this.kind(name));
  }

  /** An event whose arguments are not needed (kind.needsArgs false): counted as handle() would, without building it. */
  tick(k: EventKind, tid: number): void {
    this.events++;
    if (this.awaitingFill.size > 0) {
      const wait = this.awaitingFill.get(tid);
      if (wait) {
        this.awaitingFill.delete(tid);
        this.finish(wait);
      }
    }
    this.bump(k);
    const c = k.code;
    if (c === C_OTHER) this.unknown++;
    else if (c === C_HOST || c >= FIRST_HOST_CODE) this.hostContext(k, tid);
  }

  /** An event as an argument object (names as in trace-events). */
  event(q: QemuEvent): void {
    const e = this.objectEvent;
    e.set(this.kind(q.name), q);
    this.handle(e);
    e.src = undefined;
  }

  handle(ev: VirtioEvent): void {
    this.events++;
    const tid = ev.tid ?? 0;
    const k = ev.kind;
    const code = k.code;
    // A req_complete waiting for its fill: anything else on that thread means no fill is traced.
    if (this.awaitingFill.size > 0) {
      const wait = this.awaitingFill.get(tid);
      if (wait) {
        this.awaitingFill.delete(tid);
        if (code === C_FILL && ev.elem === wait.elem) {
          this.bump(k);
          this.finish(wait, ev);
          return;
        }
        this.finish(wait);
      }
    }
    if (code === C_OTHER) {
      this.unknown++;
      this.bump(k);
      return;
    }
    if (code === C_HOST || code >= FIRST_HOST_CODE) {
      this.host(ev, tid);
      return;
    }
    this.bump(k);
    switch (code) {
      case C_NOTIFY_QUEUE: {
        const vq = ev.vq;
        if (vq === vq) {
          // Updated in place (one notify per request; nobody keeps the entry object).
          const q = this.vqs.get(vq);
          const vdev = ev.vdev;
          if (q) {
            if (!Object.is(q.vdevKey, vdev)) {
              q.vdevKey = vdev;
              q.vdev = ptrOpt(vdev);
            }
            q.n = opt(ev.n);
          } else this.vqs.set(vq, { vdev: ptrOpt(vdev), vdevKey: vdev, n: opt(ev.n) });
        }
        return;
      }
      case C_NOTIFY: {
        const vq = ev.vq;
        if (vq === vq && !this.vqs.has(vq)) this.vqs.set(vq, { vdev: ptrOpt(ev.vdev), vdevKey: ev.vdev, n: undefined });
        return;
      }
      case C_COUNT_ONLY:
        return;
      case C_POP:
        this.pops++;
        if (ev.elem === ev.elem) this.pop(ev.elem, ev.vq, opt(ev.inNum), opt(ev.outNum), ev.tid, ev.time, ev.evidence, tid);
        return;
      case C_HANDLE_READ:
        this.handleRw(ev, tid, 'read');
        return;
      case C_HANDLE_WRITE:
        this.handleRw(ev, tid, 'write');
        return;
      case C_HANDLE_ZONE:
        this.handleZone(ev, tid);
        return;
      case C_RW_COMPLETE: {
        const p = this.find(ev);
        if (!p) return;
        const ret = ev.ret;
        if (ret === ret) {
          p.req.info!.ret = ret;
          if (ret < 0) p.req.info!.rwError = ret;
        }
        this.addEvidence(p, ev.evidence);
        return;
      }
      case C_REQ_COMPLETE:
        this.reqComplete(ev, tid);
        return;
      case C_FILL:
        this.fill(ev);
        return;
      case C_MULTIREQ:
        this.multireq(ev, tid);
        return;
      case C_SET_STATUS: {
        const vdev = ptrOpt(ev.vdev);
        const val = opt(ev.val) ?? 0;
        if (vdev) {
          this.lastStatusVdev = vdev;
          const prev = this.devStatus.get(vdev);
          this.devStatus.set(vdev, val);
          if (val === 0 && prev !== 0 && (prev !== undefined || this.openFor(vdev) > 0)) this.reset(vdev, 'reset', ev);
        }
        return;
      }
      case C_DP_START: {
        const dp = ev.dp;
        if (dp === dp && this.lastStatusVdev && !this.dataplanes.has(dp)) this.dataplanes.set(dp, this.lastStatusVdev);
        return;
      }
      case C_DP_STOP: {
        const dp = ev.dp;
        this.reset(dp === dp ? this.dataplanes.get(dp) : undefined, 'stop', ev);
        return;
      }
    }
  }

  end(): void {
    for (const [tid, p] of this.awaitingFill) {
      this.awaitingFill.delete(tid);
      this.finish(p);
    }
    // Requests still open: submit the ones not yet submitted so that they are counted (never completed).
    for (const p of this.open.values()) if (!p.submitted) this.submit(p);
    this.settleResets(true);
    const data: Record<string, unknown> = {
      qemu: { events: this.events, unknownEvents: this.unknown, merges: this.batches, byEvent: Object.fromEntries(this.counted.map((k) => [k.name, k.n])) },
    };
    this.ctx.emit({
      kind: 'diag',
      code: 'stats',
      message: `${this.events} QEMU trace events (${this.unknown} not used by blkscope)`,
      data,
      evidence: [],
    });
  }

  // ---- request lifecycle -------------------------------------------------------------------------

  private pop(elem: number, vqKey: number, inNum: number | undefined, outNum: number | undefined, evTid: number | undefined, time: number | undefined, evidence: Evidence, tid: number): void {
    const vq = ptrOpt(vqKey);
    const q = vqKey === vqKey ? this.vqs.get(vqKey) : undefined;
    if (this.pendingResets.size > 0) this.settleResets(true, q?.vdev ?? '');
    const prev = this.open.get(elem);
    if (prev) {
      // Popped again while still in flight (double pop / use after free): the old one stays open in the
      // model (never completed); the new generation takes the pointer.
      if (!prev.submitted) this.submit(prev);
      prev.isOpen = false;
    }
    this.unfilled.delete(elem);
    const gen = (this.gens.get(elem) ?? this.genFloor) + 1;
    // When the oldest pointer is forgotten to make room, a pointer popped later goes on above every generation
    // forgotten so far: keys stay unique.
    const forgotten = this.gens.set(elem, gen);
    if (forgotten !== undefined && forgotten > this.genFloor) this.genFloor = forgotten;
    const info: Record<string, unknown> = { vq, inNum, outNum };
    if (evTid !== undefined) info.tid = evTid;
    const id = ptrText(elem);
    const req: Request = newRequest({ key: '', id, format: this.format, file: this.ctx.file, expectsCompletion: true, evidence: [evidence], info });
    if (q?.vdev) req.device = q.vdev;
    if (q?.n !== undefined) req.queue = q.n;
    if (time !== undefined) req.submitTime = time;
    // The key is made at submit (popKey), when the device is known.
    const p: Pending = {
      req,
      elem,
      isOpen: true,
      vq: vqKey === vqKey ? vqKey : undefined,
      tid: evTid,
      inNum,
      outNum,
      submitted: false,
      handled: false,
      issued: false,
      zeroWrite: false,
      status: undefined,
      completeTime: undefined,
      completeEvidence: undefined,
      hostIo: 0,
      gen,
    };
    this.open.set(elem, p);
    this.current.set(tid, p);
  }

  /** The open request an event names (req / elem pointer), or undefined (counted as unmatched). */
  private find(ev: VirtioEvent): Pending | undefined {
    const ptr = ev.req === ev.req ? ev.req : ev.elem;
    if (ptr !== ptr) return undefined;
    const p = this.open.get(ptr);
    if (p && ev.vdev === ev.vdev && !p.req.device) p.req.device = ptrText(ev.vdev);
    return p;
  }

  private handleRw(ev: VirtioEvent, tid: number, op: Op): void {
    let p = this.find(ev);
    if (!p) {
      // No pop traced (trace started mid-run or virtqueue_pop not enabled): start the request here.
      this.count('handle-without-pop');
      const elem = ev.req;
      if (elem !== elem) return;
      this.pop(elem, NaN, undefined, undefined, ev.tid, ev.time, ev.evidence, tid);
      p = this.open.get(elem)!;
      p.req.evidence = [];
    }
    const sector = opt(ev.sector) ?? 0;
    const nsectors = opt(ev.nsectors) ?? 0;
    const req = p.req;
    if (p.handled) this.count('handled-twice');
    p.handled = true;
    req.op = op;
    req.sector = sector;
    req.sectors = nsectors;
    req.bytes = nsectors * 512;
    const dataSegs = op === 'write' ? p.outNum : p.inNum;
    if (dataSegs !== undefined) req.info!.dataSegments = Math.max(0, dataSegs - 1);
    this.addEvidence(p, ev.evidence);
    this.current.set(tid, p);
    if (!p.submitted) this.submit(p);
  }

  private handleZone(ev: VirtioEvent, tid: number): void {
    const p = this.find(ev);
    if (!p) {
      this.count('handle-without-pop');
      return;
    }
    const req = p.req;
    p.handled = true;
    req.op = ev.kind.name === 'virtio_blk_handle_zone_append' ? 'zone-append' : 'zone';
    req.sector = opt(ev.sector) ?? 0;
    const len = opt(ev.len);
    if (len !== undefined) req.sectors = len;
    req.bytes = req.sectors * 512;
    req.info!.zoneEvent = ev.kind.name.slice('virtio_blk_handle_'.length);
    if (ev.op === ev.op) req.info!.zoneOp = ev.op;
    this.addEvidence(p, ev.evidence);
    this.current.set(tid, p);
    if (!p.submitted) this.submit(p);
  }

  private reqComplete(ev: VirtioEvent, tid: number): void {
    const ptr = ev.req;
    if (ptr !== ptr) return;
    let p = this.open.get(ptr);
    const status = opt(ev.status) ?? 0;
    if (!p && this.pops === 0) {
      // virtqueue_pop not traced (e.g. `-trace virtio_blk_*`): a completion without handle_* is a request
      // whose op the trace does not tell (flush, discard, get-id...), not an orphan.
      this.count('complete-without-pop');
      this.pop(ptr, NaN, undefined, undefined, ev.tid, ev.time, ev.evidence, tid);
      p = this.open.get(ptr)!;
      p.req.evidence = [];
      delete p.req.submitTime;
    }
    if (!p) {
      this.orphan(ptr, ptrOpt(ev.vdev), virtioStatus(status), ev);
      return;
    }
    if (ev.vdev === ev.vdev && !p.req.device) p.req.device = ptrText(ev.vdev);
    p.status = status;
    p.completeTime = ev.time;
    p.completeEvidence = ev.evidence;
    this.open.delete(ptr);
    p.isOpen = false;
    // The fill follows on the same thread when virtqueue_fill is traced.
    this.awaitingFill.set(tid, p);
  }

  private fill(ev: VirtioEvent): void {
    const ptr = ev.elem;
    if (ptr !== ptr) return;
    const p = this.open.get(ptr);
    if (!p) {
      // The fill of a request completed just before, separated from its req_complete by another thread's
      // event in a trace without thread ids: not a second completion.
      if (this.unfilled.delete(ptr)) {
        this.count('late-fill');
        return;
      }
      this.orphan(ptr, undefined, undefined, ev);
      return;
    }
    // Fill without req_complete (virtio_blk_* not traced, or a request QEMU retired by itself).
    this.open.delete(ptr);
    p.isOpen = false;
    p.completeTime = ev.time;
    this.finish(p, ev);
  }

  private orphan(ptr: number, vdev: string | undefined, status: string | undefined, ev: VirtioEvent): void {
    const device = vdev ?? this.done.get(ptr);
    const o: ParsedEvent = { kind: 'orphan', id: ptrText(ptr), evidence: [ev.evidence] };
    if (device) o.device = device;
    if (status !== undefined) o.status = status;
    if (ev.time !== undefined) o.time = ev.time;
    this.ctx.emit(o);
  }

  /** Decide the op of a request that had no handle_* event, from the descriptor counts and fill length. */
  private guessOp(p: Pending, fillLen: number | undefined): void {
    const req = p.req;
    if (p.handled) return;
    const { inNum, outNum } = p;
    let op: Op = 'unknown';
    if (outNum === 1 && inNum === 1) op = 'flush';
    else if (outNum === 1 && inNum === 2 && (fillLen === undefined || fillLen === 21)) op = 'get-id';
    else if (outNum === 2 && inNum === 1) op = p.zeroWrite ? 'write-zeroes' : 'discard';
    req.op = op;
    if (op === 'get-id' && fillLen !== undefined) req.info!.idBytes = fillLen - 1;
  }

  private submit(p: Pending, fillLen?: number): void {
    if (p.submitted) return;
    this.guessOp(p, fillLen);
    const req = p.req;
    req.key = req.device ? `${this.ctx.file}|${req.device}|${req.id}#${this.gens.get(p.elem) ?? 1}` : this.popKey(p);
    if (req.device === undefined && p.vq !== undefined) {
      const q = this.vqs.get(p.vq);
      if (q?.vdev) req.device = q.vdev;
      if (q?.n !== undefined) req.queue = q.n;
    }
    if (req.queue === undefined && p.vq !== undefined) {
      const q = this.vqs.get(p.vq);
      if (q?.n !== undefined) req.queue = q.n;
    }
    p.submitted = true;
    // Ids and devices are pointer texts (ptrText): they share no memory with the input.
    this.ctx.emit({ kind: 'submit', req, ownStrings: true });
  }

  /** The key of a request whose device is not known when it is submitted (or of one not submitted yet). */
  private popKey(p: Pending): string {
    return `${this.ctx.file}|${p.req.id}#${p.gen}`;
  }

  /** Complete a request: after req_complete (+ the fill when traced), or a fill alone. */
  private finish(p: Pending, fillEv?: VirtioEvent): void {
    const req = p.req;
    let fillLen: number | undefined;
    if (fillEv) {
      fillLen = opt(fillEv.len);
      if (fillLen !== undefined) req.info!.fillLen = fillLen;
      if (p.completeEvidence) this.addEvidence(p, p.completeEvidence);
      this.addEvidence(p, fillEv.evidence);
    } else {
      if (p.completeEvidence) this.addEvidence(p, p.completeEvidence);
      this.unfilled.set(p.elem, true);
    }
    if (!p.submitted) this.submit(p, fillLen);
    if (fillLen !== undefined && req.op === 'read') req.loggedBytes = fillLen - 1;
    if (p.hostIo > 0) req.info!.hostIo = p.hostIo;
    const c: ParsedEvent = { kind: 'complete', key: req.key, req };
    if (p.status !== undefined) c.status = virtioStatus(p.status);
    const t = p.completeTime ?? fillEv?.time;
    if (t !== undefined) c.time = t;
    this.done.set(p.elem, req.device);
    for (const [tid, cur] of this.current) if (cur === p) this.current.delete(tid);
    this.ctx.emit(c);
    if (this.pendingResets.size > 0) this.settleResets(false);
  }

  private addEvidence(p: Pending, e: Evidence): void {
    if (p.req.evidence.length < this.maxEvidence) p.req.evidence.push(e);
  }

  private multireq(ev: VirtioEvent, tid: number): void {
    const vdev = ptrOpt(ev.vdev);
    const isWrite = (opt(ev.isWrite) ?? 0) !== 0;
    const start = opt(ev.start) ?? 0;
    const num = opt(ev.numReqs) ?? 0;
    const offset = opt(ev.offset) ?? 0;
    const size = opt(ev.size) ?? 0;
    // Candidates: requests of this device handled on this thread and not yet issued to the block layer,
    // in QEMU's order (sorted by sector, virtio-blk.c virtio_blk_submit_multireq: qsort by sector_num).
    const cands: Pending[] = [];
    for (const p of this.open.values()) {
      if (!p.handled || p.issued) continue;
      if (vdev && p.req.device && p.req.device !== vdev) continue;
      if ((p.tid ?? 0) !== tid) continue;
      if ((p.req.op === 'write') !== isWrite) continue;
      cands.push(p);
    }
    cands.sort((x, y) => x.req.sector - y.req.sector || x.req.seq - y.req.seq);
    const members = cands.slice(start, start + num);
    this.batches++;
    const batch = `${this.ctx.file}|${vdev ?? '?'}|${this.batches}`;
    const evidence = ev.evidence;
    members.forEach((p, i) => {
      p.issued = true;
      p.req.info!.merge = { batch, index: i, numReqs: num, offset, size, found: members.length };
      this.addEvidence(p, evidence);
    });
    if (members.length === 0) {
      this.ctx.emit({
        kind: 'diag',
        code: 'multireq-unmatched',
        device: vdev,
        message: `virtio_blk_submit_multireq of ${num} requests at byte ${offset} matches no handled request`,
        data: { num, offset, size, isWrite },
        time: ev.time,
        evidence: [evidence],
      });
    }
    this.lastBatch.set(tid, members);
  }

  /**
   * A device reset or dataplane stop. QEMU traces both on entry and then drains the device
   * (virtio_blk_reset and virtio_blk_data_plane_stop call blk_drain after the trace point), so requests
   * still open complete after the line. The epoch ends when they have drained, when the device pops again,
   * or when the trace ends: the reset event is emitted then, and requests still open at that point are lost.
   */
  private reset(vdev: string | undefined, reason: 'reset' | 'stop', ev: VirtioEvent): void {
    const key = vdev ?? '';
    const r: PendingReset = { vdev, reason, time: ev.time, evidence: ev.evidence };
    const list = this.pendingResets.get(key);
    if (list) list.push(r);
    else if (this.openFor(vdev) > 0) this.pendingResets.set(key, [r]);
    else this.emitReset(r);
  }

  private openFor(vdev: string | undefined): number {
    let n = 0;
    for (const p of this.open.values()) if (vdev === undefined || p.req.device === undefined || p.req.device === vdev) n++;
    return n;
  }

  /** Emit pending resets whose device has drained (or all of them, or those of one device). */
  private settleResets(force: boolean, only?: string): void {
    for (const [key, list] of this.pendingResets) {
      if (only !== undefined && key !== only && key !== '') continue;
      if (!force && this.openFor(list[0]!.vdev) > 0) continue;
      this.pendingResets.delete(key);
      for (const r of list) this.emitReset(r);
    }
  }

  private emitReset(r: PendingReset): void {
    const vdev = r.vdev;
    // Requests of the device still open are lost: drop them from the pointer table (a later pop of the
    // pointer is a new request, not a double pop). The model keeps them in flight (never completed).
    for (const [elem, p] of this.open) {
      if (vdev !== undefined && p.req.device !== undefined && p.req.device !== vdev) continue;
      if (!p.submitted) this.submit(p);
      this.open.delete(elem);
      p.isOpen = false;
    }
    const e: ParsedEvent = { kind: 'reset', reason: r.reason, evidence: [r.evidence] };
    if (vdev) e.device = vdev;
    if (r.time !== undefined) e.time = r.time;
    this.ctx.emit(e);
  }

  // ---- host block layer --------------------------------------------------------------------------

  private host(ev: VirtioEvent, tid: number): void {
    const k = ev.kind;
    const name = k.name;
    const code = k.code;
    this.bump(k);
    if (code === C_BLK_CO) {
      const offset = opt(ev.offset);
      const bytes = opt(ev.bytes);
      const flags = opt(ev.flags) ?? 0;
      const isWrite = name === 'blk_co_pwritev';
      const batch = this.lastBatch.get(tid);
      if (batch && batch.length > 0) {
        this.lastBatch.delete(tid);
        for (const p of batch) this.attach(p, { ev: name, offset, bytes, flags });
        return;
      }
      const p = this.matchIssue(tid, offset, bytes, isWrite);
      if (p) {
        p.issued = true;
        if (isWrite && flags & 0x2) p.zeroWrite = true;
        if (!p.handled && flags & 0x2 && offset !== undefined && bytes !== undefined) {
          // WRITE_ZEROES has no handle_* event: its range is the block-layer request's (offset = sector * 512).
          p.req.sector = Math.floor(offset / 512);
          p.req.sectors = Math.ceil(bytes / 512);
          p.req.bytes = bytes;
        }
        this.attach(p, { ev: name, offset, bytes, flags });
      } else {
        // Block-backend I/O no virtio request asked for (e.g. QEMU's own probe read at start-up, flags 0x0):
        // a diag so that guest/host comparisons can show it (src/model/two-views.ts).
        const d: ParsedEvent = { kind: 'diag', code: 'host-io', message: `${name} offset ${offset} bytes ${bytes} outside any virtio request`, data: { ev: name, blk: ptrOpt(ev.blk), offset, bytes, flags }, evidence: [ev.evidence] };
        if (ev.time !== undefined) d.time = ev.time;
        this.ctx.emit(d);
      }
      return;
    }
    const curOpen = this.hostIoOfCurrent(k, tid);
    if (code === C_HOST_RET) {
      const ret = ev.ret;
      if (ret === ret && ret < 0) {
        const d: ParsedEvent = {
          kind: 'diag',
          code: 'io-error',
          message: `${name} returned ${ret}`,
          data: { event: name, ret },
          evidence: [ev.evidence],
        };
        if (curOpen?.req.device) d.device = curOpen.req.device;
        if (ev.time !== undefined) d.time = ev.time;
        this.ctx.emit(d);
      }
    }
    // Writes that land in the first cluster of a qcow2 image file (header-overwrite, seed-001).
    let hostOffset: number | undefined;
    let kind: 'data' | 'metadata' | 'other' = 'data';
    const lastQ = this.lastQcow2.get(tid);
    const lastQKind = lastQ?.kind;
    if (k.qcow2) {
      // The thread's entry is updated in place (one qcow2 event in three of a qcow2 trace: no object each).
      this.setLastQcow2(tid, k, code === C_QCOW2_WRITEV_DATA ? opt(ev.offset) : undefined);
      if (code === C_QCOW2_WRITEV_DATA) hostOffset = opt(ev.offset);
      else if (code === C_QCOW2_HANDLE_ALLOC) {
        if (!ev.hostOffsetInvalid) hostOffset = opt(ev.hostOffset);
      } else if (code === C_QCOW2_ADD_TASK) {
        if (ev.action === 'write') hostOffset = opt(ev.hostOffset);
      }
    } else if (code === C_BDRV_PWRITEV_PART && ev.bs === ev.bs) {
      const bs = ev.bs;
      const off = opt(ev.offset);
      // The node qcow2 writes guest data to (same offset as qcow2_writev_data) is a qcow2 file node.
      if (lastQ?.kind.code === C_QCOW2_WRITEV_DATA && lastQ.offset === off) this.fileNodes.add(bs);
      else if (this.fileNodes.has(bs)) {
        hostOffset = off;
        kind = lastQ && lastQ.kind.metadataWriter ? 'metadata' : 'other';
      }
      this.lastQcow2.delete(tid);
    }
    if (hostOffset !== undefined && hostOffset < QCOW2_LOW_WRITE_LIMIT) {
      const data: Record<string, unknown> = { via: name, kind, hostOffset, bytes: opt(ev.bytes), bs: ptrOpt(ev.bs) };
      if (lastQKind !== undefined && kind !== 'data') data.after = lastQKind.name;
      if (curOpen) {
        data.requestKey = curOpen.submitted ? curOpen.req.key : this.popKey(curOpen);
        data.requestOp = curOpen.req.op;
        data.requestId = curOpen.req.id;
      }
      const d: ParsedEvent = {
        kind: 'diag',
        code: 'qcow2-low-write',
        message: `${name} writes at image file offset ${hostOffset} (${kind})`,
        data,
        evidence: [ev.evidence],
      };
      if (curOpen?.req.device) d.device = curOpen.req.device;
      if (ev.time !== undefined) d.time = ev.time;
      this.ctx.emit(d);
    }
  }

  /**
   * A host event (not blk_co_*) counts as host I/O of the request the thread is working on, while that request
   * is still open; bdrv_co_pwrite_zeroes before any handle_* marks a WRITE_ZEROES. Returns that request.
   */
  private hostIoOfCurrent(k: EventKind, tid: number): Pending | undefined {
    const cur = this.current.get(tid);
    if (!cur || !cur.isOpen) return undefined;
    cur.hostIo++;
    if (k.code === C_BDRV_PWRITE_ZEROES && !cur.handled) cur.zeroWrite = true;
    return cur;
  }

  /** The thread's last qcow2 event (context of its next file-node write), updated in place. */
  private setLastQcow2(tid: number, k: EventKind, offset: number | undefined): void {
    const lastQ = this.lastQcow2.get(tid);
    if (lastQ) {
      lastQ.kind = k;
      lastQ.offset = offset;
    } else this.lastQcow2.set(tid, { kind: k, offset });
  }

  /** host() for an event whose arguments are not needed (already counted): what it does without them. */
  private hostContext(k: EventKind, tid: number): void {
    this.hostIoOfCurrent(k, tid);
    if (k.qcow2) this.setLastQcow2(tid, k, undefined);
  }

  /** The request a blk_co_* submission belongs to: same thread, not yet issued, offset = sector*512. */
  private matchIssue(tid: number, offset: number | undefined, bytes: number | undefined, write: boolean): Pending | undefined {
    const cur = this.current.get(tid);
    if (cur && !cur.issued && cur.isOpen) {
      if (!cur.handled) return cur; // flush/discard/write-zeroes: no handle_* event
      if (cur.req.sector * 512 === offset && cur.req.bytes === bytes) return cur;
    }
    for (const p of this.open.values()) {
      if (p.issued || !p.handled || (p.tid ?? 0) !== tid) continue;
      if ((p.req.op === 'write') !== write) continue;
      if (p.req.sector * 512 === offset && p.req.bytes === bytes) return p;
    }
    return undefined;
  }

  private attach(p: Pending, io: HostIo): void {
    p.hostIo++;
    const info = p.req.info!;
    const list = (info.blockIo as HostIo[] | undefined) ?? [];
    if (list.length < 4) list.push(io);
    info.blockIo = list;
  }
}
