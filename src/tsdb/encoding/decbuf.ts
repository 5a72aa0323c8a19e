// A reader over a byte range of the TSDB file formats with a sticky error: the first failed read records an error
// and every later read returns 0 / "" / an empty view, so a whole record can be decoded and checked once at the end.

const TWO_32 = 0x1_0000_0000;
const utf8 = new TextDecoder("utf-8");
const EMPTY = new Uint8Array(0);

/** Error texts a Decbuf records (stable, compare with ===). */
export const INVALID_SIZE = "invalid size";
/** A varint longer than Go's 64 bits. */
export const VARINT_OVERFLOW = "varint overflow";
/** A fixed 64-bit unsigned value that a JS number cannot hold exactly. */
export const UNSAFE_INTEGER = "integer exceeds 2^53";

/** Decodes `buf[start, end)` front to back. Views it returns alias `buf`; they live as long as `buf` is unchanged. */
export class Decbuf {
  private readonly buf: Uint8Array;
  /** Made on the first fixed-width read: most records (index series, varint fields) never need one. */
  private dataView: DataView | null = null;
  private pos: number;
  private readonly end: number;
  private error: string | null = null;

  constructor(buf: Uint8Array, start = 0, end: number = buf.length) {
    this.buf = buf;
    if (start < 0 || end > buf.length || start > end) {
      this.pos = 0;
      this.end = 0;
      this.error = INVALID_SIZE;
    } else {
      this.pos = start;
      this.end = end;
    }
  }

  private get view(): DataView {
    this.dataView ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.dataView;
  }

  /** Index in `buf` of the next byte to read. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes left before `end`. */
  remaining(): number {
    return this.end - this.pos;
  }

  /** The first error met, or null when every read so far succeeded. */
  err(): string | null {
    return this.error;
  }

  /** Records `e` unless an earlier error is already recorded. */
  private fail(e: string): 0 {
    if (this.error === null) this.error = e;
    this.pos = this.end;
    return 0;
  }

  /** Reads one byte. */
  byte(): number {
    if (this.error !== null || this.pos >= this.end) return this.fail(INVALID_SIZE);
    return this.buf[this.pos++];
  }

  /** Reads an unsigned 16-bit big-endian integer. */
  be16(): number {
    if (this.error !== null || this.end - this.pos < 2) return this.fail(INVALID_SIZE);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  /** Reads an unsigned 32-bit big-endian integer. From the bytes rather than the DataView: the checksum after each
   * index series entry is read by a fresh Decbuf, which would otherwise make a DataView for it. */
  be32(): number {
    if (this.error !== null || this.end - this.pos < 4) return this.fail(INVALID_SIZE);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** Reads an unsigned 64-bit big-endian integer; records UNSAFE_INTEGER if it is 2^53 or more. */
  be64(): number {
    if (this.error !== null || this.end - this.pos < 8) return this.fail(INVALID_SIZE);
    const hi = this.view.getUint32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    if (hi >= 0x20_0000) return this.fail(UNSAFE_INTEGER);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** Reads a signed (two's-complement) 64-bit big-endian integer, exact within ±2^53, nearest double beyond. */
  be64Int(): number {
    if (this.error !== null || this.end - this.pos < 8) return this.fail(INVALID_SIZE);
    const hi = this.view.getInt32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** Reads a float64 from its 8-byte big-endian bit pattern (NaN payloads preserved). */
  be64Float(): number {
    if (this.error !== null || this.end - this.pos < 8) return this.fail(INVALID_SIZE);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /**
   * Reads a Go uvarint. Exact below 2^53; larger values (up to 2^64 - 1) come back as the nearest double.
   * Records INVALID_SIZE if the varint is cut off and VARINT_OVERFLOW if it exceeds 64 bits.
   */
  uvarint(): number {
    if (this.error !== null) return 0;
    const buf = this.buf;
    let p = this.pos;
    if (p < this.end && buf[p] < 0x80) {
      this.pos = p + 1;
      return buf[p];
    }
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++, p++) {
      if (p >= this.end) return this.fail(INVALID_SIZE);
      const b = buf[p];
      if (i === 9 && b > 1) return this.fail(VARINT_OVERFLOW);
      if (b < 0x80) {
        this.pos = p + 1;
        return x + b * mul;
      }
      x += (b & 0x7f) * mul;
      mul *= 128;
    }
    return this.fail(VARINT_OVERFLOW);
  }

  /**
   * Reads a Go (zig-zag) varint. Exact within ±2^53, the nearest double beyond: MinInt64 reads as -2^63 and
   * MaxInt64 as 2^63, which `Encbuf.putVarint` writes back as the same bytes.
   */
  varint(): number {
    if (this.error !== null || this.pos >= this.end) return this.fail(INVALID_SIZE);
    const neg = this.buf[this.pos] & 1;
    const ux = this.uvarint();
    // Halving is exact for doubles, so the sign bit taken from the first byte keeps large values correct.
    const m = Math.floor(ux / 2);
    return neg ? -m - 1 : m;
  }

  /** Reads a uvarint length, then that many bytes as a UTF-8 string. */
  uvarintStr(): string {
    const n = this.uvarint();
    if (this.error !== null) return "";
    if (this.end - this.pos < n) {
      this.fail(INVALID_SIZE);
      return "";
    }
    const s = decodeUtf8(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Reads a uvarint length, then returns a view (no copy) of that many bytes. */
  uvarintBytes(): Uint8Array {
    const n = this.uvarint();
    return this.bytes(n);
  }

  /** Returns a view (no copy) of the next `n` bytes. */
  bytes(n: number): Uint8Array {
    if (this.error !== null) return EMPTY;
    if (this.end - this.pos < n || n < 0) {
      this.fail(INVALID_SIZE);
      return EMPTY;
    }
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Skips `n` bytes. */
  skip(n: number): void {
    if (this.error !== null) return;
    if (this.end - this.pos < n || n < 0) {
      this.fail(INVALID_SIZE);
      return;
    }
    this.pos += n;
  }

  /** Skips zero bytes of alignment padding, leaving at least one byte; records INVALID_SIZE if none is left. */
  consumePadding(): void {
    if (this.error !== null) return;
    while (this.end - this.pos > 1 && this.buf[this.pos] === 0) this.pos++;
    if (this.pos >= this.end) this.fail(INVALID_SIZE);
  }
}

/** Decodes `buf[start, end)` as UTF-8 (invalid sequences become U+FFFD); short ASCII strings skip TextDecoder. */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= 24) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c >= 0x80) return utf8.decode(buf.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(buf.subarray(start, end));
}
