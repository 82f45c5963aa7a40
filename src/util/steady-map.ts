// A Map for tables that empty and fill again all the time (requests in flight: one goes in, one comes out).
// V8 shrinks a Map's hash table when most of it is free and grows it again on the next insert: a table that
// goes from one entry to none and back reallocates on nearly every request, and that garbage was a good part of
// the model's cost on a 1 M-request trace (bench/README.md, blktrace). This one keeps a hidden entry, so its
// table never empties; everything else is a Map's behaviour (insertion order, same-value-zero keys).

const HIDDEN: unique symbol = Symbol('steady-map');

export class SteadyMap<K, V> {
  private readonly m = new Map<K | typeof HIDDEN, V | undefined>([[HIDDEN, undefined]]);

  get size(): number {
    return this.m.size - 1;
  }
  get(k: K): V | undefined {
    return this.m.get(k);
  }
  has(k: K): boolean {
    return this.m.has(k);
  }
  set(k: K, v: V): this {
    this.m.set(k, v);
    return this;
  }
  delete(k: K): boolean {
    return this.m.delete(k);
  }
  clear(): void {
    this.m.clear();
    this.m.set(HIDDEN, undefined);
  }
  *entries(): IterableIterator<[K, V]> {
    for (const e of this.m) if (e[0] !== HIDDEN) yield e as [K, V];
  }
  *keys(): IterableIterator<K> {
    for (const k of this.m.keys()) if (k !== HIDDEN) yield k as K;
  }
  *values(): IterableIterator<V> {
    for (const [k, v] of this.m) if (k !== HIDDEN) yield v as V;
  }
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
