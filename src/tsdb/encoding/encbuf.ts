// A growable byte writer for the TSDB file formats: fixed-width integers big-endian (as Prometheus writes them),
// Go-compatible varints, and UTF-8 strings, on a GrowableBytes buffer.

import { GrowableBytes } from "../../model/growable-bytes.ts";

const TWO_32 = 0x1_0000_0000;
const TWO_63 = 2 ** 63;
const utf8 = new TextEncoder();
/** The most bytes one sample of a Samples record takes: two 10-byte varints and an 8-byte value. */
const MAX_SAMPLE_ENTRY_BYTES = 28;

/** Growable byte writer. Not thread-safe; reuse one across records with `reset()`. */
export class Encbuf extends GrowableBytes {
  /** `capacity`: initial size of the backing array in bytes. */
  constructor(capacity = 256) {
    super(capacity);
  }

  /** View of the written bytes; it aliases the buffer and is valid only until the next put or reset. */
  get(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Writes one byte (the low 8 bits of `b`). */
  putByte(b: number): void {
    if (this.len === this.buf.length) this.grow(1);
    this.buf[this.len++] = b;
  }

  /** Writes the low 16 bits of `n`, big-endian. */
  putBE16(n: number): void {
    this.grow(2);
    this.view.setUint16(this.len, n);
    this.len += 2;
  }

  /** Writes `n` as an unsigned 32-bit big-endian integer. */
  putBE32(n: number): void {
    this.grow(4);
    this.view.setUint32(this.len, n >>> 0);
    this.len += 4;
  }

  /** Writes `n`, a non-negative safe integer (< 2^53), as 8 bytes big-endian (Go's uint64). */
  putBE64(n: number): void {
    this.grow(8);
    this.view.setUint32(this.len, Math.floor(n / TWO_32));
    this.view.setUint32(this.len + 4, n >>> 0);
    this.len += 8;
  }

  /**
   * Writes `n`, a signed integer, as an 8-byte big-endian two's-complement int64 (Go's int64, e.g. a timestamp).
   * Values at or beyond ±2^63 (and ±Infinity) saturate to MaxInt64 / MinInt64.
   */
  putBE64Int(n: number): void {
    this.grow(8);
    let hi: number;
    let lo: number;
    if (n >= TWO_63) {
      hi = 0x7fffffff;
      lo = 0xffffffff;
    } else if (n < -TWO_63) {
      hi = -0x80000000;
      lo = 0;
    } else {
      hi = Math.floor(n / TWO_32);
      lo = n - hi * TWO_32;
    }
    this.view.setInt32(this.len, hi);
    this.view.setUint32(this.len + 4, lo);
    this.len += 8;
  }

  /** Writes the IEEE-754 bit pattern of `v`, big-endian (NaN payloads preserved). */
  putBE64Float(v: number): void {
    this.grow(8);
    this.view.setFloat64(this.len, v);
    this.len += 8;
  }

  /**
   * Writes `n` float samples as a Samples record's body (record/samples.ts): per sample the signed varints of
   * `refs[i] - ref0` and `ts[i] - t0`, then the value's float64 bits big-endian. Makes room once for the whole run;
   * deltas that are 32-bit integers (a batch's refs and times almost always) take an integer path.
   */
  putSampleDeltas(
    refs: ArrayLike<number>,
    ts: ArrayLike<number>,
    vs: ArrayLike<number>,
    n: number,
    ref0: number,
    t0: number,
  ): void {
    this.grow(n * MAX_SAMPLE_ENTRY_BYTES);
    const buf = this.buf;
    const view = this.view;
    let at = this.len;
    for (let i = 0; i < n; i++) {
      const dr = refs[i] - ref0;
      const dt = ts[i] - t0;
      // Fast path: both are 32-bit integers, whose zig-zag values fit an unsigned 32-bit integer exactly.
      if ((dr | 0) === dr && (dt | 0) === dt) {
        at = putZigZag32(buf, at, dr);
        at = putZigZag32(buf, at, dt);
      } else {
        this.len = at;
        this.putVarint(dr);
        this.putVarint(dt);
        at = this.len;
      }
      view.setFloat64(at, vs[i]);
      at += 8;
    }
    this.len = at;
  }

  /** Writes `n` (a non-negative integer) as Go's binary.PutUvarint does: 7 bits per byte, low groups first. */
  putUvarint(n: number): void {
    this.grow(10);
    const buf = this.buf;
    let i = this.len;
    // Fast path: bit operations are exact below 2^31.
    while (n >= 0x80 && n < 0x8000_0000) {
      buf[i++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    while (n >= 0x80) {
      buf[i++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[i++] = n;
    this.len = i;
  }

  /**
   * Writes the signed integer `n` as Go's binary.PutVarint does (zig-zag, then uvarint). Exact for safe integers;
   * values at or beyond ±2^63 (and ±Infinity) saturate to MaxInt64 / MinInt64 as Prometheus uses for open intervals.
   */
  putVarint(n: number): void {
    // Small magnitudes (a batch's series ref deltas go both ways): the zig-zag value is exact in a double.
    if (n > -0x4000_0000 && n < 0x4000_0000) {
      this.putUvarint(n >= 0 ? n * 2 : -n * 2 - 1);
      return;
    }
    if (n >= TWO_63) {
      this.putSaturated(0xfe);
      return;
    }
    if (n <= -TWO_63) {
      this.putSaturated(0xff);
      return;
    }
    // zig-zag(n) = m << 1 | sign, where m = n for n >= 0 and -n - 1 (= ^n) for negatives; emitted without ever
    // forming 2m + 1, which would not be exact beyond 2^53.
    const neg = n < 0 ? 1 : 0;
    const m = neg ? -n - 1 : n;
    const low6 = m % 64;
    const rest = Math.floor(m / 64);
    this.grow(1);
    this.buf[this.len++] = (low6 << 1) | neg | (rest > 0 ? 0x80 : 0);
    if (rest > 0) this.putUvarint(rest);
  }

  /** The 10-byte zig-zag varint of MaxInt64 (`first` = 0xfe) or MinInt64 (`first` = 0xff). */
  private putSaturated(first: number): void {
    this.grow(10);
    this.buf[this.len++] = first;
    for (let i = 0; i < 8; i++) this.buf[this.len++] = 0xff;
    this.buf[this.len++] = 0x01;
  }

  /** Writes the UTF-8 byte length of `s` as a uvarint, then its UTF-8 bytes. */
  putUvarintStr(s: string): void {
    const n = utf8ByteLength(s);
    this.putUvarint(n);
    this.writeUtf8(s, n);
  }

  /** Writes `b.length` as a uvarint, then the bytes of `b`. */
  putUvarintBytes(b: Uint8Array): void {
    this.putUvarint(b.length);
    this.putBytes(b);
  }

  /** Writes the bytes of `b` (copied). */
  putBytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Writes the UTF-8 bytes of `s`, without a length. */
  putString(s: string): void {
    this.writeUtf8(s, utf8ByteLength(s));
  }

  private writeUtf8(s: string, n: number): void {
    this.grow(n);
    if (n === s.length) {
      // All ASCII: one byte per UTF-16 unit.
      const buf = this.buf;
      let j = this.len;
      for (let i = 0; i < n; i++) buf[j++] = s.charCodeAt(i);
    } else {
      utf8.encodeInto(s, this.buf.subarray(this.len, this.len + n));
    }
    this.len += n;
  }
}

/** Number of bytes of the UTF-8 encoding of `s` (unpaired surrogates count as U+FFFD, 3 bytes, as TextEncoder does). */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

// Writes the zig-zag varint of the 32-bit integer `d` into `buf` at `at`, which has room; returns the end.
function putZigZag32(buf: Uint8Array, at: number, d: number): number {
  let z = ((d << 1) ^ (d >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[at++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[at++] = z;
  return at;
}
