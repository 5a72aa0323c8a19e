// Bit streams for the XOR chunk: bits are packed most-significant first into bytes, exactly as Prometheus's
// bstream does, so a stream written here reads back bit-for-bit in Prometheus and vice versa. 64-bit quantities
// travel as two unsigned 32-bit halves (hi, lo); no BigInt.

/** Appends bits to a growable byte array. The last byte may be partial; its unused low bits are zero. */
export class BitWriter {
  private buf: Uint8Array;
  /** End of the written bytes in `buf`. */
  private len = 0;
  /** Unused low bits of the last byte (0 means the next bit starts a new byte). */
  private free = 0;

  /** `capacity`: initial room in bytes. */
  constructor(capacity = 128) {
    this.buf = new Uint8Array(Math.max(8, capacity));
  }

  /** Bytes in the stream, the partial last byte included. */
  get length(): number {
    return this.len;
  }

  /** Total number of bits written. */
  get bitLength(): number {
    return this.len * 8 - this.free;
  }

  /** View of the stream's bytes; aliases the buffer and is valid only until the next write or reset. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Empties the stream, keeping its room. */
  reset(): void {
    this.len = 0;
    this.free = 0;
  }

  /**
   * Replaces the stream with a copy of `bytes` of which the first `bitLength` bits are valid (the rest of the last
   * byte must be zero), so that writing continues right after them.
   */
  resume(bytes: Uint8Array, bitLength: number): void {
    this.len = 0;
    this.free = 0;
    this.ensure(bytes.length + 8);
    this.buf.set(bytes);
    this.len = (bitLength + 7) >>> 3;
    this.free = this.len * 8 - bitLength;
  }

  /** Overwrites byte `i` (which must already be written), e.g. a header field filled in later. */
  setByte(i: number, b: number): void {
    this.buf[i] = b;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const need = this.len + n;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Writes a single bit. */
  writeBit(bit: 0 | 1): void {
    if (this.free === 0) {
      if (this.len === this.buf.length) this.ensure(1);
      this.buf[this.len++] = 0;
      this.free = 8;
    }
    this.free--;
    if (bit) this.buf[this.len - 1] |= 1 << this.free;
  }

  /** Writes the `nbits` (0..32) right-most bits of `v`, most significant first. */
  writeBitsNum(v: number, nbits: number): void {
    if (nbits === 0) return;
    this.ensure(5);
    const buf = this.buf;
    let free = this.free;
    let len = this.len;
    // The free low bits of the last byte first, then whole bytes, then the rest at the top of a new byte.
    if (free > 0) {
      if (nbits <= free) {
        free -= nbits;
        buf[len - 1] |= (v & ((1 << nbits) - 1)) << free;
        this.free = free;
        return;
      }
      nbits -= free;
      buf[len - 1] |= (v >>> nbits) & ((1 << free) - 1);
      free = 0;
    }
    while (nbits >= 8) {
      nbits -= 8;
      buf[len++] = (v >>> nbits) & 0xff;
    }
    if (nbits > 0) {
      buf[len++] = (v << (8 - nbits)) & 0xff;
      free = 8 - nbits;
    }
    this.free = free;
    this.len = len;
  }

  /** Writes the `nbits` (0..64) right-most bits of the 64-bit value `hi:lo` (unsigned halves), most significant first. */
  writeBits(hi: number, lo: number, nbits: number): void {
    if (nbits > 32) {
      this.writeBitsNum(hi, nbits - 32);
      this.writeBitsNum(lo, 32);
    } else {
      this.writeBitsNum(lo, nbits);
    }
  }
  /** Writes `n` (a non-negative safe integer) as Go's uvarint bytes, each byte as 8 bits of the stream. */
  writeUvarint(n: number): void {
    while (n >= 0x80) {
      this.writeBitsNum((n % 128) | 0x80, 8);
      n = Math.floor(n / 128);
    }
    this.writeBitsNum(n, 8);
  }

  /** Writes the safe integer `n` as Go's zig-zag varint bytes, each byte as 8 bits of the stream. */
  writeVarint(n: number): void {
    // zig-zag without forming 2|n| + 1 (inexact beyond 2^52): low byte carries the sign bit, then the rest of |n|.
    const neg = n < 0 ? 1 : 0;
    const m = neg ? -n - 1 : n;
    const rest = Math.floor(m / 64);
    this.writeBitsNum(((m % 64) << 1) | neg | (rest > 0 ? 0x80 : 0), 8);
    if (rest > 0) this.writeUvarint(rest);
  }
}

/** Error text a BitReader records when a read runs past the end of its range. */
export const BIT_STREAM_EOF = "unexpected end of bit stream";

/**
 * Reads bits from `buf[start, end)`, most significant first. Running past the end records a sticky error
 * (`err()`), returns 0 for that read and every later one, and leaves the position at the end.
 */
export class BitReader {
  private buf: Uint8Array;
  /** Absolute bit position in `buf` of the next bit to read. */
  private pos: number;
  private endBit: number;
  private error: string | null = null;

  constructor(buf: Uint8Array, start = 0, end: number = buf.length) {
    this.buf = buf;
    this.pos = start * 8;
    this.endBit = end * 8;
  }

  /** Restarts reading over `buf[start, end)`, clearing any error (for reuse without allocation). */
  reset(buf: Uint8Array, start = 0, end: number = buf.length): void {
    this.buf = buf;
    this.pos = start * 8;
    this.endBit = end * 8;
    this.error = null;
  }

  /** Absolute bit position of the next bit to read. */
  get bitPos(): number {
    return this.pos;
  }

  /** The first error met (BIT_STREAM_EOF), or null. */
  err(): string | null {
    return this.error;
  }

  private eof(): 0 {
    this.error = BIT_STREAM_EOF;
    this.pos = this.endBit;
    return 0;
  }

  /** Reads one bit (0 or 1). */
  readBit(): number {
    const p = this.pos;
    if (p >= this.endBit) return this.eof();
    this.pos = p + 1;
    return (this.buf[p >>> 3] >>> (7 - (p & 7))) & 1;
  }

  /** Reads `nbits` (0..32) bits as an unsigned number. */
  readBitsNum(nbits: number): number {
    let p = this.pos;
    if (p + nbits > this.endBit) return this.eof();
    const buf = this.buf;
    let v = 0;
    while (nbits > 0) {
      const avail = 8 - (p & 7);
      const take = Math.min(nbits, avail);
      const bits = (buf[p >>> 3] >>> (avail - take)) & ((1 << take) - 1);
      v = ((v << take) | bits) >>> 0;
      p += take;
      nbits -= take;
    }
    this.pos = p;
    return v;
  }

  /** Reads a Go uvarint stored as whole bytes in the bit stream (not necessarily byte-aligned); exact below 2^53. */
  readUvarint(): number {
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.readBitsNum(8);
      if (this.error !== null) return 0;
      if (b < 0x80) return x + b * mul;
      x += (b & 0x7f) * mul;
      mul *= 128;
    }
    return this.eof();
  }

  /** Reads a Go zig-zag varint stored as whole bytes in the bit stream; exact within ±2^53. */
  readVarint(): number {
    // The sign is the lowest bit of the first byte; taking it from there stays exact where `ux` is not.
    const signPos = this.pos + 7;
    const ux = this.readUvarint();
    if (this.error !== null) return 0;
    const neg = (this.buf[signPos >>> 3] >>> (7 - (signPos & 7))) & 1;
    const m = Math.floor(ux / 2);
    return neg ? -m - 1 : m;
  }
}
