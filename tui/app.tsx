// The Ink app: a thin shell that picks the layout and draws the panes from the store.
// runTui() owns the terminal: alternate screen on entry, restored on exit, Ctrl-C, signals and crashes.
import React, { useEffect, useState, useSyncExternalStore } from 'react';
import { Box, render, useInput, useStdout } from 'ink';
import type { AnalyzeOptions } from '../src/model/types.js';
import type { InputSource } from '../src/input/sources.js';
import { startAnalysis } from './analysis.js';
import { TuiStore } from './store.js';
import { dispatchKey } from './keymap.js';
import { layout } from './format.js';
import { ColorContext } from './components/Line.js';
import { DetailPane, FindingsPane, HelpOverlay, ListPane, PromptLine, StatusBar } from './components/Panes.js';

export function App({ store }: { store: TuiStore }) {
  useSyncExternalStore(store.subscribe, store.getVersion);
  const { stdout } = useStdout();
  const [size, setSize] = useState({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
  useEffect(() => {
    const on = () => {
      store.viewport = { cols: stdout.columns || 80, rows: stdout.rows || 24 };
      setSize(store.viewport);
    };
    stdout.on('resize', on);
    return () => {
      stdout.off('resize', on);
    };
  }, [stdout, store]);
  useInput((input, key) => {
    if (dispatchKey(store, input, key)) store.notify();
  });
  const width = Math.max(20, size.cols);
  const lay = layout(size.rows, store.focus, store.viewLength());
  // Pane heights drive paging and scroll clamping in the store.
  store.listHeight = Math.max(1, lay.listRows - 1);
  store.detailHeight = lay.detailRows;
  store.findingsHeight = lay.findingsRows;
  store.clampScroll();
  store.clampFindings();
  if (store.mode === 'help') {
    return (
      <Box flexDirection="column" width={width}>
        <HelpOverlay height={size.rows - 2} width={width} />
        <StatusBar store={store} width={width} />
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={width}>
      <ListPane store={store} height={lay.listRows} width={width} />
      <DetailPane store={store} height={lay.detailRows} width={width} />
      <FindingsPane store={store} height={lay.findingsRows} width={width} />
      <StatusBar store={store} width={width} />
      <PromptLine store={store} width={width} />
    </Box>
  );
}

export function Root({ store, color }: { store: TuiStore; color: boolean }) {
  return (
    <ColorContext.Provider value={color}>
      <App store={store} />
    </ColorContext.Provider>
  );
}

export function colorWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  // https://no-color.org: any non-empty NO_COLOR disables colour.
  return !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}

export interface TuiRunOptions {
  analyze: AnalyzeOptions;
  follow?: boolean;
  live?: boolean;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Total byte sizes of file inputs, for the progress percentage. */
  sizes?: Map<string, number>;
  keepDetails?: number;
  /** Called after each Ink render (bench). */
  onRender?: () => void;
  /** Aborted when the user quits (live sources listen to it). */
  abort?: AbortController;
  /** Optional: a store already being filled and its analysis run (otherwise runTui starts both). */
  store?: TuiStore;
  running?: Promise<boolean>;
}

export { startAnalysis };

export const ALT_ON = '\x1b[?1049h\x1b[H\x1b[2J';
const ALT_OFF = '\x1b[?25h\x1b[?1049l';

/** Run the TUI until the user quits. Returns the exit code (0; 2 when every input failed). */
export async function runTui(sources: InputSource[], opts: TuiRunOptions): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const store = opts.store ?? new TuiStore({ follow: opts.follow, live: opts.live, keepDetails: opts.keepDetails });
  store.viewport = { cols: stdout.columns || 80, rows: stdout.rows || 24 };
  for (const [k, v] of opts.sizes ?? []) store.totalBytes.set(k, v);
  const ac = opts.abort ?? new AbortController();

  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      stdout.write(ALT_OFF);
    } catch {
      /* terminal gone */
    }
  };
  const onSignal = (sig: NodeJS.Signals) => {
    ac.abort();
    try {
      instance.unmount();
    } catch {
      /* already unmounted */
    }
    restore();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  const onCrash = (e: unknown) => {
    try {
      instance.unmount();
    } catch {
      /* ignore */
    }
    restore();
    process.stderr.write(`blkscope: internal error in the TUI: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  };
  stdout.write(ALT_ON);
  process.on('exit', restore);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  const instance = render(<Root store={store} color={colorWanted()} />, {
    stdout,
    stdin: opts.stdin,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 60,
    onRender: opts.onRender,
  });
  store.onQuit = () => {
    ac.abort();
    instance.unmount();
  };

  let allFailed = false;
  const run = (opts.running ?? startAnalysis(store, sources, opts.analyze, ac.signal)).then((failed) => {
    allFailed = failed;
  });

  try {
    await instance.waitUntilExit();
  } finally {
    ac.abort();
    store.dispose();
    restore();
    process.off('exit', restore);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('SIGINT', onSignal);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  }
  // Do not wait for a live source to end: the abort stops it at its next poll.
  if (!opts.live) await Promise.race([run, new Promise((r) => setTimeout(r, 200))]);
  return allFailed ? 2 : 0;
}
