// ring-index-regression: a free-running ring index went backwards, or the printed masked index disagrees
// (SPEC xen §5 items 13-14). Indices are 32-bit and wrap: compare with (int32)(new - old) < 0.
import type { Rule } from './types.js';
import type { RingState } from '../model/types.js';

const FIELDS: [keyof RingState, string][] = [
  ['reqCons', 'req_cons'],
  ['reqProd', 'req_prod'],
  ['rspProd', 'resp_prod'],
];

export const ringIndexRegression: Rule = {
  meta: {
    id: 'ring-index-regression',
    title: 'Ring index went backwards',
    group: 'ring',
    defaultSeverity: 'error',
    summary: 'A ring producer/consumer index decreased between two snapshots, the consumer passed the producer, or a masked index is inconsistent.',
    families: ['xen'],
  },
  create(ctx) {
    const last = new Map<string, RingState>();
    return {
      event(ev) {
        if (ev.kind !== 'ring') return;
        const r = ev.ring;
        const prev = last.get(ev.stream);
        last.set(ev.stream, r);
        if (prev) {
          for (const [k, name] of FIELDS) {
            const a = prev[k];
            const b = r[k];
            if (a === undefined || b === undefined) continue;
            if (((b - a) | 0) < 0) {
              ctx.report({
                device: ev.device,
                message: `${name} went backwards from 0x${a.toString(16)} to 0x${b.toString(16)}`,
                evidence: ev.evidence,
                data: { index: name, from: a, to: b },
              });
            }
          }
        }
        if (r.reqCons !== undefined && r.reqProd !== undefined && ((r.reqProd - r.reqCons) | 0) < 0) {
          ctx.report({
            device: ev.device,
            message: `req_cons 0x${r.reqCons.toString(16)} is past req_prod 0x${r.reqProd.toString(16)}: the backend consumed requests the frontend never published`,
            evidence: ev.evidence,
            data: { reqCons: r.reqCons, reqProd: r.reqProd },
          });
        }
        const size = ctx.options.ringSize ?? r.ringSize;
        if (size) {
          const mask = size - 1;
          const bad: string[] = [];
          if (r.reqProdMasked !== undefined && r.reqProd !== undefined && r.reqProdMasked !== (r.reqProd & mask)) bad.push(`req_prod 0x${r.reqProd.toString(16)}/0x${r.reqProdMasked.toString(16)}`);
          if (r.rspProdMasked !== undefined && r.rspProd !== undefined && r.rspProdMasked !== (r.rspProd & mask)) bad.push(`resp_prod 0x${r.rspProd.toString(16)}/0x${r.rspProdMasked.toString(16)}`);
          if (bad.length) {
            ctx.report({
              severity: 'warning',
              device: ev.device,
              message: `masked ring index does not equal index & ${mask} (${bad.join(', ')}): the ring size is not ${size} or the line is corrupt`,
              evidence: ev.evidence,
              data: { ringSize: size },
            });
          }
        }
      },
    };
  },
};
