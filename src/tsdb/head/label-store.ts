// The label sets of a head's series as symbol ids in one typed array, instead of a `Labels` object and its array of
// strings per series (about 130–230 bytes of heap a fleet series). Each distinct name or value is one symbol: its
// string kept once, with a count of the series that use it, so a symbol no series uses any more is forgotten and its
// id reused. A series' record is a run of 32-bit words: the key of its label hash (for the head's map by hash), the
// number of ids, then name and value ids in the set's order; 4 bytes a name or value, 8 more a series.
// Readers that need a `Labels` (queries, WAL series records, snapshots, compaction) get one built on demand, with
// the store's strings; comparisons and lookups by labels read the ids in place.

import { compareStrings, Labels } from "../../model/labels.ts";

/** Words of a record before its ids: the label hash key and the number of ids. */
const HEADER_WORDS = 2;
/** Words of a new store's record array; it doubles from there. */
const INITIAL_WORDS = 4096;
/** Symbols a new store has room for in its use counts; they double from there. */
const INITIAL_SYMBOLS = 1024;

/** The low 32 bits of a hex label hash (`Labels.hash()`) as a small integer, kept unboxed; 0 for text not hex. */
export function labelHashKey(hash: string): number {
  return Number.parseInt(hash.slice(-8), 16) | 0;
}

/**
 * Label sets of one head's series, by record offset. Single-threaded; owned by the head's columns. A record is
 * valid from `add` until `release`; its offset is then reused by a later record.
 */
export class LabelStore {
  /** Records, back to back; freed ones are listed in `freeRecords` by their number of ids. */
  private words = new Int32Array(INITIAL_WORDS);
  private top = 0;
  private readonly freeRecords = new Map<number, number[]>();
  /** Symbol strings by id; "" for a free id. */
  private readonly strings: string[] = [];
  private readonly ids = new Map<string, number>();
  /** Records using each symbol (a name or value used twice in one set counts twice). */
  private uses = new Int32Array(INITIAL_SYMBOLS);
  private readonly freeIds: number[] = [];

  /** Keeps `labels`, whose label hash key (`labelHashKey`) is `hashKey`; returns the record's offset. */
  add(labels: Labels, hashKey: number): number {
    const pairs = labels.size;
    const at = this.allocRecord(2 * pairs);
    const w = this.words;
    w[at] = hashKey;
    w[at + 1] = 2 * pairs;
    for (let i = 0, o = at + HEADER_WORDS; i < pairs; i++, o += 2) {
      w[o] = this.symbol(labels.nameAt(i));
      w[o + 1] = this.symbol(labels.valueAt(i));
    }
    return at;
  }

  /** The label set of record `at`, built now; its strings are the store's own copies. */
  labels(at: number): Labels {
    const w = this.words;
    const n = w[at + 1];
    const flat: string[] = new Array(n);
    const strings = this.strings;
    for (let i = 0; i < n; i++) flat[i] = strings[w[at + HEADER_WORDS + i]];
    return Labels.fromInternedUnchecked(flat);
  }

  /** The label hash key of record `at`, as given to `add`. */
  hashKey(at: number): number {
    return this.words[at];
  }

  /** True when record `at` holds exactly `labels`. */
  equals(at: number, labels: Labels): boolean {
    const w = this.words;
    const pairs = labels.size;
    if (w[at + 1] !== 2 * pairs) return false;
    const strings = this.strings;
    for (let i = 0, o = at + HEADER_WORDS; i < pairs; i++, o += 2) {
      if (strings[w[o]] !== labels.nameAt(i) || strings[w[o + 1]] !== labels.valueAt(i)) return false;
    }
    return true;
  }

  /** Orders records `a` and `b` as `Labels.compare` orders their sets, without building them. */
  compare(a: number, b: number): number {
    const w = this.words;
    const na = w[a + 1];
    const nb = w[b + 1];
    const n = Math.min(na, nb);
    for (let i = HEADER_WORDS; i < HEADER_WORDS + n; i++) {
      const x = w[a + i];
      const y = w[b + i];
      if (x !== y) return compareStrings(this.strings[x], this.strings[y]);
    }
    return (na - nb) >> 1;
  }

  /** Gives record `at` back: its symbols lose a use (and are forgotten at none), its words go to a later record. */
  release(at: number): void {
    const w = this.words;
    const n = w[at + 1];
    for (let i = at + HEADER_WORDS; i < at + HEADER_WORDS + n; i++) this.unuse(w[i]);
    let list = this.freeRecords.get(n);
    if (list === undefined) {
      list = [];
      this.freeRecords.set(n, list);
    }
    list.push(at);
  }

  /** Distinct names and values held. */
  get symbols(): number {
    return this.ids.size;
  }

  // The offset of a record of `n` ids: a freed one of that size, else at the end (the array doubles when full).
  private allocRecord(n: number): number {
    const reused = this.freeRecords.get(n)?.pop();
    if (reused !== undefined) return reused;
    const at = this.top;
    const end = at + HEADER_WORDS + n;
    if (end > this.words.length) {
      const grown = new Int32Array(Math.max(end, this.words.length * 2));
      grown.set(this.words.subarray(0, this.top));
      this.words = grown;
    }
    this.top = end;
    return at;
  }

  // The id of `s`, made when new, with one more use.
  private symbol(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.freeIds.pop() ?? this.strings.length;
      if (id === this.strings.length) this.strings.push(s);
      else this.strings[id] = s;
      this.ids.set(s, id);
      if (id >= this.uses.length) {
        const grown = new Int32Array(this.uses.length * 2);
        grown.set(this.uses);
        this.uses = grown;
      }
    }
    this.uses[id]++;
    return id;
  }

  // One use fewer of symbol `id`; at none it is forgotten and its id kept for a new symbol.
  private unuse(id: number): void {
    if (--this.uses[id] > 0) return;
    this.ids.delete(this.strings[id]);
    this.strings[id] = "";
    this.freeIds.push(id);
  }
}
