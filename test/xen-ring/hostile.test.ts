// Hostile ring dumps: truncated, wrong size, random bytes, absurd indices, byte-swapped or garbage headers,
// broken text renderings. Nothing throws; what is whole is kept; what is bad is reported with its offset/line.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { xenRing } from '../../parsers/xen-ring.js';
import { xenRingHexdump } from '../../parsers/xen-ring-text.js';
import { runCli } from '../helpers.js';
import { diag, randomBytes, runBytes, tally, xxd } from './helpers.js';

const DIR = 'samples/xen-ring';
const clean = () => Buffer.from(readFileSync(`${DIR}/clean-x86_64.bin`));
const FORCE = { inputFormat: 'xen-ring' };

describe('truncated dumps', () => {
  it('are not detected on their own: "no supported format recognised"', async () => {
    const r = await runBytes(clean().subarray(0, 300));
    expect(r.errors).toEqual(['ring.bin: no supported format recognised']);
    expect(r.requests).toHaveLength(0);
  });

  it('forced: every complete outstanding slot is kept and the cut slot is reported at its byte offset', async () => {
    // Slots 1 (176..287) complete, slot 2 (288..399) cut at byte 300, slots 3-4 missing.
    const r = await runBytes(clean().subarray(0, 300), FORCE);
    expect(r.errors).toEqual([]);
    expect(r.requests.map((q) => q.info!.slot)).toEqual([1]);
    expect(r.skipped).toBe(1);
    expect(r.skippedAt).toEqual([{ offset: 288, line: undefined }]);
    expect(r.reasons[0]).toBe('ring dump ends at byte 300: the slot at byte 288 is cut short (3 of 4 outstanding slot(s) missing; 112-byte entries)');
    // The ring header was whole: the ring state still applies.
    expect(r.rings[0]!.ring).toEqual({ reqProd: 0x1a5, rspProd: 0x1a1, ringSize: 32 });
  });

  it('forced, cut inside the header: reported at offset 0, nothing invented', async () => {
    const r = await runBytes(clean().subarray(0, 40), FORCE);
    expect(r.errors).toEqual([]);
    expect(r.requests).toHaveLength(0);
    expect(r.skipped).toBeGreaterThanOrEqual(1);
    expect(r.skippedAt[0]!.offset).toBe(0);
    const tiny = await runBytes(Buffer.from([1, 2, 3]), FORCE);
    expect(tiny.reasons[0]).toBe('ring dump of 3 bytes is cut short inside the ring header (64 bytes; a Xen 2.0 ring needs 8 + 60 for one entry)');
  });

  it('a truncated xxd paste is detected and decoded up to the cut, with the line of the cut', async () => {
    // 20 lines = 320 bytes: slots 1 whole, slot 2 cut (as above).
    const text = xxd(clean()).split('\n').slice(0, 20).join('\n') + '\n';
    const r = await runBytes(text, {}, 'paste.txt');
    expect(r.errors).toEqual([]);
    expect(r.formats).toEqual(['xen-ring-hexdump']);
    expect(r.requests.map((q) => q.info!.slot)).toEqual([1]);
    expect(r.skipped).toBe(1);
    expect(r.skippedAt[0]).toEqual({ offset: 288, line: 19 }); // byte 288 = 0x120 is on line 19
  });

  it('a missing line in a text dump is reported with its line; later slots stay at their offsets', async () => {
    const lines = xxd(clean()).split('\n');
    lines.splice(30, 1); // drop bytes 0x1e0..0x1ef (inside slot 4)
    const r = await runBytes(lines.join('\n'), {}, 'gap.txt');
    expect(r.errors).toEqual([]);
    expect(r.reasons).toContain('xen-ring-hexdump: gap in the dump: bytes 0x1e0-0x1ef are missing (read as zeros)');
    expect(r.skippedAt[0]!.line).toBe(31);
    expect(r.requests.map((q) => q.evidence[0]!.offset)).toEqual([176, 288, 400, 512]);
  });
});

describe('wrong sizes, random bytes, garbage headers', () => {
  it('a whole ring with extra bytes is not a ring size: not detected; forced, decoded and the size reported', async () => {
    const b = Buffer.concat([clean(), Buffer.alloc(100)]);
    expect(xenRing.detect(b)).toBe(0);
    const auto = await runBytes(b);
    expect(auto.errors).toEqual(['ring.bin: no supported format recognised']);
    const r = await runBytes(b, FORCE);
    expect(r.errors).toEqual([]);
    expect(r.skipped).toBe(1);
    expect(r.reasons[0]).toBe('ring dump of 4196 bytes is not a whole ring: 100 bytes past the 4096-byte ring ignored');
    expect(r.skippedAt[0]!.offset).toBe(4096);
    // Read as the one-page ring it holds (not as a cut two-page ring): the same 4 requests as the whole page.
    expect(r.rings[0]!.ring.ringSize).toBe(32);
    expect(r.requests.map((q) => q.info!.slot)).toEqual([1, 2, 3, 4]);
  });

  it('random bytes: detect 0 and the CLI says "no supported format recognised" (exit 2)', async () => {
    for (const [n, seed] of [
      [4096, 1],
      [8192, 2],
      [3848, 3],
      [65536, 4],
    ] as const) {
      expect(xenRing.detect(randomBytes(n, seed)), `${n} bytes`).toBe(0);
    }
    const cli = await runCli(['analyze', '-'], randomBytes(4096, 7));
    expect(cli.code).toBe(2);
    expect(cli.stderr).toBe('blkscope: <stdin>: no supported format recognised\n');
  });

  it('an all-zero page (a ring never initialised) is not claimed', () => {
    expect(xenRing.detect(Buffer.alloc(4096))).toBeLessThan(0.5);
  });

  it('absurd indices (req_prod - rsp_prod = 2^31): not detected; forced, ring-overflow and at most one request per slot', async () => {
    const b = clean();
    b.writeUInt32LE((0x1a1 + 0x80000000) >>> 0, 0);
    expect(xenRing.detect(b)).toBe(0);
    expect((await runBytes(b)).errors).toEqual(['ring.bin: no supported format recognised']);
    const r = await runBytes(b, FORCE);
    expect(r.errors).toEqual([]);
    const f = r.findings.find((x) => x.rule === 'ring-overflow')!;
    expect(f.data).toMatchObject({ outstanding: 2 ** 31, ringSize: 32 });
    expect(r.requests.length).toBeLessThanOrEqual(32);
  });

  it('a byte-swapped header or a garbage header: detect 0', () => {
    const swapped = clean();
    for (let o = 0; o < 16; o += 4) swapped.writeUInt32BE(swapped.readUInt32LE(o), o);
    expect(xenRing.detect(swapped)).toBe(0);
    const garbage = clean();
    randomBytes(64, 99).copy(garbage, 0);
    expect(xenRing.detect(garbage)).toBe(0);
  });

  it('forced on random bytes of any size: never throws, never more requests than slots', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 9000 }), async (bytes) => {
        const r = await runBytes(Buffer.from(bytes), FORCE);
        expect(r.errors).toEqual([]);
        expect(r.requests.length).toBeLessThanOrEqual(128);
      }),
      { numRuns: 60 },
    );
  });

  it('text detect: a hexdump of something else (random bytes) is not a ring', async () => {
    const r = await runBytes(xxd(randomBytes(4096, 5)), {}, 'random.txt');
    expect(r.errors).toEqual(['random.txt: no supported format recognised']);
    expect(xenRingHexdump.detect(xxd(randomBytes(4096, 6)).split('\n'))).toBe(0);
    expect(xenRingHexdump.detect(['hello world', '* note', '00000000'])).toBe(0);
  });
});

describe('ABI choice on a mixed or ambiguous ring', () => {
  it('a 32-bit ring decoded with the 64-bit offsets would be garbage; forcing nothing still finds the 32-bit layout', async () => {
    const r = await runBytes(readFileSync(`${DIR}/abi-x86_32.bin`));
    expect(diag(r, 'ring-abi')[0]!.data!.layout).toBe('x86_32');
    expect(tally(r.findings)).toEqual({});
  });

  it('a fresh ring (nothing outstanding, nothing written): native x86_64 assumed, no request', async () => {
    const b = Buffer.alloc(4096);
    b.writeUInt32LE(1, 4); // req_event 1
    b.writeUInt32LE(1, 12); // rsp_event 1 (SHARED_RING_INIT)
    const r = await runBytes(b);
    expect(r.errors).toEqual([]);
    expect(r.formats).toEqual(['xen-ring']);
    expect(r.requests).toHaveLength(0);
    expect(diag(r, 'ring-abi')[0]!.data).toMatchObject({ layout: 'x86_64', checked: 0 });
    expect(diag(r, 'ring-stale-slots')[0]!.data).toMatchObject({ stale: 32, zero: 32 });
  });
});

describe('text holding a ring and another hexdump', () => {
  it('the ring is decoded; the hexdump of some other page is reported at its first line, not decoded', async () => {
    const text = ['the ring:', xxd(clean()), 'and the data page it points at:', xxd(randomBytes(4096, 11))].join('\n');
    const r = await runBytes(text, {}, 'two.txt');
    expect(r.errors).toEqual([]);
    expect(r.rings).toHaveLength(1);
    expect(r.requests).toHaveLength(4);
    expect(r.skipped).toBe(1);
    expect(r.reasons[0]).toMatch(/^this 4096-byte dump does not look like a blkif ring \(req_prod 0x[0-9a-f]+, rsp_prod 0x[0-9a-f]+, \d+ of \d+ outstanding slots plausible\); not decoded$/);
    expect(r.skippedAt[0]!.line).toBe(2 + 256 + 1 + 1);
  });
});

describe('impossible requests in outstanding slots reach the checks', () => {
  it('a read with no segment, 12 segments, and a segment past its page: segment-limit and bad-segment', async () => {
    const b = clean();
    b[176 + 1] = 0; // slot 1: a write with nr_segments 0
    b[288 + 1] = 12; // slot 2: nr_segments 12 (the 12th is not in the entry)
    b[400 + 24 + 5] = 9; // slot 3: seg 0 last_sect 9
    const r = await runBytes(b);
    expect(r.errors).toEqual([]);
    expect(diag(r, 'ring-abi')[0]!.data).toMatchObject({ layout: 'x86_64', checked: 4, valid: 1 });
    expect(r.requests).toHaveLength(4);
    expect(r.requests[1]).toMatchObject({ nrSegments: 12 });
    expect(r.requests[1]!.segments).toHaveLength(11);
    // (slot 2's unused segment entries are zeros: gref 0 sectors 0-0, which the layout checks also see)
    expect(tally(r.findings)).toMatchObject({ 'segment-limit/error': 2, 'bad-segment/error': 1 });
    const limit = r.findings.filter((f) => f.rule === 'segment-limit').map((f) => f.requestKey);
    expect(limit).toEqual([r.requests[0]!.key, r.requests[1]!.key]);
  });
});
