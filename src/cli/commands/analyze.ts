// blkscope analyze <files…|->: plain-text summary or one JSON document.
import type { Command } from 'commander';
import { analyze, type AnalysisResult } from '../../analyze.js';
import { JsonDocumentWriter, statsToJson } from '../../report/json.js';
import { renderSummary } from '../../report/summary.js';
import type { AnalyzeOptions, Severity } from '../../model/types.js';
import { SEVERITY_RANK } from '../../model/types.js';
import { addInputOptions, parseFailOn, sourcesFor, toAnalyzeOptions, type InputFlags } from '../options.js';
import type { CliIO, CliState } from '../program.js';
import { neutralize } from '../../util/sanitize.js';
import { runFollowJsonl } from '../follow-jsonl.js';
import { blkTablesSection } from '../../report/blk-tables.js';

interface AnalyzeFlags extends InputFlags {
  json?: boolean;
  failOn?: string;
  maxShown?: string;
  follow?: boolean;
}

/** Renderers for extra summary sections keyed by statsExt field (e.g. Linux block tables). */
export type SectionRenderer = (statsExt: Record<string, unknown>) => string | undefined;
const sectionRenderers: SectionRenderer[] = [blkTablesSection];
export function registerSummarySection(r: SectionRenderer): void {
  sectionRenderers.push(r);
}

export function summarySections(statsExt: Record<string, unknown>): string[] {
  return sectionRenderers.map((r) => r(statsExt)).filter((s): s is string => !!s);
}

/** Exit status from findings and errors: 2 input errors, 1 findings at/above failOn, else 0. */
export function exitStatus(result: AnalysisResult, failOn: Severity | undefined): number {
  if (result.errors.length) return 2;
  if (failOn && result.model.findings.some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[failOn])) return 1;
  if (failOn) {
    // Findings past the per-rule limit still count.
    const bySev = result.model.stats.bySeverity;
    for (const s of Object.keys(bySev) as Severity[]) if (bySev[s] && SEVERITY_RANK[s] >= SEVERITY_RANK[failOn]) return 1;
  }
  return 0;
}

export function reportErrors(result: AnalysisResult, io: CliIO): void {
  for (const e of result.errors) io.stderr(`blkscope: ${neutralize(e)}\n`);
}

export async function runAnalyze(files: string[], flags: AnalyzeFlags, io: CliIO): Promise<number> {
  const options: AnalyzeOptions = toAnalyzeOptions(flags);
  const failOn = parseFailOn(flags.failOn);
  if (flags.follow) return runFollowJsonl(files, { analyze: options, json: !!flags.json }, io);
  const sources = sourcesFor(files, io.stdin);
  if (flags.json) {
    const w = new JsonDocumentWriter(io.stdout);
    w.begin();
    const result = await analyze(sources, { options, sink: { request: (r) => w.request(r), drain: io.drain } });
    w.end(result.inputs, result.model.findings, statsToJson(result.model.stats, result.model.statsExt));
    reportErrors(result, io);
    return exitStatus(result, failOn);
  }
  const result = await analyze(sources, { options, sink: { drain: io.drain } });
  const anyGood = result.inputs.some((i) => !i.error);
  if (anyGood) {
    io.stdout(
      renderSummary(
        {
          inputs: result.inputs,
          findings: result.model.findings,
          flagged: result.model.flagged,
          stats: result.model.stats,
          sections: summarySections(result.model.statsExt),
        },
        { max: flags.maxShown ? Number(flags.maxShown) : undefined },
      ),
    );
  }
  reportErrors(result, io);
  return exitStatus(result, failOn);
}

export function registerAnalyze(program: Command, io: CliIO, state: CliState): void {
  const cmd = program
    .command('analyze')
    .description('rebuild requests from traces and logs, flag anomalies; plain-text summary or --json')
    .argument('<files...>', "input files; '-' reads standard input")
    .option('--json', 'print one JSON document (schemaVersion 1)')
    .option('--fail-on <severity>', 'exit 1 when a finding at or above this severity exists (error|warning|info|none)')
    .option('--max-shown <n>', 'detail at most this many findings in the text summary', '50')
    .option('-f, --follow', 'follow growing files like tail -F; with --json write JSON Lines (request/finding/input), else one line per finding');
  addInputOptions(cmd);
  cmd.action(async (files: string[], flags: AnalyzeFlags) => {
    state.exitCode = await runAnalyze(files, flags, io);
  });
}
