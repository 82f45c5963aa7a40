// xen-ring / xen-ring-hexdump on the constructed dumps in samples/xen-ring (built by make.mjs): every sample gives
// its expected requests and findings; the decoded fields match the construction; text renderings decode like the bytes.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { diag, runBytes, runFile, shape, tally, xxd, xxdGrouped } from './helpers.js';

const DIR = 'samples/xen-ring';
const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => f.replace(/\.expected\.json$/, ''));
const dataOf = (name: string) => (existsSync(`${DIR}/${name}.bin`) ? `${DIR}/${name}.bin` : `${DIR}/${name}.txt`);

describe('xen-ring samples match their expected findings', () => {
  it('has the samples the format needs, each with a note', () => {
    for (const name of ['clean-x86_64', 'abi-x86_32', 'xen2-seed004', 'overflow-x86_64', 'xen2-seed004.xxd']) expect(cases).toContain(name);
    for (const name of cases) expect(existsSync(`${DIR}/${name}.md`), `${name}.md`).toBe(true);
  });

  for (const name of cases) {
    it(name, async () => {
      const exp = JSON.parse(readFileSync(`${DIR}/${name}.expected.json`, 'utf8')) as {
        requests: number;
        findings: { rule: string; severity: string; count: number }[];
      };
      const file = dataOf(name);
      const r = await runFile(file);
      expect(r.errors).toEqual([]);
      expect(r.skipped, r.reasons.join('; ')).toBe(0);
      expect(r.formats).toEqual([file.endsWith('.bin') ? 'xen-ring' : 'xen-ring-hexdump']);
      expect(r.requests).toHaveLength(exp.requests);
      expect(r.requests.every((q) => q.state === 'retired' && q.family === 'xen')).toBe(true);
      const want: Record<string, number> = {};
      for (const f of exp.findings) want[`${f.rule}/${f.severity}`] = f.count;
      expect(tally(r.findings)).toEqual(want);
      expect(r.rings).toHaveLength(1);
      expect(diag(r, 'ring-abi')).toHaveLength(1);
      expect(diag(r, 'ring-stale-slots')).toHaveLength(1);
    });
  }
});

describe('decoded fields', () => {
  it('clean x86_64 ring: 4 outstanding requests in slots 1-4, 28 stale slots holding responses', async () => {
    const r = await runFile(`${DIR}/clean-x86_64.bin`);
    expect(r.rings[0]!.ring).toEqual({ reqProd: 0x1a5, rspProd: 0x1a1, ringSize: 32 });
    const abi = diag(r, 'ring-abi')[0]!;
    expect(abi.data).toMatchObject({ layout: 'x86_64', nrEnts: 32, entryBytes: 112, outstanding: 4, checked: 4, valid: 4, otherAbi: 'x86_32', otherValid: 0, reqEvent: 0x1a2, rspEvent: 0x1a2 });
    expect(diag(r, 'ring-stale-slots')[0]!.data).toMatchObject({ stale: 28, zero: 0, responses: 28, statuses: { ok: 28 } });
    expect(r.requests.map((q) => q.info!.index)).toEqual([0x1a1, 0x1a2, 0x1a3, 0x1a4]);
    expect(r.requests.map((q) => q.evidence[0]!.offset)).toEqual([64 + 112, 64 + 2 * 112, 64 + 3 * 112, 64 + 4 * 112]);
    const q = r.requests[0]!; // index 0x1a1 = 417: write (417 % 3 == 0), 2 segments
    expect(q).toMatchObject({ op: 'write', id: '1', sector: 8 * 417 * 4, sectors: 16, bytes: 8192, device: 'handle 51712', backendModel: 'per-segment', expectsCompletion: false });
    expect(q.segments).toEqual([
      { gref: 0x100 + ((417 * 4) % 4096), firstSect: 0, lastSect: 7 },
      { gref: 0x100 + ((417 * 4 + 1) % 4096), firstSect: 0, lastSect: 7 },
    ]);
    expect(q.evidence[0]!.text).toMatch(/^slot 1 \(index 0x1a1, x86_64\): op 1 nr_segments 2 handle 51712 id 1 sector 13344 seg \d+:0-7 \d+:0-7$/);
  });

  it('32-bit frontend: the x86_32 layout is chosen (every slot fits it, none fits x86_64) and the window wraps', async () => {
    const r = await runFile(`${DIR}/abi-x86_32.bin`);
    const abi = diag(r, 'ring-abi')[0]!;
    expect(abi.data).toMatchObject({ layout: 'x86_32', entryBytes: 108, nrEnts: 32, valid: 3, otherAbi: 'x86_64', otherValid: 0 });
    expect(abi.message).toMatch(/x86_32 ABI/);
    expect(r.requests.map((q) => [q.info!.slot, q.id, q.sector, q.op])).toEqual([
      [30, '1062', 2048 + 16 * 62, 'read'],
      [31, '1063', 2048 + 16 * 63, 'write'],
      [0, '1064', 2048 + 16 * 64, 'read'],
    ]);
    expect(r.requests[2]!.evidence[0]!.offset).toBe(64);
    expect(r.requests[0]!.evidence[0]!.offset).toBe(64 + 30 * 108);
    expect(r.requests[0]!.segments.map((s) => s.gref)).toEqual([0x2f00 + 124, 0x2f01 + 124]);
  });

  it('Xen 2.0 ring: the seed-004 request in slot 0, window model, sectors 9-11 misdirected into frame 0x27f68', async () => {
    const r = await runFile(`${DIR}/xen2-seed004.bin`);
    expect(diag(r, 'ring-abi')[0]!.data).toMatchObject({ layout: 'xen2', nrEnts: 64, entryBytes: 60, outstanding: 7 });
    expect(r.rings[0]!.ring).toEqual({ reqProd: 0xcd47, rspProd: 0xcd40, ringSize: 64 });
    const seed = r.requests.find((q) => q.sector === 1)!;
    expect(seed).toMatchObject({ op: 'read', sectors: 11, bytes: 5632, device: 'handle 769', backendModel: 'window' });
    expect(seed.evidence[0]!.offset).toBe(8);
    expect(seed.segments).toEqual([
      ...Array.from({ length: 8 }, (_, k) => ({ frame: '0x27f68', firstSect: k, lastSect: k })),
      ...Array.from({ length: 3 }, (_, k) => ({ frame: '0x27f67', firstSect: k, lastSect: k })),
    ]);
    const hole = r.findings.find((f) => f.rule === 'sg-hole')!;
    expect(hole.requestKey).toBe(seed.key);
    expect(hole.message).toContain('disk sectors 9-11 land in frame 0x27f68 sectors 0-2 instead of frame 0x27f67 sectors 0-2');
    const frames = r.findings.filter((f) => f.rule === 'repeated-frame').map((f) => f.data!.frame);
    expect(frames.sort()).toEqual(['0x27f67', '0x27f68']);
    // The other six outstanding requests are whole-page two-segment transfers: nothing to flag.
    expect(r.requests.filter((q) => q !== seed).every((q) => q.segments.length === 2 && q.sectors === 16)).toBe(true);
  });

  it('Xen 2.0 ring as the bare 3848-byte blkif_ring_t decodes the same', async () => {
    const page = readFileSync(`${DIR}/xen2-seed004.bin`);
    const a = await runFile(`${DIR}/xen2-seed004.bin`);
    const b = await runBytes(page.subarray(0, 3848));
    expect(b.errors).toEqual([]);
    expect(b.skipped).toBe(0);
    expect(shape(b.requests)).toEqual(shape(a.requests));
    expect(tally(b.findings)).toEqual(tally(a.findings));
  });

  it('overflowing ring: 40 outstanding on 32 entries, the last 32 requests decoded', async () => {
    const r = await runFile(`${DIR}/overflow-x86_64.bin`);
    const f = r.findings.find((x) => x.rule === 'ring-overflow')!;
    expect(f.data).toMatchObject({ outstanding: 40, ringSize: 32 });
    expect(r.requests.map((q) => q.info!.index)).toEqual(Array.from({ length: 32 }, (_, k) => 0x128 - 32 + k));
    expect(diag(r, 'ring-stale-slots')[0]!.data).toMatchObject({ stale: 0 });
  });

  it('4-page ring: 128 entries from the dump size, 70 outstanding is no overflow', async () => {
    const r = await runFile(`${DIR}/multipage-x86_64.bin`);
    expect(r.rings[0]!.ring.ringSize).toBe(128);
    expect(r.requests).toHaveLength(70);
    expect(diag(r, 'ring-duplicate-id')).toHaveLength(0);
    // The same header read as a single page would overflow: the entry count really comes from the size.
    const one = await runBytes(readFileSync(`${DIR}/multipage-x86_64.bin`).subarray(0, 4096), { inputFormat: 'xen-ring' });
    expect(one.rings[0]!.ring.ringSize).toBe(32);
    expect(tally(one.findings)['ring-overflow/error']).toBe(1);
  });
});

describe('text renderings', () => {
  it('the mail-quoted xxd page gives the same requests as the bytes, with evidence on the pasted lines', async () => {
    const bin = await runFile(`${DIR}/xen2-seed004.bin`);
    const txt = await runFile(`${DIR}/xen2-seed004.xxd.txt`);
    expect(shape(txt.requests)).toEqual(shape(bin.requests));
    expect(tally(txt.findings)).toEqual(tally(bin.findings));
    const seed = txt.requests.find((q) => q.sector === 1)!;
    // Byte 8 is on the first dump line (line 6 of the mail).
    expect(seed.evidence[0]).toMatchObject({ offset: 8, line: 6 });
    expect(seed.evidence[0]!.text).toMatch(/^> 00000000: 47cd 0000 40cd 0000/);
  });

  it('hexdump -C with * runs gives the same requests as the bytes', async () => {
    const bin = await runFile(`${DIR}/overflow-x86_64.bin`);
    const txt = await runFile(`${DIR}/overflow-x86_64.hexdump.txt`);
    expect(readFileSync(`${DIR}/overflow-x86_64.hexdump.txt`, 'utf8')).toContain('\n*\n');
    expect(shape(txt.requests)).toEqual(shape(bin.requests));
    expect(tally(txt.findings)).toEqual(tally(bin.findings));
  });

  it('xxd -g1, upper case and two dumps in one mail: each dump decoded, the second index regression flagged', async () => {
    const clean = readFileSync(`${DIR}/clean-x86_64.bin`);
    const later = Buffer.from(clean);
    later.writeUInt32LE(0x1a3, 0); // req_prod went back from 0x1a5 to 0x1a3
    const g1 = (t: string) =>
      t.replace(/^([0-9a-f]{8}): ((?:[0-9a-f]{4} ?)+)/gm, (_all, off: string, hex: string) => `${off}: ${hex.trim().replace(/ /g, '').replace(/(..)(?!$)/g, '$1 ')} `);
    const text = ['first dump:', xxd(clean), 'second dump, a second later:', g1(xxd(later)).toUpperCase()].join('\n');
    const r = await runBytes(text, {}, 'two-dumps.txt');
    expect(r.errors).toEqual([]);
    expect(r.formats).toEqual(['xen-ring-hexdump']);
    expect(r.skipped, r.reasons.join('; ')).toBe(0);
    expect(r.rings.map((x) => x.ring.reqProd)).toEqual([0x1a5, 0x1a3]);
    expect(r.requests).toHaveLength(4 + 2);
    expect(new Set(r.requests.map((q) => q.key)).size).toBe(6);
    expect(tally(r.findings)).toEqual({ 'ring-index-regression/error': 1 });
  });
});

describe('ring anomalies (SPEC §5 items 15, 17, 19)', () => {
  const clean = () => Buffer.from(readFileSync(`${DIR}/clean-x86_64.bin`));

  it('the same grant in two outstanding requests: grant-reuse with both slot offsets', async () => {
    const b = clean();
    const g = b.readUInt32LE(176 + 24); // slot 1, seg 0
    b.writeUInt32LE(g, 288 + 24 + 8); // slot 2, seg 1
    const r = await runBytes(b);
    const d = diag(r, 'grant-reuse');
    expect(d).toHaveLength(1);
    expect(d[0]!.data).toMatchObject({ gref: g, offsets: [176, 288], ids: ['1', '2'] });
    expect(d[0]!.evidence.map((e) => e.offset)).toEqual([176, 288]);
  });

  it('two outstanding requests with one id: ring-duplicate-id', async () => {
    const b = clean();
    b.writeBigUInt64LE(1n, 400 + 8); // slot 3 takes slot 1's id
    const r = await runBytes(b);
    expect(diag(r, 'ring-duplicate-id').map((d) => d.data!.offsets)).toEqual([[176, 400]]);
  });

  it('a response status outside {0, -1, -2} in a stale slot: ring-response-status', async () => {
    const b = clean();
    b.writeInt16LE(22, 64 + 10 * 112 + 10); // slot 10 holds the response of index 0x18a
    const r = await runBytes(b);
    const d = diag(r, 'ring-response-status');
    expect(d).toHaveLength(1);
    expect(d[0]!.data).toMatchObject({ status: 22, offset: 64 + 10 * 112 });
    expect(diag(r, 'ring-stale-slots')[0]!.data).toMatchObject({ statuses: { ok: 27, 'status 22': 1 } });
    expect(r.requests).toHaveLength(4);
  });
});

describe('registry samples', () => {
  it('the binary sample is a ring the format detects and decodes (one 2-segment read)', async () => {
    const { xenRing } = await import('../../parsers/xen-ring.js');
    const b = Buffer.from(xenRing.samples[0]!.hex, 'hex');
    expect(b.length).toBe(4096);
    expect(xenRing.detect(b)).toBeGreaterThanOrEqual(0.5);
    const r = await runBytes(b);
    expect(r.requests.map((q) => [q.op, q.id, q.sector, q.device, q.segments.map((s) => s.gref)])).toEqual([['read', '7', 2048, 'handle 768', [0x11, 0x12]]]);
  });
});

describe('other request kinds and paste shapes', () => {
  it('indirect and discard requests decode with their own layouts (no segment-limit false positive)', async () => {
    const b = Buffer.from(readFileSync(`${DIR}/clean-x86_64.bin`));
    // slot 1: indirect write of 40 segments, handle 51712 in the body, one indirect page (grant 0x777)
    const s1 = 64 + 112;
    b.fill(0, s1, s1 + 112);
    b[s1] = 6;
    b[s1 + 1] = 1;
    b.writeUInt16LE(40, s1 + 2);
    b.writeBigUInt64LE(9n, s1 + 8);
    b.writeBigUInt64LE(4096n, s1 + 16);
    b.writeUInt16LE(51712, s1 + 24);
    b.writeUInt32LE(0x777, s1 + 28);
    // slot 2: discard of 2048 sectors at 8192
    const s2 = 64 + 2 * 112;
    b.fill(0, s2, s2 + 112);
    b[s2] = 5;
    b.writeUInt16LE(51712, s2 + 2);
    b.writeBigUInt64LE(10n, s2 + 8);
    b.writeBigUInt64LE(8192n, s2 + 16);
    b.writeBigUInt64LE(2048n, s2 + 24);
    const r = await runBytes(b);
    expect(r.errors).toEqual([]);
    expect(diag(r, 'ring-abi')[0]!.data).toMatchObject({ layout: 'x86_64', valid: 4 });
    const ind = r.requests.find((q) => q.id === '9')!;
    expect(ind).toMatchObject({ op: 'indirect', nrSegments: 40, sector: 4096, device: 'handle 51712', segments: [] });
    expect(ind.info).toMatchObject({ indirectOp: 'write', indirectGrefs: [0x777] });
    const dis = r.requests.find((q) => q.id === '10')!;
    expect(dis).toMatchObject({ op: 'discard', sector: 8192, sectors: 2048, bytes: 2048 * 512 });
    expect(tally(r.findings)).toEqual({});
  });

  it('a hexdump -C pasted into a mail, quoted and wrapped at 72 columns, decodes the same', async () => {
    const bin = await runFile(`${DIR}/overflow-x86_64.bin`);
    const lines = readFileSync(`${DIR}/overflow-x86_64.hexdump.txt`, 'utf8').trimEnd().split('\n');
    const wrapped: string[] = ['Hi, the ring page of the stuck guest:', ''];
    for (const l of lines) {
      const q = '> ' + l;
      if (q.length <= 72) wrapped.push(q);
      else wrapped.push(q.slice(0, 72), '> ' + q.slice(72));
    }
    const r = await runBytes(wrapped.join('\n') + '\n\nThanks\n', {}, 'mail.txt');
    expect(r.errors).toEqual([]);
    expect(r.skipped, r.reasons.join('; ')).toBe(0);
    expect(shape(r.requests)).toEqual(shape(bin.requests));
    expect(tally(r.findings)).toEqual(tally(bin.findings));
  });
});

describe('responses in stale slots (SPEC §5 item 15)', () => {
  it('a response whose id no request on this ring can have, or for an unknown operation: ring-response-unknown', async () => {
    const b = Buffer.from(readFileSync(`${DIR}/clean-x86_64.bin`));
    b.writeBigUInt64LE(4000n, 64 + 10 * 112); // slot 10's response (index 0x18a): id 4000 on a 32-entry ring
    b[64 + 11 * 112 + 8] = 9; // slot 11's response: operation 9
    const r = await runBytes(b);
    const d = diag(r, 'ring-response-unknown');
    expect(d.map((x) => x.data)).toEqual([
      { id: '4000', op: 0, index: 0x18a, offset: 64 + 10 * 112, idAboveRing: true },
      { id: '11', op: 9, index: 0x18b, offset: 64 + 11 * 112, unknownOp: true },
    ]);
    // The clean page itself has none, and a frontend with large ids (the 32-bit sample: 1062-1064) is not judged.
    expect(diag(await runFile(`${DIR}/clean-x86_64.bin`), 'ring-response-unknown')).toHaveLength(0);
    expect(diag(await runFile(`${DIR}/abi-x86_32.bin`), 'ring-response-unknown')).toHaveLength(0);
  });
});

describe('xxd variants', () => {
  it('-g 0, -g 4 -c 32 and -g 1 renderings decode like the bytes', async () => {
    const page = readFileSync(`${DIR}/abi-x86_32.bin`);
    const bin = await runBytes(page);
    for (const [g, c] of [
      [0, 16],
      [4, 32],
      [1, 16],
      [8, 16],
    ] as const) {
      const r = await runBytes(xxdGrouped(page, g, c), {}, `g${g}c${c}.txt`);
      expect(r.errors, `-g ${g} -c ${c}`).toEqual([]);
      expect(r.skipped, `-g ${g} -c ${c}`).toBe(0);
      expect(shape(r.requests), `-g ${g} -c ${c}`).toEqual(shape(bin.requests));
    }
  });
});
