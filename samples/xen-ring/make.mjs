#!/usr/bin/env node
// Builds the constructed Xen shared-ring dumps in this directory (run: node samples/xen-ring/make.mjs).
// Layouts from ../shared/specs/xen/SPEC.md §3 (blkif.h / ring.h): 64-byte Xen 3 header, 112-byte x86_64 and
// 108-byte x86_32 request entries, 16/12-byte responses, Xen 2.0 blkif_ring_t (8-byte header, 64 x 60-byte entries).
// Also renders two of them as text the way users paste them: `xxd` (mail-quoted) and `hexdump -C`
// (renderers below follow the tools' output byte for byte; checked against xxd 2022-01-14 and util-linux hexdump).
// Each dump gets <name>.expected.json: the requests the construction leaves outstanding and the findings
// that the construction is meant to trigger.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = dirname(fileURLToPath(import.meta.url));
const PAGE = 4096;

// ---- Xen 3 ----------------------------------------------------------------------------------------------

function header3(buf, { reqProd, reqEvent, rspProd, rspEvent }) {
  buf.writeUInt32LE(reqProd >>> 0, 0);
  buf.writeUInt32LE(reqEvent >>> 0, 4);
  buf.writeUInt32LE(rspProd >>> 0, 8);
  buf.writeUInt32LE(rspEvent >>> 0, 12);
}

/** A request entry; abi 'x86_64' (112 B: pad at 4, id at 8) or 'x86_32' (108 B: id at 4). */
function request3(buf, off, abi, { op, handle, id, sector, segs }) {
  const b = buf.subarray(off, off + (abi === 'x86_64' ? 112 : 108));
  b.fill(0);
  b[0] = op;
  b[1] = segs.length;
  b.writeUInt16LE(handle, 2);
  const idAt = abi === 'x86_64' ? 8 : 4;
  b.writeBigUInt64LE(BigInt(id), idAt);
  b.writeBigUInt64LE(BigInt(sector), idAt + 8);
  segs.forEach((s, i) => {
    const o = idAt + 16 + 8 * i;
    b.writeUInt32LE(s.gref, o);
    b[o + 4] = s.first;
    b[o + 5] = s.last;
  });
}

/** A response written over the head of a slot (id u64 @0, op @8, status i16 @10); the rest keeps the old request. */
function response3(buf, off, { id, op, status }) {
  buf.writeBigUInt64LE(BigInt(id), off);
  buf[off + 8] = op;
  buf[off + 9] = 0;
  buf.writeInt16LE(status, 10 + off);
}

const full = (gref) => ({ gref, first: 0, last: 7 });

/**
 * A Xen 3 ring of `pages` pages: every index below req_prod was once a request; indices below rsp_prod were
 * answered (their slot now starts with the response). `make(i)` gives the request of index i.
 */
function ring3({ abi, pages = 1, reqProd, rspProd, make }) {
  const ent = abi === 'x86_64' ? 112 : 108;
  const size = pages * PAGE;
  let n = Math.floor((size - 64) / ent);
  n = 2 ** Math.floor(Math.log2(n));
  const buf = Buffer.alloc(size);
  // The backend sets req_event to req_cons + 1, the frontend rsp_event to rsp_cons + 1.
  header3(buf, { reqProd, reqEvent: rspProd + 1, rspProd, rspEvent: rspProd + 1 });
  const from = Math.max(0, reqProd - Math.max(n, reqProd - rspProd));
  for (let i = from; i < reqProd; i++) {
    const off = 64 + (i & (n - 1)) * ent;
    const r = make(i, n);
    request3(buf, off, abi, r);
    if (i < rspProd) response3(buf, off, { id: r.id, op: r.op, status: 0 });
  }
  return { buf, n };
}

// ---- Xen 2.0 --------------------------------------------------------------------------------------------

const fas = (frame, first, last) => ((frame << 12) | (first << 3) | last) >>> 0;

function request2(buf, off, { op, device, id, sector, segs }) {
  const b = buf.subarray(off, off + 60);
  b.fill(0);
  b[0] = op;
  b[1] = segs.length;
  b.writeUInt16LE(device, 2);
  b.writeUInt32LE(id >>> 0, 4);
  b.writeBigUInt64LE(BigInt(sector), 8);
  segs.forEach((w, i) => b.writeUInt32LE(w, 16 + 4 * i));
}

function response2(buf, off, { id, op, status }) {
  buf.writeUInt32LE(id >>> 0, off);
  buf[off + 4] = op;
  buf.writeInt16LE(status, off + 5);
}

// ---- text renderings ------------------------------------------------------------------------------------

const printable = (c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.');

/** `xxd` default output: 8-digit offset, 8 groups of 2 bytes, two spaces, ASCII. */
export function xxd(buf) {
  const out = [];
  for (let off = 0; off < buf.length; off += 16) {
    const row = buf.subarray(off, off + 16);
    let hex = '';
    for (let i = 0; i < 16; i++) {
      if (i < row.length) hex += row[i].toString(16).padStart(2, '0');
      else hex += '  ';
      if (i % 2 === 1 && i < 15) hex += ' ';
    }
    out.push(`${off.toString(16).padStart(8, '0')}: ${hex}  ${[...row].map(printable).join('')}`);
  }
  return out.join('\n') + '\n';
}

/** `hexdump -C` output: runs of identical lines become `*`, the last line is the length. */
export function hexdumpC(buf) {
  const out = [];
  let prev;
  let starred = false;
  for (let off = 0; off < buf.length; off += 16) {
    const row = buf.subarray(off, off + 16);
    if (prev && row.length === 16 && row.equals(prev)) {
      if (!starred) out.push('*');
      starred = true;
      continue;
    }
    starred = false;
    prev = row;
    let hex = '';
    for (let i = 0; i < 16; i++) {
      hex += i < row.length ? row[i].toString(16).padStart(2, '0') + ' ' : '   ';
      if (i === 7) hex += ' ';
    }
    out.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${[...row].map(printable).join('')}|`);
  }
  out.push(buf.length.toString(16).padStart(8, '0'));
  return out.join('\n') + '\n';
}

// ---- the samples ----------------------------------------------------------------------------------------

function write(name, ext, data, expected) {
  writeFileSync(join(DIR, `${name}.${ext}`), data);
  writeFileSync(join(DIR, `${name}.expected.json`), JSON.stringify(expected, null, 1) + '\n');
}

// 1. clean-x86_64: one page, 32 entries, 4 outstanding requests (indices 0x1a1..0x1a4), every stale slot a
//    response over an old request. Reads and writes of whole pages, distinct grants: nothing to flag.
// blkfront's ids are shadow indices, unique among the requests in flight: index mod ring size.
const cleanReq = (i, n) => {
  const nseg = 1 + (i % 4);
  return {
    op: i % 3 === 0 ? 1 : 0,
    handle: 51712,
    id: i % n,
    sector: 8 * i * 4,
    segs: Array.from({ length: nseg }, (_, k) => full(0x100 + ((i * 4 + k) % 4096))),
  };
};
const clean = ring3({ abi: 'x86_64', reqProd: 0x1a5, rspProd: 0x1a1, make: cleanReq });
write('clean-x86_64', 'bin', clean.buf, { requests: 4, findings: [] });

// 2. abi-x86_32: a 32-bit frontend (108-byte entries) on one page; 3 outstanding requests, indices 0x3e..0x40
//    (the window wraps from slot 30 to slot 0). Decoded with 64-bit offsets every slot would be garbage.
const abi32 = ring3({
  abi: 'x86_32',
  reqProd: 0x41,
  rspProd: 0x3e,
  make: (i) => ({ op: i % 2, handle: 768, id: 1000 + i, sector: 2048 + 16 * i, segs: [full(0x2f00 + 2 * i), full(0x2f01 + 2 * i)] }),
});
write('abi-x86_32', 'bin', abi32.buf, { requests: 3, findings: [] });

// 3. xen2-seed004: a Xen 2.0 ring page (blkif_ring_t, 3848 bytes, padded to the 4096-byte page) at the moment of
//    the seed-004 post: req_prod 0xcd47, resp_prod 0xcd40 (../../samples/xen/seed-004-mail.txt). Slot 0 holds
//    the logged request: read, sector 1, 11 one-sector segments (frame 0x27f68 sectors 0..7, then frame
//    0x27f67 sectors 0..2). Slots 1..6 hold plain whole-page reads and writes; older slots hold responses.
const xen2 = Buffer.alloc(PAGE);
xen2.writeUInt32LE(0xcd47, 0);
xen2.writeUInt32LE(0xcd40, 4);
for (let i = 0xcd47 - 64; i < 0xcd47; i++) {
  const off = 8 + (i & 63) * 60;
  let r;
  if (i === 0xcd40) {
    const segs = [];
    for (let k = 0; k < 8; k++) segs.push(fas(0x27f68, k, k));
    for (let k = 0; k < 3; k++) segs.push(fas(0x27f67, k, k));
    r = { op: 0, device: 0x301, id: 0xcd40 & 63, sector: 1, segs };
  } else {
    const frame = 0x30000 + 4 * (i & 63);
    r = { op: i % 2, device: 0x301, id: i & 63, sector: 1024 + 16 * (i - 0xcd00), segs: [fas(frame, 0, 7), fas(frame + 1, 0, 7)] };
  }
  request2(xen2, off, r);
  if (i < 0xcd40) response2(xen2, off, { id: r.id, op: r.op, status: 0 });
}
write('xen2-seed004', 'bin', xen2, {
  requests: 7,
  findings: [
    { rule: 'repeated-frame', severity: 'error', count: 2 },
    { rule: 'sg-hole', severity: 'error', count: 1 },
  ],
});

// 4. overflow-x86_64: req_prod - rsp_prod = 40 on a 32-entry ring (SPEC §5 item 12; Linux halts the ring with
//    "Frontend provided bogus ring requests"). Only the last 32 requests survive in the slots.
const over = ring3({ abi: 'x86_64', reqProd: 0x128, rspProd: 0x100, make: cleanReq });
write('overflow-x86_64', 'bin', over.buf, { requests: 32, findings: [{ rule: 'ring-overflow', severity: 'error', count: 1 }] });

// 5. multipage-x86_64: a 4-page ring (order 2: 128 entries) with 70 outstanding requests: no overflow on this
//    ring size, while a 1-page reading would overflow.
const multi = ring3({ abi: 'x86_64', pages: 4, reqProd: 0x2046, rspProd: 0x2000, make: cleanReq });
write('multipage-x86_64', 'bin', multi.buf, { requests: 70, findings: [] });

// Text renderings.
// 6. xen2-seed004.xxd: the Xen 2.0 page as `xxd` output quoted in a reply mail.
const mail =
  'From: someone@example.org\nSubject: Re: xbd corruption, ring page attached\n\n' +
  'Here is the ring page of domain 2, taken with dd right after the read:\n\n' +
  xxd(xen2)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => '> ' + l)
    .join('\n') +
  '\n\nSlot 0 is the request from my earlier log.\n';
write('xen2-seed004.xxd', 'txt', mail, {
  requests: 7,
  findings: [
    { rule: 'repeated-frame', severity: 'error', count: 2 },
    { rule: 'sg-hole', severity: 'error', count: 1 },
  ],
});

// 7. overflow-x86_64.hexdump: `hexdump -C` of the overflowing ring (runs of identical lines collapse to `*`).
write('overflow-x86_64.hexdump', 'txt', hexdumpC(over.buf), { requests: 32, findings: [{ rule: 'ring-overflow', severity: 'error', count: 1 }] });

console.log('wrote clean-x86_64, abi-x86_32, xen2-seed004, overflow-x86_64, multipage-x86_64 (+ .xxd / .hexdump text)');
