// The XOR float chunk (Gorilla compression), bit-for-bit as Prometheus encodes it; docs/format/xor-chunk.md draws
// the layout. 64-bit quantities (value bit patterns, wide deltas) are handled as two uint32 halves, without BigInt.
// Timestamps are integer milliseconds within ±2^53; deltas of delta within ±2^52.

import { ContrailError } from "../../model/errors.ts";
import type { SampleIterator, ValueKind } from "../../storage/interface.ts";
import { BitReader, BitWriter } from "../encoding/bstream.ts";
import { floatFromBits, floatHi, floatLo, STALE_NAN_HI, STALE_NAN_LO } from "../encoding/float-bits.ts";

const TWO_32 = 0x1_0000_0000;
/** Bytes of the chunk's header (its sample count). */
export const HEADER_SIZE = 2;
/** Samples a chunk holds at most (its header is 16 bits). */
export const MAX_SAMPLES = 0xffff;
/** `leading` before the first value with a non-zero XOR: no leading/trailing window to reuse yet. */
export const NO_WINDOW = 0xff;
const EMPTY = new Uint8Array(HEADER_SIZE);

/** Number of samples in the XOR chunk at byte `at` of `bytes` (its 2-byte big-endian header). */
export function numSamples(bytes: Uint8Array, at = 0): number {
  return (bytes[at] << 8) | bytes[at + 1];
}

/** Decoder state at some sample, enough for an appender to continue the chunk from there. */
export interface XorEncoderState {
  /** Samples decoded. */
  readonly n: number;
  /** Bits consumed, header included. */
  readonly bitLength: number;
  readonly t: number;
  readonly tDelta: number;
  readonly vHi: number;
  readonly vLo: number;
  readonly leading: number;
  readonly trailing: number;
}

/** Count of trailing zero bits of a non-zero uint32. */
export function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * Encodes samples into one XOR chunk. Timestamps should increase (the head guarantees it) but the format accepts
 * any order. A chunk holds at most 65535 samples; Prometheus cuts at 120 samples or about 1 KiB.
 */
export class XorAppender {
  private readonly w: BitWriter;
  private n = 0;
  private t = 0;
  private tDelta = 0;
  // The previous value's bit pattern as int32 halves: small integers stay unboxed in V8, where uint32 halves above
  // 2^31 would each cost the appender a 16-byte heap number.
  private vHi = 0;
  private vLo = 0;
  private leading = NO_WINDOW;
  private trailing = 0;

  /** `capacity`: initial buffer size in bytes (a full 120-sample chunk of scrape data is typically 150-300). */
  constructor(opts: { capacity?: number } = {}) {
    this.w = new BitWriter(opts.capacity ?? 128);
    this.w.writeBitsNum(0, 16);
  }

  /**
   * An appender that continues the existing XOR chunk `bytes` (copied), in the state Prometheus's appender would
   * be in after reopening it. Throws `corruption` if the chunk does not decode.
   */
  static resume(bytes: Uint8Array): XorAppender {
    const a = new XorAppender({ capacity: bytes.length + 32 });
    const it = new XorIterator(bytes);
    while (it.next() !== "none") {}
    const e = it.err();
    if (e !== null) throw new ContrailError("corruption", `cannot resume XOR chunk: ${e}`);
    const s = it.encoderState();
    if (s.n === 0) return a;
    a.w.resume(bytes, s.bitLength);
    a.n = s.n;
    a.t = s.t;
    a.tDelta = s.tDelta;
    a.vHi = s.vHi | 0;
    a.vLo = s.vLo | 0;
    a.leading = s.leading;
    a.trailing = s.trailing;
    return a;
  }

  /** Samples appended so far. */
  get numSamples(): number {
    return this.n;
  }

  /** Size of the chunk in bytes, header included. */
  get size(): number {
    return this.w.length;
  }

  /** The chunk's bytes; a view valid until the next `append` (copy it to keep it). */
  bytes(): Uint8Array {
    return this.w.bytes();
  }

  /**
   * Appends the sample (`t` ms, `v`). The quieted form of the staleness marker (0x7ff80000_00000002, which V8
   * produces when a marker passes through a plain JS array) is written as the real marker so Prometheus sees it.
   * `window` (default -1: none), `leading << 6 | trailing` with leading ≤ 31, makes the value open that window
   * when it holds the value's meaningful bits (and the value differs from the previous); otherwise the value is
   * written as Prometheus writes it: in the previous window when it fits, else in a new one of its own bits.
   * Every XOR reader decodes either choice; see xor-windows.ts for why a caller would choose.
   */
  append(t: number, v: number, window = -1): void {
    const w = this.w;
    const n = this.n;
    if (n === MAX_SAMPLES) throw new ContrailError("too_large", "XOR chunk already holds 65535 samples");
    let hi = floatHi(v);
    const lo = floatLo(v);
    if (hi === 0x7ff80000 && lo === STALE_NAN_LO) hi = STALE_NAN_HI;
    if (n === 0) {
      w.writeVarint(t);
      w.writeBits(hi, lo, 64);
      this.vHi = hi | 0;
      this.vLo = lo | 0;
    } else if (n === 1) {
      const delta = t - this.t;
      if (delta >= 0) w.writeUvarint(delta);
      else {
        // Go casts the negative delta to uint64: a 10-byte uvarint of its two's complement.
        const dHi = Math.floor(delta / TWO_32);
        writeUvarint64(w, dHi >>> 0, delta - dHi * TWO_32);
      }
      this.tDelta = delta;
      this.writeValue(hi, lo, window);
    } else {
      const delta = t - this.t;
      const dod = delta - this.tDelta;
      // Fast path: regular scrape intervals give a zero delta-of-delta, one bit.
      if (dod === 0) w.writeBit(0);
      else if (dod >= -8191 && dod <= 8192) w.writeBitsNum((0b10 << 14) | (dod & 0x3fff), 16);
      else if (dod >= -65535 && dod <= 65536) w.writeBitsNum((0b110 << 17) | (dod & 0x1ffff), 20);
      else if (dod >= -524287 && dod <= 524288) w.writeBitsNum((0b1110 << 20) | (dod & 0xfffff), 24);
      else {
        w.writeBitsNum(0b1111, 4);
        const dHi = Math.floor(dod / TWO_32);
        w.writeBits(dHi >>> 0, (dod - dHi * TWO_32) >>> 0, 64);
      }
      this.tDelta = delta;
      this.writeValue(hi, lo, window);
    }
    this.t = t;
    this.n = n + 1;
    w.setByte(0, (n + 1) >>> 8);
    w.setByte(1, (n + 1) & 0xff);
  }

  /** Writes the XOR of the value bits `hi:lo` with the previous value. */
  private writeValue(hi: number, lo: number, window: number): void {
    const w = this.w;
    const dHi = (hi ^ this.vHi) >>> 0;
    const dLo = (lo ^ this.vLo) >>> 0;
    this.vHi = hi | 0;
    this.vLo = lo | 0;
    if (dHi === 0 && dLo === 0) {
      w.writeBit(0);
      return;
    }
    let leading = dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo);
    // The leading-zero count travels in 5 bits.
    if (leading > 31) leading = 31;
    let trailing = dLo !== 0 ? ctz32(dLo) : 32 + ctz32(dHi);
    const fits = this.leading !== NO_WINDOW && leading >= this.leading && trailing >= this.trailing;
    if (window >= 0 && window >> 6 <= leading && (window & 63) <= trailing) {
      // A window chosen by the caller that holds the meaningful bits (see `append`).
      leading = window >> 6;
      trailing = window & 63;
    } else if (fits) {
      // The meaningful bits fit in the previous window: '10' + the window's bits.
      w.writeBitsNum(0b10, 2);
      writeShifted(w, dHi, dLo, this.trailing, 64 - this.leading - this.trailing);
      return;
    }
    this.leading = leading;
    this.trailing = trailing;
    const sig = 64 - leading - trailing;
    // '11', 5 bits of leading zeros, 6 bits of significant-bit count (64 is written as 0), then the bits.
    w.writeBitsNum((0b11 << 11) | (leading << 6) | (sig & 63), 13);
    writeShifted(w, dHi, dLo, trailing, sig);
  }
}

/** Writes the low `n` bits of the 64-bit `hi:lo` shifted right by `s`. */
export function writeShifted(w: BitWriter, hi: number, lo: number, s: number, n: number): void {
  if (s === 0) w.writeBits(hi, lo, n);
  else if (s < 32) w.writeBits(hi >>> s, ((lo >>> s) | (hi << (32 - s))) >>> 0, n);
  else w.writeBits(0, hi >>> (s - 32), n);
}

/** Writes the uvarint of the 64-bit unsigned `hi:lo` (how Go stores a negative delta cast to uint64). */
function writeUvarint64(w: BitWriter, hi: number, lo: number): void {
  while (hi !== 0 || lo >= 0x80) {
    w.writeBitsNum((lo & 0x7f) | 0x80, 8);
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  w.writeBitsNum(lo, 8);
}

/** Reads a uvarint of up to 64 bits and returns those bits read as a two's-complement int64 (nearest double). */
function readUvarintAsInt64(r: BitReader): number {
  let hi = 0;
  let lo = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    const b = r.readBitsNum(8);
    const g = b & 0x7f;
    if (shift < 32) {
      lo = (lo | (g << shift)) >>> 0;
      if (shift > 25) hi = (hi | (g >>> (32 - shift))) >>> 0;
    } else {
      hi = (hi | (g << (shift - 32))) >>> 0;
    }
    if (b < 0x80) break;
  }
  return (hi | 0) * TWO_32 + lo;
}

/**
 * Decodes an XOR chunk; implements SampleIterator. Reusable: `reset(bytes)` restarts it on another chunk without
 * allocating. The bytes must stay unchanged while iterating. A corrupt chunk ends the iteration and sets `err()`.
 */
export class XorIterator implements SampleIterator {
  private readonly r = new BitReader(EMPTY);
  private total = 0;
  private read = 0;
  private done = false;
  private t = 0;
  private tDelta = 0;
  private v = 0;
  private vHi = 0;
  private vLo = 0;
  // Like Prometheus's reader, a '10' control before any window means the full 64 bits (leading = trailing = 0).
  private leading = 0;
  private trailing = 0;
  private error: string | null = null;

  /** Starts on `bytes` (an XOR chunk, header included) or, without it, on an empty chunk. */
  constructor(bytes?: Uint8Array) {
    this.reset(bytes ?? EMPTY);
  }

  /** Restarts on the XOR chunk `bytes`. */
  reset(bytes: Uint8Array): void {
    this.read = 0;
    this.done = false;
    this.t = 0;
    this.tDelta = 0;
    this.v = 0;
    this.vHi = 0;
    this.vLo = 0;
    this.leading = 0;
    this.trailing = 0;
    this.error = null;
    if (bytes.length < HEADER_SIZE) {
      this.total = 0;
      this.error = "XOR chunk shorter than its header";
      this.r.reset(EMPTY);
      return;
    }
    this.total = numSamples(bytes);
    this.r.reset(bytes, HEADER_SIZE);
  }

  /** The decoding error that ended the iteration early, or null. */
  err(): string | null {
    return this.error;
  }

  /** What an appender needs to continue this chunk after the samples decoded so far. */
  encoderState(): XorEncoderState {
    return {
      n: this.read,
      bitLength: this.r.bitPos,
      t: this.t,
      tDelta: this.tDelta,
      vHi: this.vHi,
      vLo: this.vLo,
      leading: this.leading,
      trailing: this.trailing,
    };
  }

  /** Timestamp of the current sample, ms. */
  atT(): number {
    return this.t;
  }

  /** Value of the current sample (NaN payloads, e.g. the staleness marker, are kept). */
  atV(): number {
    return this.v;
  }

  /** Moves to the next sample. */
  next(): ValueKind {
    if (this.done || this.read === this.total || this.error !== null) {
      this.done = true;
      return "none";
    }
    const r = this.r;
    if (this.read === 0) {
      this.t = r.readVarint();
      this.vHi = r.readBitsNum(32);
      this.vLo = r.readBitsNum(32);
      this.v = floatFromBits(this.vHi, this.vLo);
      return this.finish();
    }
    if (this.read === 1) {
      this.tDelta = readUvarintAsInt64(r);
      this.t += this.tDelta;
      return this.readValue();
    }
    if (r.readBit() !== 0) {
      // Bucket prefix '10', '110', '1110' or '1111': count its one bits.
      let ones = 1;
      while (ones < 4 && r.readBit() !== 0) ones++;
      let dod: number;
      switch (ones) {
        case 1:
          dod = signExtend(r.readBitsNum(14), 14);
          break;
        case 2:
          dod = signExtend(r.readBitsNum(17), 17);
          break;
        case 3:
          dod = signExtend(r.readBitsNum(20), 20);
          break;
        default: {
          const hi = r.readBitsNum(32);
          dod = (hi | 0) * TWO_32 + r.readBitsNum(32);
        }
      }
      this.tDelta += dod;
    }
    this.t += this.tDelta;
    return this.readValue();
  }

  /** Reads the XOR-encoded value of the current sample. */
  private readValue(): ValueKind {
    const r = this.r;
    if (r.readBit() !== 0) {
      if (r.readBit() !== 0) {
        const leading = r.readBitsNum(5);
        let sig = r.readBitsNum(6);
        if (sig === 0) sig = 64;
        if (leading + sig > 64) return this.fail("XOR chunk value window out of range");
        this.leading = leading;
        this.trailing = 64 - leading - sig;
      }
      const s = this.trailing;
      const n = 64 - this.leading - s;
      let hi = n > 32 ? r.readBitsNum(n - 32) : 0;
      let lo = r.readBitsNum(Math.min(n, 32));
      if (s >= 32) {
        hi = lo << (s - 32);
        lo = 0;
      } else if (s > 0) {
        hi = (hi << s) | (lo >>> (32 - s));
        lo <<= s;
      }
      this.vHi = (this.vHi ^ hi) >>> 0;
      this.vLo = (this.vLo ^ lo) >>> 0;
      this.v = floatFromBits(this.vHi, this.vLo);
    }
    return this.finish();
  }

  private finish(): ValueKind {
    if (this.r.err() !== null) return this.fail(`XOR chunk truncated after ${this.read} of ${this.total} samples`);
    this.read++;
    return "float";
  }

  private fail(e: string): ValueKind {
    this.error = e;
    this.done = true;
    return "none";
  }

  /** Moves to the first sample at or after `t` ms; stays if the current sample qualifies. */
  seek(t: number): ValueKind {
    if (this.done) return "none";
    while (this.read === 0 || this.t < t) {
      if (this.next() === "none") return "none";
    }
    return "float";
  }
}

/** Interprets the `n`-bit field `bits` as Prometheus does: values above 2^(n-1) are negative. */
function signExtend(bits: number, n: number): number {
  return bits > 1 << (n - 1) ? bits - (1 << n) : bits;
}
