// access-denied: the backend refused a request (read-only vbd, or a range past the end of the device).
import type { Rule } from './types.js';

export const accessDenied: Rule = {
  meta: {
    id: 'access-denied',
    title: 'Access denied by the backend',
    group: 'io',
    defaultSeverity: 'error',
    summary: 'The backend refused a read/write/discard (Linux "access denied: … of [a,b] on dev=…"): read-only device or range past its end.',
    families: ['xen'],
  },
  create(ctx) {
    return {
      event(ev) {
        if (ev.kind !== 'diag' || ev.code !== 'access-denied') return;
        ctx.report({ device: ev.device, message: ev.message, evidence: ev.evidence, data: ev.data });
      },
    };
  },
};
