// Float64 <-> IEEE-754 bit pattern without allocation or BigInt: one shared 8-byte scratch buffer viewed both as a
// Float64Array and as two uint32 halves. The half indices follow the host's byte order.

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Index in the scratch Uint32Array of the high (sign/exponent) half. */
const HI = LITTLE_ENDIAN ? 1 : 0;
/** Index in the scratch Uint32Array of the low half. */
const LO = LITTLE_ENDIAN ? 0 : 1;

/** The high 32 bits (sign, exponent, top of the mantissa) of `v`'s float64 bit pattern, unsigned. */
export function floatHi(v: number): number {
  f64[0] = v;
  return u32[HI];
}

/** The low 32 bits of `v`'s float64 bit pattern, unsigned. */
export function floatLo(v: number): number {
  f64[0] = v;
  return u32[LO];
}

/** The float64 whose bit pattern is `hi:lo` (two unsigned 32-bit halves). NaN payloads are preserved. */
export function floatFromBits(hi: number, lo: number): number {
  u32[HI] = hi;
  u32[LO] = lo;
  return f64[0];
}

/** Bit pattern of Prometheus's staleness marker, a NaN distinct from the ordinary NaN: 0x7ff00000_00000002. */
export const STALE_NAN_HI = 0x7ff00000;
/** Low half of the staleness marker's bit pattern. */
export const STALE_NAN_LO = 0x00000002;
/** Prometheus's staleness marker value (compare with `isStaleNaN`, never with ===). */
export const STALE_NAN: number = floatFromBits(STALE_NAN_HI, STALE_NAN_LO);

export { isStaleNaN } from "../../model/sample.ts";
