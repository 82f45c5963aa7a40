// header-overwrite: a write into the first cluster of a qcow2 image file that is not a header update:
// guest data placed there (qcow2_writev_data / qcow2_add_task / qcow2_handle_alloc host offset), or a
// metadata table written there (file-node write right after a qcow2 cache flush or L2 allocation).
// seed-001: "overwrite the first 4kB of the disk image ... an L2 table ... writing the L2 table at that
// 0 offset, overwriting the qcow2 header". SPEC virtio anomaly 20.
import type { Rule } from './types.js';

export const headerOverwrite: Rule = {
  meta: {
    id: 'header-overwrite',
    title: 'qcow2 header overwritten',
    group: 'io',
    defaultSeverity: 'error',
    summary: 'Guest data or a metadata table was written into the first cluster of a qcow2 image file, where the header lives.',
    families: ['virtio'],
  },
  create(ctx) {
    return {
      event(ev) {
        if (ev.kind !== 'diag' || ev.code !== 'qcow2-low-write') return;
        const d = ev.data ?? {};
        const kind = d.kind;
        if (kind !== 'data' && kind !== 'metadata') return; // header updates and unknown writers
        const off = d.hostOffset as number;
        const what = kind === 'data' ? 'guest data' : `a metadata table (after ${String(d.after)})`;
        const during = typeof d.requestId === 'string' ? ` during ${String(d.requestOp)} request ${d.requestId}` : '';
        ctx.report({
          device: ev.device,
          message: `${what} written at offset ${off} of the qcow2 image file (${String(d.via)})${during}: this is the header cluster, the image is corrupted`,
          evidence: ev.evidence,
          data: d,
        });
      },
    };
  },
};
