// Sample values with at most a few decimals written as bytes without making a string: the same text as Go's
// strconv.FormatFloat(v, 'f', -1, 64) (json.ts formatFloatF), which V8's number-to-string gives at about 125 ns a
// value. Counters' increases, gauges and sums of them mostly have such values; a histogram's answer is almost all of
// them.
//
// Why one test at a fixed number of decimals finds the shortest text: let d be the decimals tried and x = v·10^d
// with |x| < 2^40. A text with d decimals reads back as v exactly when its digits m (an integer) give m / 10^d === v
// (both exact doubles, and IEEE division rounds as parsing does), and then |m − v·10^d| ≤ |v·10^d|·2^−53 < 2^−13, so
// m is the one integer nearest x: Math.round(x) finds it, and no other d-decimal text reads back. Every shorter text
// that reads back is that one with trailing zeros dropped, so dropping m's trailing zeros gives the shortest; a value
// whose shortest text has more than d decimals has no d-decimal text that reads back and is left to the caller.

/** Most decimals tried: values with more take V8's conversion. */
const MAX_DECIMALS = 6;
/** 10^MAX_DECIMALS. */
const SCALE = 1_000_000;
/** Largest |v·10^d| the test is exact for (see the header). */
const EXACT_BELOW = 2 ** 40;
/** Powers of ten up to 10^9, the largest below 2^31. */
const POW10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];
const INT32_LIMIT = 2 ** 31;
const ZERO = 0x30;
const MINUS = 0x2d;
const DOT = 0x2e;
/** Most bytes written: a sign, 13 integer digits (|v| < 2^40), a point and MAX_DECIMALS decimals. */
export const SHORT_DECIMAL_MAX_BYTES = 1 + 13 + 1 + MAX_DECIMALS;

/**
 * Writes finite, non-zero `v` at `buf[at]` as formatFloatF would when its shortest text has at most MAX_DECIMALS
 * decimals and |v|·10^MAX_DECIMALS is below 2^40, and returns the index after it; returns -1, writing nothing,
 * otherwise (NaN, infinities and zero included). `buf` must have {@link SHORT_DECIMAL_MAX_BYTES} bytes free at `at`.
 */
export function writeShortDecimal(buf: Uint8Array, at: number, v: number): number {
  const abs = v < 0 ? -v : v;
  // One test at MAX_DECIMALS turns away every other value; then the fewest decimals that read back.
  const scaled = abs * SCALE;
  if (!(scaled < EXACT_BELOW)) return -1;
  const most = Math.round(scaled);
  if (most === 0 || most / SCALE !== abs) return -1;
  let d = 0;
  let m = Math.round(abs);
  while (m / POW10[d] !== abs) {
    d++;
    m = Math.round(abs * POW10[d]);
  }
  const p = POW10[d];
  // m / p rounds, and may round up to the next integer, never down past one: at most one too many wholes.
  let whole = Math.floor(m / p);
  let frac = m - whole * p;
  if (frac < 0) {
    whole--;
    frac += p;
  }
  let i = at;
  if (v < 0) buf[i++] = MINUS;
  if (whole < INT32_LIMIT) {
    i = writeInt(buf, i, whole, 0);
  } else {
    const high = Math.floor(whole / SCALE);
    i = writeInt(buf, i, high, 0);
    i = writeInt(buf, i, whole - high * SCALE, MAX_DECIMALS);
  }
  if (d > 0) {
    buf[i++] = DOT;
    i = writeInt(buf, i, frac, d);
  }
  return i;
}

// Writes the integer 0 <= n < 2^31 in decimal, left-padded with zeros to `width` digits.
function writeInt(buf: Uint8Array, at: number, n: number, width: number): number {
  let digits = 1;
  while (digits < POW10.length && n >= POW10[digits]) digits++;
  if (digits < width) digits = width;
  let i = at + digits;
  let t = n | 0;
  for (let k = 0; k < digits; k++) {
    const q = (t / 10) | 0;
    buf[--i] = ZERO + t - q * 10;
    t = q;
  }
  return at + digits;
}
