// Option parsing shared by analyze, report and tui: input options -> AnalyzeOptions, files -> sources.
import { Option, type Command } from 'commander';
import type { AnalyzeOptions, BackendModel, Severity } from '../model/types.js';
import { fileSource, stdinSource, type InputSource } from '../input/sources.js';
import { findFormat, FORMATS } from '../../parsers/index.js';
import { blktraceExpander } from '../input/blktrace-merge.js';

export class UsageError extends Error {}

export interface InputFlags {
  inputFormat?: string;
  backendModel?: string;
  blockSize?: string;
  traceEvents?: string;
  ringSize?: string;
  maxFindings?: string;
}

/** Add the input options every analysing command takes. */
export function addInputOptions(cmd: Command): Command {
  return cmd
    .option('--input-format <id>', "force the input format (see 'blkscope formats')")
    .addOption(new Option('--backend-model <model>', "backend mapping model for Xen impact (default: the log format's)").choices(['window', 'per-segment']))
    .option('--block-size <bytes>', 'logical block size for the misaligned check', '512')
    .option('--trace-events <file>', 'QEMU trace-events file for simpletrace argument names (default /usr/share/qemu/trace-events-all)')
    .option('--ring-size <entries>', 'Xen ring size in entries (default: 64 for Xen 2.0 logs, 32 otherwise)')
    .option('--max-findings <n>', 'keep at most this many findings per rule', '10000');
}

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) <= 0 || Number(v) > 2 ** 31) throw new UsageError(`${name} must be a positive whole number, not '${v}'`);
  return Number(v);
}

export function toAnalyzeOptions(flags: InputFlags): AnalyzeOptions {
  const o: AnalyzeOptions = {};
  if (flags.inputFormat !== undefined) {
    if (!findFormat(flags.inputFormat)) throw new UsageError(`unknown input format '${flags.inputFormat}'; known: ${FORMATS.map((f) => f.id).join(', ')}`);
    o.inputFormat = flags.inputFormat;
  }
  if (flags.backendModel !== undefined) o.backendModel = flags.backendModel as BackendModel;
  const bs = positiveInt('--block-size', flags.blockSize);
  if (bs !== undefined) {
    if (bs % 512 !== 0) throw new UsageError(`--block-size must be a multiple of 512, not ${bs}`);
    o.blockSize = bs;
  }
  if (flags.traceEvents !== undefined) o.traceEvents = flags.traceEvents;
  const rs = positiveInt('--ring-size', flags.ringSize);
  if (rs !== undefined) {
    if ((rs & (rs - 1)) !== 0) throw new UsageError(`--ring-size must be a power of two, not ${rs}`);
    o.ringSize = rs;
  }
  const mf = positiveInt('--max-findings', flags.maxFindings);
  if (mf !== undefined) o.maxFindingsPerRule = mf;
  return o;
}

export function parseFailOn(v: string | undefined): Severity | undefined {
  if (v === undefined || v === 'none') return undefined;
  if (v === 'error' || v === 'warning' || v === 'info') return v;
  throw new UsageError(`--fail-on takes error, warning, info or none, not '${v}'`);
}

/** Hooks other modules add to turn file arguments into sources (e.g. blktrace per-CPU merging). */
export type SourceExpander = (files: string[], stdin: NodeJS.ReadableStream) => InputSource[] | undefined;
const expanders: SourceExpander[] = [blktraceExpander];
export function registerSourceExpander(e: SourceExpander): void {
  expanders.push(e);
}

export function sourcesFor(files: string[], stdin: NodeJS.ReadableStream): InputSource[] {
  if (files.length === 0) throw new UsageError('no input given (a file, several files, or - for standard input)');
  for (const e of expanders) {
    const s = e(files, stdin);
    if (s) return s;
  }
  return files.map((f) => (f === '-' ? stdinSource(stdin) : fileSource(f)));
}
