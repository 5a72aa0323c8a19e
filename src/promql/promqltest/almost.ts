// Float equality as the reference runner checks it (Prometheus's util/almost).

/** Relative error allowed between an expected and an actual float. */
export const EPSILON = 1e-6;

// Smallest positive normal float64 (2^-1022).
const MIN_NORMAL = 2.2250738585072014e-308;

const bitsF = new Float64Array(1);
const bitsU = new Uint32Array(bitsF.buffer);
// Index of the high and low 32-bit halves of a float64 on this machine.
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** True when `v` has exactly the bits of Prometheus's staleness marker (0x7ff0000000000002). */
export function isStaleNaN(v: number): boolean {
  bitsF[0] = v;
  return bitsU[HI] === 0x7ff00000 && bitsU[LO] === 0x00000002;
}

/** Prometheus's almost.Equal: StaleNaN only equals StaleNaN, NaN equals NaN, otherwise a relative difference below
 * `epsilon`; when either side is 0 (or both are tiny) the difference must be below epsilon × the smallest normal. */
export function almostEqual(a: number, b: number, epsilon = EPSILON): boolean {
  const sa = isStaleNaN(a);
  const sb = isStaleNaN(b);
  if (sa || sb) return sa && sb;
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}
