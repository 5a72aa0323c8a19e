// Many open XOR chunks without an object each: every chunk's appender state (sample count, previous time and
// delta, previous value bits, value window, where its bytes are) sits in typed arrays at the chunk's slot, and its
// bytes in a slot of a ByteArena. One appender is loaded with a slot's state, appends, and saves it back, so the
// encoding is XorAppender's own, bit for bit. A head's open chunks took three objects a series this way replaced (an
// appender, its bit writer, heap numbers for its times): about 230 bytes, against 56 of columns.

import { ByteArena, PAGE_BYTES } from "../encoding/byte-arena.ts";
import { HEADER_SIZE, NO_WINDOW, XorAppender } from "./xor.ts";

// Doubles of a slot: times can pass 2^31 ms. F_T is the time of the newest sample appended through the slot, kept
// when the slot's chunk is released or a new one started (a chunk's first sample does not read it), so that the slot's
// owner can keep its own newest sample time there (see `time`).
const F_T = 0;
const F_T_DELTA = 1;
const F_ROW = 2;
// Small integers of a slot (value bits as int32 halves; the arena address as its page and offset, see
// BitWriter.attach).
const I_N = 0;
const I_V_HI = 1;
const I_V_LO = 2;
const I_LEADING = 3;
const I_TRAILING = 4;
const I_LENGTH = 5;
const I_ROOM = 6;
const I_FREE = 7;
const I_PAGE = 8;
const I_OFFSET = 9;
const I_ROW = 10;

/** The arena address of the chunk of the slot whose integers start at `ib` in `i`. */
function addressOf(i: Int32Array, ib: number): number {
  return i[ib + I_PAGE] * PAGE_BYTES + i[ib + I_OFFSET];
}

/** Records the arena address `addr` in the slot whose integers start at `ib` in `i`. */
function setAddress(i: Int32Array, ib: number, addr: number): void {
  i[ib + I_PAGE] = Math.floor(addr / PAGE_BYTES);
  i[ib + I_OFFSET] = ByteArena.offset(addr);
}

/** The one appender that works on every slot in turn: XorAppender's encoding with its state loaded from a slot. */
class SlotAppender extends XorAppender {
  /** An appender over `arena`'s slots; it holds no bytes of its own. */
  constructor(arena: ByteArena) {
    super({ arena, capacity: HEADER_SIZE });
    this.release();
  }

  /** Appends (`t` ms, `v`) to the chunk of `slot` in `f`/`i`, as XorAppender.append does. */
  appendTo(f: Float64Array, i: Int32Array, slot: number, t: number, v: number): void {
    const fb = slot * F_ROW;
    const ib = slot * I_ROW;
    this.w.attach(i[ib + I_PAGE], i[ib + I_OFFSET], i[ib + I_ROOM], i[ib + I_LENGTH], i[ib + I_FREE]);
    this.n = i[ib + I_N];
    this.t = f[fb + F_T];
    this.tDelta = f[fb + F_T_DELTA];
    this.vHi = i[ib + I_V_HI];
    this.vLo = i[ib + I_V_LO];
    this.leading = i[ib + I_LEADING];
    this.trailing = i[ib + I_TRAILING];
    this.append(t, v);
    const w = this.w;
    // The slot moves only when the chunk outgrows it.
    if (w.room !== i[ib + I_ROOM]) {
      i[ib + I_PAGE] = w.slotPage;
      i[ib + I_OFFSET] = w.slotOffset;
      i[ib + I_ROOM] = w.room;
    }
    f[fb + F_T] = t;
    f[fb + F_T_DELTA] = this.tDelta;
    i[ib + I_LENGTH] = w.length;
    i[ib + I_FREE] = w.freeBits;
    i[ib + I_N] = this.n;
    i[ib + I_V_HI] = this.vHi;
    i[ib + I_V_LO] = this.vLo;
    i[ib + I_LEADING] = this.leading;
    i[ib + I_TRAILING] = this.trailing;
  }
}

/**
 * Open XOR chunks by slot number (0 up to `capacity`), their bytes in `arena`. A slot is empty (no chunk) until
 * `start`, and after `release`. Single-threaded; owned by one head, which hands out the slot numbers.
 */
export class XorSlots {
  private f = new Float64Array(0);
  private i = new Int32Array(0);

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
  private readonly arena: ByteArena;
  private readonly app: SlotAppender;

  /** Chunks in `arena`, room for `capacity` slots (see `grow`). */
  constructor(arena: ByteArena, capacity: number) {
    this.arena = arena;
    this.app = new SlotAppender(arena);
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
    f.set(this.f);
    i.set(this.i);
    this.f = f;
    this.i = i;
  }

  /** Starts an empty chunk in `slot` (which must be empty) with room for `bytes` in the arena. */
  start(slot: number, bytes: number): void {
    const room = ByteArena.slotSize(Math.max(HEADER_SIZE, bytes));
    const addr = this.arena.alloc(room);
    // The header: a sample count of 0.
    this.arena.page(addr).fill(0, ByteArena.offset(addr), ByteArena.offset(addr) + HEADER_SIZE);
    const fb = slot * F_ROW;
    const ib = slot * I_ROW;
    this.f[fb + F_T_DELTA] = 0;
    setAddress(this.i, ib, addr);
    this.i[ib + I_N] = 0;
    this.i[ib + I_V_HI] = 0;
    this.i[ib + I_V_LO] = 0;
    this.i[ib + I_LEADING] = NO_WINDOW;
    this.i[ib + I_TRAILING] = 0;
    this.i[ib + I_LENGTH] = HEADER_SIZE;
    this.i[ib + I_ROOM] = room;
    this.i[ib + I_FREE] = 0;
  }

  /** Appends the sample (`t` ms, `v`) to the chunk of `slot`, encoded as XorAppender.append encodes it. */
  append(slot: number, t: number, v: number): void {
    this.app.appendTo(this.f, this.i, slot, t, v);
  }

  /** Samples in the chunk of `slot` (0 when empty). */
  numSamples(slot: number): number {
    return this.i[slot * I_ROW + I_N];
  }

  /** Size of the chunk of `slot` in bytes, header included. */
  size(slot: number): number {
    return this.i[slot * I_ROW + I_LENGTH];
  }

  /** The bytes of the chunk of `slot`: a view of the arena, valid until the next `append` or `release` of it. */
  bytes(slot: number): Uint8Array {
    const ib = slot * I_ROW;
    const off = this.i[ib + I_OFFSET];
    return this.arena.page(addressOf(this.i, ib)).subarray(off, off + this.i[ib + I_LENGTH]);
  }

  /** Gives the bytes of the chunk of `slot` back to the arena and leaves the slot empty; no-op when empty. */
  release(slot: number): void {
    const ib = slot * I_ROW;
    const room = this.i[ib + I_ROOM];
    if (room === 0) return;
    this.arena.free(addressOf(this.i, ib), room);
    this.i[ib + I_ROOM] = 0;
    this.i[ib + I_LENGTH] = 0;
    this.i[ib + I_N] = 0;
  }
}
