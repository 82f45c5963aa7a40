// size-mismatch: the size the input states disagrees with the segments (SPEC xen §5 item 6; virtio fill length).
import type { Rule } from './types.js';
import { describeRequest } from './util.js';

export const sizeMismatch: Rule = {
  meta: {
    id: 'size-mismatch',
    title: 'Logged size does not match the segments',
    group: 'layout',
    defaultSeverity: 'error',
    summary: 'A size or offset the input logs disagrees with the sum of the segments (or the sectors requested).',
    families: ['xen', 'virtio'],
  },
  create(ctx) {
    return {
      request(req) {
        if (req.loggedBytes !== undefined && req.loggedBytes !== req.bytes) {
          ctx.report({
            request: req,
            message: `${describeRequest(req)}: the input logs ${req.loggedBytes} bytes but the segments add up to ${req.bytes}`,
            data: { logged: req.loggedBytes, segments: req.bytes },
          });
        }
        const s0 = req.segments[0];
        if (req.loggedStartOffset !== undefined && s0?.firstSect !== undefined && req.loggedStartOffset !== s0.firstSect * 512) {
          ctx.report({
            request: req,
            message: `${describeRequest(req)}: the backend starts the transfer at byte ${req.loggedStartOffset} but segment 0 starts at sector ${s0.firstSect} (byte ${s0.firstSect * 512})`,
            data: { loggedStart: req.loggedStartOffset, expected: s0.firstSect * 512 },
          });
        }
        const jumps = req.info?.startSectorJumps as number[] | undefined;
        if (jumps?.length) {
          ctx.report({
            severity: 'warning',
            request: req,
            message: `${describeRequest(req)}: "start sect" does not advance by the previous segment's size at segment(s) ${jumps.join(', ')}`,
            data: { segments: jumps },
          });
        }
      },
    };
  },
};
