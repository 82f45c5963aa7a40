// double-complete: a second completion (virtio_blk_req_complete / virtqueue_fill) for a request that
// already completed, with no pop of its element in between (SPEC virtio anomaly 9).
import type { Rule } from './types.js';
import type { Request } from '../model/types.js';
import { describeRequest } from './util.js';
import { FileIdMap, isQemuVirtio } from './double-pop.js';
import { RecentMap } from '../util/recent-map.js';

/** Completed requests remembered per input file (the most recent; see create()). */
export const MAX_DONE = 4096;

export const doubleComplete: Rule = {
  meta: {
    id: 'double-complete',
    title: 'Request completed twice',
    group: 'sequence',
    defaultSeverity: 'error',
    summary: 'A completion arrived for a virtio request that had already completed, with no new pop of its element in between.',
    families: ['virtio'],
  },
  create(ctx) {
    // Last completed request per (file, element pointer); a new pop of the pointer clears it. QEMU reuses a few
    // pointers over and over (glibc hands freed requests back); of a trace whose pointers keep changing, the last
    // MAX_DONE pointers are remembered (memory must not grow with the input).
    const done = new FileIdMap<Request | undefined, RecentMap<string, Request | undefined>>(() => new RecentMap(MAX_DONE));
    return {
      submit(req) {
        if (!isQemuVirtio(req)) return;
        const m = done.peek(req.file);
        if (m !== undefined && m.get(req.id) !== undefined) m.set(req.id, undefined);
      },
      request(req) {
        if (isQemuVirtio(req) && req.state === 'completed') done.of(req.file).set(req.id, req);
      },
      event(ev) {
        if (ev.kind !== 'orphan') return;
        const file = ev.evidence[0]?.file;
        if (file === undefined) return;
        const prev = done.peek(file)?.get(ev.id);
        if (!prev) return;
        ctx.report({
          request: prev,
          message: `${describeRequest(prev)} (element ${ev.id}) completed again${ev.status ? ` with status ${ev.status}` : ''} after it had already completed`,
          evidence: [...prev.evidence.slice(0, 6), ...ev.evidence],
          data: { id: ev.id, status: ev.status },
        });
      },
    };
  },
};
