// Filter expressions for the request list: space-separated terms, all must hold (AND); commas inside one
// term are alternatives (OR). Terms:
//   op:read,write        operation (bare `read`, `write`, `flush`... also work)
//   rule:repeated-frame  requests named by a finding of that rule (prefix match)
//   sev:warning          requests with a finding at or above that severity (`flagged` = any finding)
//   dev:xbd              device contains the text
//   sector:100-200       request's sector range overlaps [100, 200]; `sector:100` contains sector 100
//   state:unfinished     request state
// Pure: parseFilter(text) -> FilterSpec | error; the store applies it to its columns.
import type { Severity } from '../src/model/types.js';
import { SEVERITY_RANK } from '../src/model/types.js';

export interface FilterSpec {
  text: string;
  ops?: string[];
  rules?: string[];
  minSev?: number;
  flagged?: boolean;
  devs?: string[];
  sectors?: { lo: number; hi: number }[];
  states?: string[];
}

const KNOWN_OPS = new Set(['read', 'write', 'flush', 'barrier', 'discard', 'write-zeroes', 'get-id', 'probe', 'zone', 'unknown']);
const STATES = new Set(['inflight', 'completed', 'retired', 'unfinished']);

export type FilterParse = { ok: true; spec: FilterSpec | null } | { ok: false; error: string };

function parseRange(s: string): { lo: number; hi: number } | undefined {
  const m = /^(\d+)(?:(-|\+)(\d+))?$/.exec(s);
  if (!m) return undefined;
  const a = Number(m[1]);
  if (m[2] === undefined) return { lo: a, hi: a };
  const b = Number(m[3]);
  if (m[2] === '+') return b > 0 ? { lo: a, hi: a + b - 1 } : undefined;
  return b >= a ? { lo: a, hi: b } : undefined;
}

export function parseFilter(text: string): FilterParse {
  const trimmed = text.trim();
  if (!trimmed) return { ok: true, spec: null };
  const spec: FilterSpec = { text: trimmed };
  for (const term of trimmed.split(/\s+/)) {
    const colon = term.indexOf(':');
    let key = colon > 0 ? term.slice(0, colon).toLowerCase() : '';
    let val = colon > 0 ? term.slice(colon + 1) : term;
    if (!key) {
      const low = term.toLowerCase();
      if (KNOWN_OPS.has(low)) key = 'op';
      else if (low === 'flagged') {
        spec.flagged = true;
        continue;
      } else if (low in SEVERITY_RANK) key = 'sev';
      else if (STATES.has(low)) key = 'state';
      else if (/^\d+([-+]\d+)?$/.test(low)) key = 'sector';
      else return { ok: false, error: `unknown filter term '${term}' (try op: rule: sev: dev: sector: state:)` };
      val = term;
    }
    const vals = val.split(',').filter((v) => v.length > 0);
    if (vals.length === 0) return { ok: false, error: `empty value in '${term}'` };
    switch (key) {
      case 'op':
        spec.ops = [...(spec.ops ?? []), ...vals.map((v) => v.toLowerCase())];
        break;
      case 'rule':
        spec.rules = [...(spec.rules ?? []), ...vals.map((v) => v.toLowerCase())];
        break;
      case 'sev':
      case 'severity': {
        const v = vals[0]!.toLowerCase() as Severity;
        if (!(v in SEVERITY_RANK)) return { ok: false, error: `unknown severity '${vals[0]}' (info, warning, error)` };
        spec.minSev = SEVERITY_RANK[v];
        break;
      }
      case 'dev':
      case 'device':
        spec.devs = [...(spec.devs ?? []), ...vals];
        break;
      case 'sector':
      case 'sectors': {
        const rs: { lo: number; hi: number }[] = [];
        for (const v of vals) {
          const r = parseRange(v);
          if (!r) return { ok: false, error: `bad sector range '${v}' (N, A-B or A+COUNT)` };
          rs.push(r);
        }
        spec.sectors = [...(spec.sectors ?? []), ...rs];
        break;
      }
      case 'state':
        spec.states = [...(spec.states ?? []), ...vals.map((v) => v.toLowerCase())];
        break;
      default:
        return { ok: false, error: `unknown filter key '${key}:' (op: rule: sev: dev: sector: state:)` };
    }
  }
  return { ok: true, spec };
}
