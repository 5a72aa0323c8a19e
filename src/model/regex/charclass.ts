// Character classes as sorted, merged code point ranges: a flat array lo0, hi0, lo1, hi1, ... (inclusive bounds).
// Also the fixed ASCII tables RE2 defines for Perl escapes (\d \s \w) and POSIX names ([:alpha:] ...).

/** Largest Unicode code point. */
export const MAX_RUNE = 0x10ffff;

/** Inclusive code point ranges, flat: lo0, hi0, lo1, hi1, ... */
export type Ranges = number[];

/** Sorts and merges overlapping or abutting ranges in place; returns the same array, shortened. */
export function cleanRanges(r: Ranges): Ranges {
  if (r.length <= 2) return r;
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i], r[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  r.length = 0;
  for (const [lo, hi] of pairs) {
    const n = r.length;
    if (n > 0 && lo <= r[n - 1] + 1) {
      if (hi > r[n - 1]) r[n - 1] = hi;
    } else {
      r.push(lo, hi);
    }
  }
  return r;
}

/** The complement of clean ranges within [0, MAX_RUNE], as a new array. */
export function negateRanges(r: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i] > next) out.push(next, r[i] - 1);
    next = r[i + 1] + 1;
  }
  if (next <= MAX_RUNE) out.push(next, MAX_RUNE);
  return out;
}

/** True when clean ranges contain code point `c` (binary search). */
export function rangesContain(r: Ranges, c: number): boolean {
  let lo = 0;
  let hi = (r.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < r[2 * mid]) hi = mid - 1;
    else if (c > r[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Number of code points in clean ranges. */
export function rangesSize(r: Ranges): number {
  let n = 0;
  for (let i = 0; i < r.length; i += 2) n += r[i + 1] - r[i] + 1;
  return n;
}

/** True when clean ranges are every code point. */
export function isAnyRune(r: Ranges): boolean {
  return r.length === 2 && r[0] === 0 && r[1] === MAX_RUNE;
}

/** True when two clean range lists are identical. */
export function rangesEqual(a: Ranges, b: Ranges): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const c = (s: string): number => s.charCodeAt(0);

/** RE2's Perl class escapes (ASCII only, like Go's regexp/syntax): `\d`, `\s`, `\w`. */
export const PERL_CLASSES: Readonly<Record<string, Ranges>> = {
  d: [c("0"), c("9")],
  s: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20],
  w: [c("0"), c("9"), c("A"), c("Z"), c("_"), c("_"), c("a"), c("z")],
};

/** RE2's POSIX bracket classes, e.g. `[:alpha:]` (ASCII only). */
export const POSIX_CLASSES: Readonly<Record<string, Ranges>> = {
  alnum: [c("0"), c("9"), c("A"), c("Z"), c("a"), c("z")],
  alpha: [c("A"), c("Z"), c("a"), c("z")],
  ascii: [0, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0, 0x1f, 0x7f, 0x7f],
  digit: [c("0"), c("9")],
  graph: [c("!"), c("~")],
  lower: [c("a"), c("z")],
  print: [c(" "), c("~")],
  punct: [c("!"), c("/"), c(":"), c("@"), c("["), c("`"), c("{"), c("~")],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [c("A"), c("Z")],
  word: [c("0"), c("9"), c("A"), c("Z"), c("_"), c("_"), c("a"), c("z")],
  xdigit: [c("0"), c("9"), c("A"), c("F"), c("a"), c("f")],
};
