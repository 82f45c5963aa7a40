// struct blk_io_trace (include/uapi/linux/blktrace_api.h): 48 bytes in the tracing host's byte order,
// followed by pdu_len bytes of payload. SPEC virtio §4.1.
//   0 magic u32 (0x65617400 | version)   4 sequence u32   8 time u64 (ns)   16 sector u64   24 bytes u32
//  28 action u32 (low 16: __BLK_TA_*/__BLK_TN_*, high 16: BLK_TC_*)   32 pid u32   36 device u32 (major<<20|minor)
//  40 cpu u32   44 error u16   46 pdu_len u16
// Framing helpers shared by the parser (parsers/blktrace.ts) and the per-CPU merge (src/input/blktrace-merge.ts).
// Framing is done by hand on raw bytes (magic, pdu_len); field decoding uses binary-parser in parsers/blktrace.ts.

export const HDR = 48;
export const MAGIC = 0x65617400;
/** blkparse 1.2.0 accepts version 7; 6 has the same layout. Version 8 (blk_io_trace2) is a different layout. */
export const VERSIONS = new Set([6, 7]);

/** Byte order of a record at `off`: 'le', 'be', or undefined when there is no blktrace magic there. */
export function magicAt(buf: Buffer, off: number): 'le' | 'be' | undefined {
  if (off + 4 > buf.length) return undefined;
  // LE bytes: vv 74 61 65; BE bytes: 65 61 74 vv.
  const b0 = buf[off]!;
  const b1 = buf[off + 1]!;
  const b2 = buf[off + 2]!;
  const b3 = buf[off + 3]!;
  if (b1 === 0x74 && b2 === 0x61 && b3 === 0x65 && VERSIONS.has(b0)) return 'le';
  if (b0 === 0x65 && b1 === 0x61 && b2 === 0x74 && VERSIONS.has(b3)) return 'be';
  return undefined;
}

/** Version byte of a magic at `off` whatever it is (for "unsupported version" messages), or undefined. */
export function anyMagicVersion(buf: Buffer, off: number): number | undefined {
  if (off + 4 > buf.length) return undefined;
  if (buf[off + 1] === 0x74 && buf[off + 2] === 0x61 && buf[off + 3] === 0x65) return buf[off]!;
  if (buf[off] === 0x65 && buf[off + 1] === 0x61 && buf[off + 2] === 0x74) return buf[off + 3]!;
  return undefined;
}

export function pduLenAt(buf: Buffer, off: number, le: boolean): number {
  return le ? buf.readUInt16LE(off + 46) : buf.readUInt16BE(off + 46);
}

/** Time in ns (as a double; exact below 2^53 ns = 104 days of uptime). */
export function timeAt(buf: Buffer, off: number, le: boolean): number {
  return le
    ? buf.readUInt32LE(off + 12) * 4294967296 + buf.readUInt32LE(off + 8)
    : buf.readUInt32BE(off + 8) * 4294967296 + buf.readUInt32BE(off + 12);
}

/**
 * A plausible record start at `off`: the magic of a supported version in the byte order `le`
 * (undefined = either), and a CPU number and device that are not absurd.
 */
export function plausibleAt(buf: Buffer, off: number, order?: 'le' | 'be'): boolean {
  const m = magicAt(buf, off);
  if (!m || (order && m !== order)) return false;
  if (off + HDR > buf.length) return true; // cannot check more: let the caller wait for bytes
  const le = m === 'le';
  const cpu = le ? buf.readUInt32LE(off + 40) : buf.readUInt32BE(off + 40);
  return cpu < 65536;
}

/** Offset of the next plausible record start at or after `from` (buf.length when none). */
export function resync(buf: Buffer, from: number, order?: 'le' | 'be'): number {
  for (let i = from; i + 4 <= buf.length; i++) {
    // Quick filter on the two constant middle bytes of either order.
    const b1 = buf[i + 1];
    if (b1 !== 0x74 && b1 !== 0x61) continue;
    if (plausibleAt(buf, i, order)) return i;
  }
  // Keep up to 3 trailing bytes: a magic may straddle the chunk end.
  return Math.max(from, buf.length - 3);
}

// Action codes (__BLK_TA_*), low 16 bits of action.
export const TA_CGROUP = 1 << 8;
export const TC_READ = 1 << 0;
export const TC_WRITE = 1 << 1;
export const TC_FLUSH = 1 << 2;
export const TC_SYNC = 1 << 3;
export const TC_PC = 1 << 9;
export const TC_NOTIFY = 1 << 10;
export const TC_AHEAD = 1 << 11;
export const TC_META = 1 << 12;
export const TC_DISCARD = 1 << 13;
export const TC_FUA = 1 << 15;
/** Notify codes (__BLK_TN_*). */
export const TN_PROCESS = 0;
export const TN_TIMESTAMP = 1;
export const TN_MESSAGE = 2;
