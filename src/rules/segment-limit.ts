// segment-limit: more segments than a direct request may carry (BLKIF_MAX_SEGMENTS_PER_REQUEST 11), or none.
import type { Rule } from './types.js';
import { describeRequest, hasXenSegments } from './util.js';

const MAX = 11;

export const segmentLimit: Rule = {
  meta: {
    id: 'segment-limit',
    title: 'Segment count out of range',
    group: 'malformed',
    defaultSeverity: 'error',
    summary: 'More than 11 segments without an indirect request, or a read/write with none (Linux "Bad number of segments").',
    families: ['xen'],
  },
  create(ctx) {
    return {
      request(req) {
        if (!hasXenSegments(req) && req.nrSegments === undefined) return;
        const n = req.nrSegments ?? req.segments.length;
        if (n > MAX && req.op !== 'indirect') {
          ctx.report({ request: req, message: `${describeRequest(req)} carries ${n} segments; a direct blkif request holds at most ${MAX}`, data: { n, max: MAX } });
        } else if (n === 0 && (req.op === 'read' || req.op === 'write') && req.nrSegments === 0) {
          ctx.report({ request: req, message: `${describeRequest(req)} carries no segment`, data: { n, max: MAX } });
        }
      },
      event(ev) {
        if (ev.kind !== 'diag' || ev.code !== 'bad-nseg') return;
        ctx.report({ device: ev.device, message: `backend: ${ev.message}`, evidence: ev.evidence, data: ev.data });
      },
    };
  },
};
