// SteadyMap behaves as a Map (order, size, iteration, delete/re-insert) while its hidden entry stays hidden.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SteadyMap } from '../../src/util/steady-map.js';

describe('SteadyMap', () => {
  it('matches a Map under any sequence of set/delete/clear', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('set', 'delete', 'clear'), fc.integer({ min: 0, max: 6 }), fc.integer()), { maxLength: 60 }),
        (ops) => {
          const a = new Map<string, number>();
          const b = new SteadyMap<string, number>();
          for (const [op, k, v] of ops) {
            const key = `k${k}`;
            if (op === 'set') {
              a.set(key, v);
              b.set(key, v);
            } else if (op === 'delete') expect(b.delete(key)).toBe(a.delete(key));
            else {
              a.clear();
              b.clear();
            }
            expect(b.size).toBe(a.size);
            expect([...b]).toEqual([...a]);
            expect([...b.keys()]).toEqual([...a.keys()]);
            expect([...b.values()]).toEqual([...a.values()]);
            expect(b.has(key)).toBe(a.has(key));
            expect(b.get(key)).toBe(a.get(key));
          }
        },
      ),
    );
  });
});
