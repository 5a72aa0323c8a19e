// Numeric fields of OTLP as both decoders check them: nanosecond times to milliseconds, counts as exact integers.

import { ContrailError } from "../../model/errors.ts";

const NS_PER_MS = 1_000_000;
/** 2^32 = 4294 * 10^6 + 967296: splits a 64-bit nanosecond count so the millisecond result stays exact. */
const TWO_32_MS = 4294;
const TWO_32_REM = 967_296;

/** Milliseconds of the unsigned 64-bit nanosecond count hi:lo (two 32-bit halves), floored; exact for every value. */
export function nanosToMs(hi: number, lo: number): number {
  // hi * 967296 + lo < 2^53, so the division below is exact in doubles.
  return hi * TWO_32_MS + Math.floor((hi * TWO_32_REM + lo) / NS_PER_MS);
}

/** Milliseconds of a decimal nanosecond count (the JSON encoding of fixed64); throws `bad_data` naming `what`. */
export function decimalNanosToMs(text: string, what: string): number {
  if (!/^\d{1,20}$/.test(text)) throw new ContrailError("bad_data", `${what} ${JSON.stringify(text)} is not a uint64`);
  return text.length <= 6 ? 0 : Number(text.slice(0, -6));
}

/** `n` when it is an integer count exact in a double (< 2^53); throws `bad_data` naming `what` otherwise. */
export function checkCount(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ContrailError("bad_data", `${what} ${n} is not a count below 2^53`);
  }
  return n;
}
