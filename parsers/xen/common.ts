// Helpers shared by the Xen log formats (NetBSD xbdback, Linux blkback/blkfront).
import type { Evidence, Op, Request, Segment } from '../../src/model/types.js';
import { newRequest } from '../../src/model/request.js';

/** Xen 2.0 ops: 0 read, 1 write, 2 probe (SPEC xen §3.6). */
export function xen2Op(op: number): Op {
  return op === 0 ? 'read' : op === 1 ? 'write' : op === 2 ? 'probe' : `op ${op}`;
}

/** Xen >= 3 ops (blkif.h): 0 read, 1 write, 2 write-barrier, 3 flush-diskcache, 5 discard, 6 indirect. */
export function xen3Op(op: number): Op {
  switch (op) {
    case 0:
      return 'read';
    case 1:
      return 'write';
    case 2:
      return 'barrier';
    case 3:
      return 'flush';
    case 5:
      return 'discard';
    case 6:
      return 'indirect';
    default:
      return `op ${op}`;
  }
}

/** BLKIF_RSP_*: 0 okay, -1 error, -2 eopnotsupp; other values kept raw (early NetBSD put errno there). */
export function blkifStatus(v: number): string {
  return v === 0 ? 'ok' : v === -1 ? 'error' : v === -2 ? 'eopnotsupp' : `status ${v}`;
}

/** Parse a hex string to a number; values past 2^53 lose precision but never throw. */
export function hexNum(s: string | undefined): number {
  if (!s) return 0;
  return s.length <= 13 ? parseInt(s, 16) : Number(BigInt('0x' + s));
}

export function hex(n: number): string {
  return '0x' + n.toString(16);
}

/**
 * Decode a Xen 2.0 frame_and_sects word: [2:0] last, [5:3] first, [31:12] machine frame (SPEC xen §3.6).
 * Bits 6..11 must be zero in that encoding; when set the word may use the later 5-bit/grant encoding.
 */
export function decodeFas(fas: bigint): { frame: string; firstSect: number; lastSect: number; highBits: number } {
  return {
    frame: '0x' + (fas >> 12n).toString(16),
    firstSect: Number((fas >> 3n) & 7n),
    lastSect: Number(fas & 7n),
    highBits: Number((fas >> 6n) & 0x3fn),
  };
}

/** decodeFas from the logged digits (hex or octal); exact Number arithmetic below 2^53, BigInt above. */
export function decodeFasDigits(digits: string, radix: 16 | 8): ReturnType<typeof decodeFas> | undefined {
  if (digits.length <= (radix === 16 ? 13 : 17)) {
    const v = parseInt(digits, radix);
    if (!Number.isFinite(v)) return undefined;
    return {
      frame: '0x' + Math.floor(v / 4096).toString(16),
      firstSect: Math.floor(v / 8) % 8,
      lastSect: v % 8,
      highBits: Math.floor(v / 64) % 64,
    };
  }
  try {
    return decodeFas(BigInt((radix === 16 ? '0x' : '0o') + digits));
  } catch {
    return undefined;
  }
}

export function segmentSectors(segs: Segment[]): number {
  let n = 0;
  for (const s of segs) {
    if (s.firstSect === undefined || s.lastSect === undefined) continue;
    if (s.lastSect >= s.firstSect) n += s.lastSect - s.firstSect + 1;
  }
  return n;
}

export function newXenRequest(file: string, key: string, id: string, format: string, ev: Evidence): Request {
  return newRequest({ key, id, format, file, evidence: [ev] });
}

/** Close a request's derived sizes from its segments. */
export function sealSizes(req: Request): void {
  req.sectors = segmentSectors(req.segments);
  req.bytes = req.sectors * 512;
}
