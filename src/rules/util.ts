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

/** A request's stream: its input file and device (checks keep per-stream state). */
export function streamKey(req: Request): string {
  return `${req.file}\u0000${req.device ?? ''}`;
}

/**
 * streamKey with the last answer cached: consecutive requests nearly always share a stream, so most of them
 * build no `file\0device` string (the check's cost per request would otherwise be mostly that string).
 */
export function cachedStreamKey(): (req: Request) => string {
  let file: string | undefined;
  let device: string | undefined;
  let key: string | undefined;
  return (req) => {
    if (key === undefined || req.file !== file || req.device !== device) {
      file = req.file;
      device = req.device;
      key = streamKey(req);
    }
    return key;
  };
}
