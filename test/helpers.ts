// Test helpers: run the real pipeline or the real CLI on real inputs and collect what comes out.
import { Readable } from 'node:stream';
import { analyze, type AnalysisResult } from '../src/analyze.js';
import { bufferSource, fileSource, type InputSource } from '../src/input/sources.js';
import type { AnalyzeOptions, Request } from '../src/model/types.js';
import { main } from '../src/cli/main.js';

export interface Collected extends AnalysisResult {
  requests: Request[];
}

export async function analyzeSources(sources: InputSource[], options: AnalyzeOptions = {}): Promise<Collected> {
  const requests: Request[] = [];
  const result = await analyze(sources, { options, sink: { request: (r) => requests.push(r) } });
  requests.sort((a, b) => a.seq - b.seq);
  return { ...result, requests };
}

export function analyzeText(text: string | Buffer, options: AnalyzeOptions = {}, name = 'input.log'): Promise<Collected> {
  return analyzeSources([bufferSource(name, text, 4096)], options);
}

export function analyzeFiles(files: string[], options: AnalyzeOptions = {}): Promise<Collected> {
  return analyzeSources(files.map((f) => fileSource(f)), options);
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], stdin: string | Buffer = ''): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    stdin: Readable.from([typeof stdin === 'string' ? Buffer.from(stdin) : stdin]),
    isTTY: false,
  });
  return { code, stdout, stderr };
}

/** Findings as [rule, severity] counts, order-free. */
export function tally(findings: { rule: string; severity: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of findings) {
    const k = `${f.rule}/${f.severity}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Requests without evidence/keys, for comparing the same log pasted in different shapes. */
export function shape(reqs: Request[]): unknown[] {
  return reqs.map((r) => ({ id: r.id, op: r.op, sector: r.sector, sectors: r.sectors, bytes: r.bytes, device: r.device, segments: r.segments, status: r.status, state: r.state }));
}
