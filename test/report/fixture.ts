// A synthetic run for renderer tests that do not depend on parsers or real rules: the seed-004 request
// (11 one-sector segments, frame 0x27f68 repeated 8 times) under the window model, plus hostile text.
import { Model } from '../../src/model/model.js';
import type { Rule } from '../../src/rules/types.js';
import type { Request } from '../../src/model/types.js';
import { computeImpact } from '../../src/model/impact.js';
import type { AnalysisResult } from '../../src/analyze.js';
import { ReportCollector } from '../../src/report/bugreport/collect.js';

const fakeRule: Rule = {
  meta: { id: 'fake-repeat', title: 'Fake repeated frame', group: 'layout', defaultSeverity: 'error', summary: 'A page named twice.', families: ['xen'] },
  create(ctx) {
    return {
      request(req) {
        const pages = new Set(req.segments.map((s) => s.frame));
        if (pages.size < req.segments.length) {
          ctx.report({ request: req, message: `request ${req.id}: frame named twice`, impact: computeImpact(req, req.backendModel ?? 'per-segment') });
        }
      },
    };
  },
};

export function seedLikeRun(hostile = false): { result: AnalysisResult; collector: ReportCollector } {
  const collector = new ReportCollector(100);
  const model = new Model([fakeRule], {}, collector);
  const file = hostile ? 'evil\u001b[31m.txt' : 'mail.txt';
  const frames = ['0x27f68', '0x27f68', '0x27f68', '0x27f68', '0x27f68', '0x27f68', '0x27f68', '0x27f68', '0x27f67', '0x27f67', '0x27f67'];
  const mk = (id: number, sector: number, segs: { frame: string; firstSect: number; lastSect: number }[], line: number): Request => ({
    key: `k${id}`,
    id: `0x${id.toString(16)}`,
    format: 'netbsd-xbdback-xen2',
    file,
    seq: 0,
    domain: 2,
    op: 'read',
    sector,
    sectors: segs.reduce((a, s) => a + s.lastSect - s.firstSect + 1, 0),
    bytes: segs.reduce((a, s) => a + s.lastSect - s.firstSect + 1, 0) * 512,
    segments: segs,
    state: 'inflight',
    backendModel: 'window',
    evidence: [
      { file, line, text: hostile ? '> xbdback op 0 \u001b]0;pwn\u0007 caf\u00e9 ' + 'x'.repeat(400) : '> xbdback op 0 req_cons 0xcd40 req_prod 0xcd47/0x7 resp_prod 0xcd40/0x0' },
      ...segs.map((s, i) => ({ file, line: line + 1 + i, text: `> xbdback_io domain 2: frame_and_sects[${i}]=${s.frame}0${(s.firstSect * 8 + s.lastSect).toString(16).padStart(2, '0')}` })),
    ],
  });
  // A clean 4-page write first, then the seed-004 read.
  model.handle({ kind: 'submit', req: mk(0xd01c, 524304, ['0x226af', '0x226ac', '0x2260d', '0x225e1'].map((f) => ({ frame: f, firstSect: 0, lastSect: 7 })), 1) });
  model.handle({ kind: 'retire', key: 'k53276' });
  model.handle({ kind: 'submit', req: mk(0xcd40, 1, frames.map((f, i) => ({ frame: f, firstSect: i % 8, lastSect: i % 8 })), 10) });
  model.handle({ kind: 'retire', key: 'k52544' });
  model.end();
  const result: AnalysisResult = {
    inputs: [{ file, format: 'netbsd-xbdback-xen2', formats: ['netbsd-xbdback-xen2'], records: 19, skipped: 0, skippedSamples: [], lines: 30, bytes: 1200 }],
    model,
    errors: [],
  };
  return { result, collector };
}
