// Drive the real binary in a private tmux server (own socket, no user config): send keys, read the screen.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

export const MAIN = 'dist/src/cli/main.js';

/** Build once when dist is missing or older than the TUI sources (npm test builds before vitest anyway). */
export function ensureBuilt(): void {
  const stale = !existsSync(MAIN) || !existsSync('dist/tui/app.js') || statSync('dist/tui/app.js').mtimeMs < statSync('tui/app.tsx').mtimeMs;
  if (stale) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'ignore' });
  if (!existsSync(MAIN)) throw new Error(`${MAIN} missing after the build`);
}

export function requireTmux(): void {
  const r = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('tmux is required for the TUI end-to-end test (apt-get install tmux)');
}

export class Tmux {
  readonly socket = `blkscope-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  constructor(readonly session = 't') {}

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  start(cmd: string, cols = 80, rows = 24, env: Record<string, string> = {}): void {
    const envs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const full = `env ${envs.join(' ')} TERM=xterm-256color ${cmd}; echo EXIT=$?; sleep 600`;
    this.tmux('new-session', '-d', '-s', this.session, '-x', String(cols), '-y', String(rows), full);
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.session, ...keys);
  }

  /** Literal text (no key-name lookup). */
  type(text: string): void {
    this.tmux('send-keys', '-t', this.session, '-l', text);
  }

  screen(escapes = false): string {
    return this.tmux('capture-pane', '-t', this.session, '-p', ...(escapes ? ['-e'] : []));
  }

  alternateOn(): boolean {
    return this.tmux('display-message', '-t', this.session, '-p', '#{alternate_on}').trim() === '1';
  }

  async waitFor(pred: (screen: string) => boolean, what: string, timeoutMs = 8000): Promise<string> {
    const t0 = Date.now();
    let s = '';
    while (Date.now() - t0 < timeoutMs) {
      s = this.screen();
      if (pred(s)) return s;
      await new Promise((r) => setTimeout(r, 40));
    }
    throw new Error(`timed out waiting for ${what}; screen:\n${s}`);
  }

  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {
      /* already gone */
    }
  }
}
