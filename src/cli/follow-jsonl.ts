// `blkscope analyze --follow --json FILE…`: follow growing inputs (tail -F semantics, src/input/follow.ts)
// and write JSON Lines as things happen: {"type":"input"|"request"|"finding", …same fields as the JSON
// document} (encoders from src/report/json.ts). Output is flushed within one poll interval of the data
// arriving. Runs until the inputs end (stdin EOF) or `signal` aborts (SIGINT/SIGTERM from the CLI).
import type { AnalyzeOptions, Finding, InputInfo, Request } from '../model/types.js';
import { analyze } from '../analyze.js';
import { followSource, liveStdinSource } from '../input/follow.js';
import type { InputSource } from '../input/sources.js';
import { jsonLine } from '../report/json.js';
import { neutralize } from '../util/sanitize.js';
import type { CliIO } from './program.js';

export interface FollowJsonlOptions {
  analyze: AnalyzeOptions;
  /** JSON Lines (default) or one plain line per finding. */
  json?: boolean;
  /** Also list every request (JSON Lines only; default true). */
  requests?: boolean;
  signal?: AbortSignal;
  /** Poll interval for followed files (ms). */
  pollMs?: number;
  /** Sources to use instead of following `files` (tests). */
  sources?: InputSource[];
}

function plainFinding(f: Finding): string {
  const ev = f.evidence[0];
  const where = ev ? ` (${neutralize(ev.file)}:${ev.line ?? ev.offset ?? '?'})` : '';
  return `[${f.severity}] ${neutralize(f.rule)}: ${neutralize(f.message)}${where}\n`;
}

export async function runFollowJsonl(files: string[], options: FollowJsonlOptions, io: CliIO): Promise<number> {
  const json = options.json !== false;
  const withRequests = options.requests !== false;
  const ac = new AbortController();
  const outer = options.signal;
  if (outer) {
    if (outer.aborted) ac.abort();
    else outer.addEventListener('abort', () => ac.abort(), { once: true });
  }
  const stop = () => ac.abort();
  const ownSignals = !options.signal;
  if (ownSignals) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  const sources =
    options.sources ?? files.map((f) => (f === '-' ? liveStdinSource(io.stdin) : followSource(f, { signal: ac.signal, pollMs: options.pollMs })));

  // Flush at most once per tick so a burst of lines goes out together, and nothing waits for a full buffer.
  let flushQueued = false;
  const out = (s: string) => {
    io.stdout(s);
    if (!flushQueued && io.drain) {
      flushQueued = true;
      setImmediate(() => {
        flushQueued = false;
        void io.drain!();
      });
    }
  };
  let errors = 0;
  try {
    const result = await analyze(sources, {
      options: options.analyze,
      signal: ac.signal,
      sink: {
        request: (r: Request) => {
          if (json && withRequests) out(jsonLine('request', r));
        },
        finding: (f: Finding) => out(json ? jsonLine('finding', f) : plainFinding(f)),
        inputStarted: (info: InputInfo) => {
          if (json) out(jsonLine('input', { ...info, skippedSamples: [] }));
        },
        inputEnded: (info: InputInfo) => {
          if (json) out(jsonLine('input', info));
          if (info.error) {
            errors++;
            io.stderr(`blkscope: ${neutralize(info.file)}: ${neutralize(info.error)}\n`);
          }
        },
      },
    });
    errors = Math.max(errors, result.errors.length);
  } finally {
    if (ownSignals) {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    await io.drain?.();
  }
  return errors ? 2 : 0;
}
