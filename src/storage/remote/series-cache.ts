// Series of remote-write requests found by the raw bytes that encode their labels. A sender resends the same series
// every scrape interval, with the same bytes and mostly in the same order, so the 1.0 decoder looks each series up
// by its protobuf label fields before any label string is built: first as the series that followed the previous
// one last time, then by a hash of the bytes; either way confirmed by comparing the bytes. An entry keeps the
// validated label set and the series' ref in the store that last took it, so a repeated series costs a byte
// compare and an append by ref: no strings, no label hashing, no lookup by labels in the store. An entry keeps no
// label set: the store keeps its own (as symbol ids), and the few callers that need the set of a cached series (a
// ref the store no longer knows, an error message) have it decoded again from the key bytes.

import { StringInterner } from "../../model/intern.ts";
import { Labels } from "../../model/labels.ts";
import { ProtoReader } from "../../model/protobuf.ts";
import type { SeriesRef } from "../interface.ts";
import { wireString } from "./wire-strings.ts";

/** Options of {@link SeriesCache}. */
export interface SeriesCacheOptions {
  /** Entries kept before the cache starts over; default {@link DEFAULT_MAX_ENTRIES}; 0 caches nothing. */
  readonly maxEntries?: number;
  /** Total key bytes (encoded label fields) kept before the cache starts over; default {@link DEFAULT_MAX_KEY_BYTES}. */
  readonly maxKeyBytes?: number;
  /** The hash of a key, [from, to) of a view; default {@link hashBytes} with a random seed (tests force collisions). */
  readonly hash?: (v: DataView, from: number, to: number) => number;
}

/**
 * Series the cache keeps by default: enough for a million active series (the `scale` bench), so that a sender
 * resending all of them each interval finds every one; past it the cache starts over every few requests and each
 * series is decoded afresh (about three times the CPU per sample). Its memory (key bytes in an arena, an entry
 * object) is spent only as series arrive.
 */
export const DEFAULT_MAX_ENTRIES = 1_500_000;
/** Key bytes the cache keeps by default: 1.5M fleet series encode their labels in about 200 bytes each. */
export const DEFAULT_MAX_KEY_BYTES = 320 * 1024 * 1024;

/** Keys longer than this (label sets of over 4 KiB encoded) are not cached: rare, and costly to keep. */
const MAX_KEY = 4096;

/** No ref: the series was not appended through this entry yet, or its store changed. */
export const NO_SERIES_REF = -1;

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

/**
 * One cached series: where its key lies in the cache's arena and the longest label name and value in it (bytes).
 * Its `labels()` are valid while the cache holds the entry (at least during the calls for its series).
 */
export class SeriesEntry implements RefSlot {
  /** The cache that made the entry, which holds its key. */
  private readonly cache: SeriesCache;
  /** The key's first word in the arena of the cache that made the entry. */
  readonly offset: number;
  /** The key's length in bytes. */
  readonly length: number;
  /** Longest label name and value in the key, bytes: a later request is checked against its org's length limits. */
  readonly maxNameBytes: number;
  readonly maxValueBytes: number;
  scope: object | null = null;
  ref: SeriesRef | typeof NO_SERIES_REF = NO_SERIES_REF;
  /** The next entry with the same hash (a collision), or null. */
  next: SeriesEntry | null = null;
  /** The entry that followed this one in the last request that had both, or null: the guess for the next lookup. */
  after: SeriesEntry | null = null;
  /** The cache's generation when the entry was made; an entry of an earlier one is gone (its arena words reused). */
  readonly generation: number;

  constructor(
    cache: SeriesCache,
    generation: number,
    offset: number,
    length: number,
    maxNameBytes: number,
    maxValueBytes: number,
  ) {
    this.cache = cache;
    this.generation = generation;
    this.offset = offset;
    this.length = length;
    this.maxNameBytes = maxNameBytes;
    this.maxValueBytes = maxValueBytes;
  }

  /** The label set decoded from the key (valid: sorted, unique, UTF-8, named), with the cache's interned strings. */
  labels(): Labels {
    return this.cache.labelsOf(this);
  }
}

// Field keys of a Label message (the key is a run of TimeSeries label fields, each holding one): name and value.
const KEY_NAME = (1 << 3) | 2;
const KEY_VALUE = (2 << 3) | 2;

/** The bytes [from, to) of `v` past its last whole 32-bit word, as one little-endian word (zero-padded). */
function tailWord(v: DataView, from: number, to: number): number {
  let last = 0;
  for (let i = from; i < to; i++) last |= v.getUint8(i) << ((i - from) << 3);
  return last;
}

/** Arena words allocated at first, and the most added at once when it grows. */
const ARENA_INITIAL_WORDS = 16 * 1024;

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
 * Series entries by the raw bytes of their encoded labels. The keys are copied, as little-endian 32-bit words, into
 * one arena in the order they were first seen: a sender repeats its series in much the same order, so a request's
 * lookups walk the arena forwards instead of chasing an array per key. Bounded by entries and by key bytes: when
 * full it is cleared and refilled by the next requests, which costs one round of decoding, never correctness.
 * Holds only valid label sets. Single-threaded.
 */
export class SeriesCache {
  private readonly map = new Map<number, SeriesEntry>();
  /** The label names and values of the cached series; cleared with them. */
  private readonly strings = new StringInterner();
  private readonly maxEntries: number;
  private readonly maxKeyBytes: number;
  private entries = 0;
  private keyBytes = 0;
  private arena = new Int32Array(ARENA_INITIAL_WORDS);
  private used = 0;
  private generation = 0;
  private missHash = 0;
  private readonly seed = (Math.random() * 0x1_0000_0000) | 0;
  private readonly hashFn: ((v: DataView, from: number, to: number) => number) | null;

  /** An empty cache; see {@link SeriesCacheOptions}. */
  constructor(opts: SeriesCacheOptions = {}) {
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxKeyBytes = opts.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES;
    this.hashFn = opts.hash ?? null;
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
   * The entry whose key is the bytes [from, to) of `v`, or undefined. Tries `prev.after` first (a sender repeats
   * its series in the same order, so this usually finds the entry without hashing), then the hash; after a miss,
   * `lastHash` is the key's hash, for `add`. The caller records the answer as `prev.after`.
   */
  find(v: DataView, from: number, to: number, prev: SeriesEntry | null): SeriesEntry | undefined {
    const guess = prev === null ? null : prev.after;
    if (guess !== null && guess.generation === this.generation && this.matches(guess, v, from, to)) return guess;
    const hash = this.hash(v, from, to);
    this.missHash = hash;
    return this.get(v, from, to, hash);
  }

  /** The hash computed by the last `find` that did not find its key by the guess. */
  get lastHash(): number {
    return this.missHash;
  }

  /** The entry whose key is the bytes [from, to) of `v`, hashed `hash`; undefined when not cached. */
  get(v: DataView, from: number, to: number, hash: number): SeriesEntry | undefined {
    let e = this.map.get(hash) ?? null;
    for (; e !== null; e = e.next) if (this.matches(e, v, from, to)) return e;
    return undefined;
  }

  // True when `e`'s key is exactly the bytes [from, to) of `v`.
  private matches(e: SeriesEntry, v: DataView, from: number, to: number): boolean {
    const n = e.length;
    if (n !== to - from) return false;
    const arena = this.arena;
    const whole = from + (n & ~3);
    let w = e.offset;
    for (let i = from; i < whole; i += 4) if (arena[w++] !== v.getInt32(i, true)) return false;
    return whole === to || arena[w] === tailWord(v, whole, to);
  }

  /**
   * Caches the key [from, to) of `v`, hashed `hash`, whose labels were found valid with the longest name and value
   * given (bytes), and returns its new entry, or null when the key is too long to cache (or the cache is configured
   * to hold nothing). The caller has checked that the key is not cached yet.
   */
  add(
    v: DataView,
    from: number,
    to: number,
    hash: number,
    maxNameBytes: number,
    maxValueBytes: number,
  ): SeriesEntry | null {
    const n = to - from;
    if (!SeriesCache.cacheable(n) || n > this.maxKeyBytes || this.maxEntries === 0) return null;
    if (this.entries >= this.maxEntries || this.keyBytes + n > this.maxKeyBytes) this.clear();
    const words = (n + 3) >> 2;
    if (this.used + words > this.arena.length) {
      const grown = new Int32Array(Math.max(this.used + words, this.arena.length * 2));
      grown.set(this.arena.subarray(0, this.used));
      this.arena = grown;
    }
    const offset = this.used;
    const arena = this.arena;
    const whole = from + (n & ~3);
    let w = offset;
    for (let i = from; i < whole; i += 4) arena[w++] = v.getInt32(i, true);
    if (whole < to) arena[w++] = tailWord(v, whole, to);
    this.used = w;
    const e = new SeriesEntry(this, this.generation, offset, n, maxNameBytes, maxValueBytes);
    e.next = this.map.get(hash) ?? null;
    this.map.set(hash, e);
    this.entries++;
    this.keyBytes += n;
    return e;
  }

  /**
   * The labels of `e`, an entry of this cache's current generation, decoded from its key: names and values
   * interned (decoded afresh, "app", "region" and each app's name would be held once per series by a store that
   * keeps the set), labels with empty values left out as the decoder leaves them out.
   */
  labelsOf(e: SeriesEntry): Labels {
    const n = e.length;
    const bytes = Buffer.allocUnsafe(n);
    const arena = this.arena;
    for (let i = 0; i < n; i++) bytes[i] = arena[e.offset + (i >> 2)] >>> ((i & 3) << 3);
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

  /** Forgets every entry (the arena keeps its size, bounded by the key bytes limit). */
  clear(): void {
    this.map.clear();
    this.strings.clear();
    this.used = 0;
    this.generation++;
    this.entries = 0;
    this.keyBytes = 0;
  }

  /** Number of cached series. */
  get size(): number {
    return this.entries;
  }

  /** Total bytes of the cached keys. */
  get bytes(): number {
    return this.keyBytes;
  }
}
