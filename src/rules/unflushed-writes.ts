// unflushed-writes: writes that completed after the device's last completed flush when the trace ends
// (warning), or when the device is reset or its process killed (error). Generic over Request: any format
// with write and flush requests (virtio, blktrace, ftrace, Xen). SPEC virtio anomaly 13; seed-002.
import type { Rule } from './types.js';
import type { Request } from '../model/types.js';
import { cachedStreamKey, describeRequest, plural } from './util.js';

const WRITE_OPS = new Set(['write', 'write-zeroes']);
const FLUSH_OPS = new Set(['flush', 'barrier']);
const MAX_RANGES = 16;

interface Pending {
  device?: string;
  count: number;
  first: Request;
  last: Request;
  ranges: [number, number][];
  bytes: number;
}


export const unflushedWrites: Rule = {
  meta: {
    id: 'unflushed-writes',
    title: 'Writes not flushed',
    group: 'durability',
    defaultSeverity: 'warning',
    summary: 'Writes completed after the last completed flush of their device: not durable when the trace ends (warning), lost to a reset or kill (error).',
    // Xen backend debug logs are snippets that rarely show the guest's flushes: not checked there.
    families: ['virtio', 'linux-block'],
  },
  create(ctx) {
    const pending = new Map<string, Pending>();
    const keyOf = cachedStreamKey();
    const report = (p: Pending, at: string, severity: 'warning' | 'error', evidence?: Request['evidence']) => {
      const sectors = p.ranges.map(([s, n]) => `${s}+${n}`).join(', ');
      ctx.report({
        severity,
        request: p.first,
        device: p.device,
        message:
          `${plural(p.count, 'write')} (${p.bytes} bytes) completed after the last flush of ${p.device ?? 'the device'} ` +
          `${at === 'end' ? 'when the trace ended' : `before a ${at}`}: not durable (first: ${describeRequest(p.first)}; sectors ${sectors}${p.count > p.ranges.length ? ', …' : ''})`,
        evidence: [...p.first.evidence.slice(0, 4), ...(p.last !== p.first ? p.last.evidence.slice(0, 4) : []), ...(evidence ?? [])],
        data: { at, count: p.count, bytes: p.bytes, ranges: p.ranges, lastKey: p.last.key },
      });
    };
    return {
      request(req) {
        if (req.state !== 'completed') return;
        if (req.status !== undefined && req.status !== 'ok') return;
        if (FLUSH_OPS.has(req.op)) {
          pending.delete(keyOf(req));
          return;
        }
        if (!WRITE_OPS.has(req.op) || req.info?.fua === true) return;
        const key = keyOf(req);
        let p = pending.get(key);
        if (!p) {
          p = { count: 0, first: req, last: req, ranges: [], bytes: 0 };
          if (req.device !== undefined) p.device = req.device;
          pending.set(key, p);
        }
        p.count++;
        p.bytes += req.bytes;
        p.last = req;
        if (p.ranges.length < MAX_RANGES) p.ranges.push([req.sector, req.sectors]);
      },
      event(ev) {
        if (ev.kind !== 'reset' || ev.reason === 'stop') return;
        const file = ev.evidence[0]?.file;
        for (const [key, p] of pending) {
          if (ev.device !== undefined && p.device !== ev.device) continue;
          if (file !== undefined && p.first.file !== file) continue;
          pending.delete(key);
          const hard = ev.reason === 'reset' || ev.reason === 'kill';
          report(p, ev.reason === 'reset' ? 'device reset' : ev.reason, hard ? 'error' : 'warning', ev.evidence);
        }
      },
      end() {
        for (const p of pending.values()) report(p, 'end', 'warning');
        pending.clear();
      },
    };
  },
};
