// overlapping-writes: two requests in flight at the same time on one device whose sector ranges intersect,
// at least one of them a write (SPEC virtio anomaly 15). Both writes: the final content is undefined
// (error). A read overlapping an in-flight write may return old or new data (warning).
// Generic over Request (op/sector/sectors, reset events): virtio, blktrace, ftrace, Xen.
import type { Rule } from './types.js';
import type { Request } from '../model/types.js';
import { describeRequest, streamKey } from './util.js';

const WRITE_OPS = new Set(['write', 'write-zeroes', 'discard']);
const DATA_OPS = new Set(['read', 'write', 'write-zeroes', 'discard']);

export const overlappingWrites: Rule = {
  meta: {
    id: 'overlapping-writes',
    title: 'Overlapping requests in flight',
    group: 'durability',
    defaultSeverity: 'error',
    summary: 'Two requests in flight at once on one device cover the same sectors and at least one writes: the result depends on completion order.',
    families: ['xen', 'virtio', 'linux-block'],
  },
  create(ctx) {
    // In-flight data requests per stream, in submission order, by identity (the model hands over the same object
    // at submit and exit). An array, not a Set: a handful are in flight at a time, and a Set that empties and
    // fills again with every request reallocates its table each time.
    const inflight = new Map<string, Request[]>();
    // The last stream's set (file, device), so that most requests build no `file\0device` key.
    let lastFile: string | undefined = undefined;
    let lastDevice: string | undefined = undefined;
    let lastSet: Request[] | undefined = undefined;
    const setOf = (req: Request, create: boolean): Request[] | undefined => {
      if (lastSet !== undefined && req.file === lastFile && req.device === lastDevice) return lastSet;
      const key = streamKey(req);
      let set = inflight.get(key);
      if (!set) {
        if (!create) return undefined;
        inflight.set(key, (set = []));
      }
      lastFile = req.file;
      lastDevice = req.device;
      lastSet = set;
      return set;
    };
    return {
      submit(req) {
        // A request whose format logs no completion has no known lifetime: nothing to overlap with.
        if (req.expectsCompletion === false || !DATA_OPS.has(req.op) || req.sectors <= 0) return;
        const set = setOf(req, true)!;
        const a0 = req.sector;
        const a1 = req.sector + req.sectors;
        const w = WRITE_OPS.has(req.op);
        for (const other of set) {
          const ow = WRITE_OPS.has(other.op);
          if (!w && !ow) continue;
          const b0 = other.sector;
          const b1 = other.sector + other.sectors;
          if (a0 >= b1 || b0 >= a1) continue;
          const both = w && ow;
          const lo = Math.max(a0, b0);
          const hi = Math.min(a1, b1);
          ctx.report({
            severity: both ? 'error' : 'warning',
            request: req,
            message: `${describeRequest(req)} overlaps ${describeRequest(other)} still in flight (sectors ${lo}-${hi - 1}): ${both ? 'the final content depends on completion order' : 'the read may return old or new data'}`,
            evidence: [...other.evidence.slice(0, 4), ...req.evidence.slice(0, 4)],
            data: { otherKey: other.key, otherId: other.id, overlap: [lo, hi - lo] },
          });
          break;
        }
        set.push(req);
      },
      request(req) {
        const set = setOf(req, false);
        if (!set) return;
        // Requests mostly leave in about the order they came: search from the oldest.
        const i = set.indexOf(req);
        if (i === 0) set.shift();
        else if (i > 0) set.splice(i, 1);
      },
      event(ev) {
        // A reset ends the device's epoch: its requests in flight are gone.
        if (ev.kind !== 'reset' || ev.reason === 'stop') return;
        const file = ev.evidence[0]?.file;
        lastSet = undefined; // sets may leave `inflight` below
        for (const [key, set] of inflight) {
          const kept = set.filter((r) => (ev.device !== undefined && r.device !== ev.device) || (file !== undefined && r.file !== file));
          if (kept.length === 0) inflight.delete(key);
          else inflight.set(key, kept);
        }
      },
    };
  },
};
