// The TUI store: analysis data plus UI state, a plain class outside React. Views are pure functions of it.
// Scale: list columns live in growable typed arrays (1,000,000 requests cost tens of MB, not one object
// each); full Request objects are kept for flagged requests and the most recent `keepDetails` others.
// Data from the pipeline is coalesced and listeners are told at most once per frame; UI actions notify
// at once (so a key press renders on the next Ink frame).
import type { Finding, InputInfo, Request, Severity } from '../src/model/types.js';
import { SEVERITY_RANK } from '../src/model/types.js';
import type { AnalysisSink } from '../src/analyze.js';
import { parseFilter, type FilterSpec } from './filter.js';

export type Pane = 'list' | 'detail' | 'findings';
export type Mode = 'normal' | 'search' | 'filter' | 'help';

export interface RowData {
  row: number;
  seq: number;
  id: string;
  time: number;
  device: string;
  op: string;
  sector: number;
  sectors: number;
  bytes: number;
  nseg: number;
  latency: number;
  status: string;
  state: string;
  /** 0 none, else SEVERITY_RANK of the worst finding. */
  sev: number;
}

class Interner {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();
  id(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

function grow<T extends Float64Array | Int32Array | Uint8Array | Uint16Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  let cap = a.length * 2;
  while (cap < need) cap *= 2;
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

const FRAME_MS = 16;
/** Keys kept for linking late findings to rows that already arrived. */
const KEY_WINDOW = 1 << 16;

export interface StoreOptions {
  /** Keep full request details (segments, evidence) for at most this many unflagged requests (most recent). */
  keepDetails?: number;
  /** Start following (cursor sticks to the newest request). */
  follow?: boolean;
  /** Live input: a file being followed. */
  live?: boolean;
}

export class TuiStore {
  // ---- data -------------------------------------------------------------------------------------
  private n = 0;
  private seqs = new Float64Array(1024);
  private times = new Float64Array(1024);
  private sectorCol = new Float64Array(1024);
  private countCol = new Float64Array(1024);
  private bytesCol = new Float64Array(1024);
  private latCol = new Float64Array(1024);
  private nsegCol = new Int32Array(1024);
  private opCol = new Uint16Array(1024);
  private devCol = new Uint16Array(1024);
  private statusCol = new Uint16Array(1024);
  private stateCol = new Uint8Array(1024);
  private sevCol = new Uint8Array(1024);
  private ids: string[] = [];
  private full: (Request | undefined)[] = [];
  private readonly ops = new Interner();
  private readonly devs = new Interner();
  private readonly statuses = new Interner();
  private readonly states = new Interner();
  private readonly keyToRow = new Map<string, number>();
  private readonly keyRing: string[] = [];
  private keyRingPos = 0;
  private readonly pendingByKey = new Map<string, number[]>();
  private evictCursor = 0;
  readonly keepDetails: number;

  readonly findings: Finding[] = [];
  /** Row index of each finding, -1 when it names no (known) request. */
  readonly findingRow: number[] = [];
  /** Finding indices per row. */
  readonly rowFindings = new Map<number, number[]>();
  /** Rows with findings, ascending. */
  readonly flaggedRows: number[] = [];
  readonly countBySev: Record<Severity, number> = { error: 0, warning: 0, info: 0 };

  readonly inputs: InputInfo[] = [];
  readonly progressBytes = new Map<string, number>();
  /** Total sizes of inputs when known (files), for a percentage. */
  readonly totalBytes = new Map<string, number>();
  currentInput = '';
  currentFormat = '';
  done = false;
  live: boolean;
  errors: string[] = [];

  // ---- UI state ---------------------------------------------------------------------------------
  focus: Pane = 'list';
  mode: Mode = 'normal';
  cursor = 0;
  top = 0;
  follow: boolean;
  detailScroll = 0;
  findingCursor = 0;
  findingTop = 0;
  filter: FilterSpec | null = null;
  /** Matching rows when a filter is active (ascending row indices). */
  private view: Int32Array | null = null;
  private viewLen = 0;
  /** Rows checked against the current filter so far. */
  private viewChecked = 0;
  prompt = '';
  promptError = '';
  /** Live preview: rows the typed filter would keep. */
  previewCount: number | null = null;
  search = '';
  message = '';
  viewport = { rows: 24, cols: 80 };
  /** Heights of the panes, set by the layout (list height drives paging). */
  listHeight = 8;
  detailHeight = 8;
  findingsHeight = 4;
  /** Lines in the detail pane for the selected request (set by the view, bounds detail scrolling). */
  detailLines = 0;

  // ---- subscription -----------------------------------------------------------------------------
  private version = 0;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  quitRequested = false;
  onQuit?: () => void;

  constructor(opts: StoreOptions = {}) {
    this.keepDetails = opts.keepDetails ?? 50_000;
    this.follow = opts.follow ?? false;
    this.live = opts.live ?? false;
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getVersion = (): number => this.version;

  /** UI change: tell listeners now. */
  notify(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.version++;
    for (const l of this.listeners) l();
  }

  /** Data change: tell listeners at most once per frame. */
  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dataSettled();
      this.notify();
    }, FRAME_MS);
  }

  /** Apply follow and filter catch-up once per batch of data. */
  private dataSettled(): void {
    this.extendView();
    if (this.follow) this.toEnd(false);
  }

  /** Flush a pending batch now (tests, benches). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.dataSettled();
    this.notify();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  // ---- ingestion --------------------------------------------------------------------------------
  sink(): AnalysisSink {
    return {
      request: (r) => this.addRequest(r),
      finding: (f) => this.addFinding(f),
      inputStarted: (info) => {
        this.currentInput = info.file;
        this.currentFormat = info.format;
        this.schedule();
      },
      inputEnded: (info) => {
        this.inputs.push(info);
        if (info.error) this.errors.push(`${info.file}: ${info.error}`);
        this.schedule();
      },
      progress: (file, bytes) => {
        this.currentInput = file;
        this.progressBytes.set(file, bytes);
        this.schedule();
      },
    };
  }

  setDone(errors: string[] = []): void {
    this.done = true;
    for (const e of errors) if (!this.errors.includes(e)) this.errors.push(e);
    this.schedule();
  }

  private ensure(need: number): void {
    if (need <= this.seqs.length) return;
    this.seqs = grow(this.seqs, need);
    this.times = grow(this.times, need);
    this.sectorCol = grow(this.sectorCol, need);
    this.countCol = grow(this.countCol, need);
    this.bytesCol = grow(this.bytesCol, need);
    this.latCol = grow(this.latCol, need);
    this.nsegCol = grow(this.nsegCol, need);
    this.opCol = grow(this.opCol, need);
    this.devCol = grow(this.devCol, need);
    this.statusCol = grow(this.statusCol, need);
    this.stateCol = grow(this.stateCol, need);
    this.sevCol = grow(this.sevCol, need);
  }

  addRequest(req: Request): void {
    const i = this.n++;
    this.ensure(this.n);
    this.seqs[i] = req.seq;
    this.times[i] = req.submitTime ?? NaN;
    this.sectorCol[i] = req.sector;
    this.countCol[i] = req.sectors;
    this.bytesCol[i] = req.bytes;
    this.latCol[i] = req.latency ?? NaN;
    this.nsegCol[i] = req.nrSegments ?? req.segments.length;
    this.opCol[i] = this.ops.id(req.op);
    this.devCol[i] = this.devs.id(req.device ?? (req.domain !== undefined ? `dom${req.domain}` : ''));
    this.statusCol[i] = this.statuses.id(req.status ?? '');
    this.stateCol[i] = this.states.id(req.state);
    this.ids.push(req.id);
    this.full.push(req);
    // Key window for late findings.
    if (this.keyRing.length < KEY_WINDOW) this.keyRing.push(req.key);
    else {
      const old = this.keyRing[this.keyRingPos]!;
      if (this.keyToRow.get(old) !== undefined && this.keyToRow.get(old)! < i - KEY_WINDOW + 1) this.keyToRow.delete(old);
      this.keyRing[this.keyRingPos] = req.key;
      this.keyRingPos = (this.keyRingPos + 1) % KEY_WINDOW;
    }
    this.keyToRow.set(req.key, i);
    const pend = this.pendingByKey.get(req.key);
    if (pend) {
      this.pendingByKey.delete(req.key);
      for (const fi of pend) this.linkFinding(fi, i);
    }
    // Bounded details: drop the oldest unflagged request objects beyond keepDetails.
    while (i - this.evictCursor >= this.keepDetails) {
      const e = this.evictCursor++;
      if (this.sevCol[e] === 0) this.full[e] = undefined;
    }
    this.schedule();
  }

  addFinding(f: Finding): void {
    const fi = this.findings.length;
    this.findings.push(f);
    this.findingRow.push(-1);
    this.countBySev[f.severity] = (this.countBySev[f.severity] ?? 0) + 1;
    if (f.requestKey !== undefined) {
      const row = this.keyToRow.get(f.requestKey);
      if (row !== undefined) this.linkFinding(fi, row);
      else {
        const p = this.pendingByKey.get(f.requestKey);
        if (p) p.push(fi);
        else this.pendingByKey.set(f.requestKey, [fi]);
      }
    }
    this.schedule();
  }

  private linkFinding(fi: number, row: number): void {
    this.findingRow[fi] = row;
    const list = this.rowFindings.get(row);
    if (list) list.push(fi);
    else {
      this.rowFindings.set(row, [fi]);
      // Insert into flaggedRows keeping it sorted (rows usually arrive in order: append).
      const fr = this.flaggedRows;
      let pos = fr.length;
      while (pos > 0 && fr[pos - 1]! > row) pos--;
      fr.splice(pos, 0, row);
    }
    const rank = SEVERITY_RANK[this.findings[fi]!.severity] ?? 1;
    if (rank > this.sevCol[row]!) this.sevCol[row] = rank;
    // A row filtered out before its finding arrived may match now: recheck the filter from here.
    if (this.filter && row < this.viewChecked && this.matches(row) && !this.viewIncludes(row)) this.rebuildView();
  }

  // ---- reading ----------------------------------------------------------------------------------
  get requestCount(): number {
    return this.n;
  }

  rowData(row: number): RowData {
    return {
      row,
      seq: this.seqs[row]!,
      id: this.ids[row]!,
      time: this.times[row]!,
      device: this.devs.values[this.devCol[row]!]!,
      op: this.ops.values[this.opCol[row]!]!,
      sector: this.sectorCol[row]!,
      sectors: this.countCol[row]!,
      bytes: this.bytesCol[row]!,
      nseg: this.nsegCol[row]!,
      latency: this.latCol[row]!,
      status: this.statuses.values[this.statusCol[row]!]!,
      state: this.states.values[this.stateCol[row]!]!,
      sev: this.sevCol[row]!,
    };
  }

  request(row: number): Request | undefined {
    return this.full[row];
  }

  findingsOf(row: number): Finding[] {
    return (this.rowFindings.get(row) ?? []).map((i) => this.findings[i]!);
  }

  /** Number of rows in the current view (filtered or all). */
  viewLength(): number {
    return this.filter ? this.viewLen : this.n;
  }

  /** Row index at a view position. */
  rowAt(pos: number): number {
    return this.filter ? this.view![pos]! : pos;
  }

  /** View position of a row, or -1 when filtered out. */
  posOf(row: number): number {
    if (!this.filter) return row < this.n ? row : -1;
    let lo = 0;
    let hi = this.viewLen - 1;
    const v = this.view!;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (v[mid]! === row) return mid;
      if (v[mid]! < row) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  selectedRow(): number {
    return this.viewLength() === 0 ? -1 : this.rowAt(Math.min(this.cursor, this.viewLength() - 1));
  }

  // ---- filtering --------------------------------------------------------------------------------
  matches(row: number, spec: FilterSpec | null = this.filter): boolean {
    if (!spec) return true;
    if (spec.ops && !spec.ops.includes(this.ops.values[this.opCol[row]!]!)) return false;
    if (spec.states && !spec.states.includes(this.states.values[this.stateCol[row]!]!)) return false;
    if (spec.flagged && this.sevCol[row] === 0) return false;
    if (spec.minSev !== undefined && this.sevCol[row]! < spec.minSev) return false;
    if (spec.devs) {
      const d = this.devs.values[this.devCol[row]!]!;
      if (!spec.devs.some((x) => d.includes(x))) return false;
    }
    if (spec.sectors) {
      const lo = this.sectorCol[row]!;
      const hi = lo + Math.max(1, this.countCol[row]!) - 1;
      if (!spec.sectors.some((r) => r.lo <= hi && r.hi >= lo)) return false;
    }
    if (spec.rules) {
      const fs = this.rowFindings.get(row);
      if (!fs) return false;
      if (!fs.some((fi) => spec.rules!.some((r) => this.findings[fi]!.rule.startsWith(r)))) return false;
    }
    return true;
  }

  /** How many rows a filter keeps (live preview). Rule/severity filters only scan flagged rows. */
  countMatches(spec: FilterSpec | null): number {
    if (!spec) return this.n;
    if (spec.rules || spec.minSev !== undefined || spec.flagged) {
      let c = 0;
      for (const r of this.flaggedRows) if (this.matches(r, spec)) c++;
      return c;
    }
    let c = 0;
    for (let r = 0; r < this.n; r++) if (this.matches(r, spec)) c++;
    return c;
  }

  private viewIncludes(row: number): boolean {
    return this.posOf(row) >= 0;
  }

  private rebuildView(): void {
    this.view = new Int32Array(Math.max(1024, this.n));
    this.viewLen = 0;
    this.viewChecked = 0;
    this.extendView();
  }

  private extendView(): void {
    if (!this.filter) return;
    const spec = this.filter;
    const onlyFlagged = !!(spec.rules || spec.minSev !== undefined || spec.flagged);
    if (onlyFlagged) {
      // Rebuild from the sorted flagged rows (small).
      const fr = this.flaggedRows;
      if (!this.view || this.view.length < fr.length) this.view = new Int32Array(Math.max(1024, fr.length * 2));
      let k = 0;
      for (const r of fr) if (this.matches(r)) this.view[k++] = r;
      this.viewLen = k;
      this.viewChecked = this.n;
      return;
    }
    if (!this.view) this.view = new Int32Array(1024);
    for (let r = this.viewChecked; r < this.n; r++) {
      if (!this.matches(r)) continue;
      if (this.viewLen >= this.view.length) this.view = grow(this.view, this.viewLen + 1);
      this.view[this.viewLen++] = r;
    }
    this.viewChecked = this.n;
  }

  setFilter(spec: FilterSpec | null): void {
    const keep = this.selectedRow();
    this.filter = spec;
    this.view = null;
    this.viewLen = 0;
    this.viewChecked = 0;
    if (spec) this.rebuildView();
    // Keep the selected request if it survives, else the nearest following one.
    const len = this.viewLength();
    if (keep >= 0 && len > 0) {
      let pos = this.posOf(keep);
      if (pos < 0) pos = this.lowerBound(keep);
      this.cursor = Math.min(pos, len - 1);
    } else this.cursor = 0;
    this.detailScroll = 0;
    this.clampScroll();
  }

  /** First view position whose row >= row. */
  private lowerBound(row: number): number {
    if (!this.filter) return Math.min(row, this.n);
    let lo = 0;
    let hi = this.viewLen;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.view![mid]! < row) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ---- navigation -------------------------------------------------------------------------------
  clampScroll(): void {
    const len = this.viewLength();
    const h = Math.max(1, this.listHeight);
    if (this.cursor >= len) this.cursor = Math.max(0, len - 1);
    if (this.cursor < 0) this.cursor = 0;
    if (this.cursor < this.top) this.top = this.cursor;
    if (this.cursor >= this.top + h) this.top = this.cursor - h + 1;
    if (this.top > Math.max(0, len - h)) this.top = Math.max(0, len - h);
    if (this.top < 0) this.top = 0;
  }

  /** Move the list cursor; moving off the bottom stops following, reaching it starts (like lnav). */
  moveCursor(delta: number): void {
    const len = this.viewLength();
    if (len === 0) return;
    const before = this.cursor;
    this.cursor = Math.max(0, Math.min(len - 1, this.cursor + delta));
    if (this.cursor !== before) {
      this.detailScroll = 0;
      this.follow = this.cursor === len - 1 && (this.live || !this.done);
    }
    this.clampScroll();
  }

  toStart(): void {
    this.cursor = 0;
    this.detailScroll = 0;
    this.follow = false;
    this.clampScroll();
  }

  toEnd(userAction = true): void {
    const len = this.viewLength();
    if (this.cursor !== Math.max(0, len - 1)) this.detailScroll = 0;
    this.cursor = Math.max(0, len - 1);
    if (userAction && (this.live || !this.done)) this.follow = true;
    this.clampScroll();
  }

  selectRow(row: number): boolean {
    let pos = this.posOf(row);
    if (pos < 0 && this.filter) {
      // Jumping to a request hidden by the filter: clear the filter.
      this.setFilter(null);
      this.message = 'filter cleared to show the request';
      pos = this.posOf(row);
    }
    if (pos < 0) return false;
    this.cursor = pos;
    this.detailScroll = 0;
    this.follow = false;
    this.clampScroll();
    return true;
  }

  scrollDetail(delta: number): void {
    const max = Math.max(0, this.detailLines - this.detailHeight);
    this.detailScroll = Math.max(0, Math.min(max, this.detailScroll + delta));
  }

  moveFinding(delta: number): void {
    const n = this.findings.length;
    if (n === 0) return;
    this.findingCursor = Math.max(0, Math.min(n - 1, this.findingCursor + delta));
    this.clampFindings();
  }

  clampFindings(): void {
    const h = Math.max(1, this.findingsHeight);
    const n = this.findings.length;
    if (this.findingCursor >= n) this.findingCursor = Math.max(0, n - 1);
    if (this.findingCursor < this.findingTop) this.findingTop = this.findingCursor;
    if (this.findingCursor >= this.findingTop + h) this.findingTop = this.findingCursor - h + 1;
    if (this.findingTop > Math.max(0, n - h)) this.findingTop = Math.max(0, n - h);
  }

  /** Jump to the request of the finding under the findings cursor. */
  openFinding(): boolean {
    const row = this.findingRow[this.findingCursor];
    if (row === undefined || row < 0) {
      this.message = 'this finding names no request';
      return false;
    }
    if (!this.selectRow(row)) return false;
    this.focus = 'detail';
    return true;
  }

  /** Next (dir 1) or previous (-1) flagged request in the view, from the selected one. */
  nextFinding(dir: 1 | -1): boolean {
    const cur = this.selectedRow();
    const fr = this.flaggedRows;
    if (fr.length === 0) {
      this.message = 'no findings';
      return false;
    }
    // Binary search the flagged rows around cur, then walk until one is in the view.
    let lo = 0;
    let hi = fr.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (fr[mid]! <= cur) lo = mid + 1;
      else hi = mid;
    }
    // lo = first flagged row > cur
    let i = dir > 0 ? lo : lo - 1;
    if (dir < 0 && i >= 0 && fr[i] === cur) i--;
    for (; i >= 0 && i < fr.length; i += dir) {
      const pos = this.posOf(fr[i]!);
      if (pos >= 0) {
        this.cursor = pos;
        this.detailScroll = 0;
        this.follow = false;
        this.clampScroll();
        const fi = this.rowFindings.get(fr[i]!)?.[0];
        if (fi !== undefined) {
          this.findingCursor = fi;
          this.clampFindings();
        }
        this.message = '';
        return true;
      }
    }
    this.message = dir > 0 ? 'no later finding' : 'no earlier finding';
    return false;
  }

  // ---- search -----------------------------------------------------------------------------------
  /** Text a search matches against for a row: its list fields, rule ids and finding messages. */
  searchText(row: number): string {
    const d = this.rowData(row);
    let s = `#${d.seq} id ${d.id} ${d.device} ${d.op} ${d.sector} ${d.sectors} ${d.bytes} ${d.status} ${d.state}`;
    const fs = this.rowFindings.get(row);
    if (fs) for (const fi of fs) s += ` ${this.findings[fi]!.rule} ${this.findings[fi]!.message}`;
    const req = this.full[row];
    if (req) for (const s2 of req.segments) s += ` ${s2.frame ?? ''} ${s2.addr ?? ''}`;
    return s.toLowerCase();
  }

  /** Find the next match of the current search (dir 1 forward, -1 backward), wrapping once. */
  searchNext(dir: 1 | -1, includeCurrent = false): boolean {
    const q = this.search.toLowerCase();
    const len = this.viewLength();
    if (!q || len === 0) return false;
    let pos = this.cursor;
    for (let k = includeCurrent ? 0 : 1; k <= len; k++) {
      const p = (((pos + dir * k) % len) + len) % len;
      if (this.searchText(this.rowAt(p)).includes(q)) {
        if (k > 0 && ((dir > 0 && p < pos) || (dir < 0 && p > pos))) this.message = 'search wrapped';
        else this.message = '';
        this.cursor = p;
        this.detailScroll = 0;
        this.follow = false;
        this.clampScroll();
        return true;
      }
    }
    this.message = `not found: ${this.search}`;
    pos = 0;
    return false;
  }

  // ---- prompts ----------------------------------------------------------------------------------
  openPrompt(mode: 'search' | 'filter'): void {
    this.mode = mode;
    this.prompt = mode === 'filter' && this.filter ? this.filter.text : '';
    this.promptError = '';
    this.previewCount = null;
    if (mode === 'filter') this.updatePreview();
  }

  promptInput(text: string): void {
    this.prompt += text;
    if (this.mode === 'filter') this.updatePreview();
  }

  promptBackspace(): void {
    this.prompt = this.prompt.slice(0, -1);
    if (this.mode === 'filter') this.updatePreview();
  }

  private updatePreview(): void {
    const p = parseFilter(this.prompt);
    if (!p.ok) {
      this.promptError = p.error;
      this.previewCount = null;
      return;
    }
    this.promptError = '';
    this.previewCount = this.countMatches(p.spec);
  }

  promptCancel(): void {
    this.mode = 'normal';
    this.prompt = '';
    this.promptError = '';
    this.previewCount = null;
  }

  promptSubmit(): void {
    if (this.mode === 'search') {
      this.search = this.prompt;
      this.mode = 'normal';
      this.prompt = '';
      if (this.search) this.searchNext(1, true);
      return;
    }
    if (this.mode === 'filter') {
      const p = parseFilter(this.prompt);
      if (!p.ok) {
        this.promptError = p.error;
        return;
      }
      this.mode = 'normal';
      this.prompt = '';
      this.previewCount = null;
      this.setFilter(p.spec);
      this.message = p.spec ? `filter: ${p.spec.text} (${this.viewLength()} requests)` : 'filter cleared';
    }
  }

  quit(): void {
    this.quitRequested = true;
    this.onQuit?.();
  }
}
