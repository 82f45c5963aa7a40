// requeue-storm: a Linux block request sent back to the queue again and again (blktrace/blkparse R,
// ftrace block_rq_requeue). One finding per request requeued REQUEST_LIMIT times or more, and one per
// device when DEVICE_LIMIT requeues fall within WINDOW seconds (the driver keeps refusing requests).
// Reads req.info.requeues (set by the linux-block assembler) and its 'blk-requeue' diag events.
import type { Rule } from './types.js';
import type { Evidence } from '../model/types.js';
import { describeRequest, plural } from './util.js';

/** Requeues of one request that make a finding. */
export const REQUEST_LIMIT = 3;
/** Requeues on one device within WINDOW seconds that make a device finding. */
export const DEVICE_LIMIT = 32;
export const WINDOW = 1;

interface DevWindow {
  times: number[];
  evidence: Evidence[];
  reported: boolean;
  total: number;
}

export const requeueStorm: Rule = {
  meta: {
    id: 'requeue-storm',
    title: 'Requeue storm',
    group: 'io',
    defaultSeverity: 'warning',
    summary: `A block request was requeued ${REQUEST_LIMIT} or more times, or a device requeued ${DEVICE_LIMIT} or more requests within ${WINDOW} s: the driver or device keeps refusing I/O.`,
    families: ['linux-block'],
  },
  create(ctx) {
    const devs = new Map<string, DevWindow>();
    return {
      event(ev) {
        if (ev.kind !== 'diag' || ev.code !== 'blk-requeue') return;
        const dev = ev.device ?? '?';
        let w = devs.get(dev);
        if (!w) {
          w = { times: [], evidence: [], reported: false, total: 0 };
          devs.set(dev, w);
        }
        w.total++;
        const t = ev.time ?? 0;
        w.times.push(t);
        if (w.evidence.length < 8) w.evidence.push(...ev.evidence.slice(0, 1));
        while (w.times.length > 0 && t - w.times[0]! > WINDOW) w.times.shift();
        if (!w.reported && w.times.length >= DEVICE_LIMIT) {
          w.reported = true;
          ctx.report({
            device: dev,
            message: `${dev}: ${plural(w.times.length, 'requeue')} within ${WINDOW} s (driver or device refusing requests: queue full, resource shortage or a failing path)`,
            evidence: [...w.evidence, ...ev.evidence],
            data: { requeues: w.times.length, window: WINDOW, from: w.times[0], to: t },
          });
        }
        if (w.times.length > DEVICE_LIMIT * 4) w.times.splice(0, w.times.length - DEVICE_LIMIT * 4);
      },
      request(req) {
        const n = Number(req.info?.requeues ?? 0);
        if (!(n >= REQUEST_LIMIT)) return;
        const done = req.state === 'completed';
        ctx.report({
          severity: done ? 'warning' : 'error',
          request: req,
          message: `${describeRequest(req)} was requeued ${n} times${done ? ' before it completed' : ' and never completed'}`,
          data: { requeues: n, issues: req.info?.issues },
        });
      },
    };
  },
};
