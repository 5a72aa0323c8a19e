// Snappy block format (the format of Go's snappy.Encode): the uvarint length of the decoded bytes, then a run of
// elements, each a literal or a back-reference copy. Prometheus uses it for WAL records (when WAL compression is on)
// and for every remote-write and remote-read body. The framed (streaming) format is not supported; nobody here
// needs it.
//
// The encoder works like the reference implementation: the input is cut into 64 KiB fragments compressed one by one
// with a hash table of 4-byte sequences, so every copy offset fits in two bytes. Its output is not byte-identical to
// Go's, but any decoder reads it.

/**
 * The decoded length a snappy block declares in its header, read without decoding anything, so a caller can refuse
 * an oversized body before allocating for it. Throws an `Error` on a truncated or over-long header.
 */
export function snappyDecodedLength(src: Uint8Array, start = 0, end: number = src.length): number {
  return readHeader(src, start, end).length;
}

function readHeader(src: Uint8Array, start: number, end: number): { length: number; next: number } {
  let p = start;
  let length = 0;
  let shift = 0;
  for (;;) {
    if (p >= end) throw new Error("snappy: truncated length header");
    const b = src[p++];
    if (shift === 28 && b > 0x0f) throw new Error("snappy: decoded length too large");
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
    shift += 7;
  }
  return { length, next: p };
}

/** Options of {@link SnappyDecoder}. */
export interface SnappyDecoderOptions {
  /**
   * Outputs up to this many bytes are decoded into one buffer kept for the next call; larger ones into a fresh
   * array that is not kept, so one huge body does not pin its memory. Default: unlimited (always kept).
   */
  readonly maxRetainedBytes?: number;
  /**
   * Allocates every output buffer as a SharedArrayBuffer, so an output posted to another thread is shared rather
   * than copied or transferred (call {@link SnappyDecoder.handOver} then). Default false.
   */
  readonly shared?: boolean;
}

/**
 * Literals of up to this many bytes move as 32-bit words (the common case: the few new bytes of a series), and
 * copies up to this long that cannot (offsets 1..3) go byte by byte rather than through copyWithin's call.
 */
const SHORT = 16;

/** The output buffer of a decoder whose last output was handed over: empty, so the next call allocates. */
const EMPTY_OUTPUT = new Uint8Array(0);

/**
 * A snappy block decoder with a growable output buffer reused across calls; `decode` returns a view into it.
 *
 * The decode loop keeps every index and length an int32 (no `2 ** n`, no `>>> 0` on values that reach an index):
 * otherwise V8 types them as doubles and converts and checks one at every array access, which cost a third of the
 * loop's time. Copies and short literals move as 32-bit words through DataViews, with a few bytes of overrun
 * within the buffers (written past an element and overwritten by the next ones).
 */
export class SnappyDecoder {
  private out: Uint8Array;
  /** A view of `out`'s bytes, for word copies; replaced with `out`. */
  private view: DataView;
  private readonly maxRetained: number;
  private readonly shared: boolean;

  /** A decoder; see {@link SnappyDecoderOptions}. */
  constructor(opts: SnappyDecoderOptions = {}) {
    this.maxRetained = opts.maxRetainedBytes ?? Number.POSITIVE_INFINITY;
    this.shared = opts.shared === true;
    this.out = this.bytes(Math.min(64 * 1024, this.maxRetained));
    this.view = viewOf(this.out);
  }

  /**
   * Makes `buffer` the output buffer from the next call on, when it is larger than the current one and within the
   * retained size: a buffer given back after an earlier output was handed over. Returns whether it was taken.
   */
  reuse(buffer: Uint8Array): boolean {
    if (buffer.length <= this.out.length || buffer.length > this.maxRetained) return false;
    this.out = buffer;
    this.view = viewOf(buffer);
    return true;
  }

  /**
   * Forgets the output buffer when `output` (a result of `decode`) is a view of it: that output now belongs to another
   * thread (shared with it), so its buffer is never written again. The next call then decodes into a buffer given by
   * {@link SnappyDecoder.reuse}, or a new one.
   */
  handOver(output: Uint8Array): void {
    if (output.buffer !== this.out.buffer) return;
    this.out = EMPTY_OUTPUT;
    this.view = viewOf(EMPTY_OUTPUT);
  }

  // A new output buffer of n bytes, shared when the decoder's outputs are.
  private bytes(n: number): Uint8Array {
    return this.shared ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
  }

  /**
   * Decodes the snappy block `src[start, end)`. The returned view is valid until the next call. Throws an `Error`
   * whose message says what is malformed; callers turn it into a corruption report or a bad request.
   */
  decode(src: Uint8Array, start = 0, end: number = src.length): Uint8Array {
    const header = readHeader(src, start, end);
    const dLen = header.length;
    let p = header.next;
    if (dLen <= this.maxRetained && this.out.length < dLen) {
      this.out = this.bytes(Math.min(Math.max(dLen, this.out.length * 2), this.maxRetained));
      this.view = viewOf(this.out);
    }
    const out = dLen > this.maxRetained ? this.bytes(dLen) : this.out;
    const view = out === this.out ? this.view : viewOf(out);
    const srcView = viewOf(src);
    // Word moves may write up to SHORT - 1 bytes past an element (within `out`) and read as far past a literal
    // (within `src[0, end)`); later elements overwrite what they wrote, and the view returned ends at dLen.
    const cap = out.length;
    let d = 0;
    while (p < end) {
      const tag = src[p++];
      const kind = tag & 3;
      let len: number;
      let offset: number;
      if (kind === 0) {
        // Literal: length-1 in the upper six bits, or in the 1..4 little-endian bytes that follow (60..63).
        let n = tag >>> 2;
        if (n >= 60) {
          const extra = n - 59;
          if (p + extra > end) throw new Error("snappy: truncated literal length");
          n = 0;
          for (let i = 0; i < extra; i++) n |= src[p + i] << (8 * i);
          p += extra;
        }
        // n < 0: a four-byte length of 2^31 or more, longer than any input.
        if (n < 0 || n >= end - p) throw new Error("snappy: literal runs past the input");
        len = n + 1;
        if (d + len > dLen) throw new Error("snappy: literal overflows the decoded length");
        if (len <= SHORT && p + SHORT <= end && d + SHORT <= cap) {
          view.setInt32(d, srcView.getInt32(p, true), true);
          view.setInt32(d + 4, srcView.getInt32(p + 4, true), true);
          if (len > 8) {
            view.setInt32(d + 8, srcView.getInt32(p + 8, true), true);
            view.setInt32(d + 12, srcView.getInt32(p + 12, true), true);
          }
        } else if (len < SHORT) {
          for (let i = 0; i < len; i++) out[d + i] = src[p + i];
        } else out.set(src.subarray(p, p + len), d);
        p += len;
        d += len;
        continue;
      }
      if (kind === 1) {
        // Copy, 1-byte offset: length 4..11 in bits 2-4, offset's high 3 bits in bits 5-7.
        if (p + 1 > end) throw new Error("snappy: truncated copy");
        len = 4 + ((tag >>> 2) & 7);
        offset = ((tag >>> 5) << 8) | src[p];
        p += 1;
      } else if (kind === 2) {
        // Copy, 2-byte little-endian offset: length 1..64 in the upper six bits.
        if (p + 2 > end) throw new Error("snappy: truncated copy");
        len = 1 + (tag >>> 2);
        offset = src[p] | (src[p + 1] << 8);
        p += 2;
      } else {
        // Copy, 4-byte little-endian offset; one of 2^31 or more reads negative here, and is out of range.
        if (p + 4 > end) throw new Error("snappy: truncated copy");
        len = 1 + (tag >>> 2);
        offset = src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24);
        p += 4;
      }
      if (offset <= 0 || offset > d) throw new Error(`snappy: copy offset ${offset >>> 0} out of range at ${d}`);
      if (d + len > dLen) throw new Error("snappy: copy overflows the decoded length");
      if (offset >= 8 && d + len + 8 <= cap) {
        // Eight bytes at a time: each read ends at or before the bytes written (offset >= 8), so an overlapping
        // copy reads only bytes already final. The last pair may write up to 7 bytes past the copy.
        const stop = d + len;
        for (let s = d - offset; d < stop; d += 8, s += 8) {
          view.setInt32(d, view.getInt32(s, true), true);
          view.setInt32(d + 4, view.getInt32(s + 4, true), true);
        }
        d = stop;
      } else if (offset >= 4 && d + len + 4 <= cap) {
        // The same four bytes at a time.
        const stop = d + len;
        for (let s = d - offset; d < stop; d += 4, s += 4) view.setInt32(d, view.getInt32(s, true), true);
        d = stop;
      } else if (len <= SHORT) {
        for (let i = 0; i < len; i++, d++) out[d] = out[d - offset];
      } else {
        // An overlapping copy (offset < len) repeats the last `offset` bytes: each copyWithin takes everything
        // written so far of the repetition, so the copied span doubles (a run of one byte, offset 1, takes
        // log2(len) calls instead of len steps).
        for (let done = 0; done < len; ) {
          const n = Math.min(offset + done, len - done);
          out.copyWithin(d + done, d - offset, d - offset + n);
          done += n;
        }
        d += len;
      }
    }
    if (d !== dLen) throw new Error(`snappy: decoded ${d} bytes, header says ${dLen}`);
    return out.subarray(0, dLen);
  }
}

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

// Fragment size: offsets inside a fragment fit the 2-byte copy form, and the hash table holds 16-bit positions.
const FRAGMENT = 1 << 16;
// Fragments shorter than this are emitted as one literal: no match could pay for itself.
const MIN_COMPRESSIBLE = 17;
// Bytes at the end of a fragment that the match search never starts in, so 4-byte loads stay in bounds.
const INPUT_MARGIN = 15;
const MAX_TABLE_BITS = 14;

/** The largest output `SnappyEncoder.encode` can produce for `n` input bytes (the format's worst case). */
export function snappyMaxEncodedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

function load32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/**
 * A snappy block encoder with an output buffer and hash table reused across calls. Not re-entrant; one per user
 * (a remote-write queue, a benchmark).
 */
export class SnappyEncoder {
  private out = new Uint8Array(1024);
  private readonly table = new Uint16Array(1 << MAX_TABLE_BITS);
  private o = 0;

  /** Encodes `src` as one snappy block. The returned view is valid until the next call; copy it to keep it. */
  encode(src: Uint8Array): Uint8Array {
    const need = snappyMaxEncodedLength(src.length);
    if (this.out.length < need) this.out = new Uint8Array(Math.max(need, this.out.length * 2));
    this.o = 0;
    let n = src.length;
    while (n >= 0x80) {
      this.out[this.o++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.out[this.o++] = n;
    for (let p = 0; p < src.length; p += FRAGMENT) {
      const end = Math.min(p + FRAGMENT, src.length);
      if (end - p < MIN_COMPRESSIBLE) this.literal(src, p, end);
      else this.fragment(src, p, end);
    }
    return this.out.subarray(0, this.o);
  }

  /** Encodes `src` into a new array owned by the caller. */
  encodeCopy(src: Uint8Array): Uint8Array {
    return this.encode(src).slice();
  }

  private literal(src: Uint8Array, from: number, to: number): void {
    const out = this.out;
    const m = to - from - 1;
    if (m < 60) out[this.o++] = m << 2;
    else if (m < 0x100) {
      out[this.o++] = 60 << 2;
      out[this.o++] = m;
    } else {
      // Fragments are at most 64 KiB, so two length bytes always suffice.
      out[this.o++] = 61 << 2;
      out[this.o++] = m & 0xff;
      out[this.o++] = m >>> 8;
    }
    if (to - from < 16) for (let i = from; i < to; i++) out[this.o++] = src[i];
    else {
      out.set(src.subarray(from, to), this.o);
      this.o += to - from;
    }
  }

  private copy(offset: number, len: number): void {
    const out = this.out;
    // Long matches: 64-byte copies, keeping at least 4 bytes for the last one (the 1-byte-offset form needs 4).
    while (len >= 68) {
      out[this.o++] = (63 << 2) | 2;
      out[this.o++] = offset & 0xff;
      out[this.o++] = offset >>> 8;
      len -= 64;
    }
    if (len > 64) {
      out[this.o++] = (59 << 2) | 2;
      out[this.o++] = offset & 0xff;
      out[this.o++] = offset >>> 8;
      len -= 60;
    }
    if (len >= 12 || offset >= 2048) {
      out[this.o++] = ((len - 1) << 2) | 2;
      out[this.o++] = offset & 0xff;
      out[this.o++] = offset >>> 8;
    } else {
      out[this.o++] = ((offset >>> 8) << 5) | ((len - 4) << 2) | 1;
      out[this.o++] = offset & 0xff;
    }
  }

  // Compresses src[base, end), end - base <= 64 KiB, with positions in the table relative to `base`.
  private fragment(src: Uint8Array, base: number, end: number): void {
    const size = end - base;
    let bits = 8;
    while (bits < MAX_TABLE_BITS && 1 << bits < size) bits++;
    const shift = 32 - bits;
    const table = this.table;
    table.fill(0, 0, 1 << bits);
    const sLimit = end - INPUT_MARGIN;
    let nextEmit = base;
    let s = base + 1;
    let nextHash = Math.imul(load32(src, s), 0x1e35a7bd) >>> shift;
    outer: for (;;) {
      // Look for a 4-byte match, probing less often the longer nothing matches (incompressible data goes fast).
      let skip = 32;
      let nextS = s;
      let candidate = 0;
      for (;;) {
        s = nextS;
        const step = skip >>> 5;
        skip++;
        nextS = s + step;
        if (nextS > sLimit) break outer;
        candidate = base + table[nextHash];
        table[nextHash] = s - base;
        nextHash = Math.imul(load32(src, nextS), 0x1e35a7bd) >>> shift;
        if (load32(src, s) === load32(src, candidate)) break;
      }
      this.literal(src, nextEmit, s);
      // Emit the match and look for another one starting right after it.
      for (;;) {
        const from = s;
        s += 4;
        let c = candidate + 4;
        while (s < end && src[s] === src[c]) {
          s++;
          c++;
        }
        this.copy(from - candidate, s - from);
        nextEmit = s;
        if (s >= sLimit) break outer;
        const prev = Math.imul(load32(src, s - 1), 0x1e35a7bd) >>> shift;
        table[prev] = s - 1 - base;
        const cur = Math.imul(load32(src, s), 0x1e35a7bd) >>> shift;
        candidate = base + table[cur];
        table[cur] = s - base;
        if (load32(src, s) !== load32(src, candidate)) {
          s++;
          nextHash = Math.imul(load32(src, s), 0x1e35a7bd) >>> shift;
          break;
        }
      }
    }
    if (nextEmit < end) this.literal(src, nextEmit, end);
  }
}
