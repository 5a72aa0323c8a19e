// Batch decoding of XOR chunks: a whole chunk's samples into typed arrays in one loop, with the bit position and
// the decoder state in local variables instead of a call (and a field update) per field of every sample. Reads the
// same bits as XorIterator (docs/format/xor-chunk.md) and stops with the same error texts at the same samples.

import type { SampleBuffer } from "../../model/sample.ts";
import { numSamples } from "./xor.ts";

const HEADER_SIZE = 2;
/** Indices of a float64's high and low 32-bit halves in an Int32Array over it, in the host's byte order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = LITTLE_ENDIAN ? 0 : 1;
const TWO_32 = 0x1_0000_0000;
/** XorIterator's text for a value window whose leading zeros and width add up to more than 64 bits. */
const BAD_WINDOW = "XOR chunk value window out of range";
/**
 * Bytes readable after a chunk's end (in its own buffer, or after the copy of it): reading 32 bits anywhere before
 * the end stays in bounds, and so does the whole of a sample that starts before the end (at most MAX_SAMPLE_BITS,
 * read by the hot loop before it checks where the sample ended). Their values never count.
 */
const PADDING = 32;
/** Largest buffer a chunk is read in place from: its bit positions stay below 2^31. */
const MAX_IN_PLACE_BYTES = 2 ** 28 - 1;
/** Most value bits that fit in one 32-bit word after the three bits of an unchanged delta and a '10' control. */
const WORD_VALUE_BITS = 29;
/** Most bits one sample after the second can take: '1111' and a 64-bit delta of delta, then '11', 5 + 6 bits of
 * window and 64 value bits. */
const MAX_SAMPLE_BITS = 4 + 64 + 2 + 11 + 64;

/** How the hot loop ended: it met a sample it leaves to the checked code (near the end, or the chunk's last). */
const RUN_HANDED_BACK = 0;
/** It stopped before a sample above `stopT` (`stoppedAt` set). */
const RUN_STOPPED = 1;
/** A value window out of range (`error` set). */
const RUN_BAD_WINDOW = 2;

/**
 * The 32 bits of `buf` starting at bit `pos` (MSB first), unsigned; `buf` holds at least 5 bytes from pos/8, and
 * `view` is a DataView of the same bytes (its big-endian 32-bit read compiles to one load and a byte swap). No
 * branch on the bit offset: at offset 0 the fifth byte is shifted out whole.
 */
function peek32(buf: Uint8Array, view: DataView, pos: number): number {
  const i = pos >>> 3;
  const s = pos & 7;
  return ((view.getUint32(i) << s) | (buf[i + 4] >>> (8 - s))) >>> 0;
}

/** `bits` read as an `n`-bit field the way Prometheus reads it: above 2^(n-1) is negative. */
function signExtend(bits: number, n: number): number {
  return bits > 1 << (n - 1) ? bits - (1 << n) : bits;
}

/**
 * Decodes XOR chunks into sample buffers. Reusable. A chunk is read where it lies when its buffer has PADDING bytes
 * after it, else from a scratch copy; the decoder keeps views of the last buffer read in place (so keeps it from
 * being collected until a chunk of another buffer comes). After `decode`, `error` and `stoppedAt` tell how it ended.
 */
export class XorBatchDecoder {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  /** The decoding error that ended the last `decode` early (XorIterator's text), or null. */
  error: string | null = null;
  /** Timestamp (ms) of the sample the last `decode` stopped before because it was above `stopT`, or NaN. */
  stoppedAt = Number.NaN;
  /** True when every timestamp delta the last `decode` read was positive: the samples it appended are in strictly
   * increasing time order (false says nothing; a caller then checks them). Costs nothing per sample, since a
   * delta changes only where a delta of delta is read. */
  increasing = true;
  /** The buffer of the chunk read last in place, and views over the whole of it (kept while chunks come from it). */
  private source: ArrayBufferLike | null = null;
  private sourceBytes: Uint8Array = new Uint8Array(0);
  private sourceView = new DataView(this.sourceBytes.buffer);
  /** An Int32Array over `bitsOf`, the value array decoded into last (kept while callers pass the same one). */
  private bits: Int32Array = new Int32Array(0);
  private bitsOf: Float64Array | null = null;
  // The decoding state while `run` decodes (the locals of `decode` of the same names, handed over and back).
  private pos = 0;
  private t = 0;
  private tDelta = 0;
  private vHi = 0;
  private vLo = 0;
  private leading = 0;
  private trailing = 0;
  private n = 0;
  private read = 0;

  /**
   * Appends the samples of the XOR chunk `bytes` to `out` in chunk order, stopping before the first sample whose
   * timestamp is above `stopT` (ms). The samples, their bits and the error met are those XorIterator's `next()`
   * gives one by one.
   */
  decode(bytes: Uint8Array, out: SampleBuffer, stopT: number): void {
    this.error = null;
    this.stoppedAt = Number.NaN;
    this.increasing = true;
    if (bytes.length < HEADER_SIZE) {
      this.error = "XOR chunk shorter than its header";
      return;
    }
    const total = numSamples(bytes);
    if (total === 0) return;
    const len = bytes.length - HEADER_SIZE;
    let buf: Uint8Array;
    let view: DataView;
    let start: number;
    const source = bytes.buffer;
    if (bytes.byteOffset + bytes.length + PADDING <= source.byteLength && source.byteLength <= MAX_IN_PLACE_BYTES) {
      // Read in place: what follows the chunk in its buffer is read but never used (every field is checked
      // against the chunk's end before it counts), so it may be anything.
      if (this.source !== source) {
        this.source = source;
        this.sourceBytes = new Uint8Array(source);
        this.sourceView = new DataView(source);
      }
      buf = this.sourceBytes;
      view = this.sourceView;
      start = bytes.byteOffset + HEADER_SIZE;
    } else {
      if (this.buf.length < len + PADDING) {
        this.buf = new Uint8Array(Math.max(len + PADDING, this.buf.length * 2));
        this.view = new DataView(this.buf.buffer);
      }
      buf = this.buf;
      view = this.view;
      buf.set(bytes.subarray(HEADER_SIZE));
      start = 0;
    }
    out.reserve(total);
    const outT = out.t;
    // Values are written as their two bit halves, kept as int32: a float64 read back from two 32-bit stores (as
    // floatFromBits does) would stall on every sample.
    if (this.bitsOf !== out.v) {
      this.bitsOf = out.v;
      this.bits = new Int32Array(out.v.buffer, out.v.byteOffset, out.v.length * 2);
    }
    const outBits = this.bits;
    let n = out.n;
    const endBit = (start + len) * 8;
    let pos = start * 8;
    let eof = false;
    let read = 0;
    let t = 0;
    let tDelta = 0;
    let vHi = 0;
    let vLo = 0;
    let leading = 0;
    let trailing = 0;
    let increasing = true;
    let error: string | null = null;
    while (read < total) {
      if (read >= 2) {
        this.pos = pos;
        this.t = t;
        this.tDelta = tDelta;
        this.vHi = vHi;
        this.vLo = vLo;
        this.leading = leading;
        this.trailing = trailing;
        this.n = n;
        this.read = read;
        this.increasing = increasing;
        const status = this.run(buf, view, outT, outBits, stopT, total, endBit);
        pos = this.pos;
        t = this.t;
        tDelta = this.tDelta;
        vHi = this.vHi;
        vLo = this.vLo;
        leading = this.leading;
        trailing = this.trailing;
        n = this.n;
        read = this.read;
        increasing = this.increasing;
        if (status === RUN_STOPPED) break;
        if (status === RUN_BAD_WINDOW) {
          error = BAD_WINDOW;
          break;
        }
        if (read >= total) break;
      }
      if (read === 0) {
        // Zig-zag varint timestamp (whole bytes), then the value's 64 bits.
        const signPos = pos + 7;
        let ux = 0;
        let mul = 1;
        let done = false;
        for (let i = 0; i < 10; i++) {
          if (pos + 8 > endBit) {
            eof = true;
            pos = endBit;
            break;
          }
          const b = peek32(buf, view, pos) >>> 24;
          pos += 8;
          if (b < 0x80) {
            ux += b * mul;
            done = true;
            break;
          }
          ux += (b & 0x7f) * mul;
          mul *= 128;
        }
        if (!done && !eof) {
          eof = true;
          pos = endBit;
        }
        if (eof) t = 0;
        else {
          const neg = (buf[signPos >>> 3] >>> (7 - (signPos & 7))) & 1;
          const m = Math.floor(ux / 2);
          t = neg ? -m - 1 : m;
        }
        if (pos + 32 > endBit) {
          eof = true;
          pos = endBit;
          vHi = 0;
        } else {
          vHi = peek32(buf, view, pos) | 0;
          pos += 32;
        }
        if (pos + 32 > endBit) {
          eof = true;
          pos = endBit;
          vLo = 0;
        } else {
          vLo = peek32(buf, view, pos) | 0;
          pos += 32;
        }
      } else {
        if (read === 1) {
          // The first delta: a uvarint of up to 64 bits, read as a two's-complement int64.
          let hi = 0;
          let lo = 0;
          for (let shift = 0; shift < 70; shift += 7) {
            let b = 0;
            if (pos + 8 > endBit) {
              eof = true;
              pos = endBit;
            } else {
              b = peek32(buf, view, pos) >>> 24;
              pos += 8;
            }
            const g = b & 0x7f;
            if (shift < 32) {
              lo = (lo | (g << shift)) >>> 0;
              if (shift > 25) hi = (hi | (g >>> (32 - shift))) >>> 0;
            } else {
              hi = (hi | (g << (shift - 32))) >>> 0;
            }
            if (b < 0x80) break;
          }
          tDelta = (hi | 0) * TWO_32 + lo;
        } else {
          // Delta of delta: '0', or '10', '110', '1110' with 14, 17, 20 bits, or '1111' with 64 bits.
          let w = 0;
          if (pos < endBit) w = peek32(buf, view, pos);
          if (pos + 1 > endBit) {
            eof = true;
            pos = endBit;
          } else if (w >>> 31 === 0) {
            pos += 1;
          } else {
            let ones = 1;
            while (ones < 4 && (w << ones) >>> 31 !== 0) ones++;
            // The prefix is `ones` one bits, then a zero unless there are four.
            const prefix = ones < 4 ? ones + 1 : 4;
            if (pos + prefix > endBit) {
              // The iterator reads the prefix bit by bit: past the end every bit is 0.
              eof = true;
              pos = endBit;
            } else {
              pos += prefix;
              let dod = 0;
              const width = ones === 1 ? 14 : ones === 2 ? 17 : ones === 3 ? 20 : 64;
              if (width < 64) {
                if (pos + width > endBit) {
                  eof = true;
                  pos = endBit;
                } else {
                  dod = signExtend(peek32(buf, view, pos) >>> (32 - width), width);
                  pos += width;
                }
              } else {
                let hi = 0;
                let lo = 0;
                if (pos + 32 > endBit) {
                  eof = true;
                  pos = endBit;
                } else {
                  hi = peek32(buf, view, pos);
                  pos += 32;
                }
                if (pos + 32 > endBit) {
                  eof = true;
                  pos = endBit;
                } else {
                  lo = peek32(buf, view, pos);
                  pos += 32;
                }
                dod = (hi | 0) * TWO_32 + lo;
              }
              tDelta += dod;
            }
          }
        }
        t += tDelta;
        if (tDelta <= 0) increasing = false;
        // The value: '0' repeats it, '10' XORs within the previous window, '11' opens a new window.
        let ctl = 0;
        if (pos + 1 > endBit) {
          eof = true;
          pos = endBit;
        } else {
          ctl = peek32(buf, view, pos) >>> 30;
          pos += 1;
        }
        if (ctl >= 2) {
          let second = 0;
          if (pos + 1 > endBit) {
            eof = true;
            pos = endBit;
          } else {
            second = ctl & 1;
            pos += 1;
          }
          if (second !== 0) {
            let lead = 0;
            let sig = 0;
            if (pos + 5 > endBit) {
              eof = true;
              pos = endBit;
            } else {
              lead = peek32(buf, view, pos) >>> 27;
              pos += 5;
            }
            if (pos + 6 > endBit) {
              eof = true;
              pos = endBit;
            } else {
              sig = peek32(buf, view, pos) >>> 26;
              pos += 6;
            }
            if (sig === 0) sig = 64;
            if (lead + sig > 64) {
              error = BAD_WINDOW;
              break;
            }
            leading = lead;
            trailing = 64 - lead - sig;
          }
          const s = trailing;
          const bits = 64 - leading - s;
          let hi = 0;
          let lo = 0;
          if (bits > 32) {
            if (pos + (bits - 32) > endBit) {
              eof = true;
              pos = endBit;
            } else {
              hi = peek32(buf, view, pos) >>> (64 - bits);
              pos += bits - 32;
            }
          }
          const loBits = Math.min(bits, 32);
          if (loBits > 0) {
            if (pos + loBits > endBit) {
              eof = true;
              pos = endBit;
            } else {
              lo = (peek32(buf, view, pos) >>> (32 - loBits)) | 0;
              pos += loBits;
            }
          }
          if (s >= 32) {
            hi = lo << (s - 32);
            lo = 0;
          } else if (s > 0) {
            hi = (hi << s) | (lo >>> (32 - s));
            lo <<= s;
          }
          vHi ^= hi;
          vLo ^= lo;
        }
      }
      if (eof) {
        error = `XOR chunk truncated after ${read} of ${total} samples`;
        break;
      }
      read++;
      if (t > stopT) {
        this.stoppedAt = t;
        break;
      }
      outT[n] = t;
      outBits[(n << 1) | HI] = vHi;
      outBits[(n << 1) | LO] = vLo;
      n++;
    }
    out.n = n;
    this.error = error;
    this.increasing = increasing;
  }

  /**
   * The hot loop: decodes samples from the third on (the state in the fields above) into `outT` and `outBits` (a
   * value's 32-bit halves at HI and LO) while each lies wholly in the chunk's `endBit` bits, and hands the first
   * one that does not back to `decode`'s checked code, which meets the end as XorIterator does. Apart from that
   * code, so the optimizing compiler sees a small loop whose branches all run on ordinary chunks (a branch that has
   * never run when the loop is compiled costs a deoptimization when it first does). The buffer's padding keeps a
   * sample's reads in bounds before its end is checked.
   */
  private run(
    buf: Uint8Array,
    view: DataView,
    outT: Float64Array,
    outBits: Int32Array,
    stopT: number,
    total: number,
    endBit: number,
  ): number {
    let pos = this.pos;
    let t = this.t;
    let tDelta = this.tDelta;
    let vHi = this.vHi;
    let vLo = this.vLo;
    let leading = this.leading;
    let trailing = this.trailing;
    let n = this.n;
    let read = this.read;
    let increasing = this.increasing;
    let status = RUN_HANDED_BACK;
    // The window's width in value bits, kept while the window stays.
    let width = 64 - leading - trailing;
    while (read < total) {
      const w = peek32(buf, view, pos);
      if (w >>> 29 === 2 && width <= WORD_VALUE_BITS) {
        // The commonest sample of a counter: an unchanged delta ('0'), '10', and the value's bits within the
        // window, all in the word just read.
        const next = pos + 3 + width;
        if (next > endBit) break;
        const d = (w << 3) >>> (32 - width);
        if (trailing >= 32) vHi ^= d << (trailing - 32);
        else {
          // Two shifts, since a shift by 32 is a shift by 0: at trailing 0 the high half gets nothing.
          vHi ^= (d >>> 1) >>> (31 - trailing);
          vLo ^= d << trailing;
        }
        pos = next;
      } else if (w >>> 30 === 0) {
        // An unchanged delta and an unchanged value: '0', '0'.
        if (pos + 2 > endBit) break;
        pos += 2;
      } else {
        if (endBit - pos < MAX_SAMPLE_BITS) break;
        // The value's control bits: after an unchanged delta ('0') they are in the same word.
        let ctl: number;
        if (w >>> 31 === 0) {
          pos += 1;
          ctl = (w >>> 29) & 3;
        } else {
          let ones = 1;
          while (ones < 4 && (w << ones) >>> 31 !== 0) ones++;
          pos += ones < 4 ? ones + 1 : 4;
          if (ones === 1) tDelta += signExtend(peek32(buf, view, pos) >>> 18, 14);
          else if (ones === 2) tDelta += signExtend(peek32(buf, view, pos) >>> 15, 17);
          else if (ones === 3) tDelta += signExtend(peek32(buf, view, pos) >>> 12, 20);
          else tDelta += (peek32(buf, view, pos) | 0) * TWO_32 + peek32(buf, view, pos + 32);
          if (tDelta <= 0) increasing = false;
          pos += ones === 1 ? 14 : ones === 2 ? 17 : ones === 3 ? 20 : 64;
          ctl = peek32(buf, view, pos) >>> 30;
        }
        if (ctl < 2) pos += 1;
        else {
          pos += 2;
          if (ctl === 3) {
            // 5 bits of leading zeros and 6 of significant bits, read as one word.
            const x = peek32(buf, view, pos);
            const lead = x >>> 27;
            let sig = (x >>> 21) & 63;
            pos += 11;
            if (sig === 0) sig = 64;
            if (lead + sig > 64) {
              status = RUN_BAD_WINDOW;
              break;
            }
            leading = lead;
            trailing = 64 - lead - sig;
            width = sig;
          }
          const s = trailing;
          let hi = 0;
          let lo: number;
          if (width > 32) {
            hi = peek32(buf, view, pos) >>> (64 - width);
            pos += width - 32;
            lo = peek32(buf, view, pos) | 0;
            pos += 32;
          } else {
            lo = (peek32(buf, view, pos) >>> (32 - width)) | 0;
            pos += width;
          }
          if (s >= 32) {
            hi = lo << (s - 32);
            lo = 0;
          } else if (s > 0) {
            hi = (hi << s) | (lo >>> (32 - s));
            lo <<= s;
          }
          vHi ^= hi;
          vLo ^= lo;
        }
      }
      t += tDelta;
      read++;
      if (t > stopT) {
        this.stoppedAt = t;
        status = RUN_STOPPED;
        break;
      }
      outT[n] = t;
      outBits[(n << 1) | HI] = vHi;
      outBits[(n << 1) | LO] = vLo;
      n++;
    }
    this.pos = pos;
    this.t = t;
    this.tDelta = tDelta;
    this.vHi = vHi;
    this.vLo = vLo;
    this.leading = leading;
    this.trailing = trailing;
    this.n = n;
    this.read = read;
    this.increasing = increasing;
    return status;
  }
}
