// A Map for tables that empty and fill again all the time (requests in flight: one goes in, one comes out).
// V8 shrinks a Map's hash table when most of it is free and grows it again on the next insert: a table that
// goes from one entry to none and back reallocates on nearly every request, and that garbage was a good part of
// the model's cost on a 1 M-request trace (bench/README.md, blktrace). This one keeps a hidden entry, so its
// table never empties; everything else is a Map's behaviour (insertion order, same-value-zero keys).
// The table is rebuilt every REBUILD_EVERY deletions all the same: a table that lives on in the old generation
// while entries churn through it made young objects survive every scavenge (a 200 MB QEMU log: 0.5 s of GC
// instead of 0.13 s, bench/README.md, qemu-log). Not while an iteration is under way (an iterator dropped
// unfinished without return() only leaves rebuilds off: the table stays correct).

const HIDDEN: unique symbol = Symbol('steady-map');
/** Deletions between two rebuilds of the table. */
export const REBUILD_EVERY = 1024;

export class SteadyMap<K, V> {
  private m = new Map<K | typeof HIDDEN, V | undefined>([[HIDDEN, undefined]]);
  private deletions = 0;
  private iterating = 0;

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
    const r = this.m.delete(k);
    if (r && ++this.deletions >= REBUILD_EVERY && this.iterating === 0) {
      this.deletions = 0;
      this.m = new Map(this.m);
    }
    return r;
  }
  clear(): void {
    this.m.clear();
    this.m.set(HIDDEN, undefined);
  }
  *entries(): IterableIterator<[K, V]> {
    this.iterating++;
    try {
      for (const e of this.m) if (e[0] !== HIDDEN) yield e as [K, V];
    } finally {
      this.iterating--;
    }
  }
  *keys(): IterableIterator<K> {
    for (const [k] of this.entries()) yield k;
  }
  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
