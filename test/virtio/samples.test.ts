// Every virtio sample with an <name>.expected.json gives the expected request count and findings.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { analyzeFiles, tally } from '../helpers.js';

const DIR = 'samples/virtio';
const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => f.replace(/\.expected\.json$/, ''));

describe('virtio samples match their expected findings', () => {
  it('has samples, each with a provenance note', () => {
    expect(cases.length).toBeGreaterThanOrEqual(5);
    for (const c of cases) expect(existsSync(`${DIR}/${c}.md`), c).toBe(true);
  });
  for (const name of cases) {
    it(name, async () => {
      const exp = JSON.parse(readFileSync(`${DIR}/${name}.expected.json`, 'utf8')) as {
        requests: number;
        findings: { rule: string; severity: string; count: number }[];
      };
      const text = readFileSync(`${DIR}/${name}.log`, 'utf8');
      const r = await analyzeFiles([`${DIR}/${name}.log`]);
      expect(r.errors).toEqual([]);
      expect(r.inputs[0]!.format).toBe('qemu-log');
      expect(r.inputs[0]!.skipped).toBe(0);
      // One request per popped element.
      const pops = (text.match(/(?:^|:)virtqueue_pop /gm) ?? []).length;
      expect(r.requests).toHaveLength(pops);
      expect(r.requests).toHaveLength(exp.requests);
      const want: Record<string, number> = {};
      for (const f of exp.findings) want[`${f.rule}/${f.severity}`] = f.count;
      expect(tally(r.model.findings)).toEqual(want);
    });
  }
});
