// Postings lists (sorted series refs) and their algebra, and the translation of label matchers into one postings
// list with Prometheus's semantics. Works over any `IndexReaderLike`: an on-disk index or the in-memory head.

import { compareStrings } from "../../model/labels.ts";
import type { Matcher } from "../../model/matcher.ts";

/** A postings list: series refs in strictly increasing order. Lists passed in are never modified. */
export type PostingsList = ArrayLike<number>;

/** What matcher evaluation needs from an index; implemented by the block index reader and by the head. */
export interface IndexReaderLike {
  /** Distinct values of label `name` in increasing UTF-8 byte order; empty when no series has the label. */
  labelValues(name: string): readonly string[];
  /** Union of the postings of `name="v"` over `values` (any order; unknown values contribute nothing). */
  postings(name: string, values: readonly string[]): PostingsList;
  /** Every series ref, sorted. */
  allPostings(): PostingsList;
}

const EMPTY: readonly number[] = Object.freeze([]);

/** Refs present in every list; an empty `lists` gives the empty list. Result is a new array. */
export function intersect(lists: readonly PostingsList[]): number[] {
  if (lists.length === 0) return [];
  // Smallest first: the result can only shrink, and binary search pays off against the large lists.
  const order = lists.slice().sort((a, b) => a.length - b.length);
  let acc: number[] = Array.from(order[0]);
  for (let k = 1; k < order.length && acc.length > 0; k++) acc = intersect2(acc, order[k]);
  return acc;
}

// Intersects a small sorted list with another: galloping (exponential + binary search) when sizes differ a lot.
function intersect2(small: ArrayLike<number>, big: ArrayLike<number>): number[] {
  const out: number[] = [];
  if (big.length > small.length * 8) {
    let lo = 0;
    for (let i = 0; i < small.length; i++) {
      const x = small[i];
      lo = seek(big, x, lo);
      if (lo >= big.length) break;
      if (big[lo] === x) out.push(x);
    }
    return out;
  }
  let i = 0;
  let j = 0;
  while (i < small.length && j < big.length) {
    const a = small[i];
    const b = big[j];
    if (a === b) {
      out.push(a);
      i++;
      j++;
    } else if (a < b) i++;
    else j++;
  }
  return out;
}

/** Index of the first element of sorted `list` at or after `from` that is >= `x` (`list.length` if none). */
export function seek(list: ArrayLike<number>, x: number, from = 0): number {
  // Gallop to bracket the target, then binary search inside the bracket.
  let step = 1;
  let hi = from;
  while (hi < list.length && list[hi] < x) {
    from = hi + 1;
    hi += step;
    step *= 2;
  }
  if (hi > list.length) hi = list.length;
  let lo = from;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Union of the lists without duplicates, sorted. Result is a new array. */
export function merge(lists: readonly PostingsList[]): number[] {
  const nonEmpty = lists.filter((l) => l.length > 0);
  if (nonEmpty.length === 0) return [];
  if (nonEmpty.length === 1) return Array.from(nonEmpty[0]);
  if (nonEmpty.length === 2) return merge2(nonEmpty[0], nonEmpty[1]);
  // Many lists (e.g. every value of a label): one native numeric sort beats a k-way merge in JS.
  let total = 0;
  for (const l of nonEmpty) total += l.length;
  const all = new Float64Array(total);
  let n = 0;
  for (const l of nonEmpty) {
    for (let i = 0; i < l.length; i++) all[n++] = l[i];
  }
  all.sort();
  const out: number[] = [];
  for (let i = 0; i < total; i++) {
    if (i === 0 || all[i] !== all[i - 1]) out.push(all[i]);
  }
  return out;
}

function merge2(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

/** Refs of `full` that are not in `drop`. Result is a new array. */
export function without(full: PostingsList, drop: PostingsList): number[] {
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < full.length; i++) {
    const x = full[i];
    if (j < drop.length && drop[j] < x) j = seek(drop, x, j);
    if (j < drop.length && drop[j] === x) continue;
    out.push(x);
  }
  return out;
}

/** True when `list` is strictly increasing (a valid postings list). */
export function isSortedPostings(list: PostingsList): boolean {
  for (let i = 1; i < list.length; i++) {
    if (!(list[i - 1] < list[i])) return false;
  }
  return true;
}

// ---- matchers ----

/** Literal values a regex matcher can match exactly (`a|b|c`), or null when the regex is not such a set. */
function setMatches(m: Matcher): readonly string[] | null {
  const s = m.regex?.setMatches() ?? null;
  return s !== null && s.length > 0 ? s : null;
}

/** A literal prefix every matching value starts with (case-sensitive), or "" when there is none. */
function literalPrefix(m: Matcher): string {
  return m.regex?.prefix ?? "";
}

/**
 * Postings of the series that satisfy every matcher (AND), sorted. A missing label counts as the empty string, so
 * matchers that accept "" (`a=""`, `a!="x"`, `a!~".+"`, `a=~"x|"`) are applied by subtracting the series that have
 * the label with a rejected value. Only when every matcher accepts "" does the result start from all postings.
 * An empty matcher list selects nothing.
 */
export function postingsForMatchers(ix: IndexReaderLike, matchers: readonly Matcher[]): number[] {
  if (matchers.length === 1) {
    const m = matchers[0];
    // The all-postings key as a matcher: every series.
    if (m.type === "=" && m.name === "" && m.value === "") return Array.from(ix.allPostings());
  }
  // A label some matcher requires to be non-empty: its other matchers can then ignore missing-label series.
  const mustBeSet = new Set<string>();
  for (const m of matchers) {
    if (!m.matches("")) mustBeSet.add(m.name);
  }
  const subtracting = (m: Matcher): boolean =>
    !mustBeSet.has(m.name) || ((m.type === "!=" || m.type === "!~") && m.matches(""));

  const its: PostingsList[] = [];
  const notIts: PostingsList[] = [];
  if (matchers.length > 0 && matchers.every(subtracting)) its.push(ix.allPostings());

  for (const m of matchers) {
    if (m.type === "=~" && m.value === ".*") continue; // Matches anything, a missing label included.
    if (m.type === "!~" && m.value === ".*") return [];
    if (m.type === "=~" && m.value === ".+") {
      const p = allValuesPostings(ix, m.name);
      if (p.length === 0) return [];
      its.push(p);
      continue;
    }
    if (m.type === "!~" && m.value === ".+") {
      notIts.push(allValuesPostings(ix, m.name));
      continue;
    }
    if (!mustBeSet.has(m.name)) {
      // m accepts "": drop the series whose value m rejects (series without the label stay).
      notIts.push(inversePostingsForMatcher(ix, m));
      continue;
    }
    const acceptsEmpty = m.matches("");
    switch (m.type) {
      case "!=":
      case "!~":
        if (acceptsEmpty) {
          // a!="x" where a must be set: subtract the series with a="x".
          notIts.push(positivePostings(ix, m.name, m.type === "!=" ? { kind: "equal" } : { kind: "regex" }, m));
        } else {
          // a!="" (or a!~"" style): keep only series that have a value m accepts.
          const p = valuesPostings(ix, m.name, (v) => m.matches(v));
          if (p.length === 0) return [];
          its.push(p);
        }
        break;
      case "=":
      case "=~": {
        const p = positivePostings(ix, m.name, m.type === "=" ? { kind: "equal" } : { kind: "regex" }, m);
        if (p.length === 0) return [];
        its.push(p);
        break;
      }
    }
  }
  let result = intersect(its);
  for (const n of notIts) {
    if (result.length === 0) break;
    result = without(result, n);
  }
  return result;
}

type Positive = { kind: "equal" } | { kind: "regex" };

// Postings of series whose value of `name` the positive form of `m` accepts (`=` for `=`/`!=`, `=~` for `=~`/`!~`):
// the value itself, the regex's literal set, or a scan of the values (narrowed to the literal prefix if any).
function positivePostings(ix: IndexReaderLike, name: string, how: Positive, m: Matcher): PostingsList {
  switch (how.kind) {
    case "equal":
      return ix.postings(name, [m.value]);
    case "regex": {
      const set = setMatches(m);
      if (set !== null) return ix.postings(name, set);
      const test = m.type === "!~" ? (v: string) => !m.matches(v) : (v: string) => m.matches(v);
      return valuesPostings(ix, name, test, literalPrefix(m));
    }
  }
}

// Postings of series that have label `name` with a value `m` rejects.
function inversePostingsForMatcher(ix: IndexReaderLike, m: Matcher): PostingsList {
  switch (m.type) {
    case "!=":
      return ix.postings(m.name, [m.value]);
    case "!~":
      return positivePostings(ix, m.name, { kind: "regex" }, m);
    case "=":
    case "=~":
      if (m.value === "") return allValuesPostings(ix, m.name);
      return valuesPostings(ix, m.name, (v) => !m.matches(v));
  }
}

function allValuesPostings(ix: IndexReaderLike, name: string): PostingsList {
  const values = ix.labelValues(name);
  return values.length === 0 ? EMPTY : ix.postings(name, values);
}

// Postings of the values of `name` that pass `test`. With a prefix, only the sorted run of values starting with it
// is tested: values are in byte order, so that run is contiguous and found by binary search.
function valuesPostings(ix: IndexReaderLike, name: string, test: (v: string) => boolean, prefix = ""): PostingsList {
  const values = ix.labelValues(name);
  let start = 0;
  let end = values.length;
  if (prefix !== "") {
    start = lowerBound(values, prefix);
    end = start;
    while (end < values.length && values[end].startsWith(prefix)) end++;
  }
  const selected: string[] = [];
  for (let i = start; i < end; i++) {
    if (test(values[i])) selected.push(values[i]);
  }
  return selected.length === 0 ? EMPTY : ix.postings(name, selected);
}

// First index of sorted `values` (UTF-8 byte order) whose element is >= `s`.
function lowerBound(values: readonly string[], s: string): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareStrings(values[mid], s) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
