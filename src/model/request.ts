// One place that builds a Request with its defaults (parsers fill in the rest).
import type { Request } from './types.js';

export function newRequest(init: Pick<Request, 'key' | 'id' | 'format' | 'file'> & Partial<Request>): Request {
  return {
    seq: 0,
    op: 'unknown',
    sector: 0,
    sectors: 0,
    bytes: 0,
    segments: [],
    state: 'inflight',
    evidence: [],
    ...init,
  };
}
