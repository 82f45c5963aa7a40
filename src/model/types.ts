// Core model types shared by parsers, the model, rules, renderers and the TUI.
// Flow (one way): parsers/ -> ParsedEvent -> src/model (Request) -> src/rules (Finding) -> src/report | tui/.
// Renderers and the TUI import these *types* only, never anything from parsers/.

export type Severity = 'error' | 'warning' | 'info';
export const SEVERITY_RANK: Record<Severity, number> = { info: 1, warning: 2, error: 3 };

/** Operation of a request. Known values first; formats may add their own lower-case names. */
export type Op =
  | 'read'
  | 'write'
  | 'flush'
  | 'barrier'
  | 'discard'
  | 'write-zeroes'
  | 'get-id'
  | 'probe'
  | 'zone'
  | 'unknown'
  | (string & {});

/** Where a fact came from: a file and line (text) or byte offset (binary). `text` is the original line. */
export interface Evidence {
  file: string;
  line?: number;
  offset?: number;
  text?: string;
}

/**
 * One scatter/gather segment.
 * Xen: `frame` (hex string "0x27f68") or `gref`, with firstSect/lastSect (512-byte sectors in a 4 KiB page).
 * virtio: `addr` (guest-physical, hex string), `len` bytes, `write` (device writes into it, i.e. guest read buffer),
 * and `role` (header/data/status) where known.
 */
export interface Segment {
  frame?: string;
  gref?: number;
  firstSect?: number;
  lastSect?: number;
  addr?: string;
  len?: number;
  write?: boolean;
  role?: 'header' | 'data' | 'status';
}

/** How a backend maps a request's segments into memory. */
export type BackendModel = 'window' | 'per-segment';

export interface RingState {
  reqCons?: number;
  reqProd?: number;
  rspProd?: number;
  /** Values printed masked (Xen 2: "req_prod 0xcd47/0x7"). */
  reqProdMasked?: number;
  rspProdMasked?: number;
  ringSize?: number;
}

export type RequestState = 'inflight' | 'completed' | 'retired' | 'unfinished';

export interface Request {
  /** Unique for the run: parsers build it from file, device, id and a generation counter. */
  key: string;
  /** The id as a user knows it (ring id, QEMU req pointer, blktrace sequence...). */
  id: string;
  /** Format id that produced it. */
  format: string;
  /** Family of that format (set by the pipeline); checks run only on requests of the families they list. */
  family?: 'xen' | 'virtio' | 'linux-block';
  /** Input file it came from. */
  file: string;
  /** Submission order over the whole run (set by the model). */
  seq: number;
  device?: string;
  domain?: number;
  queue?: number;
  op: Op;
  /** First disk sector (512-byte units). */
  sector: number;
  sectors: number;
  bytes: number;
  segments: Segment[];
  /** Segment count as declared by the input, when it differs from what was listed. */
  nrSegments?: number;
  /** A size the input states (e.g. xbdback "size 5632"), for size-mismatch. */
  loggedBytes?: number;
  /** Byte offset of the transfer in the first page as the backend logged it (xbdback "start B"). */
  loggedStartOffset?: number;
  ring?: RingState;
  /** Seconds (float) from the input's clock. */
  submitTime?: number;
  completeTime?: number;
  /** Derived: completeTime - submitTime, seconds. */
  latency?: number;
  /** 'ok', 'error', 'eopnotsupp', 'unsupported' or the raw value as text. */
  status?: string;
  state: RequestState;
  /** The format logs completions for this request: never-completed applies when none arrives. */
  expectsCompletion?: boolean;
  evidence: Evidence[];
  /** Backend mapping model the format implies (may be overridden by --backend-model). */
  backendModel?: BackendModel;
  /** Format-specific extras (merged bios, lifecycle, descriptor chain...). JSON-serialisable. */
  info?: Record<string, unknown>;
}

/** Events a parser emits; the model turns them into requests and passes them to rules. */
export type ParsedEvent =
  /** A request enters the in-flight table (keyed by req.key). */
  | { kind: 'submit'; req: Request; /** The request's id and device share no memory with the input text (the parser made them). */ ownStrings?: boolean }
  /** A request completed: status as logged. */
  | { kind: 'complete'; key: string; status?: string; time?: number; evidence?: Evidence; /** The request itself, which the parser has submitted (spares the lookup by key while it is in flight under it). */ req?: Request }
  /** A request's record ended and the format logs no completion for it: it leaves the table without one. */
  | { kind: 'retire'; key: string }
  /** A completion for which no request is known. */
  | { kind: 'orphan'; device?: string; id: string; status?: string; time?: number; evidence: Evidence[] }
  /** Ring index snapshot. `stream` identifies one ring (file + device/domain). */
  | {
      kind: 'ring';
      stream: string;
      device?: string;
      ring: RingState;
      time?: number;
      evidence: Evidence[];
    }
  /** A diagnostic message logged by a driver/backend (e.g. Linux "Bad number of segments"). */
  | {
      kind: 'diag';
      code: string;
      device?: string;
      domain?: number;
      message: string;
      data?: Record<string, unknown>;
      time?: number;
      evidence: Evidence[];
    }
  /** Device reset, process kill, dataplane stop or orderly exit: ends an epoch for the device (or all devices). */
  | {
      kind: 'reset';
      device?: string;
      reason: 'reset' | 'kill' | 'stop' | 'exit' | 'end';
      time?: number;
      evidence: Evidence[];
    };

export interface MisdirectedRange {
  /** First disk sector of the run. */
  sector: number;
  count: number;
  expected: MemLocation;
  actual: MemLocation;
}

/** A memory location: a frame (hex string) or grant reference, and a sector (512 B) within it. */
export interface MemLocation {
  frame?: string;
  gref?: number;
  /** Set when the backend's window runs past the mapped pages. */
  unmapped?: boolean;
  sect: number;
}

export interface MemRange {
  frame?: string;
  gref?: number;
  firstSect: number;
  lastSect: number;
}

export interface Impact {
  model: BackendModel;
  /** Disk-sector runs that land elsewhere than the segment list intends. */
  misdirected: MisdirectedRange[];
  /** Memory the segment list names that no disk sector reaches under the model. */
  untouched: MemRange[];
  /** Memory that two or more disk sectors reach (same memory used twice). */
  aliased?: { frame?: string; gref?: number; sect: number; sectors: number[] }[];
}

export interface Finding {
  rule: string;
  severity: Severity;
  requestId?: string;
  /** Internal key of the request (lets the TUI and reports jump to it). */
  requestKey?: string;
  device?: string;
  message: string;
  evidence: Evidence[];
  impact?: Impact;
  data?: Record<string, unknown>;
}

export interface InputInfo {
  file: string;
  /** Format id, or a comma-separated list when several formats were found in one input. */
  format: string;
  formats: string[];
  records: number;
  skipped: number;
  /** First few skipped lines, with the reason. */
  skippedSamples: { evidence: Evidence; reason: string }[];
  /** Set when the input could not be read or no format was recognised. */
  error?: string;
  lines?: number;
  bytes?: number;
}

export interface AnalyzeOptions {
  /** Force a format for every input (`--input-format`). */
  inputFormat?: string;
  /** Override the backend mapping model (`--backend-model`). */
  backendModel?: BackendModel;
  /** Logical block size in bytes for misaligned (`--block-size`, default 512). */
  blockSize?: number;
  /** Trace-events file for QEMU simpletrace. */
  traceEvents?: string;
  /** Xen ring size override (entries). */
  ringSize?: number;
  /** Keep at most this many findings per rule (others counted in stats). Default 10000. */
  maxFindingsPerRule?: number;
}
