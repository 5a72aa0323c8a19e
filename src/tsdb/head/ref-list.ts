// The head's postings lists in a compact form. A list of one ref is the bare number; a longer list is a `Uint8Array`
// of the refs ascending as LEB128 varints of their gaps (the first from 0), behind a header of three little-endian
// 32-bit words: the count, the last ref and the bytes in use. Refs are handed out in increasing order and a label's
// series mostly arrive together, so a gap takes one byte where a `Uint32Array` took 4 a ref: about 30 bytes a fleet
// series over its 6 to 9 lists. Appending a ref past the last (the usual case) writes its gap at the end, growing
// the array by doubling; a ref that lands inside the list (replay of refs out of order) and a removal decode it and
// encode it again. Readers get the refs decoded into an array of their own.

import { lowerBoundU32 } from "../index/lower-bound.ts";
import type { PostingsList } from "../index/postings.ts";

/** A sorted list of distinct series refs (at most MAX_SERIES_REF): one ref as a number, more as a gap-coded array. */
export type RefList = number | Uint8Array;

/** Bytes of a list's header: count, last ref, bytes in use. */
const HEADER = 12;
const COUNT_AT = 0;
const LAST_AT = 4;
const USED_AT = 8;
/** Bytes a gap takes at most: a varint of 32 bits. */
const MAX_GAP_BYTES = 5;
/** Bytes of a list's first array: its header and room for a few gaps. */
const FIRST_BYTES = 24;
/** Lists up to this many refs are handed to readers as plain arrays (no typed array's backing store to allocate). */
const SMALL_VIEW = 16;

function word(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function setWord(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = v >>> 24;
}

// Writes `v` (an unsigned 32-bit integer) as a varint at `p` of `b`; returns the byte after it.
function putGap(b: Uint8Array, p: number, v: number): number {
  while (v >= 0x80) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p++] = v;
  return p;
}

/** Number of refs in `list`. */
export function refListLength(list: RefList): number {
  return typeof list === "number" ? 1 : word(list, COUNT_AT);
}

// The refs of a gap-coded list, decoded into `out` (which has room for them).
function decodeInto(list: Uint8Array, out: Uint32Array): void {
  const n = word(list, COUNT_AT);
  let p = HEADER;
  let ref = 0;
  for (let k = 0; k < n; k++) {
    let b = list[p++];
    let gap = b & 0x7f;
    for (let shift = 7; b >= 0x80; shift += 7) {
      b = list[p++];
      gap += (b & 0x7f) * 2 ** shift;
    }
    ref += gap;
    out[k] = ref;
  }
}

// A gap-coded list of `refs` (ascending, distinct, at least two), with `spare` bytes of room past them.
function encode(refs: ArrayLike<number>, spare: number): Uint8Array {
  const n = refs.length;
  let need = HEADER;
  let prev = 0;
  for (let k = 0; k < n; k++) {
    const gap = refs[k] - prev;
    need += gap < 0x80 ? 1 : gap < 0x4000 ? 2 : gap < 0x20_0000 ? 3 : gap < 0x1000_0000 ? 4 : 5;
    prev = refs[k];
  }
  const b = new Uint8Array(Math.max(FIRST_BYTES, need + spare));
  let p = HEADER;
  prev = 0;
  for (let k = 0; k < n; k++) {
    p = putGap(b, p, refs[k] - prev);
    prev = refs[k];
  }
  setWord(b, COUNT_AT, n);
  setWord(b, LAST_AT, prev);
  setWord(b, USED_AT, p);
  return b;
}

/** `list` with `ref` added at its place (a no-op when present); returns the list to keep, `list` or a new one. */
export function refListAdd(list: RefList | undefined, ref: number): RefList {
  if (list === undefined) return ref;
  if (typeof list === "number") {
    if (list === ref) return list;
    return encode(list < ref ? [list, ref] : [ref, list], MAX_GAP_BYTES);
  }
  const last = word(list, LAST_AT);
  if (ref > last) {
    let out = list;
    const used = word(list, USED_AT);
    if (used + MAX_GAP_BYTES > list.length) {
      out = new Uint8Array(2 * list.length);
      out.set(list.subarray(0, used));
    }
    setWord(out, USED_AT, putGap(out, used, ref - last));
    setWord(out, LAST_AT, ref);
    setWord(out, COUNT_AT, word(list, COUNT_AT) + 1);
    return out;
  }
  if (ref === last) return list;
  // Inside the list: rare (a replayed WAL's refs out of order), so decoded and encoded again.
  const refs = new Uint32Array(refListLength(list));
  decodeInto(list, refs);
  const lo = lowerBoundU32(refs, ref);
  if (refs[lo] === ref) return list;
  const grown = new Uint32Array(refs.length + 1);
  grown.set(refs.subarray(0, lo));
  grown[lo] = ref;
  grown.set(refs.subarray(lo), lo + 1);
  return encode(grown, list.length - word(list, USED_AT));
}

/** `list` without the refs `keep` rejects, or undefined when none is left; may return `list` itself. */
export function refListFilter(list: RefList, keep: (ref: number) => boolean): RefList | undefined {
  if (typeof list === "number") return keep(list) ? list : undefined;
  const refs = new Uint32Array(refListLength(list));
  decodeInto(list, refs);
  let m = 0;
  for (let k = 0; k < refs.length; k++) if (keep(refs[k])) refs[m++] = refs[k];
  if (m === refs.length) return list;
  if (m === 0) return undefined;
  if (m === 1) return refs[0];
  // Encoded afresh, exactly sized but for room for a few appends.
  return encode(refs.subarray(0, m), MAX_GAP_BYTES);
}

/** The refs of `list` for a reader: an array of its own, ascending. */
export function refListView(list: RefList): PostingsList {
  if (typeof list === "number") return [list];
  const out = new Uint32Array(word(list, COUNT_AT));
  decodeInto(list, out);
  return out.length <= SMALL_VIEW ? Array.from(out) : out;
}
