// repeated-page: one 4 KiB guest-physical page named by two or more DATA descriptors of one virtio chain
// (SPEC virtio "Anomalies" item 1). Header and status share a page by design (Linux virtblk_req puts the
// status byte right after the 16-byte header) and never count. Works on any request whose segments carry
// `addr`/`len` (virtio); Xen frame/gref segments are repeated-frame's business.
import type { Request, Segment, Severity } from '../model/types.js';
import type { Rule } from './types.js';
import { describeRequest } from './util.js';

const PAGE_SHIFT = 12n;
/** Pages looked at per request: a garbage length (up to 4 GiB per descriptor) stays cheap. */
const MAX_PAGES_PER_REQUEST = 1 << 18;

interface PageUse {
  page: bigint;
  segs: number[];
  /** Byte ranges [start, end) already used in this page, to tell overlap from disjoint sharing. */
  ranges: [bigint, bigint][];
  overlap: boolean;
}

function isData(s: Segment): boolean {
  return s.role === undefined || s.role === 'data';
}

/** Pages a segment touches, or undefined when it has no usable address. */
function pagesOf(s: Segment): { first: bigint; last: bigint; start: bigint; end: bigint } | undefined {
  if (s.addr === undefined || s.len === undefined || s.len <= 0) return undefined;
  let start: bigint;
  try {
    start = BigInt(s.addr);
  } catch {
    return undefined;
  }
  if (start < 0n) return undefined;
  const end = start + BigInt(s.len);
  return { first: start >> PAGE_SHIFT, last: (end - 1n) >> PAGE_SHIFT, start, end };
}

/** Does the device write into the repeated memory? (read: the device writes the page several times) */
function isDeviceWrite(req: Request, segs: Segment[]): boolean {
  if (req.op === 'read') return true;
  if (req.op === 'write') return false;
  return segs.some((s) => s.write === true);
}

function describe(req: Request): string {
  if (req.op !== 'unknown') return describeRequest(req);
  const dev = req.device ? `${req.device} ` : '';
  const dir = req.info?.direction === 'in' ? 'read-like ' : req.info?.direction === 'out' ? 'write-like ' : '';
  return `${dev}${dir}request ${req.id} (${req.bytes} data bytes; type unknown, no header bytes)`;
}

export const repeatedPage: Rule = {
  meta: {
    id: 'repeated-page',
    title: 'Repeated guest page in one virtio chain',
    group: 'layout',
    defaultSeverity: 'error',
    summary:
      'A 4 KiB guest-physical page named by two or more data descriptors of one request: error for reads (the device writes the page twice), warning for writes.',
    families: ['virtio'],
  },
  create(ctx) {
    return {
      request(req) {
        const segs = req.segments;
        if (segs.length < 2) return;
        const pages = new Map<bigint, PageUse>();
        let dataSegs = 0;
        let budget = MAX_PAGES_PER_REQUEST;
        for (let i = 0; i < segs.length && budget > 0; i++) {
          const s = segs[i]!;
          if (!isData(s)) continue;
          const p = pagesOf(s);
          if (!p) continue;
          dataSegs++;
          for (let pg = p.first; pg <= p.last && budget > 0; pg++, budget--) {
            const lo = p.start > pg << PAGE_SHIFT ? p.start : pg << PAGE_SHIFT;
            const hi = p.end < (pg + 1n) << PAGE_SHIFT ? p.end : (pg + 1n) << PAGE_SHIFT;
            let u = pages.get(pg);
            if (!u) {
              u = { page: pg, segs: [], ranges: [], overlap: false };
              pages.set(pg, u);
            }
            if (u.segs[u.segs.length - 1] !== i) u.segs.push(i);
            if (u.ranges.some(([a, b]) => lo < b && a < hi)) u.overlap = true;
            if (u.ranges.length < 64) u.ranges.push([lo, hi]);
          }
        }
        if (dataSegs < 2) return;
        const repeated = [...pages.values()].filter((u) => u.segs.length >= 2);
        if (repeated.length === 0) return;
        const involved = new Set<number>();
        for (const u of repeated) for (const i of u.segs) involved.add(i);
        const deviceWrites = isDeviceWrite(
          req,
          [...involved].map((i) => segs[i]!),
        );
        const severity: Severity = deviceWrites ? 'error' : 'warning';
        const overlap = repeated.some((u) => u.overlap);
        const worst = repeated.reduce((a, b) => (b.segs.length > a.segs.length ? b : a));
        const pageHex = (pg: bigint) => '0x' + (pg << PAGE_SHIFT).toString(16);
        const more = repeated.length > 1 ? ` (and ${repeated.length - 1} more repeated page${repeated.length > 2 ? 's' : ''})` : '';
        const effect = deviceWrites
          ? 'the device writes the same guest memory more than once: only the last transfer survives, the other disk blocks are lost to the guest'
          : 'the same guest memory is written to several disk locations (deliberate with a repeated iovec, otherwise a driver bug)';
        ctx.report({
          severity,
          request: req,
          message:
            `guest page ${pageHex(worst.page)} is named by ${worst.segs.length} data descriptors (segments ${worst.segs.join(', ')}) of ` +
            `${describe(req)}${more}${overlap ? ', with overlapping bytes' : ''}; ${effect}`,
          data: {
            page: pageHex(worst.page),
            count: worst.segs.length,
            segments: worst.segs,
            overlap,
            pages: repeated.slice(0, 64).map((u) => ({ page: pageHex(u.page), segments: u.segs, overlap: u.overlap })),
            deviceWrites,
          },
        });
      },
    };
  },
};
