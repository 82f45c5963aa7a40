// never-completed: a request with no completion by the end of the trace, or still in flight at a reset/kill.
// Applies where completions are logged: the request says so (expectsCompletion) or its stream logged some.
import type { Rule } from './types.js';
import type { Request } from '../model/types.js';
import { cachedStreamKey, describeRequest } from './util.js';

export const neverCompleted: Rule = {
  meta: {
    id: 'never-completed',
    title: 'Request never completed',
    group: 'sequence',
    defaultSeverity: 'warning',
    summary: 'A request was submitted but no completion followed before the trace ended (warning) or before a reset or kill (error).',
    families: ['xen', 'virtio', 'linux-block'],
  },
  create(ctx) {
    // Streams (file, device) that logged at least one completion.
    const completedStreams = new Set<string>();
    const stream = cachedStreamKey();
    const flagged = new Set<string>();
    const applies = (req: Request) => req.expectsCompletion === true || (req.expectsCompletion !== false && completedStreams.has(stream(req)));
    return {
      // In-flight requests are the model's own table (ctx.inflight()): no submit hook, no second Map.
      request(req) {
        if (req.state !== 'completed' || req.expectsCompletion === false) return;
        completedStreams.add(stream(req));
      },
      event(ev) {
        if (ev.kind !== 'reset') return;
        for (const req of ctx.inflight()) {
          if (ev.device !== undefined && req.device !== ev.device) continue;
          if (!applies(req) || flagged.has(req.key)) continue;
          flagged.add(req.key);
          ctx.report({
            severity: 'error',
            request: req,
            message: `${describeRequest(req)} was still in flight at a ${ev.reason === 'kill' ? 'kill' : ev.reason === 'stop' ? 'dataplane stop' : ev.reason === 'exit' ? 'exit' : 'device reset'}${req.op === 'write' ? ': the write may be lost' : ''}`,
            evidence: [...req.evidence.slice(0, 8), ...ev.evidence],
            data: { at: ev.reason },
          });
        }
      },
      end(left) {
        for (const req of left) {
          if (!applies(req) || flagged.has(req.key)) continue;
          flagged.add(req.key);
          ctx.report({
            request: req,
            message: `${describeRequest(req)} never completed before the trace ended${req.op === 'write' ? ': the write may be lost' : ''}`,
            data: { at: 'end' },
          });
        }
      },
    };
  },
};
