// ring-overflow: more requests outstanding than the ring holds (SPEC xen §3.4, §5 items 12 and 18).
import type { Rule } from './types.js';

export const ringOverflow: Rule = {
  meta: {
    id: 'ring-overflow',
    title: 'Ring overflow',
    group: 'ring',
    defaultSeverity: 'error',
    summary: 'req_prod - rsp_prod exceeds the ring size (Linux "Frontend provided bogus ring requests", blkfront "illegal number of responses").',
    families: ['xen'],
  },
  create(ctx) {
    return {
      event(ev) {
        if (ev.kind === 'ring') {
          const r = ev.ring;
          if (r.reqProd === undefined || r.rspProd === undefined) return;
          const size = ctx.options.ringSize ?? r.ringSize;
          if (!size) return;
          const outstanding = (r.reqProd - r.rspProd) >>> 0;
          if (outstanding > size) {
            ctx.report({
              device: ev.device,
              message: `req_prod 0x${r.reqProd.toString(16)} - resp_prod 0x${r.rspProd.toString(16)} = ${outstanding} requests outstanding on a ${size}-entry ring`,
              evidence: ev.evidence,
              data: { outstanding, ringSize: size, reqProd: r.reqProd, rspProd: r.rspProd },
            });
          }
        } else if (ev.kind === 'diag' && ev.code === 'bogus-ring') {
          ctx.report({ device: ev.device, message: ev.message, evidence: ev.evidence, data: ev.data });
        }
      },
    };
  },
};
