// sg-hole: the segment layout is not one contiguous run of memory (SPEC xen §5 item 5).
import type { Rule } from './types.js';
import { computeImpact, describeImpact } from '../model/impact.js';
import { holeSegments } from '../model/segmap.js';
import { describeRequest, hasXenSegments, modelOf } from './util.js';

export const sgHole: Rule = {
  meta: {
    id: 'sg-hole',
    title: 'Hole in the segment layout',
    group: 'layout',
    defaultSeverity: 'error',
    summary: 'A non-final segment does not end at the page end, or a non-first segment does not start at the page start.',
    families: ['xen'],
  },
  create(ctx) {
    return {
      request(req) {
        if (!hasXenSegments(req) || req.segments.length < 2) return;
        const holes = holeSegments(req);
        if (holes.length === 0) return;
        const model = modelOf(req, ctx.options);
        const impact = computeImpact(req, model);
        const hurt = impact.misdirected.length > 0 || impact.untouched.length > 0;
        const severity = model === 'window' ? (hurt ? 'error' : 'warning') : 'info';
        const first = describeImpact(impact)[0];
        ctx.report({
          severity,
          request: req,
          message:
            `${describeRequest(req)} has ${holes.length} segment(s) off the page boundaries (${holes.join(', ')}); ` +
            (model === 'window'
              ? hurt
                ? `window model: ${first}`
                : 'window model: the layout happens to land right'
              : `${model} model: the backend maps or splits each segment, so the hole is safe`),
          impact,
          data: { segments: holes, model },
        });
      },
    };
  },
};
