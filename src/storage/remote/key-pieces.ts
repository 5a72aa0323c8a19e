// The distinct pieces of the series cache's keys: a key is a run of protobuf label fields, and a fleet's series share
// most of theirs ("__name__" and a family's name, "app" and an app's name, "region" and a region), so the cache keeps
// each distinct field's bytes once, here, and a key as the ids of its pieces: about 4 bytes a label instead of the
// 15–50 bytes of the field. Pieces are found by a hash of their bytes and confirmed by comparing them.

/** Pieces the columns have room for at first; they double from there. */
const INITIAL_PIECES = 256;
/** Arena words allocated at first; it doubles from there. */
const INITIAL_WORDS = 4096;
/** The bytes of a word that a tail of 1, 2 or 3 bytes fills, by the tail's length. */
const TAIL_MASKS = [0, 0xff, 0xffff, 0xffffff];

/** The bytes [from, to) of `v` past its last whole 32-bit word, as one little-endian word (zero-padded). */
export function tailWord(v: DataView, from: number, to: number): number {
  let last = 0;
  for (let i = from; i < to; i++) last |= v.getUint8(i) << ((i - from) << 3);
  return last;
}

/**
 * Where the piece that starts at `from` ends, at most `to`: after one protobuf field of wire type 2 (its tag, its
 * length and that many bytes). Bytes that are not such a field make one piece up to `to`: how a key is cut only
 * decides how much is shared, never whether two keys are told apart, since a key matches by all of its bytes.
 */
export function pieceEnd(v: DataView, from: number, to: number): number {
  let p = from;
  for (let shift = 0; ; shift += 7) {
    if (p >= to || shift > 28) return to;
    if ((v.getUint8(p++) & 0x80) === 0) break;
  }
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (p >= to || shift > 28) return to;
    const b = v.getUint8(p++);
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  return length <= to - p ? p + length : to;
}

/**
 * Distinct byte strings by id, from 0 in the order first interned: each kept once as little-endian 32-bit words
 * (zero-padded) in one arena. Ids are valid until `clear`. Single-threaded; owned by one series cache.
 */
export class KeyPieces {
  /** Piece ids plus one by hash, linear probing (0: empty); at most half full. */
  private table = new Int32Array(2 * INITIAL_PIECES);
  /** Each piece's first arena word, its length in bytes and its hash. */
  private offsets = new Int32Array(INITIAL_PIECES);
  private lengths = new Int32Array(INITIAL_PIECES);
  private hashes = new Int32Array(INITIAL_PIECES);
  private words = new Int32Array(INITIAL_WORDS);
  private used = 0;
  private count = 0;
  private readonly hash: (v: DataView, from: number, to: number) => number;

  /** An empty set of pieces found by `hash` of their bytes (a cache's seeded hash: collisions unknown outside). */
  constructor(hash: (v: DataView, from: number, to: number) => number) {
    this.hash = hash;
  }

  /** The id of the bytes [from, to) of `v`, interned now when new. */
  intern(v: DataView, from: number, to: number): number {
    const hash = this.hash(v, from, to);
    const table = this.table;
    const mask = table.length - 1;
    let i = hash & mask;
    for (; ; i = (i + 1) & mask) {
      const id = table[i] - 1;
      if (id < 0) break;
      if (this.hashes[id] === (hash | 0) && this.lengths[id] === to - from && this.matchesAt(id, v, from)) return id;
    }
    const id = this.count++;
    if (id >= this.offsets.length) this.growPieces();
    const n = to - from;
    const need = (n + 3) >> 2;
    if (this.used + need > this.words.length) {
      const grown = new Int32Array(Math.max(this.used + need, 2 * this.words.length));
      grown.set(this.words.subarray(0, this.used));
      this.words = grown;
    }
    const words = this.words;
    let w = this.used;
    const whole = from + (n & ~3);
    for (let j = from; j < whole; j += 4) words[w++] = v.getInt32(j, true);
    if (whole < to) words[w++] = tailWord(v, whole, to);
    this.offsets[id] = this.used;
    this.lengths[id] = n;
    this.hashes[id] = hash;
    this.used = w;
    if (2 * this.count > table.length) this.growTable();
    else table[i] = id + 1;
    return id;
  }

  /**
   * True when the bytes of `v` from `at` start with piece `id`. The caller has checked that the piece fits in the
   * view from `at`.
   */
  matchesAt(id: number, v: DataView, at: number): boolean {
    const n = this.lengths[id];
    const words = this.words;
    let w = this.offsets[id];
    const whole = at + (n & ~3);
    for (let i = at; i < whole; i += 4) if (words[w++] !== v.getInt32(i, true)) return false;
    const rest = n & 3;
    if (rest === 0) return true;
    // A whole word read past the piece when the view has one, masked to the piece's bytes.
    const last = whole + 4 <= v.byteLength ? v.getInt32(whole, true) & TAIL_MASKS[rest] : tailWord(v, whole, at + n);
    return words[w] === last;
  }

  /**
   * True when the bytes [from, to) of `v` are the pieces `ids[at]`, `ids[at + 1]`, ... one after another. The caller
   * has checked that those pieces' lengths add up to `to - from` (the key's length), so each fits before `to`.
   */
  matchesRun(ids: Uint16Array | Int32Array, at: number, v: DataView, from: number, to: number): boolean {
    const words = this.words;
    const offsets = this.offsets;
    const lengths = this.lengths;
    const end = v.byteLength;
    let w = at;
    for (let p = from; p < to; ) {
      const id = ids[w++];
      const n = lengths[id];
      let k = offsets[id];
      const whole = p + (n & ~3);
      for (; p < whole; p += 4) if (words[k++] !== v.getInt32(p, true)) return false;
      const rest = n & 3;
      if (rest !== 0) {
        // A whole word read past the piece when the view has one, masked to the piece's bytes.
        const last = p + 4 <= end ? v.getInt32(p, true) & ((1 << (rest << 3)) - 1) : tailWord(v, p, p + rest);
        if (words[k] !== last) return false;
        p += rest;
      }
    }
    return true;
  }

  /** Copies piece `id`'s bytes into `out` from `at`; returns the offset after them. */
  copyTo(id: number, out: Uint8Array, at: number): number {
    const n = this.lengths[id];
    const words = this.words;
    const offset = this.offsets[id];
    for (let i = 0; i < n; i++) out[at + i] = words[offset + (i >> 2)] >>> ((i & 3) << 3);
    return at + n;
  }

  /** Forgets every piece (the arrays keep their size). */
  clear(): void {
    this.table.fill(0);
    this.used = 0;
    this.count = 0;
  }

  /** Number of distinct pieces. */
  get size(): number {
    return this.count;
  }

  // Doubles the pieces' columns.
  private growPieces(): void {
    const grow = (a: Int32Array) => {
      const next = new Int32Array(2 * a.length);
      next.set(a);
      return next;
    };
    this.offsets = grow(this.offsets);
    this.lengths = grow(this.lengths);
    this.hashes = grow(this.hashes);
  }

  // Doubles the table and places every piece again.
  private growTable(): void {
    const table = new Int32Array(2 * this.table.length);
    const mask = table.length - 1;
    for (let id = 0; id < this.count; id++) {
      let i = this.hashes[id] & mask;
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = id + 1;
    }
    this.table = table;
  }
}
