// Bit streams for the XOR chunk: bits are packed most-significant first into bytes, exactly as Prometheus's
// bstream does, so a stream written here reads back bit-for-bit in Prometheus and vice versa. 64-bit quantities
// travel as two unsigned 32-bit halves (hi, lo); no BigInt.

import { ByteArena, PAGE_BYTES } from "./byte-arena.ts";

const EMPTY = new Uint8Array(0);

/**
 * Appends bits to a growable byte array: one of its own, or a slot of a ByteArena (shared pages, see
 * byte-arena.ts) that moves to a larger slot as the stream grows. The last byte may be partial; its unused low bits
 * are zero.
 */
export class BitWriter {
  private buf: Uint8Array;
  /** Where the stream starts in `buf`. */
  private start = 0;
  /** Absolute end of the written bytes in `buf`. */
  private len = 0;
  /** Unused low bits of the last byte (0 means the next bit starts a new byte). */
  private free = 0;
  /** End of the stream's room in `buf`. */
  private end: number;
  private readonly arena: ByteArena | null;
  /**
   * Index of the arena page holding the slot (which starts at `start` in it), -1 when released or not in an arena.
   * Kept apart from the offset so that both stay small integers (see `attach`).
   */
  private page = -1;

  /** `capacity`: initial room in bytes; `arena`: where the bytes live (default: an array of the writer's own). */
  constructor(capacity = 128, arena: ByteArena | null = null) {
    this.arena = arena;
    this.buf = EMPTY;
    this.end = 0;
    this.place(Math.max(8, capacity));
  }

  // Moves the stream to new room of at least `room` bytes, keeping what was written.
  private place(room: number): void {
    const written = this.len - this.start;
    const arena = this.arena;
    if (arena === null) {
      const next = new Uint8Array(room);
      next.set(this.buf.subarray(this.start, this.len));
      this.buf = next;
      this.start = 0;
      this.end = room;
    } else {
      const addr = arena.alloc(room);
      const page = arena.page(addr);
      const off = ByteArena.offset(addr);
      page.set(this.buf.subarray(this.start, this.len), off);
      if (this.page >= 0) arena.free(this.page * PAGE_BYTES + this.start, this.end - this.start);
      this.page = Math.floor(addr / PAGE_BYTES);
      this.buf = page;
      this.start = off;
      this.end = off + ByteArena.slotSize(room);
    }
    this.len = this.start + written;
  }

  /** Gives an arena slot back to its arena; the writer must not be used after. No-op without an arena. */
  release(): void {
    if (this.arena === null || this.page < 0) return;
    this.arena.free(this.page * PAGE_BYTES + this.start, this.end - this.start);
    this.page = -1;
    this.buf = EMPTY;
    this.start = this.len = this.end = 0;
  }

  /**
   * Points an arena writer at a stream kept elsewhere: `length` bytes already in the arena slot at `offset` of page
   * `page` with `room` bytes (as `slotPage`, `slotOffset` and `room` reported them), the last byte with `free` unused
   * low bits. One writer can so serve many streams in turn, their state saved between writes (see
   * chunkenc/xor-slots.ts). Page and offset rather than an address: every argument is a small integer, where an
   * address read from a Float64Array would be stored in a new heap number at each call.
   */
  attach(page: number, offset: number, room: number, length: number, free: number): void {
    this.page = page;
    this.buf = (this.arena as ByteArena).pageAt(page);
    this.start = offset;
    this.len = offset + length;
    this.end = offset + room;
    this.free = free;
  }

  /** Index of the arena page holding the stream's slot (it moves as the stream grows); -1 when none. */
  get slotPage(): number {
    return this.page;
  }

  /** Offset of the stream's slot in its arena page. */
  get slotOffset(): number {
    return this.start;
  }

  /** Room of the stream's slot or buffer, bytes. */
  get room(): number {
    return this.end - this.start;
  }

  /** Unused low bits of the last byte (0 when the next bit starts a new byte). */
  get freeBits(): number {
    return this.free;
  }

  /** Bytes in the stream, the partial last byte included. */
  get length(): number {
    return this.len - this.start;
  }

  /** Total number of bits written. */
  get bitLength(): number {
    return (this.len - this.start) * 8 - this.free;
  }

  /** View of the stream's bytes; aliases the buffer and is valid only until the next write, reset or release. */
  bytes(): Uint8Array {
    return this.buf.subarray(this.start, this.len);
  }

  /** Empties the stream, keeping its room. */
  reset(): void {
    this.len = this.start;
    this.free = 0;
  }

  /**
   * Replaces the stream with a copy of `bytes` of which the first `bitLength` bits are valid (the rest of the last
   * byte must be zero), so that writing continues right after them.
   */
  resume(bytes: Uint8Array, bitLength: number): void {
    this.len = this.start;
    this.free = 0;
    this.ensure(bytes.length + 8);
    this.buf.set(bytes, this.start);
    this.len = this.start + ((bitLength + 7) >>> 3);
    this.free = (this.len - this.start) * 8 - bitLength;
  }

  /** Overwrites byte `i` (which must already be written), e.g. a header field filled in later. */
  setByte(i: number, b: number): void {
    this.buf[this.start + i] = b;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.end) return;
    const need = this.len - this.start + n;
    let cap = Math.max(8, (this.end - this.start) * 2);
    while (cap < need) cap *= 2;
    this.place(cap);
  }

  /** Writes a single bit. */
  writeBit(bit: 0 | 1): void {
    if (this.free === 0) {
      if (this.len === this.end) this.ensure(1);
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
