// noncontiguous-merge: a merged batch (QEMU virtio_blk_submit_multireq) whose member requests do not form
// one contiguous run of sectors, or whose size/offset disagree with its members (SPEC virtio anomaly 6).
// QEMU merges only requests with sector_num + nb_sectors == next sector_num after sorting
// (hw/block/virtio-blk.c virtio_blk_submit_multireq), so a violation means a patched QEMU or a broken trace.
import type { Rule } from './types.js';
import type { Request } from '../model/types.js';

interface MergeInfo {
  batch: string;
  index: number;
  numReqs: number;
  offset: number;
  size: number;
  found: number;
}

function mergeOf(req: Request): MergeInfo | undefined {
  const m = req.info?.merge as MergeInfo | undefined;
  return m && typeof m.batch === 'string' ? m : undefined;
}

export const noncontiguousMerge: Rule = {
  meta: {
    id: 'noncontiguous-merge',
    title: 'Merged batch not contiguous',
    group: 'layout',
    defaultSeverity: 'error',
    summary: 'A batch of requests merged into one host I/O does not cover one contiguous sector range, or its logged offset/size disagree with its members.',
    families: ['virtio'],
  },
  create(ctx) {
    const batches = new Map<string, { info: MergeInfo; members: Request[] }>();
    const check = (b: { info: MergeInfo; members: Request[] }) => {
      const m = [...b.members].sort((x, y) => x.sector - y.sector);
      const problems: string[] = [];
      if (b.info.found !== b.info.numReqs) problems.push(`${b.info.numReqs} requests logged but ${b.info.found} found`);
      for (let i = 1; i < m.length; i++) {
        const p = m[i - 1]!;
        const c = m[i]!;
        if (p.sector + p.sectors !== c.sector) problems.push(`gap or overlap between sectors ${p.sector}+${p.sectors} and ${c.sector}+${c.sectors}`);
        if (p.op !== c.op) problems.push(`mixes ${p.op} and ${c.op}`);
      }
      const total = m.reduce((s, r) => s + r.bytes, 0);
      if (total !== b.info.size) problems.push(`members add up to ${total} bytes but the batch size is ${b.info.size}`);
      if (m[0] && m[0].sector * 512 !== b.info.offset) problems.push(`batch offset ${b.info.offset} is not the first member's sector ${m[0].sector} × 512`);
      if (problems.length === 0) return;
      ctx.report({
        request: m[0],
        message: `merged batch of ${m.length} requests is inconsistent: ${problems.join('; ')}`,
        evidence: m.flatMap((r) => r.evidence.slice(0, 3)).slice(0, 16),
        data: { batch: b.info.batch, offset: b.info.offset, size: b.info.size, members: m.map((r) => [r.sector, r.sectors]) },
      });
    };
    return {
      request(req) {
        const info = mergeOf(req);
        if (!info) return;
        let b = batches.get(info.batch);
        if (!b) batches.set(info.batch, (b = { info, members: [] }));
        b.members.push(req);
        if (b.members.length >= Math.max(1, info.found)) {
          batches.delete(info.batch);
          check(b);
        }
      },
      end() {
        for (const b of batches.values()) check(b);
        batches.clear();
      },
    };
  },
};
