// A float64's bits as text, for tests that compare values exactly: NaNs of different payloads (a stale marker and an
// ordinary NaN) and +0/−0 are told apart, which `===` and `Object.is` do not all do.

/** The 64 bits of `x` as "high:low" hex words (little-endian machine order read back as two 32-bit words). */
export function floatBits(x: number): string {
  const f = new Float64Array([x]);
  const u = new Uint32Array(f.buffer);
  return `${u[1].toString(16)}:${u[0].toString(16)}`;
}
