// Checks, their docs and their registry agree one to one; every doc example behaves as the doc says.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { RULES } from '../../src/rules/index.js';
import { analyzeText } from '../helpers.js';

const HEADERS = ['## Summary', '## Why it matters', '## Triggers', '## Does not trigger', '## Options', '## False positives', '## References'];

function examples(doc: string, section: string): string[] {
  const start = doc.indexOf(`## ${section}\n`);
  if (start < 0) return [];
  const rest = doc.slice(start + section.length + 4);
  const end = rest.indexOf('\n## ');
  const body = end < 0 ? rest : rest.slice(0, end);
  return [...body.matchAll(/```log\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('check registry', () => {
  it('ids are unique and each check file is registered', () => {
    const ids = RULES.map((r) => r.meta.id);
    expect(new Set(ids).size).toBe(ids.length);
    const files = readdirSync('src/rules').filter((f) => f.endsWith('.md')).map((f) => f.slice(0, -3));
    for (const f of files) expect(ids, `doc src/rules/${f}.md has no registered check`).toContain(f);
  });
  for (const rule of RULES) {
    describe(rule.meta.id, () => {
      const path = `src/rules/${rule.meta.id}.md`;
      it('has a doc with the fixed headers in order', () => {
        expect(existsSync(path), `missing ${path}`).toBe(true);
        const doc = readFileSync(path, 'utf8');
        expect(doc.startsWith(`# ${rule.meta.id}\n`)).toBe(true);
        let at = -1;
        for (const h of HEADERS) {
          const i = doc.indexOf(`\n${h}\n`);
          expect(i, `${path}: missing "${h}"`).toBeGreaterThan(at);
          at = i;
        }
      });
      it('doc examples trigger / do not trigger it', async () => {
        const doc = existsSync(path) ? readFileSync(path, 'utf8') : '';
        for (const ex of examples(doc, 'Triggers')) {
          const r = await analyzeText(ex);
          expect(r.model.findings.map((f) => f.rule), `${rule.meta.id} Triggers example:\n${ex}`).toContain(rule.meta.id);
        }
        for (const ex of examples(doc, 'Does not trigger')) {
          const r = await analyzeText(ex);
          expect(r.model.findings.map((f) => f.rule), `${rule.meta.id} Does-not-trigger example:\n${ex}`).not.toContain(rule.meta.id);
        }
      });
    });
  }
});
