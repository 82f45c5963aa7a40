// The format registry: samples match their patterns and yield their fields; every pattern has a sample;
// detect() never throws and says 0 to garbage.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FORMATS } from '../../parsers/index.js';
import { matchText } from '../../parsers/match.js';

describe('format registry', () => {
  it('has unique ids and every format has samples and a field table', () => {
    const ids = FORMATS.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const f of FORMATS) {
      expect(f.samples.length, f.id).toBeGreaterThan(0);
      expect(f.fields.length, f.id).toBeGreaterThan(0);
    }
  });

  for (const f of FORMATS) {
    if (f.kind !== 'text') continue;
    it(`${f.id}: every sample matches its pattern with the listed fields`, () => {
      for (const s of f.samples) {
        const m = matchText(f, s.line);
        expect(m, `${f.id}: sample "${s.line}" matches no pattern`).not.toBeNull();
        expect(m, `${f.id}: sample "${s.line}" looks malformed`).not.toBe('malformed');
        if (m && m !== 'malformed') {
          expect(m.pattern, `${f.id}: sample "${s.line}"`).toBe(s.pattern);
          for (const [k, v] of Object.entries(s.fields ?? {})) expect(String(m.groups[k]), `${f.id}: ${s.line}: field ${k}`).toBe(String(v));
        }
      }
    });
    if (!f.match) {
      it(`${f.id}: every pattern is exercised by a sample`, () => {
        const used = new Set(f.samples.map((s) => s.pattern));
        for (const p of Object.keys(f.patterns)) expect(used.has(p), `${f.id}: pattern ${p} has no sample`).toBe(true);
      });
    }
  }

  it('detect() never throws, on text or bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 200 }), { maxLength: 50 }), fc.uint8Array({ maxLength: 4096 }), (lines, bytes) => {
        for (const f of FORMATS) {
          if (f.kind === 'text') {
            const c = f.detect(lines);
            expect(c).toBeGreaterThanOrEqual(0);
            expect(c).toBeLessThanOrEqual(1);
          } else {
            const c = f.detect(Buffer.from(bytes));
            expect(c).toBeGreaterThanOrEqual(0);
            expect(c).toBeLessThanOrEqual(1);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('no Xen text format claims English prose', () => {
    const prose = ['While I know very little about the innards of Xen, it looks to me,', 'So: am I completely wrong in my reading of the relevant source?', ''];
    for (const f of FORMATS) if (f.kind === 'text' && f.family === 'xen') expect(f.detect(prose), f.id).toBe(0);
  });
});
