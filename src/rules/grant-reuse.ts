// grant-reuse: the same grant reference in two requests in flight (SPEC xen §5 item 19), seen in a ring dump
// or reported by Linux blkback's persistent-grant code ("requesting a grant already in use").
import type { Rule } from './types.js';

export const grantReuse: Rule = {
  meta: {
    id: 'grant-reuse',
    title: 'Grant in use twice',
    group: 'layout',
    defaultSeverity: 'error',
    summary: 'One grant reference is used by two requests in flight, or a persistent grant is reused while still active.',
    families: ['xen'],
  },
  create(ctx) {
    return {
      event(ev) {
        if (ev.kind !== 'diag' || ev.code !== 'grant-reuse') return;
        ctx.report({ device: ev.device, message: ev.message, evidence: ev.evidence, data: ev.data });
      },
    };
  },
};
