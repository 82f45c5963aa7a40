// never-completed: a request with no completion by the end of the trace, or still in flight at a reset/kill.
// Applies where completions are logged: the request says so (expectsCompletion) or its stream logged some.
import type { Rule } from './types.js';
import type { Request } from '../model/types.js';
import { describeRequest } from './util.js';

function stream(req: Request): string {
  return `${req.file}\u0000${req.device ?? ''}`;
}

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
    // Streams (file, device) that logged at least one completion. The last one is cached: most requests
    // come from the stream before them, and building a `file\0device` key per request is most of this check.
    const completedStreams = new Set<string>();
    let lastFile: string | undefined;
    let lastDevice: string | undefined;
    const flagged = new Set<string>();
    const applies = (req: Request) => req.expectsCompletion === true || (req.expectsCompletion !== false && completedStreams.has(stream(req)));
    return {
      // In-flight requests are the model's own table (ctx.inflight()): no submit hook, no second Map.
      request(req) {
        if (req.state !== 'completed' || req.expectsCompletion === false) return;
        if (req.file === lastFile && req.device === lastDevice) return;
        lastFile = req.file;
        lastDevice = req.device;
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
