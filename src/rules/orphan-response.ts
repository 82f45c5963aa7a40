// orphan-response: a completion for a request never seen, already answered, or of the wrong operation (SPEC xen §5 item 15).
import type { Rule } from './types.js';

export const orphanResponse: Rule = {
  meta: {
    id: 'orphan-response',
    title: 'Response without a request',
    group: 'sequence',
    defaultSeverity: 'error',
    summary: 'A response names a request id that is not in flight (never submitted or already answered), or answers with the wrong operation.',
    families: ['xen', 'virtio', 'linux-block'],
  },
  create(ctx) {
    return {
      event(ev) {
        if (ev.kind === 'orphan') {
          ctx.report({
            device: ev.device,
            message: `response for id ${ev.id}${ev.status ? ` (status ${ev.status})` : ''} matches no request in flight`,
            evidence: ev.evidence,
            data: { id: ev.id },
          });
        } else if (ev.kind === 'diag' && ev.code === 'wrong-op') {
          ctx.report({ device: ev.device, message: ev.message, evidence: ev.evidence, data: ev.data });
        }
      },
    };
  },
};
