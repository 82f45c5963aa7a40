// misaligned: a request not aligned to the device's logical block size (Linux blkback "Misaligned I/O request";
// for traces, --block-size, default 512: (sector | sectors) & (block/512 - 1) != 0).
import type { Rule } from './types.js';
import { describeRequest } from './util.js';

export const misaligned: Rule = {
  meta: {
    id: 'misaligned',
    title: 'Misaligned request',
    group: 'layout',
    defaultSeverity: 'error',
    summary: 'A request whose start or length is not a multiple of the logical block size (--block-size), or that the backend rejected as misaligned.',
    families: ['xen', 'virtio', 'linux-block'],
  },
  create(ctx) {
    const block = ctx.options.blockSize ?? 512;
    const spb = Math.max(1, Math.floor(block / 512));
    return {
      submit(req) {
        if (spb <= 1 || req.sectors === 0) return;
        if (req.sector % spb !== 0 || req.sectors % spb !== 0) {
          ctx.report({
            severity: 'warning',
            request: req,
            message: `${describeRequest(req)} is not aligned to the ${block}-byte block size`,
            data: { blockSize: block },
          });
        }
      },
      event(ev) {
        if (ev.kind !== 'diag' || ev.code !== 'misaligned') return;
        ctx.report({ device: ev.device, message: ev.message, evidence: ev.evidence, data: ev.data });
      },
    };
  },
};
