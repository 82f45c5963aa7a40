// repeated-frame: one frame/grant named by two or more segments of one request (SPEC xen §5 item 4).
import type { Rule } from './types.js';
import { computeImpact, describeImpact, pageKey } from '../model/impact.js';
import { describeRequest, hasXenSegments, modelOf } from './util.js';

/** Cheap first pass (no allocation): does any page key occur twice? */
function anyRepeat(req: { segments: { frame?: string; gref?: number; addr?: string }[] }): boolean {
  const s = req.segments;
  for (let i = 1; i < s.length; i++) {
    for (let j = 0; j < i; j++) {
      if (s[i]!.frame !== undefined ? s[i]!.frame === s[j]!.frame : s[i]!.gref !== undefined && s[i]!.gref === s[j]!.gref) return true;
    }
  }
  return false;
}

export const repeatedFrame: Rule = {
  meta: {
    id: 'repeated-frame',
    title: 'Repeated frame in one request',
    group: 'layout',
    defaultSeverity: 'error',
    summary: 'A frame or grant appears in two or more segments of one request.',
    families: ['xen'],
  },
  create(ctx) {
    return {
      request(req) {
        if (!hasXenSegments(req) || req.segments.length < 2 || !anyRepeat(req)) return;
        const byPage = new Map<string, number[]>();
        req.segments.forEach((s, i) => {
          const k = pageKey(s);
          const list = byPage.get(k);
          if (list) list.push(i);
          else byPage.set(k, [i]);
        });
        const model = modelOf(req, ctx.options);
        let impact: ReturnType<typeof computeImpact> | undefined;
        for (const [page, idx] of byPage) {
          if (idx.length < 2) continue;
          // Do the sector ranges of the repeated segments overlap (the same memory used twice)?
          const used = new Set<number>();
          let overlap = false;
          for (const i of idx) {
            const s = req.segments[i]!;
            for (let k = s.firstSect ?? 0; k <= (s.lastSect ?? -1); k++) {
              if (used.has(k)) overlap = true;
              used.add(k);
            }
          }
          impact ??= computeImpact(req, model);
          // Issue/spec: disjoint ranges are an error under 'window', info under 'per-segment'; overlap is always an error.
          const severity = overlap || model === 'window' ? 'error' : 'info';
          const effect = overlap
            ? `the same memory is used twice${req.op === 'write' ? ': disk blocks become copies of each other' : ''}`
            : model === 'window'
              ? describeImpact(impact)[0] ?? 'the backend maps one page per segment and transfers contiguously'
              : 'legal for a backend that maps each segment on its own';
          ctx.report({
            severity,
            request: req,
            message: `${page} appears in ${idx.length} segments (${idx.join(', ')}) of ${describeRequest(req)}${overlap ? ' with overlapping sectors' : ''}; ${model} model: ${effect}`,
            impact,
            data: { frame: page, count: idx.length, segments: idx, overlap, model },
          });
        }
      },
    };
  },
};
