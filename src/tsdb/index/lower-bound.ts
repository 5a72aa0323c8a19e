// Binary search over ascending 32-bit integers (series refs, offsets), shared by the index writer and the query
// pool's page cutter.

/** The first index at or after `from` whose element of the ascending `a` is at least `x` (`a.length` if none). */
export function lowerBoundU32(a: Uint32Array, x: number, from = 0): number {
  let lo = from;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
