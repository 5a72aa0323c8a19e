// Binary search over ascending 32-bit integers (series refs, offsets), shared by the index writer and the query
// pool's page cutter, and the head's postings lists.

/** The first index in [from, to) whose element of the ascending `a` is at least `x` (`to` if none). */
export function lowerBoundU32(a: Uint32Array, x: number, from = 0, to = a.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
