// double-pop: a virtqueue element popped again while the request it carries is still in flight
// (QEMU reuses VirtIOBlockReq pointers only after a request completes; SPEC virtio anomaly 8).
import type { Rule } from './types.js';
import type { Request } from '../model/types.js';
import { describeRequest } from './util.js';

/** Requests rebuilt from QEMU virtqueue events (log backend, simpletrace...). */
export function isQemuVirtio(req: Request): boolean {
  return req.format.startsWith('qemu');
}

export const doublePop: Rule = {
  meta: {
    id: 'double-pop',
    title: 'Element popped twice',
    group: 'sequence',
    defaultSeverity: 'error',
    summary: 'A virtqueue element (QEMU request pointer) was popped again while the request it carried had not completed: use after free or a lost completion.',
    families: ['virtio'],
  },
  create(ctx) {
    const open = new Map<string, Request>();
    const k = (req: Request) => `${req.file}\u0000${req.id}`;
    return {
      submit(req) {
        if (!isQemuVirtio(req)) return;
        const key = k(req);
        const prev = open.get(key);
        if (prev && prev.state === 'inflight') {
          ctx.report({
            request: req,
            message: `element ${req.id} popped again while ${describeRequest(prev)} (popped earlier) was still in flight`,
            evidence: [...prev.evidence.slice(0, 4), ...req.evidence.slice(0, 4)],
            data: { previousKey: prev.key, previousOp: prev.op, previousSector: prev.sector },
          });
        }
        open.set(key, req);
      },
      request(req) {
        if (!isQemuVirtio(req)) return;
        const key = k(req);
        if (open.get(key) === req) open.delete(key);
      },
      event(ev) {
        // A device reset drops the device's elements: popping them again afterwards is legitimate.
        if (ev.kind !== 'reset' || ev.reason === 'stop') return;
        for (const [key, req] of open) if (ev.device === undefined || req.device === ev.device) open.delete(key);
      },
    };
  },
};
