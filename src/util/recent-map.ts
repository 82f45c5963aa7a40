/**
 * A Map that keeps at most `max` keys: a new key past that makes the key first set longest ago go (FIFO by first
 * set; setting a key again keeps its place). Keys are never deleted otherwise: a value that stands for "none"
 * (e.g. undefined) marks a key as cleared. O(1) per operation: the keys' order is a ring, not the Map's own order
 * (a Map walked from its start skips the holes its deletions left, which grows with the churn).
 *
 * For state kept per pointer or id seen in a trace (QEMU reuses a few; a damaged or constructed trace may not):
 * memory stays bounded whatever the input.
 */
export class RecentMap<K, V> {
  private readonly map = new Map<K, V>();
  private readonly ring: K[] = [];
  /** Ring index of the oldest key. */
  private head = 0;
  /** Keys dropped to stay within max. */
  dropped = 0;

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error('RecentMap: max must be at least 1');
  }

  get size(): number {
    return this.map.size;
  }

  get(k: K): V | undefined {
    return this.map.get(k);
  }

  has(k: K): boolean {
    return this.map.has(k);
  }

  /** Sets k; returns the value of the key dropped to make room for it (undefined when none was). */
  set(k: K, v: V): V | undefined {
    const map = this.map;
    if (map.has(k)) {
      map.set(k, v);
      return undefined;
    }
    let gone: V | undefined;
    if (map.size < this.max) {
      // Still filling: the ring grows with the Map (oldest at index 0).
      this.ring.push(k);
    } else {
      // Full: the oldest key goes and the new one takes its slot, which becomes the newest.
      const old = this.ring[this.head]!;
      gone = map.get(old);
      map.delete(old);
      this.ring[this.head] = k;
      this.head = this.head + 1 === this.max ? 0 : this.head + 1;
      this.dropped++;
    }
    map.set(k, v);
    return gone;
  }

  /** Entries, oldest first. */
  *entries(): IterableIterator<[K, V]> {
    const n = this.ring.length;
    for (let i = 0; i < n; i++) {
      const k = this.ring[(this.head + i) % n]!;
      yield [k, this.map.get(k)!];
    }
  }
}
