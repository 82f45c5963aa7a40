// QEMU trace events -> blkscope requests, for every QEMU trace backend (log text, simpletrace binary...).
// A backend parser turns each record into a QemuEvent (event name + arguments named as in QEMU's
// trace-events declarations) and feeds it to a VirtioAssembler, which rebuilds virtio-blk requests.
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
import type { ParserContext } from '../types.js';

/** One QEMU trace event, whatever backend it came from. Argument names follow trace-events declarations. */
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

const PTR_TEXT = new Map<number, string>();

/** Pointer argument as lower-case hex text ("0x55c2..."); NULL ("(nil)", 0) is "0x0". */
export function ptrArg(v: number | bigint | string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') {
    // Pointers repeat (QEMU reuses allocations): keep one string per value.
    let t = PTR_TEXT.get(v);
    if (t === undefined) {
      if (PTR_TEXT.size >= 65536) PTR_TEXT.clear();
      t = '0x' + v.toString(16);
      PTR_TEXT.set(v, t);
    }
    return t;
  }
  if (typeof v === 'string') return v === '(nil)' ? '0x0' : v.toLowerCase();
  return '0x' + v.toString(16);
}

/** Numeric argument as a number (bigints beyond 2^53 lose precision; sectors and lengths never get there). */
export function numArg(v: number | bigint | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const n = v.startsWith('0x') || v.startsWith('0X') ? parseInt(v.slice(2), 16) : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Signed 32-bit argument (simpletrace stores ints as u64: 0xffff...fffb = -5). */
function intArg(v: number | bigint | string | undefined): number | undefined {
  if (typeof v === 'bigint') return Number(BigInt.asIntN(32, v));
  const n = numArg(v);
  if (n === undefined) return undefined;
  return n > 0x7fffffff && n <= 0xffffffff ? n - 0x100000000 : n >= 2 ** 63 ? -1 : n;
}

/** virtio-blk status byte (virtio spec §5.2.6): 0 OK, 1 IOERR, 2 UNSUPP; zoned codes 3..6 kept raw. */
export function virtioStatus(s: number): string {
  return s === 0 ? 'ok' : s === 1 ? 'error' : s === 2 ? 'unsupported' : String(s);
}

/** Host block-layer and image-format events: attached to a request or counted, never requests. */
const HOST_PREFIXES = ['blk_', 'bdrv_', 'qcow2_', 'luring_', 'laio_', 'file_', 'thread_pool_', 'raw_', 'nvme_', 'qed_', 'vmdk_'];
function isHostEvent(name: string): boolean {
  for (const p of HOST_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}

/** Events the assembler understands (others are counted as unknown). */
const KNOWN = new Set([
  'virtqueue_alloc_element',
  'virtqueue_pop',
  'virtqueue_fill',
  'virtqueue_flush',
  'virtio_queue_notify',
  'virtio_notify',
  'virtio_notify_irqfd',
  'virtio_set_status',
  'virtio_blk_handle_read',
  'virtio_blk_handle_write',
  'virtio_blk_rw_complete',
  'virtio_blk_req_complete',
  'virtio_blk_submit_multireq',
  'virtio_blk_data_plane_start',
  'virtio_blk_data_plane_stop',
  'virtio_blk_handle_zone_report',
  'virtio_blk_handle_zone_mgmt',
  'virtio_blk_handle_zone_reset_all',
  'virtio_blk_handle_zone_append',
  'virtio_blk_zone_report_complete',
  'virtio_blk_zone_mgmt_complete',
  'virtio_blk_zone_append_complete',
]);

const CLASS_KNOWN = 1;
const CLASS_HOST = 2;
const CLASS_OTHER = 3;
/** Event name -> CLASS_*, so that each event costs one lookup instead of KNOWN.has + a prefix scan. */
const NAME_CLASS = new Map<string, number>();
function classOf(name: string): number {
  let c = NAME_CLASS.get(name);
  if (c === undefined) {
    c = KNOWN.has(name) ? CLASS_KNOWN : isHostEvent(name) ? CLASS_HOST : CLASS_OTHER;
    if (NAME_CLASS.size < 4096) NAME_CLASS.set(name, c);
  }
  return c;
}

/**
 * Events whose arguments the assembler reads. Every other event only counts (per name, and as host I/O of
 * the thread's current request) or sets per-thread context by its name: a backend may hand those to
 * VirtioAssembler.tick() without decoding their arguments or building an event.
 */
const ARG_EVENTS = new Set([
  ...[...KNOWN].filter((n) => n !== 'virtqueue_alloc_element' && n !== 'virtqueue_flush'),
  'blk_co_preadv',
  'blk_co_pwritev',
  'bdrv_co_pwritev_part',
  'qcow2_writev_done_req',
  'qcow2_l2_allocate_done',
  'luring_process_completion',
  'qcow2_writev_data',
  'qcow2_handle_alloc',
  'qcow2_add_task',
]);

interface Pending {
  req: Request;
  elem: string;
  vq?: string;
  tid?: number;
  inNum?: number;
  outNum?: number;
  /** submit emitted to the model. */
  submitted: boolean;
  /** handle_read/write seen (op and sector known). */
  handled: boolean;
  /** blk_co_* submission seen (for multireq and host I/O attribution). */
  issued: boolean;
  zeroWrite?: boolean;
  status?: number;
  completeTime?: number;
  completeEvidence?: Evidence;
  hostIo: number;
}

interface HostIo {
  ev: string;
  offset?: number;
  bytes?: number;
  flags?: number;
}

/** Host writes below this file offset are reported (the first cluster at qcow2's default 64 KiB cluster size). */
const QCOW2_LOW_WRITE_LIMIT = 65536;
/** qcow2 events after which a file-node write carries metadata tables (block/qcow2-cache.c, qcow2-cluster.c). */
const METADATA_WRITERS = new Set(['qcow2_cache_entry_flush', 'qcow2_l2_allocate_write_l2', 'qcow2_l2_allocate_write_l1']);
const INV_OFFSET = 0xffffffffffffffffn;

export class VirtioAssembler {
  private readonly format: string;
  private readonly maxEvidence: number;
  /** Open (popped, not completed) requests by element pointer. */
  private readonly open = new Map<string, Pending>();
  /** Generation counters per element pointer. */
  private readonly gens = new Map<string, number>();
  /** vq pointer -> device and queue index (virtio_queue_notify / virtio_notify). */
  private readonly vqs = new Map<string, { vdev?: string; n?: number }>();
  /** dataplane pointer -> vdev (data_plane_start follows the device's set_status on the same thread). */
  private readonly dataplanes = new Map<string, string>();
  private lastStatusVdev: string | undefined;
  private readonly devStatus = new Map<string, number>();
  /** Last completed element per pointer (for double completions). */
  private readonly done = new Map<string, { key: string; device?: string }>();
  /** Elements completed without a fill (a late fill is not a second completion). */
  private readonly unfilled = new Map<string, boolean>();
  /** Resets/stops traced while the device still had requests open, by vdev ('' = unknown device). */
  private readonly pendingResets = new Map<string, { vdev: string | undefined; reason: 'reset' | 'stop'; ev: QemuEvent }[]>();
  /** Completed by req_complete, waiting for the fill that follows on the same thread. */
  private readonly awaitingFill = new Map<number, Pending>();
  /** The request a thread is working on (host I/O attribution). */
  private readonly current = new Map<number, Pending>();
  /** Last merged batch per thread: the next blk_co_* is its submission. */
  private readonly lastBatch = new Map<number, Pending[]>();
  /** qcow2 file (protocol) nodes, learnt from the data write that follows qcow2_writev_data. */
  private readonly fileNodes = new Set<string>();
  /** Last qcow2 event per thread (context of the next file-node write). */
  private readonly lastQcow2 = new Map<number, { name: string; offset?: number }>();
  /** Events per name (a mutable cell per name: one Map lookup per event). */
  private readonly counts = new Map<string, { n: number }>();
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

  private count(name: string): void {
    const c = this.counts.get(name);
    if (c) c.n++;
    else this.counts.set(name, { n: 1 });
  }

  /** Whether event() needs this event's arguments; when not, tick(name, tid) does the same work. */
  needsArgs(name: string): boolean {
    return ARG_EVENTS.has(name);
  }

  /** An event whose arguments are not needed (needsArgs false): counted as event() would, without building it. */
  tick(name: string, tid: number): void {
    this.events++;
    const wait = this.awaitingFill.get(tid);
    if (wait) {
      this.awaitingFill.delete(tid);
      this.finish(wait);
    }
    const cls = classOf(name);
    this.count(name);
    if (cls === CLASS_OTHER) this.unknown++;
    else if (cls === CLASS_HOST) this.hostContext(name, tid);
  }

  event(ev: QemuEvent): void {
    this.events++;
    const tid = ev.tid ?? 0;
    const name = ev.name;
    // A req_complete waiting for its fill: anything else on that thread means no fill is traced.
    const wait = this.awaitingFill.get(tid);
    if (wait) {
      this.awaitingFill.delete(tid);
      if (name === 'virtqueue_fill' && ptrArg(ev.args.elem) === wait.elem) {
        this.count(name);
        this.finish(wait, ev);
        return;
      }
      this.finish(wait);
    }
    const cls = classOf(name);
    if (cls !== CLASS_KNOWN) {
      if (cls === CLASS_HOST) this.host(ev, tid);
      else {
        this.unknown++;
        this.count(name);
      }
      return;
    }
    this.count(name);
    const a = ev.args;
    switch (name) {
      case 'virtio_queue_notify': {
        const vq = ptrArg(a.vq);
        if (vq) {
          // Updated in place (one notify per request; nobody keeps the entry object).
          const q = this.vqs.get(vq);
          if (q) {
            q.vdev = ptrArg(a.vdev);
            q.n = numArg(a.n);
          } else this.vqs.set(vq, { vdev: ptrArg(a.vdev), n: numArg(a.n) });
        }
        return;
      }
      case 'virtio_notify':
      case 'virtio_notify_irqfd': {
        const vq = ptrArg(a.vq);
        if (vq && !this.vqs.has(vq)) this.vqs.set(vq, { vdev: ptrArg(a.vdev) });
        return;
      }
      case 'virtqueue_alloc_element':
      case 'virtqueue_flush':
        return;
      case 'virtqueue_pop':
        this.pops++;
        this.pop(ev, tid);
        return;
      case 'virtio_blk_handle_read':
      case 'virtio_blk_handle_write':
        this.handleRw(ev, tid, name === 'virtio_blk_handle_write' ? 'write' : 'read');
        return;
      case 'virtio_blk_handle_zone_report':
      case 'virtio_blk_handle_zone_mgmt':
      case 'virtio_blk_handle_zone_reset_all':
      case 'virtio_blk_handle_zone_append':
        this.handleZone(ev, tid);
        return;
      case 'virtio_blk_rw_complete':
      case 'virtio_blk_zone_report_complete':
      case 'virtio_blk_zone_mgmt_complete':
      case 'virtio_blk_zone_append_complete': {
        const p = this.find(ev);
        if (!p) return;
        const ret = intArg(a.ret);
        if (ret !== undefined) {
          p.req.info!.ret = ret;
          if (ret < 0) p.req.info!.rwError = ret;
        }
        this.addEvidence(p, ev.evidence);
        return;
      }
      case 'virtio_blk_req_complete':
        this.reqComplete(ev, tid);
        return;
      case 'virtqueue_fill':
        this.fill(ev);
        return;
      case 'virtio_blk_submit_multireq':
        this.multireq(ev, tid);
        return;
      case 'virtio_set_status': {
        const vdev = ptrArg(a.vdev);
        const val = numArg(a.val) ?? 0;
        if (vdev) {
          this.lastStatusVdev = vdev;
          const prev = this.devStatus.get(vdev);
          this.devStatus.set(vdev, val);
          if (val === 0 && prev !== 0 && (prev !== undefined || this.openFor(vdev) > 0)) this.reset(vdev, 'reset', ev);
        }
        return;
      }
      case 'virtio_blk_data_plane_start': {
        const dp = ptrArg(a.s ?? a.dataplane);
        if (dp && this.lastStatusVdev && !this.dataplanes.has(dp)) this.dataplanes.set(dp, this.lastStatusVdev);
        return;
      }
      case 'virtio_blk_data_plane_stop': {
        const dp = ptrArg(a.s ?? a.dataplane);
        this.reset(dp ? this.dataplanes.get(dp) : undefined, 'stop', ev);
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
      qemu: { events: this.events, unknownEvents: this.unknown, merges: this.batches, byEvent: Object.fromEntries([...this.counts].map(([k, c]) => [k, c.n])) },
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

  private pop(ev: QemuEvent, tid: number): void {
    const a = ev.args;
    const elem = ptrArg(a.elem);
    if (!elem) return;
    const vq = ptrArg(a.vq);
    if (this.pendingResets.size > 0) {
      const dev = vq ? this.vqs.get(vq)?.vdev : undefined;
      this.settleResets(true, dev ?? '');
    }
    const prev = this.open.get(elem);
    if (prev) {
      // Popped again while still in flight (double pop / use after free): the old one stays open in the
      // model (never completed); the new generation takes the pointer.
      if (!prev.submitted) this.submit(prev);
    }
    this.unfilled.delete(elem);
    const gen = (this.gens.get(elem) ?? 0) + 1;
    this.gens.set(elem, gen);
    const q = vq ? this.vqs.get(vq) : undefined;
    const inNum = numArg(a.in_num);
    const outNum = numArg(a.out_num);
    const info: Record<string, unknown> = { vq, inNum, outNum };
    if (ev.tid !== undefined) info.tid = ev.tid;
    const req: Request = newRequest({ key: '', id: elem, format: this.format, file: this.ctx.file, expectsCompletion: true, evidence: [ev.evidence], info });
    if (q?.vdev) req.device = q.vdev;
    if (q?.n !== undefined) req.queue = q.n;
    if (ev.time !== undefined) req.submitTime = ev.time;
    req.key = `${this.ctx.file}|${elem}#${gen}`;
    const p: Pending = { req, elem, vq, tid: ev.tid, inNum, outNum, submitted: false, handled: false, issued: false, hostIo: 0 };
    this.open.set(elem, p);
    this.current.set(tid, p);
  }

  /** The open request an event names (req / elem pointer), or undefined (counted as unmatched). */
  private find(ev: QemuEvent): Pending | undefined {
    const ptr = ptrArg(ev.args.req ?? ev.args.elem);
    if (!ptr) return undefined;
    const p = this.open.get(ptr);
    if (p) {
      const vdev = ptrArg(ev.args.vdev);
      if (vdev && !p.req.device) p.req.device = vdev;
    }
    return p;
  }

  private handleRw(ev: QemuEvent, tid: number, op: Op): void {
    let p = this.find(ev);
    if (!p) {
      // No pop traced (trace started mid-run or virtqueue_pop not enabled): start the request here.
      this.count('handle-without-pop');
      const elem = ptrArg(ev.args.req)!;
      if (!elem) return;
      this.pop({ name: 'virtqueue_pop', args: { elem }, time: ev.time, tid: ev.tid, evidence: ev.evidence }, tid);
      p = this.open.get(elem)!;
      p.req.evidence = [];
    }
    const a = ev.args;
    const sector = numArg(a.sector) ?? 0;
    const nsectors = numArg(a.nsectors) ?? 0;
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

  private handleZone(ev: QemuEvent, tid: number): void {
    const p = this.find(ev);
    if (!p) {
      this.count('handle-without-pop');
      return;
    }
    const a = ev.args;
    const req = p.req;
    p.handled = true;
    req.op = ev.name === 'virtio_blk_handle_zone_append' ? 'zone-append' : 'zone';
    req.sector = numArg(a.sector) ?? 0;
    const len = numArg(a.len);
    if (len !== undefined) req.sectors = len;
    req.bytes = req.sectors * 512;
    req.info!.zoneEvent = ev.name.slice('virtio_blk_handle_'.length);
    if (a.op !== undefined) req.info!.zoneOp = numArg(a.op);
    this.addEvidence(p, ev.evidence);
    this.current.set(tid, p);
    if (!p.submitted) this.submit(p);
  }

  private reqComplete(ev: QemuEvent, tid: number): void {
    const ptr = ptrArg(ev.args.req);
    if (!ptr) return;
    let p = this.open.get(ptr);
    const status = intArg(ev.args.status) ?? 0;
    if (!p && this.pops === 0) {
      // virtqueue_pop not traced (e.g. `-trace virtio_blk_*`): a completion without handle_* is a request
      // whose op the trace does not tell (flush, discard, get-id...), not an orphan.
      this.count('complete-without-pop');
      this.pop({ name: 'virtqueue_pop', args: { elem: ptr }, time: ev.time, tid: ev.tid, evidence: ev.evidence }, tid);
      p = this.open.get(ptr)!;
      p.req.evidence = [];
      delete p.req.submitTime;
    }
    if (!p) {
      this.orphan(ptr, ptrArg(ev.args.vdev), virtioStatus(status), ev);
      return;
    }
    const vdev = ptrArg(ev.args.vdev);
    if (vdev && !p.req.device) p.req.device = vdev;
    p.status = status;
    p.completeTime = ev.time;
    p.completeEvidence = ev.evidence;
    this.open.delete(ptr);
    // The fill follows on the same thread when virtqueue_fill is traced.
    this.awaitingFill.set(tid, p);
  }

  private fill(ev: QemuEvent): void {
    const ptr = ptrArg(ev.args.elem);
    if (!ptr) return;
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
    p.completeTime = ev.time;
    this.finish(p, ev);
  }

  private orphan(ptr: string, vdev: string | undefined, status: string | undefined, ev: QemuEvent): void {
    const last = this.done.get(ptr);
    const device = vdev ?? last?.device;
    const o: ParsedEvent = { kind: 'orphan', id: ptr, evidence: [ev.evidence] };
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
    if (req.device) req.key = `${this.ctx.file}|${req.device}|${p.elem}#${this.gens.get(p.elem) ?? 1}`;
    if (req.device === undefined && p.vq) {
      const q = this.vqs.get(p.vq);
      if (q?.vdev) req.device = q.vdev;
      if (q?.n !== undefined) req.queue = q.n;
    }
    if (req.queue === undefined && p.vq) {
      const q = this.vqs.get(p.vq);
      if (q?.n !== undefined) req.queue = q.n;
    }
    p.submitted = true;
    this.ctx.emit({ kind: 'submit', req });
  }

  /** Complete a request: after req_complete (+ the fill when traced), or a fill alone. */
  private finish(p: Pending, fillEv?: QemuEvent): void {
    const req = p.req;
    let fillLen: number | undefined;
    if (fillEv) {
      fillLen = numArg(fillEv.args.len);
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
    const c: ParsedEvent = { kind: 'complete', key: req.key };
    if (p.status !== undefined) c.status = virtioStatus(p.status);
    const t = p.completeTime ?? fillEv?.time;
    if (t !== undefined) c.time = t;
    this.done.set(p.elem, { key: req.key, device: req.device });
    for (const [tid, cur] of this.current) if (cur === p) this.current.delete(tid);
    this.ctx.emit(c);
    if (this.pendingResets.size > 0) this.settleResets(false);
  }

  private addEvidence(p: Pending, e: Evidence): void {
    if (p.req.evidence.length < this.maxEvidence) p.req.evidence.push(e);
  }

  private multireq(ev: QemuEvent, tid: number): void {
    const a = ev.args;
    const vdev = ptrArg(a.vdev);
    const isWrite = (numArg(a.is_write) ?? 0) !== 0;
    const start = numArg(a.start) ?? 0;
    const num = numArg(a.num_reqs) ?? 0;
    const offset = numArg(a.offset) ?? 0;
    const size = numArg(a.size) ?? 0;
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
    members.forEach((p, i) => {
      p.issued = true;
      p.req.info!.merge = { batch, index: i, numReqs: num, offset, size, found: members.length };
      this.addEvidence(p, ev.evidence);
    });
    if (members.length === 0) {
      this.ctx.emit({
        kind: 'diag',
        code: 'multireq-unmatched',
        device: vdev,
        message: `virtio_blk_submit_multireq of ${num} requests at byte ${offset} matches no handled request`,
        data: { num, offset, size, isWrite },
        time: ev.time,
        evidence: [ev.evidence],
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
  private reset(vdev: string | undefined, reason: 'reset' | 'stop', ev: QemuEvent): void {
    const key = vdev ?? '';
    const list = this.pendingResets.get(key);
    if (list) list.push({ vdev, reason, ev });
    else if (this.openFor(vdev) > 0) this.pendingResets.set(key, [{ vdev, reason, ev }]);
    else this.emitReset(vdev, reason, ev);
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
      for (const r of list) this.emitReset(r.vdev, r.reason, r.ev);
    }
  }

  private emitReset(vdev: string | undefined, reason: 'reset' | 'stop', ev: QemuEvent): void {
    // Requests of the device still open are lost: drop them from the pointer table (a later pop of the
    // pointer is a new request, not a double pop). The model keeps them in flight (never completed).
    for (const [elem, p] of this.open) {
      if (vdev !== undefined && p.req.device !== undefined && p.req.device !== vdev) continue;
      if (!p.submitted) this.submit(p);
      this.open.delete(elem);
    }
    const r: ParsedEvent = { kind: 'reset', reason, evidence: [ev.evidence] };
    if (vdev) r.device = vdev;
    if (ev.time !== undefined) r.time = ev.time;
    this.ctx.emit(r);
  }

  // ---- host block layer --------------------------------------------------------------------------

  private host(ev: QemuEvent, tid: number): void {
    const name = ev.name;
    this.count(name);
    const a = ev.args;
    const bs = ptrArg(a.bs);
    if (name === 'blk_co_preadv' || name === 'blk_co_pwritev') {
      const offset = numArg(a.offset);
      const bytes = numArg(a.bytes);
      const flags = numArg(a.flags) ?? 0;
      const batch = this.lastBatch.get(tid);
      if (batch && batch.length > 0) {
        this.lastBatch.delete(tid);
        for (const p of batch) this.attach(p, { ev: name, offset, bytes, flags });
        return;
      }
      const p = this.matchIssue(tid, offset, bytes, name === 'blk_co_pwritev');
      if (p) {
        p.issued = true;
        if (name === 'blk_co_pwritev' && flags & 0x2) p.zeroWrite = true;
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
        const d: ParsedEvent = { kind: 'diag', code: 'host-io', message: `${name} offset ${offset} bytes ${bytes} outside any virtio request`, data: { ev: name, blk: ptrArg(a.blk), offset, bytes, flags }, evidence: [ev.evidence] };
        if (ev.time !== undefined) d.time = ev.time;
        this.ctx.emit(d);
      }
      return;
    }
    const curOpen = this.hostIoOfCurrent(name, tid);
    if (name === 'qcow2_writev_done_req' || name === 'qcow2_l2_allocate_done' || name === 'luring_process_completion') {
      const ret = intArg(a.ret);
      if (ret !== undefined && ret < 0) {
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
    const lastQName = lastQ?.name;
    if (name.startsWith('qcow2_')) {
      // The thread's entry is updated in place (one qcow2 event in three of a qcow2 trace: no object each).
      this.setLastQcow2(tid, name, name === 'qcow2_writev_data' ? numArg(a.offset) : undefined);
      if (name === 'qcow2_writev_data') hostOffset = numArg(a.offset);
      else if (name === 'qcow2_handle_alloc') {
        const h = a.host_offset;
        if (!(typeof h === 'bigint' ? h === INV_OFFSET : h === 0xffffffffffffffff)) hostOffset = numArg(h);
      } else if (name === 'qcow2_add_task') {
        if (a.action === 'write') hostOffset = numArg(a.host_offset);
      }
    } else if (name === 'bdrv_co_pwritev_part' && bs) {
      const off = numArg(a.offset);
      // The node qcow2 writes guest data to (same offset as qcow2_writev_data) is a qcow2 file node.
      if (lastQ?.name === 'qcow2_writev_data' && lastQ.offset === off) this.fileNodes.add(bs);
      else if (this.fileNodes.has(bs)) {
        hostOffset = off;
        kind = lastQ && METADATA_WRITERS.has(lastQ.name) ? 'metadata' : 'other';
      }
      this.lastQcow2.delete(tid);
    }
    if (hostOffset !== undefined && hostOffset < QCOW2_LOW_WRITE_LIMIT) {
      const data: Record<string, unknown> = { via: name, kind, hostOffset, bytes: numArg(a.bytes), bs };
      if (lastQName !== undefined && kind !== 'data') data.after = lastQName;
      if (curOpen) {
        data.requestKey = curOpen.req.key;
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
  private hostIoOfCurrent(name: string, tid: number): Pending | undefined {
    const cur = this.current.get(tid);
    if (!cur || this.open.get(cur.elem) !== cur) return undefined;
    cur.hostIo++;
    if (name === 'bdrv_co_pwrite_zeroes' && !cur.handled) cur.zeroWrite = true;
    return cur;
  }

  /** The thread's last qcow2 event (context of its next file-node write), updated in place. */
  private setLastQcow2(tid: number, name: string, offset: number | undefined): void {
    const lastQ = this.lastQcow2.get(tid);
    if (lastQ) {
      lastQ.name = name;
      lastQ.offset = offset;
    } else this.lastQcow2.set(tid, { name, offset });
  }

  /** host() for an event outside ARG_EVENTS (already counted): what it does without arguments. */
  private hostContext(name: string, tid: number): void {
    this.hostIoOfCurrent(name, tid);
    if (name.startsWith('qcow2_')) this.setLastQcow2(tid, name, undefined);
  }

  /** The request a blk_co_* submission belongs to: same thread, not yet issued, offset = sector*512. */
  private matchIssue(tid: number, offset: number | undefined, bytes: number | undefined, write: boolean): Pending | undefined {
    const cur = this.current.get(tid);
    if (cur && !cur.issued && this.open.get(cur.elem) === cur) {
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
