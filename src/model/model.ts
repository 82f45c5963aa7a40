// The model: takes parser events, keeps requests in flight, runs the checks, hands requests and
// findings to a sink. Memory grows with requests in flight and findings kept, not with input size.
import type { AnalyzeOptions, Evidence, Finding, ParsedEvent, Request, Severity } from './types.js';
import type { Rule, RuleVisitor, ReportInit } from '../rules/types.js';
import { detach } from '../util/detach.js';
import { SteadyMap } from '../util/steady-map.js';

export interface ModelSink {
  /** A request left the model (completed, retired or unfinished); findings about it so far are attached. */
  request?(req: Request): void;
  finding?(f: Finding): void;
  /** Any orphan, diag (except *-stats), reset or ring event, after the model counted it (e.g. markers for compare). */
  event?(ev: ParsedEvent): void;
}

export interface ModelStats {
  requests: number;
  byOp: Record<string, number>;
  byState: Record<string, number>;
  byRule: Record<string, number>;
  bySeverity: Record<string, number>;
  orphans: number;
  diagnostics: Record<string, number>;
  resets: number;
  /** Format-specific counters (host block-layer events, unknown events...). */
  extra: Record<string, number>;
}

const DEFAULT_MAX_FINDINGS_PER_RULE = 10000;

export class Model {
  readonly inflight = new SteadyMap<string, Request>();
  readonly findings: Finding[] = [];
  /** Requests named by a finding, by key (kept for segment maps in summaries and reports). */
  readonly flagged = new Map<string, Request>();
  readonly stats: ModelStats = {
    requests: 0,
    byOp: {},
    byState: {},
    byRule: {},
    bySeverity: {},
    orphans: 0,
    diagnostics: {},
    resets: 0,
    extra: {},
  };
  /** Stats contributed by formats (diag events with code 'stats' or '<x>-stats'), merged into the JSON stats. */
  readonly statsExt: Record<string, unknown> = {};
  private seq = 0;
  private readonly visitors: { rule: Rule; v: RuleVisitor }[];
  /** Per family (and '*' for requests of unknown family): the visitors with a submit / request hook. */
  private readonly submitHooks = new Map<string, RuleVisitor[]>();
  private readonly requestHooks = new Map<string, RuleVisitor[]>();
  private readonly eventHooks: RuleVisitor[];
  /** The visitors that asked for complete/retire events too (RuleVisitor.completions). */
  private readonly completionHooks: RuleVisitor[];
  private readonly maxPerRule: number;
  private readonly keptPerRule = new Map<string, number>();

  constructor(
    rules: readonly Rule[],
    readonly options: AnalyzeOptions = {},
    private readonly sink: ModelSink = {},
  ) {
    this.maxPerRule = options.maxFindingsPerRule ?? DEFAULT_MAX_FINDINGS_PER_RULE;
    this.visitors = rules.map((rule) => ({
      rule,
      v: rule.create({ options, report: (init) => this.report(rule, init), inflight: () => this.inflight.values() }),
    }));
    for (const fam of ['*', 'xen', 'virtio', 'linux-block']) {
      const mine = this.visitors.filter(({ rule }) => fam === '*' || rule.meta.families.includes(fam as 'xen'));
      this.submitHooks.set(fam, mine.filter(({ v }) => v.submit).map(({ v }) => v));
      this.requestHooks.set(fam, mine.filter(({ v }) => v.request).map(({ v }) => v));
    }
    this.eventHooks = this.visitors.filter(({ v }) => v.event).map(({ v }) => v);
    this.completionHooks = this.eventHooks.filter((v) => v.completions === true);
  }

  /** Count a format-specific event (e.g. host block-layer I/O) in stats.extra. */
  count(name: string, n = 1): void {
    this.stats.extra[name] = (this.stats.extra[name] ?? 0) + n;
  }

  handle(ev: ParsedEvent): void {
    switch (ev.kind) {
      case 'submit': {
        const req = ev.req;
        req.seq = this.seq++;
        if (this.options.backendModel) req.backendModel = this.options.backendModel;
        const prev = this.inflight.get(req.key);
        if (prev) {
          // Same key still in flight: the parser should have used a new generation. Keep both.
          req.key = `${req.key}#${req.seq}`;
        }
        req.state = 'inflight';
        this.inflight.set(req.key, req);
        this.stats.requests++;
        this.stats.byOp[req.op] = (this.stats.byOp[req.op] ?? 0) + 1;
        for (const v of this.submitHooks.get(req.family ?? '*') ?? []) v.submit!(req);
        return;
      }
      case 'complete': {
        // The request named by the key: the one the parser hands over when it is still in the table under it.
        const given = ev.req;
        const req = given !== undefined && given.state === 'inflight' && given.key === ev.key ? given : this.inflight.get(ev.key);
        if (!req) {
          this.handle({ kind: 'orphan', id: ev.key, status: ev.status, time: ev.time, evidence: ev.evidence ? [ev.evidence] : [] });
          return;
        }
        req.state = 'completed';
        if (ev.status !== undefined) req.status = ev.status;
        if (ev.time !== undefined) {
          req.completeTime = ev.time;
          if (req.submitTime !== undefined) req.latency = ev.time - req.submitTime;
        }
        if (ev.evidence) req.evidence.push(ev.evidence);
        this.inflight.delete(req.key);
        for (const v of this.completionHooks) v.event!(ev, req);
        this.leave(req);
        return;
      }
      case 'retire': {
        const req = this.inflight.get(ev.key);
        if (!req) return;
        req.state = 'retired';
        this.inflight.delete(req.key);
        for (const v of this.completionHooks) v.event!(ev, req);
        this.leave(req);
        return;
      }
      case 'orphan':
        this.stats.orphans++;
        break;
      case 'diag':
        if (ev.code === 'stats' || ev.code.endsWith('-stats')) {
          mergeInto(this.statsExt, ev.data ?? {});
          return;
        }
        this.stats.diagnostics[ev.code] = (this.stats.diagnostics[ev.code] ?? 0) + 1;
        break;
      case 'reset':
        this.stats.resets++;
        break;
      case 'ring':
        break;
    }
    this.sink.event?.(ev);
    for (const v of this.eventHooks) v.event!(ev);
  }

  /** An input ended: its requests still in flight become unfinished. */
  endInput(file: string): void {
    const left: Request[] = [];
    for (const req of this.inflight.values()) if (req.file === file) left.push(req);
    this.finishRequests(left);
  }

  /** Everything ended. */
  end(): void {
    this.finishRequests([...this.inflight.values()]);
  }

  private finishRequests(left: Request[]): void {
    left.sort((a, b) => a.seq - b.seq);
    for (const req of left) {
      req.state = 'unfinished';
      this.inflight.delete(req.key);
    }
    for (const { v } of this.visitors) v.end?.(left);
    for (const req of left) this.leave(req);
  }

  private leave(req: Request): void {
    this.stats.byState[req.state] = (this.stats.byState[req.state] ?? 0) + 1;
    for (const v of this.requestHooks.get(req.family ?? '*') ?? []) v.request!(req);
    this.sink.request?.(req);
  }

  private report(rule: Rule, init: ReportInit): void {
    const severity: Severity = init.severity ?? rule.meta.defaultSeverity;
    const id = rule.meta.id;
    this.stats.byRule[id] = (this.stats.byRule[id] ?? 0) + 1;
    this.stats.bySeverity[severity] = (this.stats.bySeverity[severity] ?? 0) + 1;
    const kept = this.keptPerRule.get(id) ?? 0;
    if (kept >= this.maxPerRule) return;
    this.keptPerRule.set(id, kept + 1);
    const req = init.request;
    const f: Finding = {
      rule: id,
      severity,
      message: detach(init.message),
      evidence: detachEvidence(init.evidence ?? (req ? req.evidence.slice(0, 64) : [])),
    };
    if (req) {
      f.requestId = req.id;
      f.requestKey = req.key;
      if (!this.flagged.has(req.key)) {
        // Kept for the summary and reports: its evidence must not pin input chunks.
        req.evidence = detachEvidence(req.evidence);
        this.flagged.set(req.key, req);
      }
    }
    const device = init.device ?? req?.device;
    if (device !== undefined) f.device = device;
    if (init.impact) f.impact = init.impact;
    if (init.data) f.data = init.data;
    this.findings.push(f);
    this.sink.finding?.(f);
  }
}

/** Plain copies of evidence whose text shares no memory with the input (evidence may have a lazy text getter). */
function detachEvidence(ev: Evidence[]): Evidence[] {
  return ev.map((e) => {
    const text = e.text;
    if (text === undefined) return e;
    const out: Evidence = { file: e.file };
    if (e.line !== undefined) out.line = e.line;
    if (e.offset !== undefined) out.offset = e.offset;
    out.text = detach(text);
    return out;
  });
}

function mergeInto(dst: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    const cur = dst[k];
    if (cur && v && typeof cur === 'object' && typeof v === 'object' && !Array.isArray(cur) && !Array.isArray(v)) {
      mergeInto(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else dst[k] = v;
  }
}
