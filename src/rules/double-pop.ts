// double-pop: a virtqueue element popped again while the request it carries is still in flight
// (QEMU reuses VirtIOBlockReq pointers only after a request completes; SPEC virtio anomaly 8).
import type { Rule } from './types.js';
import type { Request } from '../model/types.js';
import { describeRequest } from './util.js';

/** Requests rebuilt from QEMU virtqueue events (log backend, simpletrace...). */
export function isQemuVirtio(req: Request): boolean {
  return req.format.startsWith('qemu');
}

/** What FileIdMap keeps per file: a Map, or a bounded one (RecentMap). */
export interface IdTable<V> {
  get(id: string): V | undefined;
  set(id: string, v: V): void;
}

/**
 * Values keyed by (file, id) without building a `file\0id` string per lookup: one table per file, the last
 * file's table cached (a run almost always has one input file).
 */
export class FileIdMap<V, T extends IdTable<V> = Map<string, V>> {
  readonly byFile = new Map<string, T>();
  private lastFile: string | undefined = undefined;
  private last: T | undefined = undefined;
  constructor(private readonly make: () => T = () => new Map<string, V>() as unknown as T) {}

  /** The table of `file` (created when missing). */
  of(file: string): T {
    if (file === this.lastFile) return this.last!;
    let m = this.byFile.get(file);
    if (!m) this.byFile.set(file, (m = this.make()));
    this.lastFile = file;
    this.last = m;
    return m;
  }

  /** The table of `file`, or undefined when nothing was ever stored for it. */
  peek(file: string): T | undefined {
    return file === this.lastFile ? this.last : this.byFile.get(file);
  }
}

export const doublePop: Rule = {
  meta: {
    id: 'double-pop',
    title: 'Element popped twice',
    group: 'sequence',
    defaultSeverity: 'error',
    summary: 'A virtqueue element (QEMU request pointer) was popped again while the request it carried had not completed: use after free or a lost completion.',
    families: ['virtio'],
  },
  create(ctx) {
    const open = new FileIdMap<Request>();
    return {
      submit(req) {
        if (!isQemuVirtio(req)) return;
        const m = open.of(req.file);
        const prev = m.get(req.id);
        if (prev && prev.state === 'inflight') {
          ctx.report({
            request: req,
            message: `element ${req.id} popped again while ${describeRequest(prev)} (popped earlier) was still in flight`,
            evidence: [...prev.evidence.slice(0, 4), ...req.evidence.slice(0, 4)],
            data: { previousKey: prev.key, previousOp: prev.op, previousSector: prev.sector },
          });
        }
        m.set(req.id, req);
      },
      request(req) {
        if (!isQemuVirtio(req)) return;
        const m = open.peek(req.file);
        if (m !== undefined && m.get(req.id) === req) m.delete(req.id);
      },
      event(ev) {
        // A device reset drops the device's elements: popping them again afterwards is legitimate.
        if (ev.kind !== 'reset' || ev.reason === 'stop') return;
        for (const m of open.byFile.values()) for (const [id, req] of m) if (ev.device === undefined || req.device === ev.device) m.delete(id);
      },
    };
  },
};
