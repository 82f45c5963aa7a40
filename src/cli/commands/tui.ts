// blkscope tui [files…|-]  (and the default action `blkscope [files…]`): the interactive terminal UI.
// On a terminal it opens the Ink UI on the alternate screen; when stdout is not a terminal it prints the
// `analyze` summary instead (or, with --follow, one line per finding as JSON Lines).
import { openSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stat } from 'node:fs/promises';
import tty from 'node:tty';
import type { Command } from 'commander';
import type { CliIO, CliState } from '../program.js';
import { addInputOptions, sourcesFor, toAnalyzeOptions, UsageError, type InputFlags } from '../options.js';
import { runAnalyze } from './analyze.js';
import { followSource, liveStdinSource } from '../../input/follow.js';
import type { InputSource } from '../../input/sources.js';
import { runFollowJsonl } from '../follow-jsonl.js';
import { neutralize } from '../../util/sanitize.js';

export interface TuiFlags extends InputFlags {
  follow?: boolean;
  keepDetails?: string;
  failOn?: string;
}

/** Keyboard for the UI: stdin when it is a terminal, else /dev/tty (input is being piped in). */
function keyboard(files: string[]): NodeJS.ReadStream | undefined {
  if (process.stdin.isTTY && !files.includes('-')) return process.stdin;
  try {
    return new tty.ReadStream(openSync('/dev/tty', 'r')) as unknown as NodeJS.ReadStream;
  } catch {
    return undefined;
  }
}

/** The TUI module: the one-file bundle when built (fast start-up, see tui/bundle.mjs), else the compiled modules. */
async function loadTui(): Promise<typeof import('../../../tui/app.js')> {
  const bundle = new URL('../../../tui/app.bundle.mjs', import.meta.url);
  const modules = new URL('../../../tui/app.js', import.meta.url);
  try {
    // Only a bundle at least as new as the compiled modules (a plain `tsc` leaves an older bundle behind).
    if (statSync(fileURLToPath(bundle)).mtimeMs >= statSync(fileURLToPath(modules)).mtimeMs) {
      return (await import(bundle.href)) as typeof import('../../../tui/app.js');
    }
  } catch {
    /* no bundle: use the modules */
  }
  return import('../../../tui/app.js');
}

export async function runTuiCommand(files: string[], flags: TuiFlags, io: CliIO, forceTui = false): Promise<number> {
  const options = toAnalyzeOptions(flags);
  if (files.length === 0) throw new UsageError('no input given (a file, several files, or - for standard input)');
  // io.isTTY is stdout && stdin; with '-' the data comes from a pipe and the keys from /dev/tty.
  const stdoutTTY = !!process.stdout.isTTY && (io.isTTY || (files.includes('-') && !process.stdin.isTTY));
  const kb = stdoutTTY ? keyboard(files) : undefined;
  if (!kb) {
    if (forceTui && stdoutTTY) throw new UsageError('the TUI needs a terminal for keyboard input (no /dev/tty)');
    if (flags.follow) return runFollowJsonl(files, { analyze: options, json: true }, io);
    return runAnalyze(files, { ...flags, follow: false }, io);
  }
  const abort = new AbortController();
  let sources: InputSource[];
  if (flags.follow) {
    sources = files.map((f) => (f === '-' ? liveStdinSource(io.stdin) : followSource(f, { signal: abort.signal })));
  } else sources = sourcesFor(files, io.stdin);
  const sizes = new Map<string, number>();
  for (const f of files) {
    if (f === '-') continue;
    try {
      sizes.set(f, (await stat(f)).size);
    } catch {
      /* the pipeline reports it */
    }
  }
  const keepDetails = flags.keepDetails !== undefined ? Number(flags.keepDetails) : undefined;
  if (keepDetails !== undefined && !(Number.isInteger(keepDetails) && keepDetails >= 0)) {
    throw new UsageError(`--keep-details must be a whole number, not '${flags.keepDetails}'`);
  }
  // Loaded lazily: the non-TTY paths never pay for React and Ink. React's development build is several
  // times slower per frame: use the production build unless asked otherwise.
  process.env.NODE_ENV ??= 'production';
  // Ink renders only a final frame when CI/CONTINUOUS_INTEGRATION is set (is-in-ci, read when Ink loads). We are on
  // a terminal with a keyboard and the user asked for the UI: make it interactive even in a CI-flagged shell.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  // Ink and React load first: indexing at the same time slows module loading down (hundreds of small
  // modules, each waiting for an event-loop turn between analysis slices) more than it gains.
  // Loading Ink takes ~0.5 s: put a placeholder on the alternate screen at once (Ink draws over it).
  process.stdout.write(`\x1b[?1049h\x1b[H\x1b[2Jblkscope: opening ${neutralize(files.join(' '))}…`);
  try {
    const { runTui } = await loadTui();
    return await runTui(sources, {
      analyze: options,
      follow: !!flags.follow,
      live: !!flags.follow,
      stdin: kb,
      sizes,
      keepDetails,
      abort,
    });
  } catch (e) {
    process.stdout.write('\x1b[?1049l');
    throw e;
  } finally {
    abort.abort();
    if (kb !== process.stdin) kb.destroy();
    // Standard input being analysed may still be open (a pipe that never ends): stop reading it.
    if (files.includes('-')) (io.stdin as NodeJS.ReadStream).destroy?.();
  }
}

function addTuiOptions(cmd: Command): Command {
  cmd
    .option('-f, --follow', 'follow growing files like tail -F (appends, truncation, rotation); new findings appear live')
    .option('--keep-details <n>', 'keep segments and evidence of at most this many unflagged requests (default 50000)');
  return addInputOptions(cmd);
}

export function registerTui(program: Command, io: CliIO, state: CliState): void {
  const cmd = program
    .command('tui')
    .description('interactive terminal UI: request list, segment maps, findings; --follow for a live tail')
    .argument('<files...>', "input files; '-' reads standard input");
  addTuiOptions(cmd);
  cmd.action(async (files: string[], flags: TuiFlags) => {
    state.exitCode = await runTuiCommand(files, flags, io, true);
  });
  registerDefaultTui(program, io, state);
}

/**
 * `blkscope [files…]` with no command: the TUI on a terminal, the analyze summary otherwise.
 * Program options become positional (they must come before a command name) so `--follow` given after
 * `analyze` still belongs to analyze.
 */
function registerDefaultTui(program: Command, io: CliIO, state: CliState): void {
  program.enablePositionalOptions();
  program.argument('[files...]', "input files for the TUI (or the summary when not on a terminal); '-' reads standard input");
  addTuiOptions(program);
  program.action(async (files: string[], flags: TuiFlags) => {
    if (files.length === 0) {
      io.stderr(program.helpInformation());
      state.exitCode = 2;
      return;
    }
    state.exitCode = await runTuiCommand(files, flags, io);
  });
}
