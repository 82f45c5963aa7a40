// The model's dispatch contract (src/rules/types.ts): which visitor hooks see which events, and the
// in-flight table checks read through ctx.inflight().
import { describe, expect, it } from 'vitest';
import { Model } from '../../src/model/model.js';
import { RULES } from '../../src/rules/index.js';
import type { Rule } from '../../src/rules/types.js';
import type { ParsedEvent, Request } from '../../src/model/types.js';
import { tally } from '../helpers.js';

let n = 0;
function req(op: string, sector: number, sectors: number, extra: Partial<Request> = {}): Request {
  n++;
  return { key: `k${n}`, id: String(n), format: 'blkparse', file: 'vda.txt', seq: 0, device: '254,0', family: 'linux-block', op, sector, sectors, bytes: sectors * 512, segments: [], state: 'inflight', expectsCompletion: true, evidence: [{ file: 'vda.txt', line: n }], ...extra };
}

/** A check that records what it is shown. */
function recorder(completions: boolean) {
  const seen: string[] = [];
  let inflightAtReset: string[] = [];
  const rule: Rule = {
    meta: { id: 'recorder', title: 'r', group: 'sequence', defaultSeverity: 'info', summary: 's', families: ['linux-block'] },
    create(ctx) {
      return {
        completions,
        submit: (r) => void seen.push(`submit ${r.id}`),
        request: (r) => void seen.push(`request ${r.id} ${r.state}`),
        event: (ev, r) => {
          seen.push(`event ${ev.kind}${r ? ' ' + r.id : ''}`);
          if (ev.kind === 'reset') inflightAtReset = [...ctx.inflight()].map((x) => x.id);
        },
      };
    },
  };
  return { rule, seen, inflight: () => inflightAtReset };
}

describe('model dispatch', () => {
  const a = req('write', 0, 8);
  const b = req('read', 64, 8);
  const c = req('write', 128, 8);
  const events: ParsedEvent[] = [
    { kind: 'submit', req: a },
    { kind: 'submit', req: b },
    { kind: 'complete', key: a.key, status: 'ok', time: 1 },
    { kind: 'submit', req: c },
    { kind: 'reset', reason: 'kill', evidence: [{ file: 'vda.txt', line: 99 }] },
    { kind: 'diag', code: 'x', message: 'm', evidence: [] },
  ];
  const feed = (rule: Rule) => {
    const m = new Model([rule], {});
    for (const e of events) m.handle(e.kind === 'submit' ? { kind: 'submit', req: { ...e.req, evidence: [...e.req.evidence] } } : e);
    m.end();
    return m;
  };

  it('complete/retire events reach event() only for visitors that ask (completions)', () => {
    const without = recorder(false);
    feed(without.rule);
    expect(without.seen).toEqual([
      'submit 1',
      'submit 2',
      'request 1 completed',
      'submit 3',
      'event reset',
      'event diag',
      'request 2 unfinished',
      'request 3 unfinished',
    ]);
    const withC = recorder(true);
    feed(withC.rule);
    expect(withC.seen.slice(0, 4)).toEqual(['submit 1', 'submit 2', 'event complete 1', 'request 1 completed']);
  });

  it('ctx.inflight() is the model table in submission order (a completed request has left it)', () => {
    const r = recorder(false);
    feed(r.rule);
    expect(r.inflight()).toEqual(['2', '3']);
  });

  it('never-completed flags exactly the requests in flight at a kill, once each', () => {
    const m = new Model(RULES, {});
    for (const e of events) m.handle(e.kind === 'submit' ? { kind: 'submit', req: { ...e.req, evidence: [...e.req.evidence] } } : e);
    m.end();
    const nc = m.findings.filter((f) => f.rule === 'never-completed');
    expect(nc.map((f) => [f.requestId, f.severity])).toEqual([
      ['2', 'error'],
      ['3', 'error'],
    ]);
    expect(tally(m.findings)['never-completed/error']).toBe(2);
  });

  it('a completion that hands over its request completes that request, and falls back to the key when renamed', () => {
    const m = new Model([], {});
    const x = req('write', 0, 8, { key: 'same' });
    const y = req('write', 8, 8, { key: 'same' }); // same key while x is in flight: the model renames it
    m.handle({ kind: 'submit', req: x });
    m.handle({ kind: 'submit', req: y });
    expect(y.key).toBe('same#1');
    // A parser that read the key before the rename: the key no longer names y, so the table decides (x).
    m.handle({ kind: 'complete', key: 'same', status: 'ok', time: 2, req: y });
    expect([x.state, y.state]).toEqual(['completed', 'inflight']);
    m.handle({ kind: 'complete', key: y.key, status: 'ok', time: 3, req: y });
    expect(y.state).toBe('completed');
    expect(y.latency).toBeUndefined(); // no submitTime
    expect([...m.inflight.values()]).toEqual([]);
    // Completed already: a second completion with the request is an orphan, as one by key would be.
    m.handle({ kind: 'complete', key: y.key, status: 'ok', time: 4, req: y });
    expect(m.stats.orphans).toBe(1);
  });
});
