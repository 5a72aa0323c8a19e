// Many open XOR chunks without an object each: every chunk's appender state (sample count, previous time and
// delta, previous value bits, value window, where its bytes are) sits in typed arrays at the chunk's slot, and its
// bytes in a slot of a ByteArena. An append reads the slot's state into locals, writes the sample's bits and stores
// the state back: the encoding is XorAppender's, bit for bit (xor-slots.test.ts checks it on random data). A head's
// open chunks took three objects a series this way replaced (an appender, its bit writer, heap numbers for its
// times): about 230 bytes, against 76 of columns.
//
// The chunk's unfinished end lives in the slot's tail, a row of TAIL_ROW bytes in one dense array, and appends write
// there; the finished bytes go to the arena a block at a time, when the next append would not fit in the tail. A
// head appends to each series in turn: the tails are read in slot order, as the rest of the rows are, where the
// arena's lines (and their pages' TLB entries) were gone between two appends to a series, which made the first read
// of the chunk's last byte most of an append's time. A chunk that never outgrows its tail takes no arena slot.

import { ContrailError } from "../../model/errors.ts";
import { ByteArena, MIN_SLOT_BYTES } from "../encoding/byte-arena.ts";
import { floatFromBits, floatHi, floatLo, STALE_NAN_HI, STALE_NAN_LO } from "../encoding/float-bits.ts";
import { ctz32, HEADER_SIZE, MAX_SAMPLES, NO_WINDOW } from "./xor.ts";

// Doubles of a slot: times can pass 2^31 ms. F_T is the time of the newest sample appended through the slot, kept
// when the slot's chunk is released or a new one started (a chunk's first sample does not read it), so that the slot's
// owner can keep its own newest sample time there (see `time`).
const F_T = 0;
const F_T_DELTA = 1;
const F_ROW = 2;
// Small integers of a slot (STATE: the sample count, the value window's leading and trailing zero counts, packed
// into one int32 by `state`; value bits as int32 halves, those of the newest sample appended through the slot and kept
// like F_T, see `value`; BITS: bits written, header included, 0 when the slot is
// empty; ROOM: the arena slot's bytes, or minus the room to take at the first flush while it has none; ADDR: the arena
// slot's address over MIN_SLOT_BYTES, which divides every slot's address; FLUSHED: the chunk's first bytes that are
// in the arena, the rest being in the tail).
const I_STATE = 0;
const I_V_HI = 1;
const I_V_LO = 2;
const I_BITS = 3;
const I_ROOM = 4;
const I_ADDR = 5;
const I_FLUSHED = 6;
const I_ROW = 7;

/** The sample count's bits in a STATE word (up to MAX_SAMPLES). */
const N_MASK = 0xffff;
/** Where the leading zero count (0..31, or NO_WINDOW) and the trailing one (0..64) start in a STATE word. */
const LEADING_SHIFT = 16;
const TRAILING_SHIFT = 24;
/** The leading zero count's bits, shifted down. */
const LEADING_MASK = 0xff;

/** A STATE word: `n` samples, the window's `leading` (8 bits) and `trailing` (7 bits) zero counts; below 2^31. */
function state(n: number, leading: number, trailing: number): number {
  return n | (leading << LEADING_SHIFT) | (trailing << TRAILING_SHIFT);
}

/** Bytes of a slot's tail row: the chunk's unfinished end (up to TAIL_BYTES), then PUT_SLACK for `put`. */
const TAIL_ROW = 32;

const TWO_32 = 0x1_0000_0000;
/** An append's fields to write, as their bits and bit counts (a wide delta of delta and a 64-bit window: six). */
const FIELD_VALUES = new Int32Array(6);
const FIELD_BITS = new Int32Array(6);
/** The bytes of an empty slot. */
const NO_BYTES = new Uint8Array(0);
/** Bytes the time of a chunk's first or second sample takes at most: a uvarint of 64 bits. */
const MAX_VARINT_BYTES = 10;

/** The arena address of the chunk of the slot whose integers start at `ib` in `i`. */
function addressOf(i: Int32Array, ib: number): number {
  return i[ib + I_ADDR] * MIN_SLOT_BYTES;
}

/**
 * Bytes past a chunk's end that `put` may overwrite: it writes the five bytes its bits can span whatever their count,
 * so a tail keeps this much room past its chunk's bytes.
 */
const PUT_SLACK = 4;
/**
 * Chunk bytes a tail holds. An append adds at most 20 bytes (a second sample's 10-byte delta and a 77-bit value) to
 * the partial byte a flush leaves, so one flush always makes room.
 */
const TAIL_BYTES = TAIL_ROW - PUT_SLACK;

/**
 * Writes the `n` (1..32) right-most bits of `v` at bit `p` of the bytes from `base` of `buf`, most significant first,
 * and returns the bit after them. Without a branch: the bits before `p` in its byte are kept, the rest of the five
 * bytes from there are overwritten (see PUT_SLACK), so whatever the tail held past the chunk does not matter.
 */
function put(buf: Uint8Array, base: number, p: number, v: number, n: number): number {
  const k = base + (p >>> 3);
  const used = p & 7;
  // The bits at the top of a word, then that word after the `used` bits kept of byte k; its last `used` bits spill
  // into byte k + 4.
  const top = v << (32 - n);
  const w = ((buf[k] & (0xff00 >> used)) << 24) | (top >>> used);
  buf[k] = w >>> 24;
  buf[k + 1] = w >>> 16;
  buf[k + 2] = w >>> 8;
  buf[k + 3] = w;
  buf[k + 4] = top << (8 - used);
  return p + n;
}

/** Writes `x` (a safe integer) at bit `p` as Go's uvarint of its uint64 (two's complement when negative), as `put`. */
function putUvarint(buf: Uint8Array, base: number, p: number, x: number): number {
  if (x < 0) {
    let hi = Math.floor(x / TWO_32);
    let lo = x - hi * TWO_32;
    hi >>>= 0;
    while (hi !== 0 || lo >= 0x80) {
      p = put(buf, base, p, (lo & 0x7f) | 0x80, 8);
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    return put(buf, base, p, lo, 8);
  }
  while (x >= 0x80) {
    p = put(buf, base, p, (x % 128) | 0x80, 8);
    x = Math.floor(x / 128);
  }
  return put(buf, base, p, x, 8);
}

/** Writes the safe integer `x` at bit `p` as Go's zig-zag varint, as BitWriter.writeVarint does, as `put`. */
function putVarint(buf: Uint8Array, base: number, p: number, x: number): number {
  const neg = x < 0 ? 1 : 0;
  const m = neg ? -x - 1 : x;
  const rest = Math.floor(m / 64);
  p = put(buf, base, p, ((m % 64) << 1) | neg | (rest > 0 ? 0x80 : 0), 8);
  return rest > 0 ? putUvarint(buf, base, p, rest) : p;
}

/**
 * Open XOR chunks by slot number (0 up to `capacity`), their bytes in `arena`. A slot is empty (no chunk) until
 * `start`, and after `release`. Single-threaded; owned by one head, which hands out the slot numbers.
 */
export class XorSlots {
  private f = new Float64Array(0);
  private i = new Int32Array(0);
  /** The tails: slot `s`'s chunk bytes from its FLUSHED on are at `s * TAIL_ROW`. */
  private tail = new Uint8Array(0);

  /**
   * Each slot's time field (index `timeAt(slot)`): the newest sample appended through it, ms, which the slot's owner
   * may also set (replay, a new series) and read in place. Replaced when the slots grow: read it through the slots.
   */
  get times(): Float64Array {
    return this.f;
  }

  /** Index of `slot`'s time field in `times`. */
  static timeAt(slot: number): number {
    return slot * F_ROW + F_T;
  }

  /**
   * The value of the newest sample appended through `slot` (the staleness marker's bits as the encoder writes them),
   * kept when its chunk is released or a new one started, or what `setValue` set since; 0 for a new slot.
   */
  value(slot: number): number {
    const ib = slot * I_ROW;
    return floatFromBits(this.i[ib + I_V_HI] >>> 0, this.i[ib + I_V_LO] >>> 0);
  }

  /** Sets what `value(slot)` reads while `slot` holds no sample (a new series, replay); a first sample overwrites it. */
  setValue(slot: number, v: number): void {
    const ib = slot * I_ROW;
    this.i[ib + I_V_HI] = floatHi(v) | 0;
    this.i[ib + I_V_LO] = floatLo(v) | 0;
  }
  private readonly arena: ByteArena;

  /** Chunks in `arena`, room for `capacity` slots (see `grow`). */
  constructor(arena: ByteArena, capacity: number) {
    this.arena = arena;
    this.grow(capacity);
  }

  /** Slots there is room for. */
  get capacity(): number {
    return this.i.length / I_ROW;
  }

  /** Makes room for `capacity` slots (never shrinks); new slots are empty. */
  grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    const f = new Float64Array(capacity * F_ROW);
    const i = new Int32Array(capacity * I_ROW);
    const tail = new Uint8Array(capacity * TAIL_ROW);
    f.set(this.f);
    i.set(this.i);
    tail.set(this.tail);
    this.f = f;
    this.i = i;
    this.tail = tail;
  }

  /**
   * Starts an empty chunk in `slot` (which must be empty); `bytes` is the arena room to take once it outgrows its
   * tail.
   */
  start(slot: number, bytes: number): void {
    const fb = slot * F_ROW;
    const ib = slot * I_ROW;
    this.f[fb + F_T_DELTA] = 0;
    // The value bits stay: a chunk's first sample does not read them, and until then they are the newest value.
    this.i[ib + I_STATE] = state(0, NO_WINDOW, 0);
    // The header (the sample count) is written when the bytes are read.
    this.i[ib + I_BITS] = HEADER_SIZE * 8;
    this.i[ib + I_ROOM] = -ByteArena.slotSize(Math.max(HEADER_SIZE, bytes));
    this.i[ib + I_FLUSHED] = 0;
  }

  /**
   * Appends the sample (`t` ms, `v`) to the chunk of `slot`, encoded as XorAppender.append encodes it (no window
   * of the caller's). The slot's state stays in locals from the first read to the last write: no call passes it.
   */
  append(slot: number, t: number, v: number): void {
    const f = this.f;
    const i = this.i;
    const fb = slot * F_ROW;
    const ib = slot * I_ROW;
    const st = i[ib + I_STATE];
    const n = st & N_MASK;
    if (n === MAX_SAMPLES) throw new ContrailError("too_large", "XOR chunk already holds 65535 samples");
    let hi = floatHi(v);
    const lo = floatLo(v);
    if (hi === 0x7ff80000 && lo === STALE_NAN_LO) hi = STALE_NAN_HI;
    if (n === 0) {
      this.appendFirst(slot, t, hi, lo);
      return;
    }
    // The time: its bits (and, for a delta of delta of up to 24 bits with its prefix, the code) first.
    const delta = t - f[fb + F_T];
    const dod = delta - f[fb + F_T_DELTA];
    let tBits: number;
    let tCode = 0;
    if (n === 1) tBits = MAX_VARINT_BYTES * 8;
    else if (dod === 0) tBits = 1;
    else if (dod >= -8191 && dod <= 8192) {
      tBits = 16;
      tCode = (0b10 << 14) | (dod & 0x3fff);
    } else if (dod >= -65535 && dod <= 65536) {
      tBits = 20;
      tCode = (0b110 << 17) | (dod & 0x1ffff);
    } else if (dod >= -524287 && dod <= 524288) {
      tBits = 24;
      tCode = (0b1110 << 20) | (dod & 0xfffff);
    } else tBits = 68;
    // The value: the XOR with the previous one, and the window its meaningful bits go in.
    const dHi = (hi ^ i[ib + I_V_HI]) >>> 0;
    const dLo = (lo ^ i[ib + I_V_LO]) >>> 0;
    let leading = (st >>> LEADING_SHIFT) & LEADING_MASK;
    let trailing = st >>> TRAILING_SHIFT;
    // 0: the same value ('0'); 1: in the previous window ('10'); 2: in a new window ('11' and its size).
    let vKind = 0;
    let vBits = 1;
    if (dHi !== 0 || dLo !== 0) {
      let lead = dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo);
      // The leading-zero count travels in 5 bits.
      if (lead > 31) lead = 31;
      const trail = dLo !== 0 ? ctz32(dLo) : 32 + ctz32(dHi);
      if (leading !== NO_WINDOW && lead >= leading && trail >= trailing) {
        vKind = 1;
        vBits = 2 + 64 - leading - trailing;
      } else {
        vKind = 2;
        leading = lead;
        trailing = trail;
        vBits = 13 + 64 - lead - trail;
      }
    }
    // Room in the tail for the new bytes (a flush to the arena when they would not fit), then the bits, written at
    // the stream's bit position in the tail.
    const bits = i[ib + I_BITS];
    if (((bits + tBits + vBits + 7) >> 3) - i[ib + I_FLUSHED] > TAIL_BYTES) this.flush(slot);
    const start = i[ib + I_FLUSHED] * 8;
    const buf = this.tail;
    const base = slot * TAIL_ROW;
    // The sample's fields as (bits, count) pairs, then one loop writes them: a single call of `put` to inline (V8
    // leaves calls out past a budget of inlined code per function, and `put` at each field's call used it up).
    const fv = FIELD_VALUES;
    const fn = FIELD_BITS;
    let m = 0;
    if (n === 1) {
      // The delta itself, a uvarint, written below.
    } else if (tBits <= 24) {
      fv[0] = tCode;
      fn[0] = tBits;
      m = 1;
    } else {
      // '1111' and the delta of delta's 64 bits.
      const wideHi = Math.floor(dod / TWO_32);
      fv[0] = 0b1111;
      fn[0] = 4;
      fv[1] = wideHi;
      fn[1] = 32;
      fv[2] = dod - wideHi * TWO_32;
      fn[2] = 32;
      m = 3;
    }
    if (vKind === 0) {
      fv[m] = 0;
      fn[m++] = 1;
    } else {
      const sig = 64 - leading - trailing;
      if (vKind === 1) {
        fv[m] = 0b10;
        fn[m++] = 2;
      } else {
        // '11', 5 bits of leading zeros, 6 bits of significant-bit count (64 is written as 0).
        fv[m] = (0b11 << 11) | (leading << 6) | (sig & 63);
        fn[m++] = 13;
      }
      // The window's bits: the XOR shifted right by the trailing zeros, `sig` bits of it.
      let h = dHi;
      let l = dLo;
      if (trailing >= 32) {
        h = 0;
        l = dHi >>> (trailing - 32);
      } else if (trailing > 0) {
        h = dHi >>> trailing;
        l = (dLo >>> trailing) | (dHi << (32 - trailing));
      }
      if (sig > 32) {
        fv[m] = h;
        fn[m++] = sig - 32;
        fv[m] = l;
        fn[m++] = 32;
      } else {
        fv[m] = l;
        fn[m++] = sig;
      }
    }
    let p = bits - start;
    if (n === 1) p = putUvarint(buf, base, p, delta);
    for (let j = 0; j < m; j++) p = put(buf, base, p, fv[j], fn[j]);
    f[fb + F_T] = t;
    f[fb + F_T_DELTA] = delta;
    i[ib + I_STATE] = state(n + 1, leading, trailing);
    i[ib + I_V_HI] = hi | 0;
    i[ib + I_V_LO] = lo | 0;
    i[ib + I_BITS] = p + start;
  }

  // A chunk's first sample: its time as a varint and its value's 64 bits.
  private appendFirst(slot: number, t: number, hi: number, lo: number): void {
    const fb = slot * F_ROW;
    const ib = slot * I_ROW;
    const i = this.i;
    const bits = i[ib + I_BITS];
    if (((bits + MAX_VARINT_BYTES * 8 + 64 + 7) >> 3) - i[ib + I_FLUSHED] > TAIL_BYTES) this.flush(slot);
    const start = i[ib + I_FLUSHED] * 8;
    const buf = this.tail;
    const base = slot * TAIL_ROW;
    let p = bits - start;
    p = putVarint(buf, base, p, t);
    p = put(buf, base, p, hi, 32);
    p = put(buf, base, p, lo, 32);
    this.f[fb + F_T] = t;
    // The window stays as `start` left it: none.
    i[ib + I_STATE] = (i[ib + I_STATE] & ~N_MASK) | 1;
    i[ib + I_V_HI] = hi | 0;
    i[ib + I_V_LO] = lo | 0;
    i[ib + I_BITS] = p + start;
  }

  // Writes the finished bytes of `slot`'s tail to the arena (taking room there first) and keeps the partial last
  // byte, if any, as the tail's first.
  private flush(slot: number): void {
    const i = this.i;
    const ib = slot * I_ROW;
    const from = i[ib + I_FLUSHED];
    const bits = i[ib + I_BITS];
    const done = bits >> 3;
    this.copyTail(slot, done);
    const tail = this.tail;
    const base = slot * TAIL_ROW;
    if ((bits & 7) !== 0) tail[base] = tail[base + done - from];
    i[ib + I_FLUSHED] = done;
  }

  // Copies `slot`'s tail up to the chunk's byte `end` to the arena, after its FLUSHED bytes there (with room made
  // for them).
  private copyTail(slot: number, end: number): void {
    const i = this.i;
    const ib = slot * I_ROW;
    if (end > i[ib + I_ROOM]) this.move(ib, end);
    const from = i[ib + I_FLUSHED];
    const addr = addressOf(i, ib);
    const page = this.arena.page(addr);
    const tail = this.tail;
    // Chunk byte k is at `off + k` in the page and at `base + k` in the tails.
    const off = ByteArena.offset(addr);
    const base = slot * TAIL_ROW - from;
    for (let k = from; k < end; k++) page[off + k] = tail[base + k];
  }

  // Gives the chunk of the slot whose integers start at `ib` an arena slot of at least `need` bytes, at least twice
  // its room (as a BitWriter grows) or the room `start` was asked for, with its flushed bytes; gives its old slot back.
  private move(ib: number, need: number): void {
    const i = this.i;
    const room = i[ib + I_ROOM];
    let cap = room > 0 ? room * 2 : -room;
    while (cap < need) cap *= 2;
    const arena = this.arena;
    const addr = arena.alloc(cap);
    if (room > 0) {
      const old = addressOf(i, ib);
      const from = ByteArena.offset(old);
      const flushed = i[ib + I_FLUSHED];
      arena.page(addr).set(arena.page(old).subarray(from, from + flushed), ByteArena.offset(addr));
      arena.free(old, room);
    }
    i[ib + I_ADDR] = addr / MIN_SLOT_BYTES;
    i[ib + I_ROOM] = ByteArena.slotSize(cap);
  }

  /** Samples in the chunk of `slot` (0 when empty). */
  numSamples(slot: number): number {
    return this.i[slot * I_ROW + I_STATE] & N_MASK;
  }

  /** Size of the chunk of `slot` in bytes, header included. */
  size(slot: number): number {
    return (this.i[slot * I_ROW + I_BITS] + 7) >> 3;
  }

  /**
   * The bytes of the chunk of `slot`: a view of its tail while the chunk fits there, else of the arena (its tail
   * copied there first); valid until the next `append` or `release` of it.
   */
  bytes(slot: number): Uint8Array {
    const i = this.i;
    const ib = slot * I_ROW;
    const length = (i[ib + I_BITS] + 7) >> 3;
    if (length === 0) return NO_BYTES;
    // The header (the sample count) is written here rather than at every append.
    const n = i[ib + I_STATE] & N_MASK;
    if (i[ib + I_FLUSHED] === 0) {
      const base = slot * TAIL_ROW;
      this.tail[base] = n >>> 8;
      this.tail[base + 1] = n & 0xff;
      return this.tail.subarray(base, base + length);
    }
    this.copyTail(slot, length);
    const addr = addressOf(i, ib);
    const off = ByteArena.offset(addr);
    const page = this.arena.page(addr);
    page[off] = n >>> 8;
    page[off + 1] = n & 0xff;
    return page.subarray(off, off + length);
  }

  /** Gives the bytes of the chunk of `slot` back to the arena and leaves the slot empty; no-op when empty. */
  release(slot: number): void {
    const ib = slot * I_ROW;
    if (this.i[ib + I_BITS] === 0) return;
    const room = this.i[ib + I_ROOM];
    if (room > 0) this.arena.free(addressOf(this.i, ib), room);
    this.i[ib + I_ROOM] = 0;
    this.i[ib + I_BITS] = 0;
    this.i[ib + I_STATE] = 0;
    this.i[ib + I_FLUSHED] = 0;
  }
}
