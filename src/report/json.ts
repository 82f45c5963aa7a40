// The analyze JSON document (schemaVersion 1) and its JSON Lines form. Pure encoders plus a streaming writer
// that lists requests as they leave the model, so memory does not grow with input size.
//
// Document: { schemaVersion, tool, requests[], inputs[], findings[], stats } (key order: requests are streamed
// first; consumers must not rely on key order). Documented in README.md "JSON output".
import type { Finding, InputInfo, Request } from '../model/types.js';
import type { ModelStats } from '../model/model.js';
import { VERSION } from '../version.js';

export const SCHEMA_VERSION = 1;

export interface JsonRequest {
  id: string;
  key: string;
  seq: number;
  format: string;
  file: string;
  device?: string;
  domain?: number;
  queue?: number;
  op: string;
  sector: number;
  sectors: number;
  bytes: number;
  segments: Request['segments'];
  nrSegments?: number;
  status?: string;
  state: string;
  submitTime?: number;
  completeTime?: number;
  latency?: number;
  ring?: Request['ring'];
  backendModel?: string;
  loggedBytes?: number;
  evidence: { file: string; line?: number; offset?: number }[];
  info?: Record<string, unknown>;
}

export function requestToJson(req: Request): JsonRequest {
  const out: JsonRequest = {
    id: req.id,
    key: req.key,
    seq: req.seq,
    format: req.format,
    file: req.file,
    op: req.op,
    sector: req.sector,
    sectors: req.sectors,
    bytes: req.bytes,
    segments: req.segments,
    state: req.state,
    evidence: req.evidence.map((e) => (e.offset !== undefined ? { file: e.file, offset: e.offset } : { file: e.file, line: e.line })),
  };
  if (req.device !== undefined) out.device = req.device;
  if (req.domain !== undefined) out.domain = req.domain;
  if (req.queue !== undefined) out.queue = req.queue;
  if (req.nrSegments !== undefined) out.nrSegments = req.nrSegments;
  if (req.status !== undefined) out.status = req.status;
  if (req.submitTime !== undefined) out.submitTime = req.submitTime;
  if (req.completeTime !== undefined) out.completeTime = req.completeTime;
  if (req.latency !== undefined) out.latency = req.latency;
  if (req.ring !== undefined) out.ring = req.ring;
  if (req.backendModel !== undefined) out.backendModel = req.backendModel;
  if (req.loggedBytes !== undefined) out.loggedBytes = req.loggedBytes;
  if (req.info !== undefined) out.info = req.info;
  return out;
}

export function inputToJson(info: InputInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {
    file: info.file,
    format: info.format,
    formats: info.formats,
    records: info.records,
    skipped: info.skipped,
  };
  if (info.lines !== undefined) out.lines = info.lines;
  if (info.bytes !== undefined) out.bytes = info.bytes;
  if (info.skippedSamples.length) out.skippedSamples = info.skippedSamples.map((s) => ({ ...s.evidence, reason: s.reason }));
  if (info.error) out.error = info.error;
  return out;
}


/** stats: the model's counters plus extensions merged in by formats (e.g. Linux block `devices`, `latency`). */
export function statsToJson(stats: ModelStats, extensions: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...stats, ...extensions };
}

const EXTRA_ESCAPE = /[\u007f-\u009f\u2028\u2029]/g;

/** JSON text safe for a terminal: JSON.stringify escapes C0 controls; escape DEL and C1 too. */
export function safeStringify(v: unknown): string {
  return escapeExtra(JSON.stringify(v));
}

function escapeExtra(json: string): string {
  return json.replace(EXTRA_ESCAPE, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

const EXTRA_TEST = /[\u007f-\u009f\u2028\u2029]/;

/** JSON text of an input-derived value, escaped as safeStringify does (only text can hold DEL/C1/U+2028). */
function jsonOf(v: unknown): string {
  const j = JSON.stringify(v);
  return EXTRA_TEST.test(j) ? escapeExtra(j) : j;
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

let lastFile: string | undefined;
let lastFileJson = '';
/** Evidence file names repeat on every line of a request: encode each once. */
function fileJson(f: string): string {
  if (f !== lastFile) {
    lastFile = f;
    lastFileJson = jsonOf(f);
  }
  return lastFileJson;
}

/**
 * One request as JSON text: the same text as safeStringify(requestToJson(req)) (a test checks), written without
 * building the intermediate object (requests are the bulk of a document).
 */
export function requestJsonText(req: Request): string {
  let s =
    '{"id":' + jsonOf(req.id) +
    ',"key":' + jsonOf(req.key) +
    ',"seq":' + num(req.seq) +
    ',"format":' + jsonOf(req.format) +
    ',"file":' + fileJson(req.file) +
    ',"op":' + jsonOf(req.op) +
    ',"sector":' + num(req.sector) +
    ',"sectors":' + num(req.sectors) +
    ',"bytes":' + num(req.bytes) +
    ',"segments":' + (req.segments.length ? jsonOf(req.segments) : '[]') +
    ',"state":' + jsonOf(req.state) +
    ',"evidence":[';
  const ev = req.evidence;
  for (let i = 0; i < ev.length; i++) {
    const e = ev[i]!;
    if (i) s += ',';
    s += '{"file":' + fileJson(e.file);
    if (e.offset !== undefined) s += ',"offset":' + num(e.offset);
    else if (e.line !== undefined) s += ',"line":' + num(e.line);
    s += '}';
  }
  s += ']';
  if (req.device !== undefined) s += ',"device":' + jsonOf(req.device);
  if (req.domain !== undefined) s += ',"domain":' + num(req.domain);
  if (req.queue !== undefined) s += ',"queue":' + num(req.queue);
  if (req.nrSegments !== undefined) s += ',"nrSegments":' + num(req.nrSegments);
  if (req.status !== undefined) s += ',"status":' + jsonOf(req.status);
  if (req.submitTime !== undefined) s += ',"submitTime":' + num(req.submitTime);
  if (req.completeTime !== undefined) s += ',"completeTime":' + num(req.completeTime);
  if (req.latency !== undefined) s += ',"latency":' + num(req.latency);
  if (req.ring !== undefined) s += ',"ring":' + jsonOf(req.ring);
  if (req.backendModel !== undefined) s += ',"backendModel":' + jsonOf(req.backendModel);
  if (req.loggedBytes !== undefined) s += ',"loggedBytes":' + num(req.loggedBytes);
  if (req.info !== undefined) s += ',"info":' + jsonOf(req.info);
  // Every text part went through jsonOf or fileJson: no whole-document escape pass.
  return s + '}';
}

/**
 * Streams one JSON document: `begin()` writes the head, `request()` each request (in submission order where a
 * bounded reorder window allows), `end()` the rest.
 */
export class JsonDocumentWriter {
  private first = true;
  private nextSeq = 0;
  private readonly waiting = new Map<number, Request>();
  /** Seqs already written out of order (their turn is skipped). */
  private readonly done = new Set<number>();
  private static readonly WINDOW = 10000;

  constructor(private readonly write: (s: string) => void) {}

  begin(): void {
    this.write(`{"schemaVersion":${SCHEMA_VERSION},"tool":{"name":"blkscope","version":${JSON.stringify(VERSION)}},"requests":[`);
  }

  request(req: Request): void {
    if (req.seq === this.nextSeq) {
      this.emit(req);
      this.nextSeq++;
      this.drainOrdered();
      return;
    }
    this.waiting.set(req.seq, req);
    if (this.waiting.size > JsonDocumentWriter.WINDOW) {
      // An old request is still in flight: give up on strict order for what is waiting.
      const seqs = [...this.waiting.keys()].sort((a, b) => a - b);
      for (const s of seqs.slice(0, seqs.length >> 1)) {
        this.emit(this.waiting.get(s)!);
        this.waiting.delete(s);
        this.done.add(s);
      }
    }
  }

  private drainOrdered(): void {
    for (;;) {
      if (this.done.delete(this.nextSeq)) {
        this.nextSeq++;
        continue;
      }
      const r = this.waiting.get(this.nextSeq);
      if (!r) return;
      this.waiting.delete(this.nextSeq);
      this.emit(r);
      this.nextSeq++;
    }
  }

  private emit(req: Request): void {
    this.write((this.first ? '\n' : ',\n') + requestJsonText(req));
    this.first = false;
  }

  end(inputs: InputInfo[], findings: Finding[], stats: Record<string, unknown>): void {
    const rest = [...this.waiting.values()].sort((a, b) => a.seq - b.seq);
    this.waiting.clear();
    for (const r of rest) this.emit(r);
    this.write(
      `\n],\n"inputs":${safeStringify(inputs.map(inputToJson))},\n"findings":[${findings.map((f) => '\n' + safeStringify(f)).join(',')}\n],\n"stats":${safeStringify(stats)}\n}\n`,
    );
  }
}

/** One JSON Lines record (follow mode): {"type": "request"|"finding"|"input", ...same fields as the document}. */
export function jsonLine(type: 'request' | 'finding' | 'input', data: unknown): string {
  const body =
    type === 'request' ? requestToJson(data as Request) : type === 'input' ? inputToJson(data as InputInfo) : (data as Finding);
  return safeStringify({ type, ...(body as object) }) + '\n';
}
