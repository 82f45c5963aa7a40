// The report's selection: which findings a bug report shows (the worst instance of each rule, or all
// with --all), with the data every renderer draws (request, segment map, impact, evidence, explanation).
// Pure: takes the analysis result and what the caller read (rule docs), returns plain data.
import type { AnalysisResult } from '../../analyze.js';
import type { Finding, Impact, InputInfo, Request, Severity } from '../../model/types.js';
import { SEVERITY_RANK } from '../../model/types.js';
import { buildSegmentMap, type SegmentMap } from '../../model/segmap.js';
import { describeImpact } from '../../model/impact.js';
import { findRule } from '../../rules/index.js';
import type { Collected, RunFacts, TimelinePoint } from './collect.js';
import { pointOf } from './collect.js';
import { explanation, type RuleDocText } from './ruledoc.js';

export type ReportFormat = 'text' | 'md' | 'html' | 'json';

export interface ReportOptions {
  /** blkscope version printed in the header. */
  version: string;
  /** List every kept instance of each rule, not only the worst. */
  all?: boolean;
  /** text: allow non-ASCII output (otherwise escaped as \uXXXX). */
  unicode?: boolean;
  /** A run timestamp to print (only with --stamp; reports are otherwise byte-identical run to run). */
  stamp?: string;
  /** Parsed rule docs by rule id. */
  docs?: Record<string, RuleDocText>;
  /** What the sink collected; without it the timeline shows the flagged requests only. */
  collected?: Collected;
  /** Analysis options worth printing (backend model override, block size). */
  backendModelOverride?: string;
  /** Limits (text/md): segment rows, map rows and evidence lines per instance. */
  maxSegments?: number;
  maxMapRows?: number;
  maxEvidence?: number;
}

export interface ShownInstance {
  /** Index into result.model.findings. */
  index: number;
  finding: Finding;
  request?: Request;
  map?: SegmentMap;
  /** The impact shown: the finding's own, else the one the segment map computed. */
  impact?: Impact;
  impactLines: string[];
  misdirectedSectors: number;
  untouchedSectors: number;
  aliasedSectors: number;
  /** The request is already drawn in full in this (1-based) section: renderers refer to it. */
  seeSection?: number;
}

export interface RuleSection {
  rule: string;
  title: string;
  severity: Severity;
  summary: string;
  /** Findings reported by the rule (including those past the per-rule keep limit). */
  count: number;
  /** Findings kept in the model. */
  kept: number;
  shown: ShownInstance[];
  /** Instances counted but not listed. */
  notShown: number;
  why: string;
  next?: string;
}

export interface ReportData {
  version: string;
  stamp?: string;
  inputs: InputInfo[];
  errors: string[];
  facts: RunFacts;
  stats: AnalysisResult['model']['stats'];
  backendModelOverride?: string;
  sections: RuleSection[];
  findings: number;
  timeline: { points: (TimelinePoint & { flagged: boolean })[]; stride: number; timed: boolean };
  all: boolean;
}

function impactSizes(imp: Impact | undefined): { mis: number; un: number; al: number } {
  if (!imp) return { mis: 0, un: 0, al: 0 };
  let mis = 0;
  let un = 0;
  let al = 0;
  for (const m of imp.misdirected) mis += m.count;
  for (const u of imp.untouched) un += u.lastSect - u.firstSect + 1;
  for (const a of imp.aliased ?? []) al += a.sectors.length;
  return { mis, un, al };
}

function instanceOf(index: number, f: Finding, flagged: Map<string, Request>): ShownInstance {
  const request = f.requestKey !== undefined ? flagged.get(f.requestKey) : undefined;
  let map: SegmentMap | undefined;
  if (request && request.segments.length > 0) {
    try {
      map = buildSegmentMap(request, f.impact?.model ?? request.backendModel);
    } catch {
      map = undefined;
    }
  }
  const impact = f.impact ?? (map?.impact && (map.impact.misdirected.length || map.impact.untouched.length) ? map.impact : undefined);
  const s = impactSizes(impact);
  const out: ShownInstance = {
    index,
    finding: f,
    impactLines: impact ? describeImpact(impact) : [],
    misdirectedSectors: s.mis,
    untouchedSectors: s.un,
    aliasedSectors: s.al,
  };
  if (request) out.request = request;
  if (map) out.map = map;
  if (impact) out.impact = impact;
  return out;
}

/** Worse first: severity, then damage (misdirected + never-transferred sectors), then request size, then input order. */
function worse(a: ShownInstance, b: ShownInstance): number {
  return (
    SEVERITY_RANK[b.finding.severity] - SEVERITY_RANK[a.finding.severity] ||
    b.misdirectedSectors + b.untouchedSectors - (a.misdirectedSectors + a.untouchedSectors) ||
    b.aliasedSectors - a.aliasedSectors ||
    (b.request?.segments.length ?? 0) - (a.request?.segments.length ?? 0) ||
    a.index - b.index
  );
}

export function selectReport(result: AnalysisResult, opts: ReportOptions): ReportData {
  const { model } = result;
  const byRule = new Map<string, number[]>();
  model.findings.forEach((f, i) => {
    const l = byRule.get(f.rule);
    if (l) l.push(i);
    else byRule.set(f.rule, [i]);
  });
  const sections: RuleSection[] = [];
  for (const [rule, idx] of byRule) {
    const meta = findRule(rule)?.meta;
    const insts = idx.map((i) => instanceOf(i, model.findings[i]!, model.flagged));
    insts.sort(worse);
    const shown = opts.all ? insts : insts.slice(0, 1);
    const count = Math.max(model.stats.byRule[rule] ?? 0, idx.length);
    const severity = insts[0]!.finding.severity;
    const summary = meta?.summary ?? '';
    const ex = explanation(opts.docs?.[rule], summary || `Rule ${rule} flagged this request.`);
    const sec: RuleSection = {
      rule,
      title: meta?.title ?? rule,
      severity,
      summary,
      count,
      kept: idx.length,
      shown,
      notShown: count - shown.length,
      why: ex.why,
    };
    if (ex.next) sec.next = ex.next;
    else if (shown[0]?.impact) {
      const m = shown[0].impact.model;
      sec.next = `Confirm which backend revision handled these requests: the impact above assumes the ${m} model (compare with --backend-model ${m === 'window' ? 'per-segment' : 'window'}).`;
    }
    sections.push(sec);
  }
  sections.sort(
    (a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.count - a.count || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0),
  );

  // A request drawn in full once; later sections refer back to it.
  const drawn = new Map<string, number>();
  sections.forEach((sec, i) => {
    for (const inst of sec.shown) {
      const k = inst.finding.requestKey;
      if (k === undefined || !inst.request) continue;
      const at = drawn.get(k);
      if (at !== undefined && at !== i + 1) inst.seeSection = at;
      else if (at === undefined) drawn.set(k, i + 1);
    }
  });

  // Timeline: the sampled points plus every flagged request (always shown, whatever the sampling).
  const flaggedSeq = new Set<number>();
  for (const r of model.flagged.values()) flaggedSeq.add(r.seq);
  const pts = new Map<number, TimelinePoint>();
  for (const p of opts.collected?.points ?? []) pts.set(p.seq, p);
  for (const r of model.flagged.values()) if (!pts.has(r.seq)) pts.set(r.seq, pointOf(r));
  const points = [...pts.values()].sort((a, b) => a.seq - b.seq).map((p) => ({ ...p, flagged: flaggedSeq.has(p.seq) }));
  const timed = points.length > 0 && points.every((p) => p.t !== undefined);

  const facts: RunFacts = opts.collected?.facts ?? factsFromFlagged(model.flagged, model.stats.requests);
  const data: ReportData = {
    version: opts.version,
    inputs: result.inputs,
    errors: result.errors,
    facts,
    stats: model.stats,
    sections,
    findings: model.findings.length,
    timeline: { points, stride: opts.collected?.stride ?? 1, timed },
    all: !!opts.all,
  };
  if (opts.stamp) data.stamp = opts.stamp;
  if (opts.backendModelOverride) data.backendModelOverride = opts.backendModelOverride;
  return data;
}

function factsFromFlagged(flagged: Map<string, Request>, requests: number): RunFacts {
  const devices = new Set<string>();
  const domains = new Set<number>();
  const models: Record<string, number> = {};
  let first: number | undefined;
  let last: number | undefined;
  for (const r of flagged.values()) {
    if (r.device !== undefined) devices.add(r.device);
    if (r.domain !== undefined) domains.add(r.domain);
    const m = r.backendModel ?? 'none';
    models[m] = (models[m] ?? 0) + 1;
    for (const t of [r.submitTime, r.completeTime]) {
      if (t === undefined) continue;
      if (first === undefined || t < first) first = t;
      if (last === undefined || t > last) last = t;
    }
  }
  const f: RunFacts = {
    requests,
    devices: [...devices].sort(),
    domains: [...domains].sort((a, b) => a - b),
    moreDevices: 0,
    moreDomains: 0,
    backendModels: models,
  };
  if (first !== undefined) f.firstTime = first;
  if (last !== undefined) f.lastTime = last;
  return f;
}

/** The compact, JSON-friendly form of the selection (for `--format json`). */
export function selectionJson(d: ReportData): Record<string, unknown> {
  return {
    all: d.all,
    rules: d.sections.map((s) => ({
      rule: s.rule,
      title: s.title,
      severity: s.severity,
      count: s.count,
      kept: s.kept,
      notShown: s.notShown,
      shown: s.shown.map((i) => ({
        finding: i.index,
        requestKey: i.finding.requestKey ?? null,
        misdirectedSectors: i.misdirectedSectors,
        untouchedSectors: i.untouchedSectors,
        aliasedSectors: i.aliasedSectors,
        impact: i.impactLines,
      })),
      why: s.why,
      next: s.next ?? null,
    })),
    timeline: { points: d.timeline.points.length, stride: d.timeline.stride, timed: d.timeline.timed },
  };
}
