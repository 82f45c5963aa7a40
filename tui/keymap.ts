// ONE keymap table: it drives key dispatch (dispatchKey) and the `?` help overlay (helpLines).
// Each binding: a command id, the keys that trigger it, a help text and what it does to the store.
import type { Key } from 'ink';
import type { TuiStore } from './store.js';

export interface KeySpec {
  /** Printable input (exact), e.g. 'j', 'G', '/'. */
  input?: string;
  /** A named key flag from Ink's Key. */
  key?: keyof Key;
  ctrl?: boolean;
  shift?: boolean;
  /** How the key is shown in the help overlay. */
  label: string;
}

export interface Binding {
  id: string;
  keys: KeySpec[];
  help: string;
  run(store: TuiStore): void;
}

const k = (input: string, label = input): KeySpec => ({ input, label });
const named = (key: keyof Key, label: string, extra: Partial<KeySpec> = {}): KeySpec => ({ key, label, ...extra });
const ctrl = (input: string): KeySpec => ({ input, ctrl: true, label: `Ctrl-${input}` });

/** Move in whichever pane has the focus. */
function move(store: TuiStore, delta: number): void {
  if (store.focus === 'list') store.moveCursor(delta);
  else if (store.focus === 'detail') store.scrollDetail(delta);
  else store.moveFinding(delta);
}

function page(store: TuiStore): number {
  return store.focus === 'list' ? store.listHeight : store.focus === 'detail' ? store.detailHeight : store.findingsHeight;
}

const PANES = ['list', 'detail', 'findings'] as const;

export const KEYMAP: Binding[] = [
  { id: 'nav.down', keys: [k('j'), named('downArrow', '↓')], help: 'next line', run: (s) => move(s, 1) },
  { id: 'nav.up', keys: [k('k'), named('upArrow', '↑')], help: 'previous line', run: (s) => move(s, -1) },
  { id: 'scroll.pageDown', keys: [k(' ', 'Space'), named('pageDown', 'PgDn')], help: 'page down', run: (s) => move(s, page(s)) },
  { id: 'scroll.pageUp', keys: [k('b'), named('pageUp', 'PgUp')], help: 'page up', run: (s) => move(s, -page(s)) },
  { id: 'scroll.halfDown', keys: [ctrl('d')], help: 'half page down', run: (s) => move(s, Math.max(1, page(s) >> 1)) },
  { id: 'scroll.halfUp', keys: [ctrl('u')], help: 'half page up', run: (s) => move(s, -Math.max(1, page(s) >> 1)) },
  {
    id: 'nav.top',
    keys: [k('g'), named('home', 'Home')],
    help: 'first line',
    run: (s) => {
      if (s.focus === 'list') s.toStart();
      else if (s.focus === 'detail') s.scrollDetail(-Infinity);
      else s.moveFinding(-Infinity);
    },
  },
  {
    id: 'nav.bottom',
    keys: [k('G'), named('end', 'End')],
    help: 'last line (follows new requests while at the bottom)',
    run: (s) => {
      if (s.focus === 'list') s.toEnd();
      else if (s.focus === 'detail') s.scrollDetail(Infinity);
      else s.moveFinding(Infinity);
    },
  },
  {
    id: 'pane.next',
    keys: [named('tab', 'Tab')],
    help: 'next pane',
    run: (s) => {
      s.focus = PANES[(PANES.indexOf(s.focus) + 1) % PANES.length]!;
    },
  },
  {
    id: 'pane.prev',
    keys: [named('tab', 'Shift-Tab', { shift: true })],
    help: 'previous pane',
    run: (s) => {
      s.focus = PANES[(PANES.indexOf(s.focus) + PANES.length - 1) % PANES.length]!;
    },
  },
  {
    id: 'open',
    keys: [named('return', 'Enter')],
    help: 'open: request -> detail pane; finding -> its request',
    run: (s) => {
      if (s.focus === 'findings') s.openFinding();
      else if (s.focus === 'list') s.focus = 'detail';
      else s.focus = 'list';
    },
  },
  { id: 'search.start', keys: [k('/')], help: 'search (request fields, rule ids, messages, frames)', run: (s) => s.openPrompt('search') },
  { id: 'search.next', keys: [k('n')], help: 'next search match', run: (s) => void s.searchNext(1) },
  { id: 'search.prev', keys: [k('N')], help: 'previous search match', run: (s) => void s.searchNext(-1) },
  {
    id: 'filter.start',
    keys: [k('\\'), k(':')],
    help: 'filter: op:write rule:ID sev:warning dev:TEXT sector:A-B state:S flagged (empty clears)',
    run: (s) => s.openPrompt('filter'),
  },
  { id: 'finding.next', keys: [k('e')], help: 'next flagged request', run: (s) => void s.nextFinding(1) },
  { id: 'finding.prev', keys: [k('E')], help: 'previous flagged request', run: (s) => void s.nextFinding(-1) },
  {
    id: 'follow.toggle',
    keys: [k('F')],
    help: 'follow new requests on/off',
    run: (s) => {
      s.follow = !s.follow;
      if (s.follow) s.toEnd(false);
      s.message = s.follow ? 'following' : 'follow off';
    },
  },
  { id: 'help', keys: [k('?')], help: 'this help', run: (s) => void (s.mode = 'help') },
  { id: 'quit', keys: [k('q'), named('escape', 'Esc'), ctrl('c')], help: 'quit', run: (s) => s.quit() },
];

export function keyMatches(spec: KeySpec, input: string, key: Key): boolean {
  if (spec.key) {
    if (!key[spec.key]) return false;
    if (spec.key === 'tab') return !!spec.shift === !!key.shift;
    return !key.ctrl || !!spec.ctrl;
  }
  if (spec.ctrl) return key.ctrl && input === spec.input;
  if (key.ctrl || key.meta) return false;
  return input === spec.input;
}

export function findBinding(input: string, key: Key, table: Binding[] = KEYMAP): Binding | undefined {
  return table.find((b) => b.keys.some((s) => keyMatches(s, input, key)));
}

/** Handle one key press; returns true when something changed. */
export function dispatchKey(store: TuiStore, input: string, key: Key): boolean {
  if (key.ctrl && input === 'c') {
    store.quit();
    return true;
  }
  if (store.mode === 'help') {
    store.mode = 'normal';
    return true;
  }
  if (store.mode === 'search' || store.mode === 'filter') {
    if (key.escape) store.promptCancel();
    else if (key.return) store.promptSubmit();
    else if (key.backspace || key.delete) {
      // A burst of backspaces can arrive as one event.
      const n = Math.max(1, (input.match(/[\x7f\b]/g) ?? []).length);
      for (let i = 0; i < n; i++) store.promptBackspace();
    } else if (input && !key.ctrl && !key.meta) {
      for (const ch of input) {
        if (store.mode !== 'search' && store.mode !== 'filter') {
          dispatchKey(store, ch === '\r' ? '' : ch, { ...key, return: ch === '\r' });
          continue;
        }
        if (ch === '\x7f' || ch === '\b') store.promptBackspace();
        else if (ch === '\r' || ch === '\n') store.promptSubmit();
        else if (!/[\u0000-\u001f\u007f-\u009f]/.test(ch)) store.promptInput(ch);
      }
    } else return false;
    return true;
  }
  const b = findBinding(input, key);
  if (!b) {
    // Keys typed faster than a frame arrive together ("jjj"): dispatch them one by one.
    if (input.length > 1 && !key.ctrl && !key.meta && !input.startsWith('\x1b')) {
      let any = false;
      for (const ch of input) {
        const k: Key = { ...key, shift: false, return: ch === '\r' || ch === '\n', tab: ch === '\t', backspace: ch === '\x7f' || ch === '\b' };
        any = dispatchKey(store, k.return || k.tab || k.backspace ? '' : ch, k) || any;
      }
      return any;
    }
    return false;
  }
  store.message = '';
  b.run(store);
  return true;
}

/** The help overlay, generated from KEYMAP. */
export function helpLines(table: Binding[] = KEYMAP): string[] {
  const rows = table.map((b) => [b.keys.map((s) => s.label).join(' '), b.help] as const);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([keys, help]) => `${keys.padEnd(w)}  ${help}`);
}
