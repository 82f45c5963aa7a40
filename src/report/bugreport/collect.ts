// What a bug report needs beyond the model's findings: a compact, bounded record of every request
// (for the timeline) and run facts (devices, domains, time span, backend models). Collected through the
// analysis sink while the input streams; memory is bounded whatever the input size.
import type { Finding, Request } from '../../model/types.js';
import type { AnalysisSink } from '../../analyze.js';

/** Keep at most this many timeline points; above it the stride doubles (every 2nd, 4th... request kept). */
export const DEFAULT_MAX_POINTS = 20000;
const MAX_NAMES = 64;

export interface TimelinePoint {
  seq: number;
  /** Submission time in seconds, when the input has one. */
  t?: number;
  sector: number;
  sectors: number;
  op: string;
}

export interface RunFacts {
  requests: number;
  devices: string[];
  domains: number[];
  /** Devices/domains beyond MAX_NAMES are counted, not listed. */
  moreDevices: number;
  moreDomains: number;
  firstTime?: number;
  lastTime?: number;
  /** Requests by the backend model they were analysed with ("window", "per-segment", "none"). */
  backendModels: Record<string, number>;
}

export interface Collected {
  facts: RunFacts;
  points: TimelinePoint[];
  /** 1 = every request kept, 2 = every other one, ... */
  stride: number;
}

/** A sink that records timeline points and run facts; chain another sink behind it with `next`. */
export class ReportCollector implements AnalysisSink {
  private readonly devices = new Set<string>();
  private readonly domains = new Set<number>();
  private moreDevices = 0;
  private moreDomains = 0;
  private points: TimelinePoint[] = [];
  private stride = 1;
  private requests = 0;
  private firstTime: number | undefined;
  private lastTime: number | undefined;
  private readonly models: Record<string, number> = {};

  constructor(
    private readonly maxPoints = DEFAULT_MAX_POINTS,
    private readonly next: AnalysisSink = {},
  ) {}

  request(req: Request): void {
    this.requests++;
    if (req.device !== undefined && !this.devices.has(req.device)) {
      if (this.devices.size < MAX_NAMES) this.devices.add(req.device);
      else this.moreDevices++;
    }
    if (req.domain !== undefined && !this.domains.has(req.domain)) {
      if (this.domains.size < MAX_NAMES) this.domains.add(req.domain);
      else this.moreDomains++;
    }
    for (const t of [req.submitTime, req.completeTime]) {
      if (t === undefined || !Number.isFinite(t)) continue;
      if (this.firstTime === undefined || t < this.firstTime) this.firstTime = t;
      if (this.lastTime === undefined || t > this.lastTime) this.lastTime = t;
    }
    const m = req.backendModel ?? 'none';
    this.models[m] = (this.models[m] ?? 0) + 1;
    if (req.seq % this.stride === 0) {
      this.points.push(pointOf(req));
      if (this.points.length > this.maxPoints) {
        this.stride *= 2;
        this.points = this.points.filter((p) => p.seq % this.stride === 0);
      }
    }
    this.next.request?.(req);
  }

  finding(f: Finding): void {
    this.next.finding?.(f);
  }

  inputStarted: AnalysisSink['inputStarted'] = (info) => this.next.inputStarted?.(info);
  inputEnded: AnalysisSink['inputEnded'] = (info) => this.next.inputEnded?.(info);
  progress: AnalysisSink['progress'] = (file, bytes) => this.next.progress?.(file, bytes);
  drain = (): Promise<void> => this.next.drain?.() ?? Promise.resolve();

  result(): Collected {
    const facts: RunFacts = {
      requests: this.requests,
      devices: [...this.devices].sort(),
      domains: [...this.domains].sort((a, b) => a - b),
      moreDevices: this.moreDevices,
      moreDomains: this.moreDomains,
      backendModels: sortedRecord(this.models),
    };
    if (this.firstTime !== undefined) facts.firstTime = this.firstTime;
    if (this.lastTime !== undefined) facts.lastTime = this.lastTime;
    return { facts, points: [...this.points].sort((a, b) => a.seq - b.seq), stride: this.stride };
  }
}

export function pointOf(req: Request): TimelinePoint {
  const p: TimelinePoint = { seq: req.seq, sector: req.sector, sectors: req.sectors, op: req.op };
  if (req.submitTime !== undefined && Number.isFinite(req.submitTime)) p.t = req.submitTime;
  return p;
}

function sortedRecord(r: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k]!;
  return out;
}
