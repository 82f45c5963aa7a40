#!/usr/bin/env node
// Entry point: builds the program, runs it, sets process.exitCode. One handler for every uncaught error.
import { CommanderError } from 'commander';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildProgram, type CliIO, type CliState } from './program.js';
import { UsageError } from './options.js';
import { VERSION } from '../version.js';

export async function main(argv: string[], io: CliIO): Promise<number> {
  const state: CliState = { exitCode: 0 };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help / --version exit 0; usage errors were printed by commander.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UsageError) {
      io.stderr(`blkscope: ${e.message}\n`);
      return 2;
    }
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    io.stderr(`blkscope: internal error: ${msg} (blkscope ${VERSION}; please report it with the input that caused it)\n`);
    return 2;
  }
}

function stdoutWriter(): Pick<CliIO, 'stdout' | 'drain'> {
  let pending: string[] = [];
  let size = 0;
  const flush = () => {
    if (size === 0) return true;
    const s = pending.join('');
    pending = [];
    size = 0;
    return process.stdout.write(s);
  };
  process.on('exit', flush);
  return {
    stdout: (s: string) => {
      pending.push(s);
      size += s.length;
      if (size >= 1 << 16) flush();
    },
    drain: () =>
      new Promise<void>((resolve) => {
        if (flush()) resolve();
        else process.stdout.once('drain', () => resolve());
      }),
  };
}

function invokedDirectly(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
const isMain = invokedDirectly();
if (isMain) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  const w = stdoutWriter();
  const io: CliIO = {
    ...w,
    stderr: (s) => process.stderr.write(s),
    stdin: process.stdin,
    isTTY: !!process.stdout.isTTY && !!process.stdin.isTTY,
  };
  main(process.argv.slice(2), io).then(
    async (code) => {
      await w.drain!();
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`blkscope: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
