// Run the real pipeline on ring dumps and collect requests, findings, diagnostics, ring events and skips.
import { analyze } from '../../src/analyze.js';
import { bufferSource, fileSource, type InputSource } from '../../src/input/sources.js';
import type { AnalyzeOptions, ParsedEvent, Request } from '../../src/model/types.js';

export type Diag = Extract<ParsedEvent, { kind: 'diag' }>;
export type RingEv = Extract<ParsedEvent, { kind: 'ring' }>;

export interface RingRun {
  requests: Request[];
  findings: { rule: string; severity: string; requestKey?: string; data?: Record<string, unknown>; message: string }[];
  diags: Diag[];
  rings: RingEv[];
  skipped: number;
  reasons: string[];
  skippedAt: { line?: number; offset?: number }[];
  formats: string[];
  errors: string[];
}

export async function runSource(src: InputSource, options: AnalyzeOptions = {}): Promise<RingRun> {
  const requests: Request[] = [];
  const diags: Diag[] = [];
  const rings: RingEv[] = [];
  const r = await analyze([src], {
    options,
    sink: {
      request: (q) => requests.push(q),
      event: (ev) => {
        if (ev.kind === 'diag') diags.push(ev);
        else if (ev.kind === 'ring') rings.push(ev);
      },
    },
  });
  requests.sort((a, b) => a.seq - b.seq);
  const i = r.inputs[0]!;
  return {
    requests,
    findings: r.model.findings,
    diags,
    rings,
    skipped: i.skipped,
    reasons: i.skippedSamples.map((s) => s.reason),
    skippedAt: i.skippedSamples.map((s) => ({ line: s.evidence.line, offset: s.evidence.offset })),
    formats: i.formats,
    errors: r.errors,
  };
}

export const runFile = (path: string, options: AnalyzeOptions = {}) => runSource(fileSource(path), options);
export const runBytes = (data: Buffer | string, options: AnalyzeOptions = {}, name = 'ring.bin') =>
  runSource(bufferSource(name, data, 4096), options);

export function tally(findings: { rule: string; severity: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of findings) out[`${f.rule}/${f.severity}`] = (out[`${f.rule}/${f.severity}`] ?? 0) + 1;
  return out;
}

export function diag(run: RingRun, code: string): Diag[] {
  return run.diags.filter((d) => d.code === code);
}

/** Requests without keys/evidence/format (to compare a binary dump with its text rendering). */
export function shape(reqs: Request[]): unknown[] {
  return reqs.map((r) => ({ id: r.id, op: r.op, sector: r.sector, sectors: r.sectors, device: r.device, segments: r.segments, nrSegments: r.nrSegments, backendModel: r.backendModel, info: r.info }));
}

/** `xxd` rendering (as in samples/xen-ring/make.mjs, checked there against the real tool). */
export function xxd(buf: Buffer): string {
  const out: string[] = [];
  for (let off = 0; off < buf.length; off += 16) {
    const row = buf.subarray(off, off + 16);
    let hex = '';
    for (let i = 0; i < 16; i++) {
      hex += i < row.length ? row[i]!.toString(16).padStart(2, '0') : '  ';
      if (i % 2 === 1 && i < 15) hex += ' ';
    }
    const ascii = [...row].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');
    out.push(`${off.toString(16).padStart(8, '0')}: ${hex}  ${ascii}`);
  }
  return out.join('\n') + '\n';
}

/** A deterministic pseudo-random buffer (xorshift32). */
export function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** `xxd -g <group> -c <cols>` rendering (group 0 = no grouping). */
export function xxdGrouped(buf: Buffer, group: number, cols: number): string {
  const out: string[] = [];
  for (let off = 0; off < buf.length; off += cols) {
    const row = [...buf.subarray(off, off + cols)].map((c) => c.toString(16).padStart(2, '0'));
    const groups: string[] = [];
    const g = group === 0 ? cols : group;
    for (let i = 0; i < row.length; i += g) groups.push(row.slice(i, i + g).join(''));
    const ascii = [...buf.subarray(off, off + cols)].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');
    out.push(`${off.toString(16).padStart(8, '0')}: ${groups.join(' ')}  ${ascii}`);
  }
  return out.join('\n') + '\n';
}
