import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { analyzeFiles, analyzeText, shape, tally } from '../helpers.js';

const SEED = 'samples/xen/seed-004-mail.txt';

describe('seed-004: NetBSD xbdback repeated frames (the mail as posted)', () => {
  it('rebuilds the read at sector 1: 11 segments, 5632 bytes, no size mismatch', async () => {
    const r = await analyzeFiles([SEED]);
    expect(r.inputs[0]!.format).toBe('netbsd-xbdback');
    expect(r.inputs[0]!.skipped).toBe(0);
    expect(r.requests).toHaveLength(2);
    const read = r.requests[0]!;
    expect(read.op).toBe('read');
    expect(read.sector).toBe(1);
    expect(read.segments).toHaveLength(11);
    expect(read.bytes).toBe(5632);
    expect(read.loggedBytes).toBe(5632);
    expect(read.device).toBe('dom2');
    expect(read.segments.slice(0, 8).every((s) => s.frame === '0x27f68')).toBe(true);
    expect(read.segments.slice(8).map((s) => s.frame)).toEqual(['0x27f67', '0x27f67', '0x27f67']);
    expect(read.segments.map((s) => s.firstSect)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2]);
    expect(read.ring).toMatchObject({ reqCons: 0xcd40, reqProd: 0xcd47, rspProd: 0xcd40, reqProdMasked: 7, rspProdMasked: 0 });
    expect(r.model.findings.some((f) => f.rule === 'size-mismatch')).toBe(false);
  });

  it('flags repeated-frame (error) for 0x27f68 x8 and 0x27f67 x3, and sg-hole', async () => {
    const r = await analyzeFiles([SEED]);
    const rf = r.model.findings.filter((f) => f.rule === 'repeated-frame');
    expect(rf.map((f) => [f.data!.frame, f.data!.count, f.severity])).toEqual([
      ['0x27f68', 8, 'error'],
      ['0x27f67', 3, 'error'],
    ]);
    expect(r.model.findings.filter((f) => f.rule === 'sg-hole')).toHaveLength(1);
    // Evidence names the original lines of the mail.
    expect(rf[0]!.evidence[0]).toMatchObject({ file: SEED, line: 9 });
    expect(rf[0]!.evidence[0]!.text).toContain('xbdback op 0 req_cons 0xcd40');
  });

  it('computes the window-model impact: disk sectors 9-11 land in 0x27f68 sectors 0-2; 0x27f67 0-2 never transferred', async () => {
    const r = await analyzeFiles([SEED]);
    const f = r.model.findings.find((x) => x.rule === 'repeated-frame')!;
    expect(f.impact!.model).toBe('window');
    expect(f.impact!.misdirected).toEqual([{ sector: 9, count: 3, expected: { frame: '0x27f67', sect: 0 }, actual: { frame: '0x27f68', sect: 0 } }]);
    expect(f.impact!.untouched).toEqual([{ frame: '0x27f67', firstSect: 0, lastSect: 2 }]);
  });

  it('gives no finding for the second request (4 full pages, 16384 bytes)', async () => {
    const r = await analyzeFiles([SEED]);
    const w = r.requests[1]!;
    expect(w).toMatchObject({ op: 'write', sector: 524304, bytes: 16384 });
    expect(w.segments).toHaveLength(4);
    expect(r.model.findings.filter((f) => f.requestKey === w.key)).toEqual([]);
  });

  it('under --backend-model per-segment the disjoint repeated frames are info and nothing is misdirected', async () => {
    const r = await analyzeFiles([SEED], { backendModel: 'per-segment' });
    const rf = r.model.findings.filter((f) => f.rule === 'repeated-frame');
    expect(rf.map((f) => f.severity)).toEqual(['info', 'info']);
    expect(rf[0]!.impact!.misdirected).toEqual([]);
  });
});

describe('the same log pasted in other shapes gives identical requests and findings', () => {
  const raw = readFileSync(SEED, 'utf8');
  const logLines = raw.split('\n').filter((l) => /xbdback/.test(l)).map((l) => l.replace(/^>?\s?/, ''));

  async function baseline() {
    const r = await analyzeText(logLines.join('\n') + '\n');
    return { req: shape(r.requests), f: tally(r.model.findings), imp: r.model.findings.map((x) => x.impact) };
  }

  const variants: [string, (l: string, i: number) => string, string?][] = [
    ['>> quoting', (l) => `>> ${l}`],
    ['mixed quoting depths', (l, i) => ['> ', '>> ', '> > ', '>'][i % 4] + l],
    ['syslog prefix', (l) => `Jun  6 21:08:01 xenhost /netbsd: ${l}`],
    ['syslog + kernel tag + dmesg stamp', (l, i) => `Jun  6 21:08:0${i % 10} host kernel: [  ${100 + i}.123456] ${l}`],
    ['dmesg stamps', (l, i) => `[ ${12 + i}.000${i}] ${l}`],
    ['RFC 5424', (l) => `<4>1 2005-06-06T21:08:01.003Z xenhost netbsd - - - ${l}`],
    ['(XEN) prefix', (l) => `(XEN) ${l}`],
    ['HTML archive', (l) => `&gt; ${l.replace(/>/g, '&gt;')}`],
    ['CRLF', (l) => `${l}\r`],
  ];
  for (const [name, fn] of variants) {
    it(name, async () => {
      const base = await baseline();
      const text = ['Some prose before the log.', ...logLines.map(fn), '-- ', 'signature'].join('\n');
      const r = await analyzeText(text);
      expect(shape(r.requests)).toEqual(base.req);
      expect(tally(r.model.findings)).toEqual(base.f);
      expect(r.model.findings.map((x) => x.impact)).toEqual(base.imp);
      expect(r.inputs[0]!.skipped).toBe(0);
    });
  }

  it('rejoins lines broken by mail wrapping and keeps both line numbers as evidence', async () => {
    const base = await baseline();
    const wrapped: string[] = [];
    for (const l of logLines) {
      const q = `> ${l}`;
      if (q.length > 50) {
        wrapped.push(q.slice(0, 48));
        wrapped.push('> ' + q.slice(48));
      } else wrapped.push(q);
    }
    const r = await analyzeText(wrapped.join('\n'));
    expect(shape(r.requests)).toEqual(base.req);
    expect(tally(r.model.findings)).toEqual(base.f);
    const ev = r.requests[0]!.evidence[1]!;
    expect(ev.text!.split('\n')).toHaveLength(2);
  });
});

describe('a clean log of hundreds of full-page requests', () => {
  it('gives 0 error findings', async () => {
    const lines: string[] = [];
    let cons = 0x1000;
    for (let i = 0; i < 400; i++) {
      lines.push(`xbdback op ${i % 2} req_cons 0x${cons.toString(16)} req_prod 0x${(cons + 4).toString(16)}/0x${((cons + 4) & 63).toString(16)} resp_prod 0x${cons.toString(16)}/0x${(cons & 63).toString(16)}`);
      const n = 1 + (i % 11);
      for (let s = 0; s < n; s++) {
        const fas = ((0x20000 + i * 16 + s) * 4096 + 7).toString(16);
        lines.push(`xbdback_io domain 1: frame_and_sects[${s}]=0x${fas}`);
      }
      lines.push(`xbdback_io domain 1: start sect ${i * 88} start 0 size ${n * 4096}`);
      lines.push('xbdback_io domain 1: start request');
      cons++;
    }
    const r = await analyzeText(lines.join('\n'));
    expect(r.requests).toHaveLength(400);
    expect(r.model.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(r.inputs[0]!.skipped).toBe(0);
  });
});
