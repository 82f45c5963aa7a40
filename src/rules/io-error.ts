// io-error: a request that completed with an error status, or a host block-layer error the parser reported.
// Generic over Request: virtio status (0 OK, 1 IOERR, 2 UNSUPP), blktrace/ftrace error codes, Xen status.
import type { Rule } from './types.js';
import { describeRequest } from './util.js';

const UNSUPPORTED = new Set(['unsupported', 'eopnotsupp']);

export const ioError: Rule = {
  meta: {
    id: 'io-error',
    title: 'I/O error',
    group: 'io',
    defaultSeverity: 'error',
    summary: 'A request completed with an error status (unsupported operations are a warning), or the host block layer logged a failed write.',
    families: ['xen', 'virtio', 'linux-block'],
  },
  create(ctx) {
    return {
      request(req) {
        if (req.state !== 'completed') return;
        const st = req.status;
        const rwErr = req.info?.rwError;
        if ((st === undefined || st === 'ok') && typeof rwErr !== 'number') return;
        const unsupported = st !== undefined && UNSUPPORTED.has(st);
        let why = st !== undefined && st !== 'ok' ? `status ${st}` : '';
        if (typeof rwErr === 'number') why += `${why ? ', ' : ''}block layer returned ${rwErr}`;
        ctx.report({
          severity: unsupported ? 'warning' : 'error',
          request: req,
          message: `${describeRequest(req)} completed with ${why}${req.op === 'write' && !unsupported ? ': the data may not be on disk' : ''}`,
          data: { status: st, ...(typeof rwErr === 'number' ? { ret: rwErr } : {}) },
        });
      },
      event(ev) {
        if (ev.kind !== 'diag' || ev.code !== 'io-error') return;
        ctx.report({ device: ev.device, message: ev.message, evidence: ev.evidence, data: ev.data });
      },
    };
  },
};
