// Every sample with an <name>.expected.json gives the expected request count and findings.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { analyzeFiles, tally } from '../helpers.js';

const DIR = 'samples/xen';
const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => f.replace(/\.expected\.json$/, ''));

describe('Xen samples match their expected findings', () => {
  it('has a trigger and a clean sample with a provenance note for every Xen check', () => {
    for (const rule of ['repeated-frame', 'sg-hole', 'size-mismatch', 'bad-segment', 'segment-limit', 'ring-overflow', 'ring-index-regression', 'orphan-response', 'never-completed', 'access-denied', 'misaligned']) {
      expect(cases).toContain(`${rule}.trigger`);
      expect(cases).toContain(`${rule}.clean`);
      expect(existsSync(`${DIR}/${rule}.md`)).toBe(true);
    }
  });
  for (const name of cases) {
    it(name, async () => {
      const exp = JSON.parse(readFileSync(`${DIR}/${name}.expected.json`, 'utf8')) as {
        requests: number;
        findings: { rule: string; severity: string; count: number }[];
      };
      const r = await analyzeFiles([`${DIR}/${name}.log`]);
      expect(r.errors).toEqual([]);
      expect(r.inputs[0]!.skipped).toBe(0);
      expect(r.requests).toHaveLength(exp.requests);
      const want: Record<string, number> = {};
      for (const f of exp.findings) want[`${f.rule}/${f.severity}`] = f.count;
      expect(tally(r.model.findings)).toEqual(want);
    });
  }
});
