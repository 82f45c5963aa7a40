// The streamed request JSON is exactly JSON.stringify of the documented request object, on every sample.
import { describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { requestJsonText, requestToJson, safeStringify } from '../../src/report/json.js';
import { analyzeFiles } from '../helpers.js';
import type { Request } from '../../src/model/types.js';

function sampleFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sampleFiles(p));
    else if (!/\.(md|json|mjs|txt\.expected)$/.test(name) && !name.endsWith('.expected.json')) out.push(p);
  }
  return out;
}

describe('request JSON text', () => {
  it('equals safeStringify(requestToJson(req)) for every request of every sample', async () => {
    let n = 0;
    for (const f of sampleFiles('samples')) {
      const r = await analyzeFiles([f]);
      for (const req of r.requests) {
        expect(requestJsonText(req), `${f} request ${req.id}`).toBe(safeStringify(requestToJson(req)));
        n++;
      }
    }
    expect(n).toBeGreaterThan(500);
  });

  it('escapes DEL, C1 and line separators in input-derived strings', () => {
    const req: Request = {
      key: 'k', id: 'a\u009bb\u007f', format: 'x', file: 'f\u2028', seq: 0, op: 'read', sector: 0, sectors: 1, bytes: 512,
      segments: [], state: 'completed', evidence: [{ file: 'f\u2028', line: 1, text: 'ignored' }], device: 'd\u0085',
    };
    const t = requestJsonText(req);
    expect(t).toBe(safeStringify(requestToJson(req)));
    expect(/[\u007f-\u009f\u2028\u2029]/.test(t)).toBe(false);
    expect(JSON.parse(t).id).toBe('a\u009bb\u007f');
  });
});
