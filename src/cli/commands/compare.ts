// blkscope compare <guest-trace> <host-trace>: the guest's block-layer view (blktrace, blkparse, ftrace)
// and the host's QEMU view of the same disk side by side; requests seen on one side only are listed.
import type { Command } from 'commander';
import { analyze } from '../../analyze.js';
import { fileSource, stdinSource, type InputSource } from '../../input/sources.js';
import type { InputInfo, ParsedEvent, Request } from '../../model/types.js';
import { compareViews, DEFAULT_WINDOW, type CompareSide, type HostIo, type Marker, type TwoViewRow, type TwoViews, type ViewRequest } from '../../model/two-views.js';
import { neutralize, neutralizeCut } from '../../util/sanitize.js';
import { findFormat, FORMATS } from '../../../parsers/index.js';
import { UsageError } from '../options.js';
import type { CliIO, CliState } from '../program.js';

interface CompareFlags {
  guestDev?: string;
  hostDev?: string;
  guestFormat?: string;
  hostFormat?: string;
  window?: string;
  json?: boolean;
  all?: boolean;
  maxRows?: string;
  failOnMissing?: boolean;
}

export interface SideResult extends CompareSide {
  file: string;
  inputs: InputInfo[];
  errors: string[];
}

/** Analyse one side with a collecting sink: its requests, guest markers and host I/O outside requests. */
export async function collectSide(source: InputSource, inputFormat?: string): Promise<SideResult> {
  const requests: Request[] = [];
  const markers: Marker[] = [];
  const hostIo: HostIo[] = [];
  const onEvent = (ev: ParsedEvent) => {
    if (ev.kind !== 'diag') return;
    const line = ev.evidence[0]?.line;
    if (ev.code === 'marker') {
      const m: Marker = { text: ev.message };
      if (ev.time !== undefined) m.time = ev.time;
      if (line !== undefined) m.line = line;
      markers.push(m);
    } else if (ev.code === 'host-io') {
      const d = ev.data ?? {};
      const io: HostIo = { ev: String(d.ev ?? 'io') };
      if (typeof d.offset === 'number') io.offset = d.offset;
      if (typeof d.bytes === 'number') io.bytes = d.bytes;
      if (typeof d.flags === 'number') io.flags = d.flags;
      if (ev.time !== undefined) io.time = ev.time;
      if (line !== undefined) io.line = line;
      if (hostIo.length < 10000) hostIo.push(io);
    }
  };
  const options = inputFormat ? { inputFormat } : {};
  const r = await analyze([source], { options, sink: { request: (q) => requests.push(q), event: onEvent } });
  requests.sort((a, b) => a.seq - b.seq);
  return { file: source.name, inputs: r.inputs, errors: r.errors, requests, markers, hostIo };
}

function checkFormat(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!findFormat(v)) throw new UsageError(`${name}: unknown input format '${v}'; known: ${FORMATS.map((f) => f.id).join(', ')}`);
  return v;
}

function sourceOf(file: string, stdin: NodeJS.ReadableStream): InputSource {
  return file === '-' ? stdinSource(stdin) : fileSource(file);
}

export async function runCompare(guestFile: string, hostFile: string, flags: CompareFlags, io: CliIO): Promise<number> {
  if (guestFile === '-' && hostFile === '-') throw new UsageError('only one side can be read from standard input');
  const gf = checkFormat('--guest-format', flags.guestFormat);
  const hf = checkFormat('--host-format', flags.hostFormat);
  let window = DEFAULT_WINDOW;
  if (flags.window !== undefined) {
    if (!/^\d+$/.test(flags.window) || Number(flags.window) > 1e6) throw new UsageError(`--window must be a whole number up to 1000000, not '${flags.window}'`);
    window = Number(flags.window);
  }
  let maxRows: number | undefined;
  if (flags.maxRows !== undefined) {
    if (!/^\d+$/.test(flags.maxRows)) throw new UsageError(`--max-rows must be a whole number, not '${flags.maxRows}'`);
    maxRows = Number(flags.maxRows);
  }
  const guest = await collectSide(sourceOf(guestFile, io.stdin), gf);
  const host = await collectSide(sourceOf(hostFile, io.stdin), hf);
  const errors = [...guest.errors, ...host.errors];
  for (const e of errors) io.stderr(`blkscope: ${neutralize(e)}\n`);
  // A side that could not be read or recognised: nothing to compare with.
  if (errors.length) return 2;
  const views = compareViews(guest, host, { guestDev: flags.guestDev, hostDev: flags.hostDev, window });
  if (flags.json) io.stdout(JSON.stringify(compareJson(guest, host, views)) + '\n');
  else io.stdout(renderCompare(guest, host, views, { all: !!flags.all, maxRows }));
  if (flags.failOnMissing && views.counts.guestOnlyWithin + views.counts.hostOnlyWithin > 0) return 1;
  return 0;
}

function sideJson(s: SideResult): Record<string, unknown> {
  return {
    file: s.file,
    formats: s.inputs.flatMap((i) => i.formats),
    requests: s.requests.length,
    skipped: s.inputs.reduce((n, i) => n + i.skipped, 0),
    errors: s.errors,
    markers: s.markers ?? [],
  };
}

export function compareJson(guest: SideResult, host: SideResult, v: TwoViews): Record<string, unknown> {
  return { schemaVersion: 1, kind: 'compare', guest: sideJson(guest), host: sideJson(host), ...v };
}

// ---- text --------------------------------------------------------------------------------------------

function ms(s: number | undefined): string {
  if (s === undefined) return '-';
  return (s * 1000).toFixed(3);
}

function range(r: ViewRequest): string {
  if (r.op === 'flush' || r.op === 'get-id' || r.op === 'passthrough') return r.op;
  return `${r.op} ${r.sector}+${r.sectors}`;
}

function state(r: ViewRequest): string {
  if (r.state === 'completed') return r.status && r.status !== 'ok' ? neutralizeCut(r.status, 10) : 'ok';
  return r.state;
}

const CELL = 52;

function cell(r: ViewRequest | undefined): string {
  if (!r) return ''.padEnd(CELL);
  const line = r.line !== undefined ? 'L' + r.line : '';
  return `${neutralizeCut(range(r), 24).padEnd(24)} ${ms(r.latency).padStart(9)} ${state(r).padEnd(9)} ${line.padStart(7)}`.padEnd(CELL);
}

const WHERE: Record<string, string> = {
  before: 'before the other trace started',
  after: 'after the other trace ended',
  within: 'MISSING on the other side',
  'unpaired-device': 'device not on the other side',
};

function rowLine(row: TwoViewRow): string {
  const note = row.where
    ? (row.guest ? 'guest only: ' : 'host only: ') + WHERE[row.where]
    : row.match === 'range'
      ? 'same range, op named differently'
      : row.match === 'op'
        ? 'same op, range not traced on one side'
        : '';
  return `  ${cell(row.guest)} | ${cell(row.host)}  ${note}`.trimEnd();
}

export function renderCompare(guest: SideResult, host: SideResult, v: TwoViews, opts: { all?: boolean; maxRows?: number } = {}): string {
  const out: string[] = [];
  const fmt = (s: SideResult) => s.inputs.flatMap((i) => i.formats).join(',') || 'not recognised';
  out.push('blkscope compare: two views of the same disk');
  out.push(`  guest: ${neutralize(guest.file)} (${neutralize(fmt(guest))}; ${guest.requests.length} requests)`);
  out.push(`  host:  ${neutralize(host.file)} (${neutralize(fmt(host))}; ${host.requests.length} requests)`);
  out.push('');
  out.push(`Device pairs (matched by operation, sector and size in order; window ${v.window}):`);
  if (v.pairs.length === 0) out.push('  none: no guest device shares a sector/size sequence with a host device (try --guest-dev/--host-dev)');
  for (const p of v.pairs) {
    out.push(`  guest ${neutralize(p.guest)} <-> host ${neutralize(p.host)}: ${p.matched} matched (guest ${p.guestRequests}, host ${p.hostRequests} requests${p.chosen === 'user' ? ', chosen by the user' : ''})`);
  }
  const perDev = (side: 'guest' | 'host', d: string) => v.rows.filter((r) => r.where === 'unpaired-device' && r[side]?.device === d).length;
  if (v.unpaired.guest.length) out.push(`  guest devices with no host counterpart: ${v.unpaired.guest.map((d) => `${neutralize(d)} (${perDev('guest', d)} requests)`).join(', ')}`);
  if (v.unpaired.host.length) out.push(`  host devices with no guest counterpart: ${v.unpaired.host.map((d) => `${neutralize(d)} (${perDev('host', d)} requests)`).join(', ')}`);
  out.push('');
  const c = v.counts;
  const how: string[] = [];
  if (c.range) how.push(`${c.range} by range only: the op is named differently on each side`);
  if (c.op) how.push(`${c.op} by op only: the range is not traced on one side`);
  out.push(`Matched: ${c.matched}${how.length ? ` (${how.join('; ')})` : ''}`);
  const oneSided = v.rows.filter((r) => r.where);
  const listed = oneSided.filter((r) => r.where !== 'unpaired-device');
  const tally = (side: 'guest' | 'host') => {
    const t: Record<string, number> = {};
    for (const r of oneSided) if (r[side]) t[r.where!] = (t[r.where!] ?? 0) + 1;
    return Object.entries(t)
      .map(([k, n]) => `${n} ${WHERE[k]}`)
      .join(', ');
  };
  out.push(`Guest only: ${c.guestOnly}${c.guestOnly ? ` (${tally('guest')})` : ''}`);
  out.push(`Host only: ${c.hostOnly}${c.hostOnly ? ` (${tally('host')})` : ''}`);
  if (v.hostIo.length) {
    out.push(`Host block I/O outside any virtio request (QEMU's own, never seen by the guest): ${v.hostIo.length}`);
    for (const x of v.hostIo.slice(0, 10)) {
      out.push(`  ${neutralize(host.file)}${x.line !== undefined ? ':' + x.line : ''}: ${neutralize(x.ev)} offset ${x.offset ?? '?'} bytes ${x.bytes ?? '?'} flags 0x${(x.flags ?? 0).toString(16)}`);
    }
  }
  if (v.overhead) {
    const o = v.overhead;
    out.push(`Guest latency minus QEMU's pop-to-fill time (${o.n} matched data requests): median ${ms(o.median)} ms, p90 ${ms(o.p90)} ms, max ${ms(o.max)} ms`);
  }
  out.push('');
  const header = `  ${'guest: request'.padEnd(24)} ${'D2C ms'.padStart(9)} ${'state'.padEnd(9)} ${'line'.padStart(7)} | ${'host: request'.padEnd(24)} ${'pop-fill'.padStart(9)} ${'state'.padEnd(9)} ${'line'.padStart(7)}`;
  if (listed.length) {
    out.push('One-sided requests (of the paired devices):');
    out.push(header);
    for (const r of listed.slice(0, 200)) out.push(rowLine(r));
    if (listed.length > 200) out.push(`  … ${listed.length - 200} more (use --json)`);
    out.push('');
  }
  const max = opts.all ? Infinity : (opts.maxRows ?? 40);
  if (max > 0) {
    out.push(opts.all ? 'All requests, side by side (host order):' : `Requests side by side (host order; first ${max}, --all for every one):`);
    out.push(header);
    let shown = 0;
    for (const r of v.rows) {
      if (shown >= max) break;
      if (r.marker) out.push(`  -- ${neutralizeCut(r.marker, 100)}`);
      out.push(rowLine(r));
      shown++;
    }
    if (v.rows.length > shown) out.push(`  … ${v.rows.length - shown} more rows`);
  }
  return out.join('\n') + '\n';
}

export function registerCompare(program: Command, io: CliIO, state: CliState): void {
  program
    .command('compare')
    .description("put a guest trace (blktrace, blkparse, ftrace) and the host's QEMU trace of the same run side by side")
    .argument('<guest-trace>', "the guest's block trace; '-' reads standard input")
    .argument('<host-trace>', "the host's QEMU trace of the same run")
    .option('--guest-dev <maj,min>', 'guest device to compare (default: the one whose sectors match a host device best)')
    .option('--host-dev <vdev>', 'host device (VirtIODevice pointer in the QEMU trace) to compare')
    .option('--guest-format <id>', 'force the guest input format')
    .option('--host-format <id>', 'force the host input format')
    .option('--window <n>', 'how far (in requests) the two orders may differ', String(DEFAULT_WINDOW))
    .option('--max-rows <n>', 'side-by-side rows to print (one-sided ones are always listed)', '40')
    .option('--all', 'print every row side by side')
    .option('--json', 'print one JSON document')
    .option('--fail-on-missing', 'exit 1 when a request between matched ones is seen on one side only')
    .action(async (guestFile: string, hostFile: string, flags: CompareFlags) => {
      state.exitCode = await runCompare(guestFile, hostFile, flags, io);
    });
}
