// Float text exactly as Prometheus reads and writes it. Reading follows Go's strconv.ParseFloat for decimal text
// and the words Inf/Infinity/NaN (any case), refusing hex floats and `_` as Prometheus's text parsers do. Writing
// is strconv.FormatFloat(v, 'g', -1, 64): shortest round-trip digits, exponent form below 1e-4 and from 1e+06.

import { quoteGo } from "../model/quote.ts";

// Powers of ten that are exact doubles: a product or quotient of an integer below 2^53 and one of these is
// correctly rounded by a single IEEE operation (Clinger's fast path).
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);

const C_0 = 0x30;
const C_9 = 0x39;
const C_DOT = 0x2e;
const C_PLUS = 0x2b;
const C_MINUS = 0x2d;

/** True when `s[start..end)` equals `word` ignoring ASCII case (`word` is lower case). */
function matchesWord(s: string, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let k = 0; k < word.length; k++) {
    if ((s.charCodeAt(start + k) | 0x20) !== word.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Parses the float in `s[start..end)` without allocating in the common case. Returns undefined when the text is
 * not a float Prometheus accepts or overflows to ±Inf (Go reports that as an error); `floatError` says why.
 */
export function scanFloat(s: string, start: number, end: number): number | undefined {
  let i = start;
  if (i >= end) return undefined;
  let c = s.charCodeAt(i);
  let neg = false;
  if (c === C_PLUS || c === C_MINUS) {
    neg = c === C_MINUS;
    if (++i >= end) return undefined;
    c = s.charCodeAt(i);
  }
  if ((c < C_0 || c > C_9) && c !== C_DOT) {
    if (matchesWord(s, i, end, "inf") || matchesWord(s, i, end, "infinity")) {
      return neg ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    // Go accepts no sign before NaN.
    if (i === start && matchesWord(s, i, end, "nan")) return Number.NaN;
    return undefined;
  }
  let mant = 0;
  let digits = 0; // significant digits folded into mant
  let exp10 = 0;
  let sawDigit = false;
  let slow = false;
  for (; i < end; i++) {
    c = s.charCodeAt(i);
    if (c < C_0 || c > C_9) break;
    sawDigit = true;
    if (mant === 0 && c === C_0) continue;
    if (digits < 15) {
      mant = mant * 10 + (c - C_0);
      digits++;
    } else {
      slow = true;
    }
  }
  if (i < end && s.charCodeAt(i) === C_DOT) {
    for (i++; i < end; i++) {
      c = s.charCodeAt(i);
      if (c < C_0 || c > C_9) break;
      sawDigit = true;
      if (mant === 0 && c === C_0) {
        exp10--;
        continue;
      }
      if (digits < 15) {
        mant = mant * 10 + (c - C_0);
        digits++;
        exp10--;
      } else {
        slow = true;
      }
    }
  }
  if (!sawDigit) return undefined;
  if (i < end && (s.charCodeAt(i) | 0x20) === 0x65) {
    i++;
    let expNeg = false;
    if (i < end && (s.charCodeAt(i) === C_PLUS || s.charCodeAt(i) === C_MINUS)) {
      expNeg = s.charCodeAt(i) === C_MINUS;
      i++;
    }
    let e = 0;
    let expDigits = 0;
    for (; i < end; i++) {
      c = s.charCodeAt(i);
      if (c < C_0 || c > C_9) break;
      if (e < 100_000) e = e * 10 + (c - C_0);
      expDigits++;
    }
    if (expDigits === 0) return undefined;
    exp10 += expNeg ? -e : e;
  }
  if (i !== end) return undefined;
  let v: number;
  if (mant === 0 && !slow) {
    v = 0;
  } else if (!slow && exp10 >= 0 && exp10 <= 22) {
    v = mant * POW10[exp10];
  } else if (!slow && exp10 < 0 && exp10 >= -22) {
    v = mant / POW10[-exp10];
  } else {
    // Validated decimal syntax: JavaScript's Number() reads it exactly as Go does (correctly rounded).
    v = Math.abs(Number(s.slice(start, end)));
    if (v === Number.POSITIVE_INFINITY) return undefined;
  }
  return neg ? -v : v;
}

/** The Go-style error text for a float `scanFloat` refused, e.g. `strconv.ParseFloat: parsing "x": invalid syntax`. */
export function floatError(text: string): string {
  if (/[pP_]/.test(text)) return "unsupported character in float";
  const overflow = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text);
  return `strconv.ParseFloat: parsing ${quoteGo(text)}: ${overflow ? "value out of range" : "invalid syntax"}`;
}

/** Formats `v` as Go's strconv.FormatFloat(v, 'g', -1, 64): `1e+06`, `0.001`, `123456`, `+Inf`, `NaN`, `-0`. */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  // Integers of up to 6 digits print alike in both languages; skip the digit extraction for them.
  if (Number.isInteger(v) && v > -1e6 && v < 1e6) return String(v);
  const sign = v < 0 ? "-" : "";
  // toExponential() without an argument yields the shortest round-trip digits, as Go's -1 precision does.
  const text = Math.abs(v).toExponential();
  const e = text.indexOf("e");
  const digits = text.charCodeAt(1) === C_DOT ? text[0] + text.slice(2, e) : text.slice(0, e);
  const exp = Number(text.slice(e + 1));
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const abs = Math.abs(exp);
    return `${sign}${mant}e${exp < 0 ? "-" : "+"}${abs < 10 ? "0" : ""}${abs}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${"0".repeat(exp + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** Formats `v` as Prometheus's FormatOpenMetricsFloat: Go's 'g' form with `.0` added when it has neither `.`
 * nor an exponent (`1.0`, `0.0`, `1e+06`, `+Inf`). */
export function formatOpenMetricsFloat(v: number): string {
  const s = formatGoFloat(v);
  if (Number.isNaN(v) || !Number.isFinite(v)) return s;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === C_DOT || c === 0x65) return s;
  }
  return `${s}.0`;
}
