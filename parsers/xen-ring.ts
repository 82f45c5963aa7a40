// Xen blkif shared-ring dumps: the raw bytes of a granted ring (1..16 pages, from a crash dump, `dd` of the
// page, `xl debug-keys` or a test harness). A dump is a snapshot, not a trace: the requests still outstanding
// (ring index i in [rsp_prod, req_prod), slot i & (nr_ents-1)) are submitted and retired; every other slot holds an
// old request or a response and is only counted.
//
// Facts used (../shared/specs/xen/SPEC.md; xen-project/xen xen/include/public/io/{ring,blkif}.h):
// * §3.4 shared ring header, 64 bytes: req_prod @0, req_event @4, rsp_prod @8, rsp_event @12, pvt @16, pad to 64;
//   RING_IDX is a free-running u32; entries follow at 64. SHARED_RING_INIT sets both events to 1.
//   nr_ents = __RD32((ring bytes - 64) / entry size): __RD32 rounds DOWN to a power of two
//   (1 page: 32 entries for both 112-byte and 108-byte entries; 2 pages 64 ... 16 pages 512).
// * §3.2 blkif_request_segment (8 B): gref u32 @0, first_sect u8 @4, last_sect u8 @5.
// * §3.3 request union, x86_64 (112 B): op @0, nr_segments @1, handle u16 @2, pad @4, id u64 @8, sector u64 @16,
//   body @24 (seg[11] | discard nr_sectors u64 | indirect handle u16, pad, indirect_grefs[8]).
//   x86_32 (108 B, packed): the same without the 4-byte pad: id @4, sector @12, body @20.
//   Indirect: byte 1 is indirect_op, bytes 2-3 nr_segments (u16). Responses: id u64 @0, op u8 @8, status i16 @10.
// * §3.6 Xen 2.0 blkif_ring_t (3848 B, packed, i386): req_prod @0, resp_prod @4, 64 entries of 60 B @8:
//   op @0, nr_segments @1, device u16 @2, id u32 @4, sector u64 @8, frame_and_sects[11] u32 @16
//   ([2:0] last, [5:3] first, frame = fas >> 12). Response (7 B): id u32 @0, op u8 @4, status i16 @5.
// * §5 items 12, 15, 17, 19, 20: outstanding > nr_ents, response status outside {0,-1,-2}, one grant in two
//   in-flight requests (persistent grants), and the ABI test: decode each slot with both layouts and keep the one
//   where every f <= l <= 7 and n <= 11.
// All multi-byte fields are little-endian (x86/ARM). Records are framed by hand; binary-parser parses subarrays.
import { Parser } from 'binary-parser';
import type { Evidence, ParsedEvent, Request, Segment } from '../src/model/types.js';
import type { BinaryFormatDef, BinaryParser, ParserContext } from './types.js';
import { decodeFas, hex, newXenRequest, sealSizes, xen2Op, xen3Op } from './xen/common.js';

const ID = 'xen-ring';
const PAGE = 4096;
const HDR3 = 64;
const HDR2 = 8;
const ENT64 = 112;
const ENT32 = 108;
const ENT2 = 60;
const XEN2_RING_BYTES = HDR2 + 64 * ENT2; // 3848
const XEN2_ENTS = 64;
/** Largest ring we read: 32 pages (FreeBSD XBB_MAX_RING_PAGES); Linux/Xen use at most 16. */
const MAX_RING_BYTES = 32 * PAGE;
/** req_prod - rsp_prod beyond this is not a ring header (a few thousand at most on a 32-page ring). */
const MAX_PLAUSIBLE_OUTSTANDING = 4096;
/** Events (req_event, rsp_event) are index + 1 of a recent index: within this distance of rsp_prod. */
const MAX_EVENT_DISTANCE = 1 << 16;
const MAX_INDIRECT_SEGMENTS = 8 * 512;

// ---- binary-parser layouts (module-level, little-endian) -------------------------------------------------

const Header3 = new Parser()
  .endianness('little')
  .uint32('reqProd')
  .uint32('reqEvent')
  .uint32('rspProd')
  .uint32('rspEvent')
  .uint32('pvt')
  .buffer('pad', { length: 44 });

const Header2 = new Parser().endianness('little').uint32('reqProd').uint32('rspProd');

const Segment8 = new Parser().endianness('little').uint32('gref').uint8('firstSect').uint8('lastSect').uint16('pad');

/** The 88-byte body shared by both Xen 3 ABIs (it starts at 24 on x86_64, at 20 on x86_32). */
const BodyRw = new Parser().endianness('little').array('seg', { type: Segment8, length: 11 });
const BodyDiscard = new Parser().endianness('little').uint64('nrSectors').seek(80);
const BodyIndirect = new Parser()
  .endianness('little')
  .uint16('handle')
  .uint16('pad')
  .array('grefs', { type: 'uint32le', length: 8 })
  .seek(52);

const Request64 = new Parser()
  .endianness('little')
  .uint8('operation')
  .uint8('nrSegments')
  .uint16('handle')
  .uint32('pad')
  .uint64('id')
  .uint64('sector')
  .choice('body', { tag: 'operation', choices: { 5: BodyDiscard, 6: BodyIndirect }, defaultChoice: BodyRw });

const Request32 = new Parser()
  .endianness('little')
  .uint8('operation')
  .uint8('nrSegments')
  .uint16('handle')
  .uint64('id')
  .uint64('sector')
  .choice('body', { tag: 'operation', choices: { 5: BodyDiscard, 6: BodyIndirect }, defaultChoice: BodyRw });

const Response3 = new Parser().endianness('little').uint64('id').uint8('operation').uint8('pad').int16('status');

const Request2 = new Parser()
  .endianness('little')
  .uint8('operation')
  .uint8('nrSegments')
  .uint16('device')
  .uint32('id')
  .uint64('sector')
  .array('fas', { type: 'uint32le', length: 11 });

const Response2 = new Parser().endianness('little').uint32('id').uint8('operation').int16('status');

interface Hdr3 {
  reqProd: number;
  reqEvent: number;
  rspProd: number;
  rspEvent: number;
  pvt: number;
  pad: Buffer;
}
interface Seg8 {
  gref: number;
  firstSect: number;
  lastSect: number;
}
interface Req3 {
  operation: number;
  nrSegments: number;
  handle: number;
  id: bigint;
  sector: bigint;
  body: { seg?: Seg8[]; nrSectors?: bigint; handle?: number; grefs?: number[] };
}
interface Req2 {
  operation: number;
  nrSegments: number;
  device: number;
  id: number;
  sector: bigint;
  fas: number[];
}

// ---- layout choice --------------------------------------------------------------------------------------

export type RingLayout = 'x86_64' | 'x86_32' | 'xen2';

const ENT_SIZE: Record<RingLayout, number> = { x86_64: ENT64, x86_32: ENT32, xen2: ENT2 };
const HDR_SIZE: Record<RingLayout, number> = { x86_64: HDR3, x86_32: HDR3, xen2: HDR2 };
const LAYOUT_TEXT: Record<RingLayout, string> = {
  x86_64: 'Xen 3 x86_64 ABI (112-byte entries)',
  x86_32: 'Xen 3 x86_32 ABI (108-byte entries)',
  xen2: 'Xen 2.0 blkif_ring_t (60-byte entries)',
};

/** __RD32: round down to a power of two (ring.h). */
function rd32(n: number): number {
  if (n < 1) return 0;
  return 2 ** Math.floor(Math.log2(n));
}

/**
 * Ring bytes a dump of `len` bytes stands for: a power-of-two page count (ring-page-order), rounded up, so that a
 * truncated dump keeps the entry count (and slot numbering) of the ring it was cut from.
 */
function ringBytes(len: number): number {
  const pages = Math.max(1, Math.ceil(len / PAGE));
  return PAGE * 2 ** Math.ceil(Math.log2(pages));
}

/** Entry count for a Xen 3 ring of `len` dump bytes (SPEC §3.4 table). */
export function xen3Entries(len: number, ent: number): number {
  return rd32(Math.floor((Math.min(ringBytes(len), MAX_RING_BYTES) - HDR3) / ent));
}

/** Dump sizes detect() accepts: 1, 2, 4, 8, 16 or 32 pages, or a bare Xen 2.0 ring (3848 bytes). */
export function validDumpSize(len: number): boolean {
  if (len === XEN2_RING_BYTES) return true;
  for (let p = 1; p <= 32; p *= 2) if (len === p * PAGE) return true;
  return false;
}

const i32 = (n: number) => n | 0;

function hdr3Of(buf: Buffer): Hdr3 | undefined {
  if (buf.length < HDR3) return undefined;
  try {
    return Header3.parse(buf.subarray(0, HDR3)) as Hdr3;
  } catch {
    return undefined;
  }
}

function hdr2Of(buf: Buffer): { reqProd: number; rspProd: number } | undefined {
  if (buf.length < HDR2) return undefined;
  try {
    return Header2.parse(buf.subarray(0, HDR2)) as { reqProd: number; rspProd: number };
  } catch {
    return undefined;
  }
}

function parseReq3(buf: Buffer, off: number, layout: 'x86_64' | 'x86_32'): Req3 | undefined {
  const ent = ENT_SIZE[layout];
  if (off + ent > buf.length) return undefined;
  try {
    return (layout === 'x86_64' ? Request64 : Request32).parse(buf.subarray(off, off + ent)) as Req3;
  } catch {
    return undefined;
  }
}

function parseReq2(buf: Buffer, off: number): Req2 | undefined {
  if (off + ENT2 > buf.length) return undefined;
  try {
    return Request2.parse(buf.subarray(off, off + ENT2)) as Req2;
  } catch {
    return undefined;
  }
}

/** SPEC §5 item 20: a slot is a plausible request when its op is known, n <= 11 and every f <= l <= 7. */
function validReq3(r: Req3): boolean {
  switch (r.operation) {
    case 0:
    case 1:
    case 2:
    case 3: {
      const n = r.nrSegments;
      if (n > 11 || ((r.operation === 0 || r.operation === 1) && n === 0)) return false;
      const segs = r.body.seg ?? [];
      for (let i = 0; i < n; i++) {
        const s = segs[i]!;
        if (s.firstSect > s.lastSect || s.lastSect > 7) return false;
      }
      return true;
    }
    case 5:
      return r.nrSegments <= 1; // flag: BLKIF_DISCARD_SECURE or 0
    case 6: {
      const n = r.handle; // bytes 2-3: nr_segments of an indirect request
      return (r.nrSegments === 0 || r.nrSegments === 1) && n >= 1 && n <= MAX_INDIRECT_SEGMENTS;
    }
    default:
      return false;
  }
}

function validReq2(r: Req2): boolean {
  if (r.operation > 2 || r.nrSegments < 1 || r.nrSegments > 11) return false;
  for (let i = 0; i < r.nrSegments; i++) {
    const fas = r.fas[i]! >>> 0;
    if ((fas >>> 6) & 0x3f) return false; // bits 6..11 are zero in the Xen 2.0 encoding (SPEC §5 item 3)
    if (((fas >>> 3) & 7) > (fas & 7)) return false;
  }
  return true;
}

/** The indices of the outstanding window: the last min(req_prod - rsp_prod, nr_ents) request indices. */
function window(reqProd: number, rspProd: number, nrEnts: number): { outstanding: number; count: number; first: number } {
  const outstanding = (reqProd - rspProd) >>> 0;
  const count = Math.min(outstanding, nrEnts);
  return { outstanding, count, first: (reqProd - count) >>> 0 };
}

export interface LayoutScore {
  layout: RingLayout;
  /** Bytes of the ring this reading assumes (entries are counted from it). */
  ringBytes: number;
  /** 0..1: how much the bytes look like this layout. */
  confidence: number;
  nrEnts: number;
  reqProd: number;
  rspProd: number;
  /** Slots of the outstanding window present in the bytes, and how many of them decode as plausible requests. */
  checked: number;
  valid: number;
  /** Plausible slots under the other Xen 3 ABI (x86_64 vs x86_32), for the ring-abi diagnostic. */
  otherValid?: number;
  /** Scored on stale slots because the window was empty. */
  weak?: boolean;
}

function countValid3(buf: Buffer, layout: 'x86_64' | 'x86_32', nrEnts: number, idx: number[]): { checked: number; valid: number } {
  let checked = 0;
  let valid = 0;
  for (const i of idx) {
    const r = parseReq3(buf, HDR3 + (i & (nrEnts - 1)) * ENT_SIZE[layout], layout);
    if (!r) continue;
    checked++;
    if (validReq3(r)) valid++;
  }
  return { checked, valid };
}

function indicesOf(first: number, count: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < count; k++) out.push((first + k) >>> 0);
  return out;
}

/** Score the Xen 3 reading (best ABI) of `buf`, a dump whose full size is `size`. */
function scoreXen3(buf: Buffer, size: number): LayoutScore | undefined {
  const h = hdr3Of(buf);
  if (!h) return undefined;
  const n64 = xen3Entries(size, ENT64);
  const n32 = xen3Entries(size, ENT32);
  const w = window(h.reqProd, h.rspProd, n64);
  const plausible =
    w.outstanding <= MAX_PLAUSIBLE_OUTSTANDING &&
    Math.abs(i32(h.reqEvent - h.rspProd)) <= MAX_EVENT_DISTANCE &&
    Math.abs(i32(h.rspEvent - h.rspProd)) <= MAX_EVENT_DISTANCE;
  const padZero = h.pad.every((b) => b === 0);
  let idx = indicesOf(w.first, w.count);
  let weak = false;
  if (idx.length === 0) {
    // Nothing outstanding: judge the ABI on the slots that were ever written (weak evidence).
    weak = true;
    idx = indicesOf(0, n64).filter((i) => {
      const off = HDR3 + i * ENT64;
      return off + ENT64 <= buf.length && buf.subarray(off, off + ENT64).some((b) => b !== 0);
    });
  }
  const a = countValid3(buf, 'x86_64', n64, idx);
  const b = countValid3(buf, 'x86_32', n32, idx);
  // Prefer x86_64 (native) on a tie.
  const use32 = b.valid > a.valid;
  const best = use32 ? b : a;
  // The header carries the detection (close indices, events near them, a zero pad: random bytes almost never
  // pass); plausible slots only add to it, so a ring full of broken requests is still read (and flagged).
  let confidence = 0;
  if (plausible) {
    const base = padZero ? 0.6 : 0.25;
    if (weak || best.checked === 0) {
      // An all-zero header is a ring never initialised (SHARED_RING_INIT sets both events to 1), or no ring.
      confidence = h.reqEvent === 0 && h.rspEvent === 0 && h.reqProd === 0 ? Math.min(base, 0.45) : base;
    } else confidence = base + 0.35 * (best.valid / best.checked);
  }
  return {
    layout: use32 ? 'x86_32' : 'x86_64',
    ringBytes: Math.min(ringBytes(size), MAX_RING_BYTES),
    confidence,
    nrEnts: use32 ? n32 : n64,
    reqProd: h.reqProd,
    rspProd: h.rspProd,
    checked: best.checked,
    valid: best.valid,
    otherValid: use32 ? a.valid : b.valid,
    weak,
  };
}

function scoreXen2(buf: Buffer, size: number): LayoutScore | undefined {
  const h = hdr2Of(buf);
  if (!h) return undefined;
  const w = window(h.reqProd, h.rspProd, XEN2_ENTS);
  let checked = 0;
  let valid = 0;
  for (const i of indicesOf(w.first, w.count)) {
    const r = parseReq2(buf, HDR2 + (i & (XEN2_ENTS - 1)) * ENT2);
    if (!r) continue;
    checked++;
    if (validReq2(r)) valid++;
  }
  let confidence = 0;
  const sizeOk = size === XEN2_RING_BYTES || size === PAGE;
  if (w.outstanding <= MAX_PLAUSIBLE_OUTSTANDING && size <= PAGE) {
    // Two bare indices say little: the outstanding slots carry the detection, except at the exact 3848-byte size.
    if (checked === 0) confidence = size === XEN2_RING_BYTES ? 0.6 : 0.2;
    else {
      const frac = valid / checked;
      if (size === XEN2_RING_BYTES) confidence = 0.5 + 0.45 * frac;
      else confidence = frac < 0.5 ? 0.3 : 0.5 + 0.35 * frac;
    }
    if (!sizeOk) confidence = Math.min(confidence, 0.45);
  }
  return { layout: 'xen2', ringBytes: XEN2_RING_BYTES, confidence, nrEnts: XEN2_ENTS, reqProd: h.reqProd, rspProd: h.rspProd, checked, valid };
}

/** Power-of-two page sizes a dump of `len` bytes may stand for: itself when whole, else the ring it was cut
 * from (rounded up) or the ring it holds plus trailing bytes (rounded down). */
function ringSizesFor(len: number): number[] {
  if (validDumpSize(len)) return [len];
  const up = ringBytes(len);
  const down = up / 2;
  return down >= PAGE && down < len ? [up, down] : [up];
}

/**
 * Choose the layout of a ring dump. `size` is the dump's full length (a text rendering may still be arriving;
 * `buf` may then be shorter). A size that is no ring size is tried as a cut ring and as a ring with trailing
 * bytes; the reading whose outstanding slots decode best wins. Never throws.
 */
export function chooseLayout(buf: Buffer, size = buf.length): LayoutScore | undefined {
  try {
    let best: LayoutScore | undefined;
    if (size !== XEN2_RING_BYTES) {
      for (const rb of ringSizesFor(size)) {
        const s = scoreXen3(buf, rb);
        if (s && (!best || s.confidence > best.confidence || (s.confidence === best.confidence && s.valid > best.valid))) best = s;
      }
    }
    const x2 = scoreXen2(buf, size);
    if (x2 && (!best || x2.confidence > best.confidence)) best = x2;
    return best;
  } catch {
    return undefined;
  }
}

// ---- decoding -------------------------------------------------------------------------------------------

export interface DecodeOptions {
  /** Format id stamped on requests (xen-ring or xen-ring-hexdump). */
  format?: string;
  /** Counts dumps within one input (keys stay unique when a text holds several). */
  dumpNo?: number;
  /** Line and original text of the rendering line holding a byte offset (text renderings). */
  lineOf?: (offset: number) => { line: number; text?: string } | undefined;
  malformed?: (ev: Evidence, reason: string) => void;
  /** The dump's full size when `buf` is known to be cut short (defaults to buf.length). */
  size?: number;
  /** Decode only when the bytes look at least this much like a ring (text holding several dumps); else report it. */
  minConfidence?: number;
}

export interface DecodeResult {
  layout?: RingLayout;
  nrEnts: number;
  /** Outstanding requests decoded (submitted). */
  requests: number;
  stale: number;
}

const MAX_DIAGS_PER_KIND = 32;

/**
 * Decode one ring dump and emit its events: one `ring`, a `diag` 'ring-abi', a `submit` per outstanding slot,
 * 'ring-stale-slots', 'grant-reuse' / 'ring-duplicate-id' / 'ring-response-status' diagnostics, then a `retire`
 * per request. Pure apart from `emit` and `opts.malformed`; never throws.
 */
export function decodeRing(buf: Buffer, file: string, emit: (ev: ParsedEvent) => void, opts: DecodeOptions = {}): DecodeResult {
  const format = opts.format ?? ID;
  const dumpNo = opts.dumpNo ?? 1;
  const malformed = opts.malformed ?? (() => {});
  // Text renderings point at the pasted line; raw bytes carry a decoded description instead.
  const evAt = (offset: number, describe?: string): Evidence => {
    const ev: Evidence = { file, offset };
    const l = opts.lineOf?.(offset);
    if (l) {
      ev.line = l.line;
      if (l.text !== undefined) ev.text = l.text;
    } else if (describe !== undefined) ev.text = describe;
    return ev;
  };
  const result: DecodeResult = { nrEnts: 0, requests: 0, stale: 0 };
  if (buf.length < HDR3) {
    malformed(evAt(0), `ring dump of ${buf.length} bytes is cut short inside the ring header (64 bytes; a Xen 2.0 ring needs 8 + 60 for one entry)`);
    return result;
  }
  const size = opts.size ?? buf.length;
  const choice = chooseLayout(buf, size);
  if (!choice) {
    malformed(evAt(0), 'ring header cut short');
    return result;
  }
  if (opts.minConfidence !== undefined && choice.confidence < opts.minConfidence) {
    malformed(
      evAt(0),
      `this ${buf.length}-byte dump does not look like a blkif ring (req_prod ${hex(choice.reqProd)}, rsp_prod ${hex(choice.rspProd)}, ${choice.valid} of ${choice.checked} outstanding slots plausible); not decoded`,
    );
    return result;
  }
  const layout = choice.layout;
  result.layout = layout;
  const nrEnts = choice.nrEnts;
  result.nrEnts = nrEnts;
  const ent = ENT_SIZE[layout];
  const hdr = HDR_SIZE[layout];
  const { reqProd, rspProd } = choice;
  const w = window(reqProd, rspProd, nrEnts);
  const stream = `${file}#${ID}`;
  const ringState = { reqProd, rspProd, ringSize: nrEnts };
  const h3 = layout === 'xen2' ? undefined : hdr3Of(buf);
  const hdrText = h3
    ? `ring header: req_prod ${hex(reqProd)} req_event ${hex(h3.reqEvent)} rsp_prod ${hex(rspProd)} rsp_event ${hex(h3.rspEvent)}`
    : `ring header: req_prod ${hex(reqProd)} resp_prod ${hex(rspProd)}`;
  emit({ kind: 'ring', stream, ring: { ...ringState }, evidence: [evAt(0, hdrText)] });

  const other = layout === 'x86_64' ? 'x86_32' : layout === 'x86_32' ? 'x86_64' : undefined;
  const basis = choice.weak ? 'ever-written slots' : 'outstanding slots';
  emit({
    kind: 'diag',
    code: 'ring-abi',
    message:
      `${LAYOUT_TEXT[layout]}, ${nrEnts} entries: ${choice.valid} of ${choice.checked} ${basis} decode as plausible requests` +
      (other ? ` (${choice.otherValid ?? 0} under ${other})` : '') +
      (other && choice.checked > 0 && choice.valid === (choice.otherValid ?? -1) ? '; both ABIs fit, native x86_64 assumed' : ''),
    data: {
      layout,
      nrEnts,
      entryBytes: ent,
      reqProd,
      rspProd,
      ...(h3 ? { reqEvent: h3.reqEvent, rspEvent: h3.rspEvent } : {}),
      outstanding: w.outstanding,
      checked: choice.checked,
      valid: choice.valid,
      ...(other ? { otherAbi: other, otherValid: choice.otherValid ?? 0 } : {}),
      dumpBytes: buf.length,
    },
    evidence: [evAt(0, hdrText)],
  });
  if (layout === 'xen2' && buf.length > PAGE) {
    malformed(evAt(PAGE), `${buf.length - PAGE} bytes past the single Xen 2.0 ring page ignored`);
  }

  // The outstanding window, in index order.
  const reqs: Request[] = [];
  const inWindow = new Set<number>();
  let cutOffset: number | undefined;
  let missing = 0;
  const grants = new Map<number, { req: Request; offset: number }>();
  const ids = new Map<string, { req: Request; offset: number }>();
  let grantDiags = 0;
  let idDiags = 0;
  for (const i of indicesOf(w.first, w.count)) {
    const slot = i & (nrEnts - 1);
    inWindow.add(slot);
    const off = hdr + slot * ent;
    const ev = evAt(off);
    const req = layout === 'xen2' ? decodeReq2(buf, off, file, format, dumpNo, i, slot, ev) : decodeReq3(buf, off, layout, file, format, dumpNo, i, slot, ev);
    if (!req) {
      missing++;
      cutOffset = cutOffset === undefined ? off : Math.min(cutOffset, off);
      continue;
    }
    req.ring = { ...ringState };
    reqs.push(req);
    // SPEC §5 item 19: one grant in two in-flight requests (persistent-grant misuse).
    if (layout !== 'xen2') {
      const seen = new Set<number>();
      const refs = [...req.segments.map((s) => s.gref!), ...((req.info?.indirectGrefs as number[] | undefined) ?? [])];
      for (const g of refs) {
        if (seen.has(g)) continue; // within one request: repeated-frame's business
        seen.add(g);
        const prev = grants.get(g);
        if (!prev) grants.set(g, { req, offset: off });
        else if (grantDiags++ < MAX_DIAGS_PER_KIND) {
          emit({
            kind: 'diag',
            code: 'grant-reuse',
            device: req.device,
            message: `grant ${g} is in two outstanding requests: id ${prev.req.id} (slot at byte ${prev.offset}) and id ${req.id} (slot at byte ${off}); a persistent grant may be in one in-flight request only`,
            data: { gref: g, offsets: [prev.offset, off], ids: [prev.req.id, req.id] },
            evidence: [prev.req.evidence[0]!, req.evidence[0]!],
          });
        }
      }
    }
    const dup = ids.get(req.id);
    if (!dup) ids.set(req.id, { req, offset: off });
    else if (idDiags++ < MAX_DIAGS_PER_KIND) {
      emit({
        kind: 'diag',
        code: 'ring-duplicate-id',
        device: req.device,
        message: `id ${req.id} is used by two outstanding requests (slots at bytes ${dup.offset} and ${off}); responses cannot tell them apart`,
        data: { id: req.id, offsets: [dup.offset, off] },
        evidence: [dup.req.evidence[0]!, req.evidence[0]!],
      });
    }
  }
  if (cutOffset !== undefined) {
    malformed(
      evAt(cutOffset),
      `ring dump ends at byte ${buf.length}: the slot at byte ${cutOffset} is cut short (${missing} of ${w.count} outstanding slot(s) missing; ${ent}-byte entries)`,
    );
  } else if (!validDumpSize(size) && layout !== 'xen2') {
    if (choice.ringBytes < size) malformed(evAt(choice.ringBytes), `ring dump of ${size} bytes is not a whole ring: ${size - choice.ringBytes} bytes past the ${choice.ringBytes}-byte ring ignored`);
    else malformed(evAt(buf.length), `ring dump of ${size} bytes is not a whole ring: read as a ${choice.ringBytes}-byte ring cut short (no outstanding slot lost)`);
  }
  for (const req of reqs) emit({ kind: 'submit', req });
  result.requests = reqs.length;

  // Slots outside the window: old requests or responses. Responses sit at indices [req_prod - n, rsp_prod).
  let zero = 0;
  let responses = 0;
  let statusDiags = 0;
  let idDiags2 = 0;
  const statuses: Record<string, number> = {};
  // Linux blkfront (and NetBSD xbd) use shadow-table indices as ids, so every id of theirs is below the ring size
  // (SPEC §2.3: "response has incorrect id" when id >= BLK_RING_SIZE). When every outstanding request follows that
  // convention, a response whose id does not is one no request on this ring can have had (SPEC §5 item 15).
  const smallIds = reqs.length > 0 && reqs.every((q) => BigInt(q.id) < BigInt(nrEnts));
  for (let k = 0; k < nrEnts; k++) {
    const i = (reqProd - nrEnts + k) >>> 0;
    const slot = i & (nrEnts - 1);
    if (inWindow.has(slot)) continue;
    result.stale++;
    const off = hdr + slot * ent;
    if (off + ent > buf.length) continue;
    const bytes = buf.subarray(off, off + ent);
    if (bytes.every((b) => b === 0)) {
      zero++;
      continue;
    }
    // Index i was written only if it is not below 0 (free-running indices start at 0 after SHARED_RING_INIT).
    const written = reqProd >= nrEnts || i < reqProd;
    if (!written || ((rspProd - i) >>> 0) === 0 || ((rspProd - i) >>> 0) > nrEnts) continue;
    responses++;
    try {
      const r = (layout === 'xen2' ? Response2 : Response3).parse(bytes) as { id: bigint | number; operation: number; status: number };
      const st = r.status === 0 ? 'ok' : r.status === -1 ? 'error' : r.status === -2 ? 'eopnotsupp' : `status ${r.status}`;
      statuses[st] = (statuses[st] ?? 0) + 1;
      // SPEC §5 item 17 (Xen 2.0 probe replies carry a vdisk count, so only Xen 3 is checked).
      if (layout !== 'xen2' && (r.status < -2 || r.status > 0) && statusDiags++ < MAX_DIAGS_PER_KIND) {
        emit({
          kind: 'diag',
          code: 'ring-response-status',
          message: `response id ${r.id} (${xen3Op(r.operation)}) has status ${r.status}, not one of BLKIF_RSP_OKAY 0 / ERROR -1 / EOPNOTSUPP -2 (an errno from an early NetBSD backend?)`,
          data: { id: String(r.id), status: r.status, op: r.operation, offset: off },
          evidence: [evAt(off)],
        });
      }
      const badOp = layout === 'xen2' ? r.operation > 2 : r.operation > 6;
      const badId = smallIds && BigInt(r.id) >= BigInt(nrEnts);
      if ((badOp || badId) && idDiags2++ < MAX_DIAGS_PER_KIND) {
        const opName = layout === 'xen2' ? xen2Op(r.operation) : xen3Op(r.operation);
        emit({
          kind: 'diag',
          code: 'ring-response-unknown',
          message:
            `response at index ${hex(i)} (slot at byte ${off}) ` +
            (badId ? `has id ${r.id}, while every outstanding request uses a shadow index below ${nrEnts}: no request on this ring had that id` : '') +
            (badId && badOp ? '; and ' : '') +
            (badOp ? `answers an unknown operation (${opName})` : ''),
          data: { id: String(r.id), op: r.operation, index: i, offset: off, ...(badId ? { idAboveRing: true } : {}), ...(badOp ? { unknownOp: true } : {}) },
          evidence: [evAt(off)],
        });
      }
    } catch {
      // a whole slot is present, so this cannot happen; keep going regardless
    }
  }
  emit({
    kind: 'diag',
    code: 'ring-stale-slots',
    message: `${result.stale} of ${nrEnts} slots are outside the outstanding window (old requests or responses, not counted as requests): ${zero} never written, ${responses} holding responses`,
    data: { stale: result.stale, zero, responses, statuses, nrEnts },
    evidence: [evAt(hdr)],
  });
  for (const req of reqs) emit({ kind: 'retire', key: req.key });
  return result;
}

function keyOf(file: string, dumpNo: number, index: number): string {
  return `${file}#${ID}${dumpNo}:${hex(index)}`;
}

function decodeReq3(
  buf: Buffer,
  off: number,
  layout: 'x86_64' | 'x86_32',
  file: string,
  format: string,
  dumpNo: number,
  index: number,
  slot: number,
  ev: Evidence,
): Request | undefined {
  const r = parseReq3(buf, off, layout);
  if (!r) return undefined;
  if (ev.text === undefined) {
    const body =
      r.operation === 5
        ? `nr_sectors ${r.body.nrSectors ?? 0n}`
        : r.operation === 6
          ? `handle ${r.body.handle ?? 0} indirect_grefs ${(r.body.grefs ?? []).join(' ')}`
          : `seg ${(r.body.seg ?? []).slice(0, Math.min(r.nrSegments, 11)).map((s) => `${s.gref}:${s.firstSect}-${s.lastSect}`).join(' ')}`;
    ev.text = `slot ${slot} (index ${hex(index)}, ${layout}): op ${r.operation} nr_segments ${r.nrSegments} handle ${r.handle} id ${r.id} sector ${r.sector} ${body}`;
  }
  const req = newXenRequest(file, keyOf(file, dumpNo, index), r.id.toString(), format, ev);
  req.op = xen3Op(r.operation);
  req.sector = Number(r.sector);
  req.backendModel = 'per-segment';
  req.expectsCompletion = false;
  const info: Record<string, unknown> = { abi: layout, slot, index, sectorHex: '0x' + r.sector.toString(16) };
  let handle = r.handle;
  if (r.operation === 5) {
    info.discardFlag = r.nrSegments;
    const n = r.body.nrSectors ?? 0n;
    req.sectors = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
    req.bytes = req.sectors * 512;
  } else if (r.operation === 6) {
    // Indirect: the segments live in the indirect pages, not in the ring.
    const n = r.handle;
    handle = r.body.handle ?? 0;
    info.indirectOp = xen3Op(r.nrSegments);
    const pages = Math.min(8, Math.ceil(n / 512));
    info.indirectGrefs = (r.body.grefs ?? []).slice(0, pages);
    req.nrSegments = n;
  } else {
    const n = r.nrSegments;
    const segs: Segment[] = (r.body.seg ?? []).slice(0, Math.min(n, 11)).map((s) => ({ gref: s.gref, firstSect: s.firstSect, lastSect: s.lastSect }));
    req.segments = segs;
    // Declared count when it differs from the list (n > 11), or none at all (SPEC §5 items 7-8: segment-limit).
    if (n !== segs.length || n === 0) req.nrSegments = n;
    sealSizes(req);
  }
  req.device = `handle ${handle}`;
  req.info = info;
  return req;
}

function decodeReq2(buf: Buffer, off: number, file: string, format: string, dumpNo: number, index: number, slot: number, ev: Evidence): Request | undefined {
  const r = parseReq2(buf, off);
  if (!r) return undefined;
  if (ev.text === undefined) {
    const fas = r.fas.slice(0, Math.min(r.nrSegments, 11)).map((w) => hex(w >>> 0));
    ev.text = `slot ${slot} (index ${hex(index)}, xen2): op ${r.operation} nr_segments ${r.nrSegments} device ${hex(r.device)} id ${r.id} sector ${r.sector} frame_and_sects ${fas.join(' ')}`;
  }
  const req = newXenRequest(file, keyOf(file, dumpNo, index), String(r.id), format, ev);
  req.op = xen2Op(r.operation);
  req.sector = Number(r.sector);
  req.device = `handle ${r.device}`;
  // Xen 2.0 backends (NetBSD xbdback 1.2) map one VA page per segment and transfer contiguously.
  req.backendModel = 'window';
  req.expectsCompletion = false;
  const n = r.nrSegments;
  const high: number[] = [];
  req.segments = r.fas.slice(0, Math.min(n, 11)).map((w, k) => {
    const d = decodeFas(BigInt(w >>> 0));
    if (d.highBits) high.push(k);
    return { frame: d.frame, firstSect: d.firstSect, lastSect: d.lastSect };
  });
  if (n !== req.segments.length || n === 0) req.nrSegments = n;
  sealSizes(req);
  req.info = { abi: 'xen2', slot, index, sectorHex: '0x' + r.sector.toString(16), ...(high.length ? { fasHighBits: high } : {}) };
  return req;
}

// ---- the binary format ----------------------------------------------------------------------------------

function detect(head: Buffer): number {
  try {
    if (!validDumpSize(head.length)) return 0;
    return chooseLayout(head)?.confidence ?? 0;
  } catch {
    return 0;
  }
}

class RingParser implements BinaryParser {
  private readonly parts: Buffer[] = [];
  private len = 0;
  private extra = 0;
  private decoded = 0;
  constructor(private readonly ctx: ParserContext) {}

  chunk(buf: Buffer, offset: number): void {
    const room = MAX_RING_BYTES - this.len;
    if (room > 0) {
      const take = buf.subarray(0, Math.min(room, buf.length));
      this.parts.push(take);
      this.len += take.length;
    }
    if (buf.length > room) {
      if (this.extra === 0) this.ctx.malformed({ file: this.ctx.file, offset: Math.max(offset, MAX_RING_BYTES) }, `bytes past ${MAX_RING_BYTES} (the largest ring, 32 pages) ignored`);
      this.extra += buf.length - Math.max(room, 0);
    }
  }

  end(): void {
    const buf = Buffer.concat(this.parts, this.len);
    this.parts.length = 0;
    const r = decodeRing(buf, this.ctx.file, (ev) => this.ctx.emit(ev), { format: ID, malformed: (e, why) => this.ctx.malformed(e, why) });
    this.decoded = r.requests;
  }

  records(): number {
    return this.decoded;
  }
}

/** A 1-page x86_64 ring with one outstanding read (slot 0): the registry sample. */
const SAMPLE_HEX =
  // req_prod 1, req_event 1, rsp_prod 0, rsp_event 1, pvt 0, pad
  '01000000' + '01000000' + '00000000' + '01000000' + '00000000' + '00'.repeat(44) +
  // slot 0: op 0 (read), nr_segments 2, handle 0x300 (768), pad, id 7, sector 2048
  '00' + '02' + '0003' + '00000000' + '0700000000000000' + '0008000000000000' +
  // seg[0] gref 0x11 sectors 0-7, seg[1] gref 0x12 sectors 0-7, 9 unused segments
  '11000000' + '0007' + '0000' + '12000000' + '0007' + '0000' + '00'.repeat(72) +
  '00'.repeat(PAGE - HDR3 - ENT64);

export const xenRing: BinaryFormatDef = {
  id: ID,
  title: 'Xen blkif shared-ring dump',
  description:
    'Raw bytes of a blkif shared ring (1-16 pages, Xen 3 x86_64 or x86_32 ABI, or a Xen 2.0 blkif_ring_t): the outstanding requests (rsp_prod..req_prod) with their segments; the ABI is chosen by decoding the slots both ways.',
  url: 'https://xenbits.xen.org/gitweb/?p=xen.git;a=blob;f=xen/include/public/io/ring.h',
  family: 'xen',
  kind: 'binary',
  fields: [
    { name: 'req_prod', type: 'int', description: 'Free-running request producer index (header offset 0)' },
    { name: 'rsp_prod', type: 'int', description: 'Free-running response producer index (offset 8; 4 in Xen 2.0)' },
    { name: 'operation', type: 'int', description: 'BLKIF_OP_*: 0 read, 1 write, 2 barrier (Xen 2.0: probe), 3 flush, 5 discard, 6 indirect' },
    { name: 'nr_segments', type: 'int', description: 'Segments of a read/write (1-11); discard flag; indirect_op for indirect requests' },
    { name: 'handle', type: 'int', description: 'Virtual device handle (Xen 2.0: device)' },
    { name: 'id', type: 'u64', description: 'Request id echoed in the response (u32 in Xen 2.0)' },
    { name: 'sector_number', type: 'u64', description: 'First disk sector (512-byte units)' },
    { name: 'gref', type: 'int', description: 'Grant reference of a segment page (Xen 3)' },
    { name: 'frame_and_sects', type: 'hex', description: 'Xen 2.0 segment word: [2:0] last sector, [5:3] first sector, frame = value >> 12' },
    { name: 'first_sect/last_sect', type: 'int', description: 'Sector range (0-7) of the segment within its 4 KiB page' },
  ],
  backendModel: 'per-segment',
  detect,
  createParser: (ctx) => new RingParser(ctx),
  sampleText: 'x86_64 ring, 32 entries: req_prod 1, rsp_prod 0; slot 0: read id 7, handle 768, sector 2048, grefs 17 and 18 (sectors 0-7 each)',
  samples: [{ hex: SAMPLE_HEX, comment: 'one 4096-byte page: 64-byte header (req_prod 1, rsp_prod 0, events 1) and one outstanding 2-segment read in slot 0' }],
};
