// samples/ftrace: every <name>.expected.json gives the request count and findings of <name>.txt.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { analyzeFiles, tally } from '../helpers.js';

const DIR = 'samples/ftrace';
const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => f.replace(/\.expected\.json$/, ''));

describe('ftrace samples match their expected findings', () => {
  it('has samples with provenance notes', () => {
    expect(cases.length).toBeGreaterThanOrEqual(3);
    for (const c of cases) expect(readdirSync(DIR)).toContain(`${c}.md`);
  });
  for (const name of cases) {
    it(name, async () => {
      const exp = JSON.parse(readFileSync(`${DIR}/${name}.expected.json`, 'utf8')) as {
        requests: number;
        findings: { rule: string; severity: string; count: number }[];
      };
      const file = `${DIR}/${name}.txt`;
      const r = await analyzeFiles([file]);
      expect(r.errors).toEqual([]);
      expect(r.inputs[0]!.format).toBe('ftrace-block');
      expect(r.inputs[0]!.skipped).toBe(0);
      expect(r.requests).toHaveLength(exp.requests);
      // One request per block_rq_issue line in the file.
      const issues = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes(' block_rq_issue:')).length;
      expect(r.requests).toHaveLength(issues);
      const want: Record<string, number> = {};
      for (const f of exp.findings) want[`${f.rule}/${f.severity}`] = f.count;
      expect(tally(r.model.findings)).toEqual(want);
    });
  }
});
