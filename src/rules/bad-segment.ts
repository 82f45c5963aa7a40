// bad-segment: a segment whose sector range is impossible (SPEC xen §5 items 1-3).
import type { Rule } from './types.js';
import { describeRequest, hasXenSegments } from './util.js';

export const badSegment: Rule = {
  meta: {
    id: 'bad-segment',
    title: 'Impossible segment',
    group: 'malformed',
    defaultSeverity: 'error',
    summary: 'A segment with first sector > last sector, or a sector beyond its 4 KiB page.',
    families: ['xen'],
  },
  create(ctx) {
    return {
      request(req) {
        if (!hasXenSegments(req)) return;
        const bad: string[] = [];
        req.segments.forEach((s, i) => {
          const f = s.firstSect ?? 0;
          const l = s.lastSect ?? 0;
          if (f > l) bad.push(`segment ${i}: first ${f} > last ${l}`);
          if (f > 7 || l > 7) bad.push(`segment ${i}: sectors ${f}-${l} beyond the 8 sectors of a 4 KiB page`);
        });
        if (bad.length) ctx.report({ request: req, message: `${describeRequest(req)}: ${bad.join('; ')}`, data: { problems: bad } });
        const high = req.info?.fasHighBits as number[] | undefined;
        if (high?.length) {
          ctx.report({
            severity: 'warning',
            request: req,
            message: `${describeRequest(req)}: frame_and_sects of segment(s) ${high.join(', ')} set bits 6-11, which the Xen 2.0 encoding keeps zero; the log may use the 5-bit/grant encoding`,
            data: { segments: high },
          });
        }
      },
      event(ev) {
        if (ev.kind !== 'diag' || (ev.code !== 'negative-size' && ev.code !== 'invalid-segment-sectors')) return;
        ctx.report({ device: ev.device, message: `backend: ${ev.message}`, evidence: ev.evidence, data: ev.data });
      },
    };
  },
};
