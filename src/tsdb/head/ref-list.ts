// The head's postings lists in a compact form. A JS array of refs costs 8 bytes a ref plus up to half again in
// spare room, and 184 bytes for a list of one; here a list of one ref is the bare number, and a longer list is a
// `Uint32Array` (refs are at most MAX_SERIES_REF, 2^32 - 1) whose element 0 is the count, elements 1..count the refs
// ascending and the rest spare: 4 bytes a ref, growing by doubling, shrinking when a quarter full.

import { lowerBoundU32 } from "../index/lower-bound.ts";
import type { PostingsList } from "../index/postings.ts";

/** A sorted list of distinct series refs: one ref as a number, more as a counted `Uint32Array` (see above). */
export type RefList = number | Uint32Array;

/** Elements of a list's first array: its count and 3 refs. */
const FIRST_ELEMENTS = 4;
/**
 * Largest array (in elements) V8 keeps inside its own heap object (`typed_array_max_size_in_heap`, 64 bytes): a
 * view of such an array would move its elements out to a buffer of their own, so lists this small are copied out.
 */
const IN_HEAP_ELEMENTS = 16;

/** Number of refs in `list`. */
export function refListLength(list: RefList): number {
  return typeof list === "number" ? 1 : list[0];
}

/** `list` with `ref` added at its place (a no-op when present); returns the list to keep, `list` or a new one. */
export function refListAdd(list: RefList | undefined, ref: number): RefList {
  if (list === undefined) return ref;
  if (typeof list === "number") {
    if (list === ref) return list;
    const a = new Uint32Array(FIRST_ELEMENTS);
    a[0] = 2;
    a[1] = Math.min(list, ref);
    a[2] = Math.max(list, ref);
    return a;
  }
  const n = list[0];
  // Refs are handed out in increasing order: appending at the end is the usual case. Otherwise the last ref is
  // >= `ref`, so the search within 1..n lands at or before n (searched in place: a view would move a small
  // array's elements out of V8's heap).
  let i = n + 1;
  if (list[n] >= ref) {
    i = lowerBoundU32(list, ref, 1, n);
    if (list[i] === ref) return list;
  }
  let out = list;
  if (n + 1 === list.length) {
    out = new Uint32Array(2 * list.length);
    out.set(list);
  }
  if (i <= n) out.copyWithin(i + 1, i, n + 1);
  out[i] = ref;
  out[0] = n + 1;
  return out;
}

/** `list` without the refs `keep` rejects, or undefined when none is left; may reuse `list`. */
export function refListFilter(list: RefList, keep: (ref: number) => boolean): RefList | undefined {
  if (typeof list === "number") return keep(list) ? list : undefined;
  const n = list[0];
  let m = 0;
  for (let i = 1; i <= n; i++) if (keep(list[i])) list[++m] = list[i];
  if (m === 0) return undefined;
  if (m === 1) return list[1];
  list[0] = m;
  if (4 * (m + 1) > list.length || list.length <= FIRST_ELEMENTS) return list;
  // A quarter full or less: give back the room, keeping twice the refs' room as spare.
  return list.slice(0, Math.max(FIRST_ELEMENTS, 2 * (m + 1)));
}

/**
 * The refs of `list` for a reader: a view of the live array (the caller must not modify it, and must copy what it
 * keeps across appends and deletions), or a copy when the list is small.
 */
export function refListView(list: RefList): PostingsList {
  if (typeof list === "number") return [list];
  const n = list[0];
  return list.length <= IN_HEAP_ELEMENTS ? list.slice(1, n + 1) : list.subarray(1, n + 1);
}
