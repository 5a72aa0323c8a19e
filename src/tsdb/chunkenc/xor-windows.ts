// XOR chunks written in one go (blocks) with their value windows planned. A value that differs from the previous one
// is written as the XOR of the two, either inside the current window of meaningful bits ('10' + the window's width
// in bits) or in a new window ('11' + 5 bits of leading zeros + 6 bits of width + the bits). Prometheus's appender
// reuses the window whenever the value fits and otherwise opens the value's exact window, so a window only shrinks
// when a value does not fit, and one wide XOR (a carry through many bits of a counter) widens every later value of
// the chunk. The format lets the writer choose: readers follow the control bits. Knowing the samples ahead, this
// writer looks HORIZON values ahead at each new window and, every RECONSIDER_EVERY values, at whether a narrower
// window would pay for its 11 extra bits. The chunk decodes to the same samples; only its size changes.

import { floatHi, floatLo, STALE_NAN_HI, STALE_NAN_LO } from "../encoding/float-bits.ts";
import { XorAppender } from "./xor.ts";

/** Values looked ahead when choosing a window. */
const HORIZON = 16;
/** A window that still fits is reconsidered every this many values. */
const RECONSIDER_EVERY = 8;
/** Control bits of a value in the current window ('10'). */
const REUSE_BITS = 2;
/** Control and window bits of a value opening a window ('11', 5 bits of leading zeros, 6 of width). */
const OPEN_BITS = 13;
/** Most leading zeros a window can state (5 bits). */
const MAX_LEADING = 31;
/** Marks a value equal to the previous one (a single 0 bit, no window). */
const SAME = -1;

/**
 * The leading and trailing zero counts of each value's XOR with the one before (SAME when equal), leading capped
 * as the format caps it. Value bits are taken as the appender writes them (the quiet staleness marker as the real
 * one).
 */
function xorWindows(vs: ArrayLike<number>, from: number, n: number): { lead: Int8Array; trail: Int8Array } {
  const lead = new Int8Array(n);
  const trail = new Int8Array(n);
  let pHi = 0;
  let pLo = 0;
  for (let i = 0; i < n; i++) {
    let hi = floatHi(vs[from + i]);
    const lo = floatLo(vs[from + i]);
    if (hi === 0x7ff80000 && lo === STALE_NAN_LO) hi = STALE_NAN_HI;
    const dHi = (hi ^ pHi) >>> 0;
    const dLo = (lo ^ pLo) >>> 0;
    pHi = hi;
    pLo = lo;
    if (i === 0 || (dHi === 0 && dLo === 0)) {
      lead[i] = SAME;
      continue;
    }
    lead[i] = Math.min(MAX_LEADING, dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo));
    trail[i] = dLo !== 0 ? 31 - Math.clz32(dLo & -dLo) : 32 + (31 - Math.clz32(dHi & -dHi));
  }
  return { lead, trail };
}

/**
 * An XOR chunk of the samples `ts[from, to)` (ms, increasing) and `vs[from, to)`, at most 65535 of them, with value
 * windows planned ahead (see the module comment). The bytes are the caller's.
 */
export function encodeXorPlanned(ts: ArrayLike<number>, vs: ArrayLike<number>, from: number, to: number): Uint8Array {
  const n = to - from;
  const { lead, trail } = xorWindows(vs, from, n);
  // Bits the values [i, i + HORIZON) cost starting in window (wl, wt), written as Prometheus writes them.
  const run = (i: number, wl: number, wt: number): number => {
    let bits = 0;
    const end = Math.min(n, i + HORIZON);
    for (let k = i; k < end; k++) {
      const l = lead[k];
      if (l === SAME) bits += 1;
      else if (l >= wl && trail[k] >= wt) bits += REUSE_BITS + 64 - wl - wt;
      else {
        wl = l;
        wt = trail[k];
        bits += OPEN_BITS + 64 - wl - wt;
      }
    }
    return bits;
  };
  const app = new XorAppender({ capacity: 2 + n * 2 });
  let wl = -1;
  let wt = 0;
  for (let i = 0; i < n; i++) {
    const t = ts[from + i];
    const v = vs[from + i];
    const l = lead[i];
    const fits = l !== SAME && wl >= 0 && l >= wl && trail[i] >= wt;
    if (l === SAME || (fits && i % RECONSIDER_EVERY !== 0)) {
      app.append(t, v);
      continue;
    }
    // Candidate windows: the union of the windows of the next 1, 2, 4, ... values (each holds this value).
    let bestL = l;
    let bestT = trail[i];
    let bestBits = Number.POSITIVE_INFINITY;
    let ul = l;
    let ut = trail[i];
    for (let m = 1; m <= HORIZON && i + m - 1 < n; m++) {
      const k = i + m - 1;
      if (lead[k] !== SAME) {
        ul = Math.min(ul, lead[k]);
        ut = Math.min(ut, trail[k]);
      }
      if ((m & (m - 1)) !== 0) continue;
      const bits = OPEN_BITS + 64 - ul - ut + run(i + 1, ul, ut);
      if (bits < bestBits) {
        bestBits = bits;
        bestL = ul;
        bestT = ut;
      }
    }
    if (fits && REUSE_BITS + 64 - wl - wt + run(i + 1, wl, wt) <= bestBits) {
      app.append(t, v);
      continue;
    }
    wl = bestL;
    wt = bestT;
    app.append(t, v, (wl << 6) | wt);
  }
  return app.bytes().slice();
}
