// The bit-level number encodings of Prometheus's histogram chunks (docs/format/histogram-chunks.md): "varbit"
// integers (a unary size prefix then that many bits), the one-byte zero threshold, custom bucket bounds and the XOR
// (Gorilla) float values each with their own leading/trailing-zero window. Integers are safe JS integers; 64-bit
// fields travel as two uint32 halves.

import type { BitReader, BitWriter } from "../encoding/bstream.ts";
import { floatFromBits, floatHi, floatLo, STALE_NAN_HI, STALE_NAN_LO } from "../encoding/float-bits.ts";
import { ctz32, writeShifted } from "./xor.ts";

const TWO_32 = 0x1_0000_0000;
/** Value sizes in bits after a prefix of 1, 2, ... 7 one bits then a zero (a 0 bit alone is the value 0). */
const VARBIT_SIZES = [3, 6, 9, 12, 18, 25, 56] as const;
/** Eight one bits: a full 64-bit value follows. */
const VARBIT_FULL_PREFIX = 0xff;
/** `leading` of an XOR value before its first non-zero XOR: no window to reuse yet. */
export const NO_WINDOW = 0xff;
/** Zero-threshold byte: 0 means threshold 0, 255 means 64 float bits follow, else 2^(byte-244). */
const ZT_FULL = 255;
const ZT_EXP_BIAS = 244;
/** Custom bounds that are multiples of 0.001 up to this many thousandths travel as small varbit uints. */
const MAX_COMPACT_BOUND_MILLIS = 33554430;

/** Writes the signed safe integer `v` (two's complement for the wide forms). */
export function putVarbitInt(w: BitWriter, v: number): void {
  if (v === 0) {
    w.writeBit(0);
    return;
  }
  for (let i = 0; i < VARBIT_SIZES.length; i++) {
    const n = VARBIT_SIZES[i];
    const half = 2 ** (n - 1);
    // Prometheus's bitRange: -(2^(n-1) - 1) <= v <= 2^(n-1).
    if (v > -half && v <= half) {
      writePrefix(w, i + 1);
      writeWide(w, v, n);
      return;
    }
  }
  w.writeBitsNum(VARBIT_FULL_PREFIX, 8);
  const hi = Math.floor(v / TWO_32);
  w.writeBits(hi >>> 0, (v - hi * TWO_32) >>> 0, 64);
}

/** Writes the non-negative safe integer `v`. */
export function putVarbitUint(w: BitWriter, v: number): void {
  if (v === 0) {
    w.writeBit(0);
    return;
  }
  for (let i = 0; i < VARBIT_SIZES.length; i++) {
    const n = VARBIT_SIZES[i];
    if (v < 2 ** n) {
      writePrefix(w, i + 1);
      writeWide(w, v, n);
      return;
    }
  }
  w.writeBitsNum(VARBIT_FULL_PREFIX, 8);
  const hi = Math.floor(v / TWO_32);
  w.writeBits(hi >>> 0, (v - hi * TWO_32) >>> 0, 64);
}

/** The size prefix of the `ones`-th form (1..7): that many one bits, then a zero bit. */
function writePrefix(w: BitWriter, ones: number): void {
  w.writeBitsNum(((1 << ones) - 1) << 1, ones + 1);
}

/** Writes the low `n` (<= 56) bits of the safe integer `v`'s two's complement. */
function writeWide(w: BitWriter, v: number, n: number): void {
  if (n <= 32) {
    w.writeBitsNum(v | 0, n);
    return;
  }
  // Split before complementing: v + 2^n is not exact past 2^53.
  const hi = Math.floor(v / TWO_32);
  w.writeBits(hi >>> 0, (v - hi * TWO_32) >>> 0, n);
}

/** Reads the prefix; returns the value's size in bits, 0 for the value 0, 64 for the full form. */
function readPrefix(r: BitReader): number {
  let ones = 0;
  while (ones < 8 && r.readBit() === 1) ones++;
  if (ones === 0) return 0;
  return ones === 8 ? 64 : VARBIT_SIZES[ones - 1];
}

/** Reads `n` (<= 64) bits as an unsigned number (nearest double beyond 2^53). */
function readWide(r: BitReader, n: number): number {
  if (n <= 32) return r.readBitsNum(n);
  const hi = r.readBitsNum(n - 32);
  return hi * TWO_32 + r.readBitsNum(32);
}

/** Reads a signed integer written by `putVarbitInt`. */
export function readVarbitInt(r: BitReader): number {
  const n = readPrefix(r);
  if (n === 0) return 0;
  if (n === 64) {
    const hi = r.readBitsNum(32);
    return (hi | 0) * TWO_32 + r.readBitsNum(32);
  }
  if (n <= 32) {
    const bits = r.readBitsNum(n);
    return bits > 2 ** (n - 1) ? bits - 2 ** n : bits;
  }
  // Prometheus's rule, values above 2^(n-1) are negative, on the halves so the result stays exact.
  const hiBits = n - 32;
  const hi = r.readBitsNum(hiBits);
  const lo = r.readBitsNum(32);
  const half = 2 ** (hiBits - 1);
  const negative = hi > half || (hi === half && lo > 0);
  return (negative ? hi - 2 ** hiBits : hi) * TWO_32 + lo;
}

/** Reads an unsigned integer written by `putVarbitUint`. */
export function readVarbitUint(r: BitReader): number {
  const n = readPrefix(r);
  return n === 0 ? 0 : readWide(r, n);
}

/** Writes the zero bucket's threshold: one byte for 0 and for powers of two in [2^-243, 2^10], else 9 bytes. */
export function putZeroThreshold(w: BitWriter, threshold: number): void {
  if (threshold === 0) {
    w.writeBitsNum(0, 8);
    return;
  }
  const hi = floatHi(threshold);
  const lo = floatLo(threshold);
  // A positive normal power of two has an all-zero mantissa; its value is 2^e = 0.5 * 2^(e+1).
  const e = ((hi >>> 20) & 0x7ff) - 1023;
  if (hi >>> 31 === 0 && (hi & 0xfffff) === 0 && lo === 0 && e > -1023 && e + 1 >= -242 && e + 1 <= 11) {
    w.writeBitsNum(e + ZT_EXP_BIAS, 8);
    return;
  }
  w.writeBitsNum(ZT_FULL, 8);
  w.writeBits(hi, lo, 64);
}

/** Reads a threshold written by `putZeroThreshold`. */
export function readZeroThreshold(r: BitReader): number {
  const b = r.readBitsNum(8);
  if (b === 0) return 0;
  if (b === ZT_FULL) return floatFromBits(r.readBitsNum(32), r.readBitsNum(32));
  return 2 ** (b - ZT_EXP_BIAS);
}

/** Writes one custom bucket bound: (bound * 1000 + 1) as a varbit uint when it is a small multiple of 0.001. */
export function putCustomBound(w: BitWriter, f: number): void {
  const millis = f * 1000;
  if (millis < 0 || millis > MAX_COMPACT_BOUND_MILLIS || Math.round(millis) / 1000 !== f) {
    w.writeBit(0);
    w.writeBits(floatHi(f), floatLo(f), 64);
    return;
  }
  putVarbitUint(w, Math.round(millis) + 1);
}

/** Reads a bound written by `putCustomBound`. */
export function readCustomBound(r: BitReader): number {
  const v = readVarbitUint(r);
  if (v === 0) return floatFromBits(r.readBitsNum(32), r.readBitsNum(32));
  return (v - 1) / 1000;
}

/** One XOR-encoded float field of a histogram chunk: the previous value's bits and its bit window. */
export interface XorField {
  hi: number;
  lo: number;
  leading: number;
  trailing: number;
}

/** A field before any value, as an appender starts it (no window). */
export function newXorField(v = 0): XorField {
  return { hi: floatHi(v), lo: floatLo(v), leading: NO_WINDOW, trailing: 0 };
}

/** Sets the field to the raw value `v` (first sample of a chunk) and writes its 64 bits. */
export function putRawFloat(w: BitWriter, f: XorField, v: number): void {
  const [hi, lo] = markerBits(v);
  f.hi = hi;
  f.lo = lo;
  w.writeBits(hi, lo, 64);
}

/** Bits of `v`, with the quieted staleness marker (V8 may quiet NaNs) turned back into the real one. */
function markerBits(v: number): [number, number] {
  const hi = floatHi(v);
  const lo = floatLo(v);
  return hi === 0x7ff80000 && lo === STALE_NAN_LO ? [STALE_NAN_HI, lo] : [hi, lo];
}

/** Writes `v` XORed with the field's previous value, as Prometheus's xorWrite does, and updates the field. */
export function putXorFloat(w: BitWriter, f: XorField, v: number): void {
  const [hi, lo] = markerBits(v);
  const dHi = (hi ^ f.hi) >>> 0;
  const dLo = (lo ^ f.lo) >>> 0;
  f.hi = hi;
  f.lo = lo;
  if (dHi === 0 && dLo === 0) {
    w.writeBit(0);
    return;
  }
  let leading = dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo);
  if (leading > 31) leading = 31;
  const trailing = dLo !== 0 ? ctz32(dLo) : 32 + ctz32(dHi);
  if (f.leading !== NO_WINDOW && leading >= f.leading && trailing >= f.trailing) {
    w.writeBitsNum(0b10, 2);
    writeShifted(w, dHi, dLo, f.trailing, 64 - f.leading - f.trailing);
    return;
  }
  f.leading = leading;
  f.trailing = trailing;
  const sig = 64 - leading - trailing;
  w.writeBitsNum((0b11 << 11) | (leading << 6) | (sig & 63), 13);
  writeShifted(w, dHi, dLo, trailing, sig);
}

/**
 * Reads a value written by `putXorFloat` into the field; returns false on a malformed window. A reader's fields
 * start with window (0, 0), as Prometheus's do: a '10' before any window means all 64 bits.
 */
export function readXorFloat(r: BitReader, f: XorField): boolean {
  if (r.readBit() === 0) return true;
  if (r.readBit() === 1) {
    const leading = r.readBitsNum(5);
    let sig = r.readBitsNum(6);
    if (sig === 0) sig = 64;
    if (leading + sig > 64) return false;
    f.leading = leading;
    f.trailing = 64 - leading - sig;
  }
  const s = f.trailing;
  const n = 64 - f.leading - s;
  let hi = n > 32 ? r.readBitsNum(n - 32) : 0;
  let lo = r.readBitsNum(Math.min(n, 32));
  if (s >= 32) {
    hi = lo << (s - 32);
    lo = 0;
  } else if (s > 0) {
    hi = (hi << s) | (lo >>> (32 - s));
    lo <<= s;
  }
  f.hi = (f.hi ^ hi) >>> 0;
  f.lo = (f.lo ^ lo) >>> 0;
  return true;
}

/** The field's current value. */
export function xorFieldValue(f: XorField): number {
  return floatFromBits(f.hi, f.lo);
}

/** Reads 64 raw float bits into the field (first sample of a chunk); the window stays as the reader starts it. */
export function readRawFloat(r: BitReader, f: XorField): void {
  f.hi = r.readBitsNum(32);
  f.lo = r.readBitsNum(32);
}
