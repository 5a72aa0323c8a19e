// A minimal protobuf wire-format reader and writer for the remote-write and remote-read messages and the protobuf
// exposition format: varints (64-bit ones read and written as two 32-bit halves, never BigInt), zigzag, fixed64
// doubles, length-delimited fields, and skipping of unknown fields. Messages are decoded by hand in the codec files,
// field by field, straight into their consumers, so no generic message objects are built on the hot path.
// Wire format reference: https://protobuf.dev/programming-guides/encoding/

import { ContrailError } from "./errors.ts";
import { GrowableBytes } from "./growable-bytes.ts";

/** Protobuf wire types. */
export const WIRE_VARINT = 0;
/** 8 little-endian bytes (double, fixed64, sfixed64). */
export const WIRE_FIXED64 = 1;
/** A varint byte length, then that many bytes (strings, bytes, sub-messages, packed repeated fields). */
export const WIRE_LEN = 2;
/** 4 little-endian bytes (float, fixed32, sfixed32). */
export const WIRE_FIXED32 = 5;

const TWO_32 = 0x1_0000_0000;

/**
 * Reads one message's bytes `buf[pos, end)` front to back. Malformed input throws ContrailError("bad_data") naming
 * the byte offset (relative to the start of `buf`). Sub-messages are read by narrowing `end` with `enter` / `leave`,
 * so one reader walks a whole request without allocating.
 */
export class ProtoReader {
  /** The whole input; offsets are indices into it. */
  readonly buf: Uint8Array;
  private readonly view: DataView;
  /** Index of the next byte to read. */
  pos: number;
  /** End (exclusive) of the message being read. */
  end: number;

  /** A reader over `buf[start, end)`. */
  constructor(buf: Uint8Array, start = 0, end: number = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  /** True when the current message has no more bytes. */
  done(): boolean {
    return this.pos >= this.end;
  }

  /** Throws the decoding error `what` at the current offset. */
  fail(what: string, at: number = this.pos): never {
    throw new ContrailError("bad_data", `invalid protobuf: ${what} at byte ${at}`);
  }

  /** Reads a field key: `(field number << 3) | wire type`. Field number 0 is invalid. */
  tag(): number {
    const at = this.pos;
    const key = this.uint32();
    if (key >>> 3 === 0) this.fail("field number 0", at);
    return key;
  }

  /** Reads a varint and keeps its low 32 bits as an unsigned number (Go's uint32 conversion of a varint). */
  uint32(): number {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    // Fast path: field keys and lengths under 128 are one byte.
    if (p < end && b[p] < 0x80) {
      this.pos = p + 1;
      return b[p];
    }
    let v = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (p >= end) this.fail("truncated varint", p);
      const byte = b[p++];
      if (shift < 32) v |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    return this.fail("varint longer than 10 bytes", p);
  }

  /**
   * Reads a varint as a signed 64-bit integer (int64: timestamps). Exact for |v| < 2^53, which every millisecond
   * timestamp is; larger magnitudes are rounded to the nearest double.
   */
  int64(): number {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    // Fast path: up to 4 bytes (28 bits) fit a 32-bit integer without splitting.
    let lo = 0;
    let byte = 0;
    let shift = 0;
    for (; shift < 28; shift += 7) {
      if (p >= end) this.fail("truncated varint", p);
      byte = b[p++];
      lo |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = p;
        return lo;
      }
    }
    // Byte 5 carries bits 28..34: four into the low half, three into the high half.
    if (p >= end) this.fail("truncated varint", p);
    byte = b[p++];
    lo |= (byte & 0x0f) << 28;
    let hi = (byte & 0x7f) >>> 4;
    if (byte >= 0x80) {
      for (shift = 3; ; shift += 7) {
        if (shift > 31) this.fail("varint longer than 10 bytes", p);
        if (p >= end) this.fail("truncated varint", p);
        byte = b[p++];
        hi |= (byte & 0x7f) << shift;
        if (byte < 0x80) break;
      }
    }
    this.pos = p;
    return (hi | 0) * TWO_32 + (lo >>> 0);
  }

  /** Reads a varint as an unsigned 64-bit integer (uint64); exact below 2^53. */
  uint64(): number {
    const v = this.int64();
    return v < 0 ? v + 2 ** 64 : v;
  }

  /** Reads a zigzag varint (sint32, sint64): even values are v/2, odd ones -(v+1)/2. */
  sint64(): number {
    const u = this.uint64();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Reads a varint bool. */
  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** Reads 8 little-endian bytes as a double; NaN payloads (the staleness marker) keep their bits. */
  double(): number {
    const p = this.pos;
    if (p + 8 > this.end) this.fail("truncated fixed64", p);
    this.pos = p + 8;
    return this.view.getFloat64(p, true);
  }

  /**
   * Reads the length of a length-delimited field and returns the index just past its bytes; `pos` is left at the
   * first byte of the contents.
   */
  lengthDelimited(): number {
    const at = this.pos;
    const n = this.uint32();
    // A length over 2^31 cannot fit any buffer this reader gets; `uint32` already dropped the high bits.
    if (n > this.end - this.pos) this.fail(`length ${n} runs past the end of the message`, at);
    return this.pos + n;
  }

  /** Skips the value of a field of wire type `wire` (unknown fields); groups are refused. */
  skip(wire: number): void {
    const at = this.pos;
    switch (wire) {
      case WIRE_VARINT:
        this.uint32();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) this.fail("truncated fixed64", at);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) this.fail("truncated fixed32", at);
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wire}`, at);
    }
  }

  /** Checks that the field key `key` has wire type `want`; fails naming the field (`what`) otherwise. */
  expect(key: number, want: number, what: string): void {
    if ((key & 7) !== want) this.fail(`${what} has wire type ${key & 7}, expected ${want}`);
  }
}

const utf8 = new TextEncoder();

/**
 * A growable protobuf writer (GrowableBytes). Sub-messages are
 * written in place: `begin` reserves one length byte, `end` writes the real length, moving the contents when it
 * needs more bytes (only for sub-messages of 128 bytes or more). Reuse one writer across messages with `reset()`.
 */
export class ProtoWriter extends GrowableBytes {
  /** `capacity`: initial size of the backing array in bytes. */
  constructor(capacity = 1024) {
    super(capacity);
  }

  /** View of the written bytes; valid until the next write or reset. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Writes a field key. */
  tag(field: number, wire: number): void {
    this.uint32(((field << 3) | wire) >>> 0);
  }

  /** Writes `v` (0 <= v < 2^32) as a varint. */
  uint32(v: number): void {
    this.grow(5);
    const b = this.buf;
    let p = this.len;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.len = p;
  }

  /** Writes an integer (int64/uint64, |v| < 2^63) as a varint; negative values take ten bytes (two's complement). */
  int64(v: number): void {
    if (v >= 0 && v < TWO_32) {
      this.uint32(v);
      return;
    }
    let lo: number;
    let hi: number;
    if (v >= 0) {
      hi = Math.floor(v / TWO_32) >>> 0;
      lo = (v - Math.floor(v / TWO_32) * TWO_32) >>> 0;
    } else {
      const m = -v;
      let mhi = Math.floor(m / TWO_32) >>> 0;
      let mlo = (m - Math.floor(m / TWO_32) * TWO_32) >>> 0;
      // Two's complement of the 64-bit magnitude: invert and add one.
      mlo = ~mlo >>> 0;
      mhi = ~mhi >>> 0;
      mlo = (mlo + 1) >>> 0;
      if (mlo === 0) mhi = (mhi + 1) >>> 0;
      lo = mlo;
      hi = mhi;
    }
    this.grow(10);
    const b = this.buf;
    let p = this.len;
    // Seven bits at a time from the 64-bit value hi:lo.
    while (hi !== 0 || lo >= 0x80) {
      b[p++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[p++] = lo;
    this.len = p;
  }

  /** Writes a zigzag varint (sint32, sint64). */
  sint64(v: number): void {
    this.int64(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** Writes a double as 8 little-endian bytes. */
  double(v: number): void {
    this.grow(8);
    this.view.setFloat64(this.len, v, true);
    this.len += 8;
  }

  /** Writes a string's UTF-8 bytes with their length prefix (the value of a string field). */
  string(s: string): void {
    const n = Buffer.byteLength(s, "utf8");
    this.uint32(n);
    this.grow(n);
    if (n === s.length) {
      const b = this.buf;
      let p = this.len;
      for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
      this.len = p;
    } else {
      this.len += utf8.encodeInto(s, this.buf.subarray(this.len, this.len + n)).written;
    }
  }

  /** Writes raw bytes with their length prefix (a bytes field). */
  bytes(b: Uint8Array): void {
    this.uint32(b.length);
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Starts sub-message (or packed field) `field`; returns the mark `end` needs. */
  begin(field: number): number {
    this.tag(field, WIRE_LEN);
    this.grow(1);
    const mark = this.len;
    this.buf[this.len++] = 0;
    return mark;
  }

  /** Ends the sub-message started at `mark`, writing its length. */
  end(mark: number): void {
    const n = this.len - mark - 1;
    if (n < 0x80) {
      this.buf[mark] = n;
      return;
    }
    let size = 1;
    for (let v = n; v >= 0x80; v >>>= 7) size++;
    this.grow(size - 1);
    this.buf.copyWithin(mark + size, mark + 1, this.len);
    this.len += size - 1;
    let p = mark;
    let v = n;
    while (v >= 0x80) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }
}
