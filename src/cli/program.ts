// The commander program: one command per file in src/cli/commands/, each registering itself.
// Actions return exit codes; only main() sets process.exitCode.
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerExplain } from './commands/explain.js';
import { registerFormats } from './commands/formats.js';
import { registerTui } from './commands/tui.js';
import { registerReport } from './commands/report.js';
import { registerEvents } from './commands/events.js';
import { registerCompare } from './commands/compare.js';

export interface CliIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stdin: NodeJS.ReadableStream;
  isTTY: boolean;
  /** Wait until stdout has taken what was written (backpressure); optional. */
  drain?: () => Promise<void>;
}

export interface CliState {
  exitCode: number;
}

export function buildProgram(io: CliIO, state: CliState): Command {
  const program = new Command();
  program
    .name('blkscope')
    .description('Rebuild Xen blkif and virtio-blk requests from traces and flag what corrupts virtual disks.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  registerAnalyze(program, io, state);
  registerExplain(program, io, state);
  registerFormats(program, io, state);
  registerTui(program, io, state);
  registerReport(program, io, state);
  registerEvents(program, io, state);
  registerCompare(program, io, state);
  return program;
}
