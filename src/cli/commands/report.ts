// blkscope report <files…|->: a paste-ready bug report (text for mail, md for trackers, html, json).
import type { Command } from 'commander';
import { Option } from 'commander';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { analyze, type AnalysisResult } from '../../analyze.js';
import { JsonDocumentWriter, statsToJson } from '../../report/json.js';
import { findRule } from '../../rules/index.js';
import { ruleDocPath } from '../../rules/docs.js';
import { VERSION } from '../../version.js';
import { neutralize } from '../../util/sanitize.js';
import { addInputOptions, parseFailOn, sourcesFor, toAnalyzeOptions, UsageError, type InputFlags } from '../options.js';
import type { CliIO, CliState } from '../program.js';
import { exitStatus, reportErrors } from './analyze.js';
import {
  ReportCollector,
  REPORT_FORMATS,
  jsonReportTail,
  parseRuleDoc,
  renderData,
  selectReport,
  type ReportFormat,
  type ReportOptions,
} from '../../report/bugreport/index.js';
import type { RuleDocText } from '../../report/bugreport/ruledoc.js';

interface ReportFlags extends InputFlags {
  format?: string;
  output?: string;
  failOn?: string;
  all?: boolean;
  unicode?: boolean;
  stamp?: boolean;
}

/** Rule docs for the rules that fired (missing docs fall back to the rule's one-line summary). */
export function readRuleDocs(result: AnalysisResult): Record<string, RuleDocText> {
  const docs: Record<string, RuleDocText> = {};
  for (const id of new Set(result.model.findings.map((f) => f.rule))) {
    if (!findRule(id)) continue;
    try {
      docs[id] = parseRuleDoc(readFileSync(ruleDocPath(id), 'utf8'));
    } catch {
      // No doc yet: the report uses the rule's summary.
    }
  }
  return docs;
}

/** Where the report goes: standard output or a file (opened lazily, written in pieces). */
class Output {
  private fd: number | undefined;
  constructor(
    private readonly path: string | undefined,
    private readonly io: CliIO,
  ) {}
  open(): void {
    if (this.path === undefined || this.fd !== undefined) return;
    try {
      this.fd = openSync(this.path, 'w');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new UsageError(`cannot write ${neutralize(this.path)}: ${err.code ?? err.message}`);
    }
  }
  write = (s: string): void => {
    if (this.path === undefined) {
      this.io.stdout(s);
      return;
    }
    this.open();
    writeSync(this.fd!, s);
  };
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export async function runReport(files: string[], flags: ReportFlags, io: CliIO): Promise<number> {
  const options = toAnalyzeOptions(flags);
  const failOn = parseFailOn(flags.failOn);
  const format = (flags.format ?? 'text') as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) throw new UsageError(`--format takes ${REPORT_FORMATS.join(', ')}, not '${flags.format}'`);
  const sources = sourcesFor(files, io.stdin);
  const out = new Output(flags.output, io);
  // Open the output first: a bad --output path is a usage error before any work.
  out.open();
  try {
    const reportOpts = (result: AnalysisResult, collector: ReportCollector): ReportOptions => {
      const o: ReportOptions = { version: VERSION, docs: readRuleDocs(result), collected: collector.result() };
      if (flags.all) o.all = true;
      if (flags.unicode) o.unicode = true;
      if (flags.stamp) o.stamp = new Date().toISOString();
      if (options.backendModel) o.backendModelOverride = options.backendModel;
      return o;
    };
    if (format === 'json') {
      // The analyze document, streamed (requests as they leave the model), with the selection added.
      let ending = false;
      let tail = '';
      const w = new JsonDocumentWriter((s) => (ending ? (tail += s) : out.write(s)));
      w.begin();
      const collector = new ReportCollector(undefined, { request: (r) => w.request(r), drain: io.drain });
      const result = await analyze(sources, { options, sink: collector });
      ending = true;
      w.end(result.inputs, result.model.findings, statsToJson(result.model.stats, result.model.statsExt));
      const opts = reportOpts(result, collector);
      out.write(jsonReportTail(tail, renderData(selectReport(result, opts), 'json', opts)));
      reportErrors(result, io);
      return exitStatus(result, failOn);
    }
    const collector = new ReportCollector(undefined, { drain: io.drain });
    const result = await analyze(sources, { options, sink: collector });
    if (result.inputs.some((i) => !i.error)) {
      const opts = reportOpts(result, collector);
      out.write(renderData(selectReport(result, opts), format, opts));
    }
    reportErrors(result, io);
    return exitStatus(result, failOn);
  } finally {
    out.close();
  }
}

export function registerReport(program: Command, io: CliIO, state: CliState): void {
  const cmd = program
    .command('report')
    .description('write a paste-ready bug report: text (mail, 72 columns), md (trackers), html (one file) or json')
    .argument('<files...>', "input files; '-' reads standard input")
    .addOption(new Option('--format <format>', 'report format').choices(REPORT_FORMATS).default('text'))
    .option('--output <file>', 'write the report to FILE instead of standard output')
    .option('--all', 'list every instance of each finding, not only the worst')
    .option('--unicode', 'text: allow non-ASCII characters from the input (escaped as \\uXXXX otherwise)')
    .option('--stamp', 'print the time the report was made (reports are otherwise identical run to run)')
    .option('--fail-on <severity>', 'exit 1 when a finding at or above this severity exists (error|warning|info|none)');
  addInputOptions(cmd);
  cmd.action(async (files: string[], flags: ReportFlags) => {
    state.exitCode = await runReport(files, flags, io);
  });
}
