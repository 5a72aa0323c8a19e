// String interning for label names and values read from input (scrape bodies, WAL records, remote write): the
// same few thousand strings recur across millions of samples, so keeping one copy of each saves memory and makes
// equality checks between interned strings cheap.
//
// Ownership: an interner belongs to one owner (a head block, a scrape cache, a WAL reader) and lives as long as
// it; strings it returns are ordinary immutable JS strings that stay valid after the interner is dropped.
// Nothing is ever evicted: owners with churning input create a fresh interner per generation (e.g. per head
// compaction) instead of growing one forever.

/** A string deduplicator. Not shared across owners; see the module comment for lifetime. */
export class StringInterner {
  private readonly strings = new Map<string, string>();

  /** The canonical copy of `s`: the first equal string this interner saw. */
  intern(s: string): string {
    const hit = this.strings.get(s);
    if (hit !== undefined) return hit;
    this.strings.set(s, s);
    return s;
  }

  /** Number of distinct strings held. */
  get size(): number {
    return this.strings.size;
  }

  /** Forgets every string (the returned strings stay valid). */
  clear(): void {
    this.strings.clear();
  }
}
