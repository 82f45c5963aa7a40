// The check registry: one line per check (src/rules/<id>.ts, doc in src/rules/<id>.md).
import type { Rule } from './types.js';

export const RULES: Rule[] = [
];

export function findRule(id: string): Rule | undefined {
  return RULES.find((r) => r.meta.id === id);
}
