// Small helpers shared by checks.
import type { BackendModel, Request } from '../model/types.js';
import type { AnalyzeOptions } from '../model/types.js';

/** The mapping model that applies to a request: --backend-model, else the format's. */
export function modelOf(req: Request, options: AnalyzeOptions): BackendModel {
  return options.backendModel ?? req.backendModel ?? 'per-segment';
}

/** "read at sector 1 (11 sectors, 5632 bytes)" */
export function describeRequest(req: Request): string {
  const dev = req.device ? `${req.device} ` : '';
  return `${dev}${req.op} at sector ${req.sector} (${req.sectors} sectors, ${req.bytes} bytes)`;
}

/** Xen-style segments only (frame/gref + first/last sector). */
export function hasXenSegments(req: Request): boolean {
  return req.segments.some((s) => s.firstSect !== undefined);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
