// The check contract. One file per check (src/rules/<id>.ts) with its doc beside it (src/rules/<id>.md);
// src/rules/index.ts lists them. A check reads the model (requests and model events), never raw lines.
import type {
  AnalyzeOptions,
  Evidence,
  Finding,
  Impact,
  ParsedEvent,
  Request,
  Severity,
} from '../model/types.js';

export type RuleGroup = 'layout' | 'sequence' | 'durability' | 'malformed' | 'ring' | 'io';

export interface RuleMeta {
  id: string;
  title: string;
  group: RuleGroup;
  defaultSeverity: Severity;
  /** One line, shown by `blkscope explain` lists and reports. */
  summary: string;
  /** Which families it applies to (for docs). */
  families: ('xen' | 'virtio' | 'linux-block')[];
}

export interface ReportInit {
  severity?: Severity;
  message: string;
  request?: Request;
  device?: string;
  evidence?: Evidence[];
  impact?: Impact;
  data?: Record<string, unknown>;
}

export interface RuleContext {
  options: AnalyzeOptions;
  report(init: ReportInit): void;
  /** The requests in flight now, in submission order (the model's own table: read, never keep or change it). */
  inflight(): Iterable<Request>;
}

/** Visitor hooks; all optional. Called in input order. */
export interface RuleVisitor {
  /** A request entered the in-flight table. */
  submit?(req: Request): void;
  /** A request left the model: completed, retired (format logs no completion) or unfinished at the end. */
  request?(req: Request): void;
  /**
   * Model events: ring, diag, orphan and reset; complete and retire too (with their request, in the state
   * after the event) only when `completions` is set — most checks read finished requests in request().
   */
  event?(ev: ParsedEvent, req?: Request): void;
  /** Also call event() for every complete/retire event (one call per request: leave unset unless needed). */
  completions?: boolean;
  /** Input ended; `inflight` holds the requests never completed (state 'unfinished'). Called before their request(). */
  end?(inflight: Request[]): void;
}

export interface Rule {
  meta: RuleMeta;
  create(ctx: RuleContext): RuleVisitor;
}

export type { Finding };
