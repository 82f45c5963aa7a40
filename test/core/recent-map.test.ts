// RecentMap (src/util/recent-map.ts): bounded per-pointer state. Checked against a plain model of it (a Map and the
// keys in first-set order) on random operation sequences, and on the case the ring exists for: millions of keys
// going through a small bound in linear time.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RecentMap } from '../../src/util/recent-map.js';

describe('RecentMap', () => {
  it('keeps the last `max` keys by first set, values updated in place, like a reference model', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer()), { maxLength: 300 }), (max, ops) => {
        const m = new RecentMap<number, number>(max);
        const ref = new Map<number, number>();
        const order: number[] = [];
        let dropped = 0;
        for (const [k, v] of ops) {
          if (!ref.has(k)) {
            if (ref.size === max) {
              ref.delete(order.shift()!);
              dropped++;
            }
            order.push(k);
          }
          ref.set(k, v);
          m.set(k, v);
          expect(m.size).toBe(ref.size);
          expect(m.size).toBeLessThanOrEqual(max);
        }
        expect([...m.entries()]).toEqual(order.map((k) => [k, ref.get(k)]));
        for (let k = 0; k <= 20; k++) {
          expect(m.get(k)).toBe(ref.get(k));
          expect(m.has(k)).toBe(ref.has(k));
        }
        expect(m.dropped).toBe(dropped);
      }),
      { numRuns: 300 },
    );
  });

  it('takes two million new keys through a bound of 1024 and keeps the newest', () => {
    const m = new RecentMap<number, number>(1024);
    for (let i = 0; i < 2_000_000; i++) m.set(i, i * 2);
    expect(m.size).toBe(1024);
    expect(m.dropped).toBe(2_000_000 - 1024);
    expect(m.get(1_999_999)).toBe(3_999_998);
    expect(m.get(2_000_000 - 1024)).toBe(2 * (2_000_000 - 1024));
    expect(m.has(2_000_000 - 1025)).toBe(false);
    expect([...m.entries()][0]).toEqual([2_000_000 - 1024, 2 * (2_000_000 - 1024)]);
  });

  it('refuses a bound below 1', () => {
    expect(() => new RecentMap(0)).toThrow(/at least 1/);
  });
});
