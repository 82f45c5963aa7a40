// One place that builds a Request with its defaults (parsers fill in the rest). A fixed literal shape: no
// object spread on this hot path.
import type { Request } from './types.js';

type Init = Pick<Request, 'key' | 'id' | 'format' | 'file'> &
  Partial<Pick<Request, 'op' | 'sector' | 'sectors' | 'bytes' | 'segments' | 'state' | 'evidence' | 'expectsCompletion' | 'info'>>;

export function newRequest(init: Init): Request {
  const r: Request = {
    key: init.key,
    id: init.id,
    format: init.format,
    file: init.file,
    seq: 0,
    op: init.op ?? 'unknown',
    sector: init.sector ?? 0,
    sectors: init.sectors ?? 0,
    bytes: init.bytes ?? 0,
    segments: init.segments ?? [],
    state: init.state ?? 'inflight',
    evidence: init.evidence ?? [],
  };
  if (init.expectsCompletion !== undefined) r.expectsCompletion = init.expectsCompletion;
  if (init.info !== undefined) r.info = init.info;
  return r;
}
