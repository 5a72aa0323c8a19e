// Series of remote-write requests found by the raw bytes that encode their labels. A sender resends the same series
// every scrape interval, with the same bytes and mostly in the same order, so the 1.0 decoder looks each series up
// by its protobuf label fields before any label string is built: first as the series that followed the previous
// one last time, then by a hash of the bytes; either way confirmed by comparing the bytes. An entry keeps the
// series' ref in the store that last took it, so a repeated series costs a byte compare and an append by ref: no
// strings, no label hashing, no lookup by labels in the store. An entry keeps no label set: the store keeps its own
// (as symbol ids), and the few callers that need the set of a cached series (a ref the store no longer knows, an
// error message) have it decoded again from the key. Nor does it keep its key's bytes: a key is kept as the ids of
// its label fields, each distinct field once (key-pieces.ts). An ingest decode worker keeps one as its key table, for
// the entry numbers only (codec-v1-walk.ts): the receiver then finds walked series by those numbers (key-index.ts).

import { StringInterner } from "../../model/intern.ts";
import { Labels } from "../../model/labels.ts";
import { ProtoReader } from "../../model/protobuf.ts";
import type { SeriesRef } from "../interface.ts";
import { KeyPieces, pieceEnd } from "./key-pieces.ts";
import { RefScopes } from "./ref-scopes.ts";
import { wireString } from "./wire-strings.ts";

/** Options of {@link SeriesCache}. */
export interface SeriesCacheOptions {
  /** Entries kept before the cache starts over; default {@link DEFAULT_MAX_ENTRIES}; 0 caches nothing. */
  readonly maxEntries?: number;
  /** Total key bytes (encoded label fields) kept before the cache starts over; default {@link DEFAULT_MAX_KEY_BYTES}. */
  readonly maxKeyBytes?: number;
  /** The hash of a key, [from, to) of a view; default {@link hashBytes} with a random seed (tests force collisions). */
  readonly hash?: (v: DataView, from: number, to: number) => number;
  /**
   * A key table: entries number keys and keep nothing else (no ref, scope or label lengths, whose accessors are not
   * for it), 16 bytes a row instead of 36; what an ingest decode worker keeps. Default false.
   */
  readonly keysOnly?: boolean;
}

/**
 * Series the cache keeps by default: enough for a million active series (the `scale` bench), so that a sender
 * resending all of them each interval finds every one; past it the cache starts over every few requests and each
 * series is decoded afresh (about three times the CPU per sample). Its memory (a piece id per label field, a row
 * of int32 columns and a place in the hash table an entry) is spent only as series arrive.
 */
export const DEFAULT_MAX_ENTRIES = 1_500_000;
/**
 * Key bytes (as the requests encode them) the cache takes by default: 1.5M series of about 200 bytes each. It keeps
 * far fewer, a 4-byte id per label field and each distinct field once, and the bound holds either way.
 */
export const DEFAULT_MAX_KEY_BYTES = 320 * 1024 * 1024;

/** Keys longer than this (label sets of over 4 KiB encoded) are not cached: rare, and costly to keep. */
const MAX_KEY = 4096;

/** No ref: the series was not appended through this entry yet, or its store changed. */
export const NO_SERIES_REF = -1;

/** No entry: a key not cached (yet), or one too long to cache. Entries are numbers from 0, valid until a clear. */
export const NO_ENTRY = -1;

/**
 * Where a series' ref in one store is kept between requests. `scope` is the `refScope` of the appender that handed
 * out `ref`; a ref is only reused with an appender of the same scope (the same open database).
 */
export interface RefSlot {
  scope: object | null;
  ref: SeriesRef | typeof NO_SERIES_REF;
  /** The series' label set, decoded now: for the rare caller that needs it (no ref, an error message). */
  labels(): Labels;
}

// An entry's int32 fields in `cols`, `ENTRY_INTS` a row: its key's first piece id in `ids` and its length in bytes;
// the entry that followed it in the last request that had both, plus one (0: none), the guess for the next lookup;
// the key's hash.
const OFFSET = 0;
const LENGTH = 1;
const AFTER = 2;
const HASH = 3;
const ENTRY_INTS = 4;
// Its int32 fields in `meta`, `META_INTS` a row, in a cache that keeps refs: the longest label name and value in
// the key, bytes (a later request is checked against its org's length limits); the scope of its ref, plus one (0:
// no ref), an index into the cache's scopes.
const MAX_NAME = 0;
const MAX_VALUE = 1;
const SCOPE = 2;
const META_INTS = 3;

/** Entries the columns have room for at first; they double from there. */
const INITIAL_ENTRIES = 1024;
/** Distinct ref scopes (open databases) remembered before every entry's ref is forgotten and they start over. */
const MAX_SCOPES = 4096;

/**
 * The ref slot of one entry at a time: the cache hands out this one object, pointed at the entry asked for, so
 * that an entry costs no object. Valid during the calls for the series it was handed out with.
 */
class EntrySlot implements RefSlot {
  private readonly cache: SeriesCache;
  /** The entry the slot reads and writes. */
  entry = NO_ENTRY;

  constructor(cache: SeriesCache) {
    this.cache = cache;
  }

  get scope(): object | null {
    return this.cache.scopeOf(this.entry);
  }

  set scope(scope: object | null) {
    this.cache.setScope(this.entry, scope);
  }

  get ref(): SeriesRef | typeof NO_SERIES_REF {
    return this.cache.refOf(this.entry);
  }

  set ref(ref: SeriesRef | typeof NO_SERIES_REF) {
    this.cache.setRef(this.entry, ref);
  }

  labels(): Labels {
    return this.cache.labelsOf(this.entry);
  }
}

// Field keys of a Label message (the key is a run of TimeSeries label fields, each holding one): name and value.
const KEY_NAME = (1 << 3) | 2;
const KEY_VALUE = (2 << 3) | 2;

/** Piece ids the entries' key array has room for at first; it doubles from there. */
const IDS_INITIAL = 16 * 1024;
/** The largest piece id the 16-bit key array holds. */
const MAX_NARROW_ID = 0xffff;

// Murmur3's 32-bit mixing constants.
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** A 32-bit hash of the bytes [from, to) of `v` (MurmurHash3 x86_32 with `seed`); equal hashes are confirmed. */
export function hashBytes(v: DataView, from: number, to: number, seed: number): number {
  let h = seed | 0;
  let i = from;
  const whole = to - ((to - from) & 3);
  for (; i < whole; i += 4) {
    let k = v.getInt32(i, true);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = to - i;
  if (rest > 0) {
    let k = v.getUint8(i);
    if (rest > 1) k |= v.getUint8(i + 1) << 8;
    if (rest > 2) k |= v.getUint8(i + 2) << 16;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  h ^= to - from;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Series entries by the raw bytes of their encoded labels. A key is cut into its label fields, each kept once in the
 * cache's pieces, and the key is the run of its pieces' ids in one array, in the order keys were first seen: a
 * sender repeats its series in much the same order, so a request's lookups walk it forwards. An entry is a row of
 * int32 columns and its ref a float64, found by hash in an open-addressed table of entry numbers: no object or map
 * entry per series.
 * Bounded by entries and by key bytes: when full it is cleared and refilled by the next requests, which costs one
 * round of decoding, never correctness. Holds only valid label sets. Single-threaded.
 */
export class SeriesCache {
  /** Entry numbers plus one by hash, linear probing (0: empty); at most half full. */
  private table = new Int32Array(2 * INITIAL_ENTRIES);
  /** The entries' key fields, `ENTRY_INTS` a row. */
  private cols = new Int32Array(INITIAL_ENTRIES * ENTRY_INTS);
  /** The entries' label lengths and ref scopes, `META_INTS` a row; empty in a key table. */
  private meta: Int32Array;
  /** The entries' refs (meaningful while their scope is set): series refs span 32 bits unsigned; empty in a key table. */
  private refs: Float64Array;
  private readonly keysOnly: boolean;
  /** Ref scopes by number (an entry's scope field). */
  private readonly scopes = new RefScopes(MAX_SCOPES);
  /** The label names and values decoded from keys; cleared with the entries. */
  private readonly strings = new StringInterner();
  private readonly slot = new EntrySlot(this);
  private readonly maxEntries: number;
  private readonly maxKeyBytes: number;
  private entries = 0;
  private keyBytes = 0;
  private clears = 0;
  /**
   * The entries' keys as piece ids, each entry's from its OFFSET on, until its pieces' lengths make its LENGTH: 16-bit
   * while every id fits (a fleet of 1,000,000 series has about 34,000 distinct label fields), 2 bytes a label where
   * 32-bit ids took 4; widened to 32-bit once an id does not fit, until the cache is cleared.
   */
  private ids: Uint16Array | Int32Array = new Uint16Array(IDS_INITIAL);
  private used = 0;
  private missHash = 0;
  private readonly seed = (Math.random() * 0x1_0000_0000) | 0;
  private readonly hashFn: ((v: DataView, from: number, to: number) => number) | null;
  private readonly pieces = new KeyPieces((v, from, to) => hashBytes(v, from, to, this.seed));

  /** An empty cache; see {@link SeriesCacheOptions}. */
  constructor(opts: SeriesCacheOptions = {}) {
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxKeyBytes = opts.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES;
    this.hashFn = opts.hash ?? null;
    this.keysOnly = opts.keysOnly ?? false;
    const rows = this.keysOnly ? 0 : INITIAL_ENTRIES;
    this.meta = new Int32Array(rows * META_INTS);
    this.refs = new Float64Array(rows);
  }

  /** True when a key of `length` bytes would be cached; callers skip the lookup for longer keys. */
  static cacheable(length: number): boolean {
    return length <= MAX_KEY;
  }

  /**
   * The hash of the key [from, to) of `v`, for `get` and `add`. Seeded per cache, so that which keys collide
   * cannot be known from outside the process.
   */
  hash(v: DataView, from: number, to: number): number {
    return this.hashFn === null ? hashBytes(v, from, to, this.seed) : this.hashFn(v, from, to);
  }

  /**
   * The entry whose key is the bytes [from, to) of `v`, or NO_ENTRY. Tries the entry that followed `prev` last time
   * first (a sender repeats its series in the same order, so this usually finds the entry without hashing), then
   * the hash; after a miss, `lastHash` is the key's hash, for `add`. The caller records the answer with `follow`.
   * `prev` may be an entry from before a clear: its guess is only taken when its bytes match.
   */
  find(v: DataView, from: number, to: number, prev: number): number {
    if (prev >= 0 && prev < this.entries) {
      const guess = this.cols[prev * ENTRY_INTS + AFTER] - 1;
      if (guess >= 0 && guess < this.entries && this.matches(guess, v, from, to)) return guess;
    }
    const hash = this.hash(v, from, to);
    this.missHash = hash;
    return this.get(v, from, to, hash);
  }

  /** The hash computed by the last `find` that did not find its key by the guess. */
  get lastHash(): number {
    return this.missHash;
  }

  /** The entry whose key is the bytes [from, to) of `v`, hashed `hash`; NO_ENTRY when not cached. */
  get(v: DataView, from: number, to: number, hash: number): number {
    const table = this.table;
    const mask = table.length - 1;
    const cols = this.cols;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const e = table[i] - 1;
      if (e < 0) return NO_ENTRY;
      if (cols[e * ENTRY_INTS + HASH] === (hash | 0) && this.matches(e, v, from, to)) return e;
    }
  }

  /** Notes that entry `next` followed entry `prev` in a request: the guess `find` tries first after `prev`. */
  follow(prev: number, next: number): void {
    this.cols[prev * ENTRY_INTS + AFTER] = next + 1;
  }

  /** The longest label name in entry `e`'s key, bytes. */
  maxNameBytes(e: number): number {
    return this.meta[e * META_INTS + MAX_NAME];
  }

  /** The longest label value in entry `e`'s key, bytes. */
  maxValueBytes(e: number): number {
    return this.meta[e * META_INTS + MAX_VALUE];
  }

  /** Where entry `e`'s key starts among the entries' piece ids (a cleared cache reuses them from 0). */
  offsetOf(e: number): number {
    return this.cols[e * ENTRY_INTS + OFFSET];
  }

  /**
   * The ref slot of entry `e`: one object the cache reuses for every entry, valid until it is asked for another
   * entry's (a decoder hands it to its sink for one series' calls).
   */
  slotOf(e: number): RefSlot {
    this.slot.entry = e;
    return this.slot;
  }

  /** The scope of entry `e`'s ref; null when it has none. */
  scopeOf(e: number): object | null {
    const id = this.meta[e * META_INTS + SCOPE];
    return this.scopes.scopeOf(id);
  }

  /** Sets the scope of entry `e`'s ref (null: no ref). */
  setScope(e: number, scope: object | null): void {
    this.meta[e * META_INTS + SCOPE] = this.scopes.numberOf(scope, () => this.forgetScopes());
  }

  /** Entry `e`'s ref in the store of its scope; NO_SERIES_REF when it has none. */
  refOf(e: number): SeriesRef | typeof NO_SERIES_REF {
    return this.meta[e * META_INTS + SCOPE] === 0 ? NO_SERIES_REF : (this.refs[e] as SeriesRef);
  }

  /** Sets entry `e`'s ref, of the store of its scope. */
  setRef(e: number, ref: SeriesRef | typeof NO_SERIES_REF): void {
    this.refs[e] = ref;
  }

  // True when entry `e`'s key is exactly the bytes [from, to) of `v`. Its pieces' lengths add up to its length,
  // which is checked first, so each piece compared fits before `to`.
  private matches(e: number, v: DataView, from: number, to: number): boolean {
    if (this.cols[e * ENTRY_INTS + LENGTH] !== to - from) return false;
    return this.pieces.matchesRun(this.ids, this.cols[e * ENTRY_INTS + OFFSET], v, from, to);
  }

  /**
   * Caches the key [from, to) of `v`, hashed `hash`, whose labels were found valid with the longest name and value
   * given (bytes), and returns its new entry, or NO_ENTRY when the key is too long to cache (or the cache is
   * configured to hold nothing). The caller has checked that the key is not cached yet.
   */
  add(v: DataView, from: number, to: number, hash: number, maxNameBytes: number, maxValueBytes: number): number {
    const n = to - from;
    if (!SeriesCache.cacheable(n) || n > this.maxKeyBytes || this.maxEntries === 0) return NO_ENTRY;
    if (this.entries >= this.maxEntries || this.keyBytes + n > this.maxKeyBytes) this.clear();
    const offset = this.used;
    let w = offset;
    for (let p = from; p < to; ) {
      const end = pieceEnd(v, p, to);
      const id = this.pieces.intern(v, p, end);
      if (w >= this.ids.length || (id > MAX_NARROW_ID && this.ids instanceof Uint16Array)) this.growIds(id, w);
      this.ids[w++] = id;
      p = end;
    }
    this.used = w;
    const e = this.entries++;
    if (e * ENTRY_INTS >= this.cols.length) this.growEntries();
    const row = e * ENTRY_INTS;
    const cols = this.cols;
    cols[row + OFFSET] = offset;
    cols[row + LENGTH] = n;
    cols[row + AFTER] = 0;
    cols[row + HASH] = hash;
    if (!this.keysOnly) {
      const m = e * META_INTS;
      this.meta[m + MAX_NAME] = maxNameBytes;
      this.meta[m + MAX_VALUE] = maxValueBytes;
      this.meta[m + SCOPE] = 0;
      this.refs[e] = NO_SERIES_REF;
    }
    if (2 * this.entries > this.table.length) this.growTable();
    else this.place(e, hash);
    this.keyBytes += n;
    return e;
  }

  // Puts entry `e`, hashed `hash`, in the first free place of the table from its hash on.
  private place(e: number, hash: number): void {
    const table = this.table;
    const mask = table.length - 1;
    let i = hash & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = e + 1;
  }

  // Makes room for piece id `id` at `at` of the ids: doubled when full, 32-bit from when `id` does not fit in 16 bits.
  private growIds(id: number, at: number): void {
    const wide = id > MAX_NARROW_ID || this.ids instanceof Int32Array;
    const room = at >= this.ids.length ? 2 * this.ids.length : this.ids.length;
    const grown = wide ? new Int32Array(room) : new Uint16Array(room);
    grown.set(this.ids);
    this.ids = grown;
  }

  // Doubles the entries' columns.
  private growEntries(): void {
    const cols = new Int32Array(this.cols.length * 2);
    cols.set(this.cols);
    this.cols = cols;
    if (this.keysOnly) return;
    const meta = new Int32Array(this.meta.length * 2);
    meta.set(this.meta);
    this.meta = meta;
    const refs = new Float64Array(this.refs.length * 2);
    refs.set(this.refs);
    this.refs = refs;
  }

  // Doubles the table and places every entry again.
  private growTable(): void {
    this.table = new Int32Array(this.table.length * 2);
    for (let e = 0; e < this.entries; e++) this.place(e, this.cols[e * ENTRY_INTS + HASH]);
  }

  // Forgets every scope, and so every entry's ref: the next appends of those series go by labels again.
  private forgetScopes(): void {
    for (let e = 0; e < this.entries; e++) this.meta[e * META_INTS + SCOPE] = 0;
  }

  /**
   * The labels of entry `e` decoded from its key: names and values interned (decoded afresh, "app", "region" and
   * each app's name would be held once per series by a store that keeps the set), labels with empty values left
   * out as the decoder leaves them out.
   */
  labelsOf(e: number): Labels {
    const n = this.cols[e * ENTRY_INTS + LENGTH];
    const bytes = Buffer.allocUnsafe(n);
    for (let at = 0, w = this.cols[e * ENTRY_INTS + OFFSET]; at < n; )
      at = this.pieces.copyTo(this.ids[w++], bytes, at);
    const r = new ProtoReader(bytes);
    const flat: string[] = [];
    while (!r.done()) {
      r.tag();
      const end = r.lengthDelimited();
      let name = "";
      let value = "";
      while (r.pos < end) {
        const key = r.tag();
        if (key === KEY_NAME || key === KEY_VALUE) {
          const to = r.lengthDelimited();
          const text = wireString(bytes, r.pos, to) ?? "";
          if (key === KEY_NAME) name = text;
          else value = text;
          r.pos = to;
        } else r.skip(key & 7);
      }
      if (value !== "") flat.push(this.strings.intern(name), this.strings.intern(value));
    }
    return Labels.fromInternedUnchecked(flat);
  }

  /** Forgets every entry (the key ids, pieces, columns and table keep their size, bounded by the limits). */
  clear(): void {
    this.clears++;
    this.table.fill(0);
    this.pieces.clear();
    this.strings.clear();
    this.used = 0;
    this.entries = 0;
    this.keyBytes = 0;
  }

  /** How many times the cache was cleared: entry numbers are only comparable while this stays the same. */
  get generation(): number {
    return this.clears;
  }

  /** Number of cached series. */
  get size(): number {
    return this.entries;
  }

  /** Distinct label fields (pieces) the cached keys are made of. */
  get pieceCount(): number {
    return this.pieces.size;
  }

  /** Total bytes of the cached keys, as the requests encoded them. */
  get bytes(): number {
    return this.keyBytes;
  }
}
