// SteadyMap behaves as a Map (order, size, iteration, delete/re-insert) while its hidden entry stays hidden.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { REBUILD_EVERY, SteadyMap } from '../../src/util/steady-map.js';

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

  it('matches a Map across table rebuilds (long runs of set/delete)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 }), fc.integer()), { minLength: 3 * REBUILD_EVERY, maxLength: 6 * REBUILD_EVERY }),
        (ops) => {
          const a = new Map<number, number>();
          const b = new SteadyMap<number, number>();
          for (const [isSet, k, v] of ops) {
            if (isSet) {
              a.set(k, v);
              b.set(k, v);
            } else expect(b.delete(k)).toBe(a.delete(k));
          }
          expect(b.size).toBe(a.size);
          expect([...b]).toEqual([...a]);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('visits what a Map visits when entries are deleted during an iteration that crosses a rebuild', () => {
    const n = 3 * REBUILD_EVERY;
    const a = new Map<number, number>();
    const b = new SteadyMap<number, number>();
    for (let i = 0; i < n; i++) {
      a.set(i, i);
      b.set(i, i);
    }
    const walk = (m: Map<number, number> | SteadyMap<number, number>): number[] => {
      const seen: number[] = [];
      for (const [k] of m) {
        seen.push(k);
        // Delete the visited entry and one not visited yet.
        m.delete(k);
        m.delete(n - 1 - k);
      }
      return seen;
    };
    const seenA = walk(a);
    expect(walk(b)).toEqual(seenA);
    expect(seenA.length).toBe(n / 2);
    expect(b.size).toBe(0);
    // Rebuilds resume once the iteration is over: the table still behaves after many more deletions.
    for (let i = 0; i < 2 * REBUILD_EVERY; i++) {
      b.set(i, i);
      b.delete(i);
    }
    b.set(7, 7);
    expect([...b]).toEqual([[7, 7]]);
  });
});
