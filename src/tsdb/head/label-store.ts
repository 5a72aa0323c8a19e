// The label sets of a head's series as symbol ids in one typed array, instead of a `Labels` object and its array of
// strings per series (about 130–230 bytes of heap a fleet series). Each distinct name or value is one symbol: its
// string kept once, with a count of the series that use it, so a symbol no series uses any more is forgotten and its
// id reused. A series' record is a header of two 32-bit words (the key of its label hash, for the head's map by
// hash; the number of ids and whether they are wide) and its name and value ids in the set's order: 2 bytes an id
// while every id of the set is below 2^16 (a head's distinct names and values: 33,936 at 1,000,000 fleet series),
// else 4; 8 bytes more a series. Readers that need a `Labels` (queries, WAL series records, snapshots, compaction)
// get one built on demand, with the store's strings; comparisons and lookups by labels read the ids in place.

import { compareStrings, Labels } from "../../model/labels.ts";

/** 16-bit units of a record before its ids: the label hash key and the number of ids, a 32-bit word each. */
const HEADER_UNITS = 4;
/** Set in a record's count word when its ids are 32-bit words; else they are 16-bit units. */
const WIDE = 1 << 30;
/** Largest id a record of 16-bit ids holds. */
const MAX_NARROW_ID = 0xffff;
/** 16-bit units of a new store's record array; it doubles from there. */
const INITIAL_UNITS = 8192;
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
  /** Records, back to back, as 16-bit units (offsets count these; a record starts at an even one). */
  private units = new Uint16Array(INITIAL_UNITS);
  /** The same bytes as 32-bit words: a record's header, and the ids of a wide record. */
  private words = new Int32Array(this.units.buffer);
  private top = 0;
  /** Freed records by their size in units. */
  private readonly freeRecords = new Map<number, number[]>();
  /** Symbol strings by id; "" for a free id. */
  private readonly strings: string[] = [];
  private readonly ids = new Map<string, number>();
  /** Records using each symbol (a name or value used twice in one set counts twice). */
  private uses = new Int32Array(INITIAL_SYMBOLS);
  private readonly freeIds: number[] = [];
  /** The ids of the set being added. */
  private scratch = new Int32Array(64);

  /** Keeps `labels`, whose label hash key (`labelHashKey`) is `hashKey`; returns the record's offset. */
  add(labels: Labels, hashKey: number): number {
    const n = 2 * labels.size;
    if (n > this.scratch.length) this.scratch = new Int32Array(2 * n);
    const ids = this.scratch;
    let max = 0;
    for (let i = 0; i < n; i += 2) {
      ids[i] = this.symbol(labels.nameAt(i >> 1));
      ids[i + 1] = this.symbol(labels.valueAt(i >> 1));
      max = Math.max(max, ids[i], ids[i + 1]);
    }
    const wide = max > MAX_NARROW_ID;
    const at = this.allocRecord(HEADER_UNITS + (wide ? 2 * n : n + (n & 1)));
    const head = at >> 1;
    this.words[head] = hashKey;
    this.words[head + 1] = wide ? n | WIDE : n;
    if (wide) this.words.set(ids.subarray(0, n), head + 2);
    else for (let i = 0; i < n; i++) this.units[at + HEADER_UNITS + i] = ids[i];
    return at;
  }

  /** The label set of record `at`, built now; its strings are the store's own copies. */
  labels(at: number): Labels {
    const n = this.count(at);
    const flat: string[] = new Array(n);
    const strings = this.strings;
    for (let i = 0; i < n; i++) flat[i] = strings[this.idAt(at, i)];
    return Labels.fromInternedUnchecked(flat);
  }

  /** The label hash key of record `at`, as given to `add`. */
  hashKey(at: number): number {
    return this.words[at >> 1];
  }

  /** True when record `at` holds exactly `labels`. */
  equals(at: number, labels: Labels): boolean {
    const pairs = labels.size;
    const head = at >> 1;
    const count = this.words[head + 1];
    if ((count & ~WIDE) !== 2 * pairs) return false;
    const strings = this.strings;
    // Ids of a narrow record are units from `at + HEADER_UNITS`, of a wide one words from `head + 2`.
    const ids = (count & WIDE) !== 0 ? this.words : this.units;
    const first = (count & WIDE) !== 0 ? head + 2 : at + HEADER_UNITS;
    for (let i = 0, o = first; i < pairs; i++, o += 2) {
      if (strings[ids[o]] !== labels.nameAt(i) || strings[ids[o + 1]] !== labels.valueAt(i)) return false;
    }
    return true;
  }

  /** Orders records `a` and `b` as `Labels.compare` orders their sets, without building them. */
  compare(a: number, b: number): number {
    const na = this.count(a);
    const nb = this.count(b);
    const n = Math.min(na, nb);
    for (let i = 0; i < n; i++) {
      const x = this.idAt(a, i);
      const y = this.idAt(b, i);
      if (x !== y) return compareStrings(this.strings[x], this.strings[y]);
    }
    return (na - nb) >> 1;
  }

  /** Gives record `at` back: its symbols lose a use (and are forgotten at none), its units go to a later record. */
  release(at: number): void {
    const n = this.count(at);
    for (let i = 0; i < n; i++) this.unuse(this.idAt(at, i));
    const size = HEADER_UNITS + ((this.words[(at >> 1) + 1] & WIDE) !== 0 ? 2 * n : n + (n & 1));
    let list = this.freeRecords.get(size);
    if (list === undefined) {
      list = [];
      this.freeRecords.set(size, list);
    }
    list.push(at);
  }

  /** Bytes the records take (freed ones included, the array's spare room not). */
  get recordBytes(): number {
    return 2 * this.top;
  }

  /** Distinct names and values held. */
  get symbols(): number {
    return this.ids.size;
  }

  // The number of ids of record `at`.
  private count(at: number): number {
    return this.words[(at >> 1) + 1] & ~WIDE;
  }

  // Id `i` of record `at`.
  private idAt(at: number, i: number): number {
    const head = at >> 1;
    return (this.words[head + 1] & WIDE) !== 0 ? this.words[head + 2 + i] : this.units[at + HEADER_UNITS + i];
  }

  // The offset of a record of `size` units (even): a freed one of that size, else at the end (the array doubles
  // when full).
  private allocRecord(size: number): number {
    const reused = this.freeRecords.get(size)?.pop();
    if (reused !== undefined) return reused;
    const at = this.top;
    const end = at + size;
    if (end > this.units.length) {
      const grown = new Uint16Array(Math.max(end, this.units.length * 2));
      grown.set(this.units.subarray(0, this.top));
      this.units = grown;
      this.words = new Int32Array(grown.buffer);
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
