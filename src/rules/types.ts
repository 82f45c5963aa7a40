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
}

/** Visitor hooks; all optional. Called in input order. */
export interface RuleVisitor {
  /** A request entered the in-flight table. */
  submit?(req: Request): void;
  /** A request left the model: completed, retired (format logs no completion) or unfinished at the end. */
  request?(req: Request): void;
  /** Any non-submit event (complete, ring, diag, orphan, reset, retire). Requests are in the state after the event. */
  event?(ev: ParsedEvent, req?: Request): void;
  /** Input ended; `inflight` holds the requests never completed (state 'unfinished'). Called before their request(). */
  end?(inflight: Request[]): void;
}

export interface Rule {
  meta: RuleMeta;
  create(ctx: RuleContext): RuleVisitor;
}

export type { Finding };
