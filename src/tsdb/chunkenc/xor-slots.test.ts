import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteArena } from "../encoding/byte-arena.ts";
import { STALE_NAN_HI, STALE_NAN_LO } from "../encoding/float-bits.ts";
import { XorAppender, XorIterator } from "./xor.ts";
import { XorSlots } from "./xor-slots.ts";

const STALE = new Float64Array(new Uint32Array([STALE_NAN_LO, STALE_NAN_HI]).buffer)[0];

// Samples of one of several kinds of series: jittered counters, gauges with wide values, staleness markers,
// irregular gaps (every delta-of-delta bucket) and negative deltas.
function sample(kind: number, i: number): [number, number] {
  const base = 1_700_000_000_000;
  switch (kind % 5) {
    case 0:
      return [base + i * 15_000 + (i % 7), i * 3 + (i % 4)];
    case 1:
      return [base + i * 15_000, Math.sin(i) * 1e12];
    case 2:
      return [base + i * 10_000, i % 9 === 8 ? STALE : i / 3];
    case 3:
      return [base + i * 1_000 + (i % 3) * 700_000 + (i % 11) * 70_000_000, -i];
    default:
      return [base - i * 5_000, 2 ** (i % 60)];
  }
}

test("chunks appended through slots are byte for byte the chunks of appenders of their own", () => {
  const arena = new ByteArena();
  const slots = new XorSlots(arena, 2);
  const own: XorAppender[] = [];
  const count = 10;
  slots.grow(count);
  assert.equal(slots.capacity, count);
  for (let s = 0; s < count; s++) {
    slots.start(s, 32);
    own.push(new XorAppender());
    assert.equal(slots.numSamples(s), 0);
    assert.deepEqual(slots.bytes(s), own[s].bytes());
  }
  // Interleaved, as a head appends a sample to every series in turn: slots move in the arena as they grow.
  for (let i = 0; i < 300; i++) {
    for (let s = 0; s < count; s++) {
      const [t, v] = sample(s, i);
      slots.append(s, t, v);
      own[s].append(t, v);
    }
  }
  for (let s = 0; s < count; s++) {
    assert.equal(slots.numSamples(s), 300);
    assert.equal(slots.size(s), own[s].size);
    assert.deepEqual(slots.bytes(s), own[s].bytes(), `slot ${s}`);
  }
  for (let s = 0; s < count; s++) slots.release(s);
  assert.equal(arena.usedBytes, 0);
});

test("a released slot starts a new chunk from scratch; growing keeps the chunks", () => {
  const arena = new ByteArena();
  const slots = new XorSlots(arena, 1);
  slots.start(0, 32);
  for (let i = 0; i < 50; i++) slots.append(0, ...sample(1, i));
  slots.grow(1000);
  const ref = new XorAppender();
  for (let i = 0; i < 50; i++) ref.append(...sample(1, i));
  assert.deepEqual(slots.bytes(0), ref.bytes());
  slots.release(0);
  slots.release(0);
  assert.equal(slots.numSamples(0), 0);
  slots.start(0, 0);
  const again = new XorAppender();
  for (let i = 0; i < 5; i++) {
    slots.append(0, ...sample(0, i));
    again.append(...sample(0, i));
  }
  assert.deepEqual(slots.bytes(0), again.bytes());
  slots.release(0);
  assert.equal(arena.usedBytes, 0);
});

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

const bitsView = new DataView(new ArrayBuffer(8));

/** The float64 of the bit pattern `hi:lo`. */
function fromBits(hi: number, lo: number): number {
  bitsView.setUint32(0, hi);
  bitsView.setUint32(4, lo);
  return bitsView.getFloat64(0);
}

// A value of one of many kinds: repeats, small integers, decimals, wide random bit patterns, NaNs with payloads,
// the staleness marker (also in its quieted form), infinities, signed zeros and subnormals.
function randomValue(rnd: () => number, prev: number): number {
  const r = rnd();
  if (r < 0.15) return prev;
  if (r < 0.3) return Math.floor(rnd() * 1000);
  if (r < 0.45) return Math.round(rnd() * 1e6) / 1000;
  if (r < 0.6) return fromBits((rnd() * 0x1_0000_0000) >>> 0, (rnd() * 0x1_0000_0000) >>> 0);
  if (r < 0.65) return STALE;
  if (r < 0.68) return fromBits(0x7ff80000, STALE_NAN_LO);
  if (r < 0.71) return fromBits(0x7ff80000 | ((rnd() * 0x80000) >>> 0), (rnd() * 0x1_0000_0000) >>> 0);
  if (r < 0.74) return Number.NaN;
  if (r < 0.77) return rnd() < 0.5 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  if (r < 0.8) return rnd() < 0.5 ? 0 : -0;
  if (r < 0.83) return fromBits(0, ((rnd() * 0x1_0000_0000) >>> 0) | 1);
  return prev + (rnd() - 0.5) * 2 ** Math.floor(rnd() * 60);
}

/** Deltas of delta at the edges of the format's buckets (14, 17, 20 bits and 64). */
const EDGES = [-8192, -8191, 8192, 8193, -65536, -65535, 65536, 65537, -524288, -524287, 524288, 524289];

// The gap to the next sample: mostly a scrape interval with jitter, sometimes a delta of delta in each of the
// format's buckets, past them (64 bits), zero or negative, as wide as the format's range.
function randomGap(rnd: () => number): number {
  const r = rnd();
  if (r < 0.5) return 15_000;
  if (r < 0.65) return 15_000 + Math.floor(rnd() * 20) - 10;
  if (r < 0.72) return Math.floor(rnd() * 16_000);
  if (r < 0.78) return Math.floor(rnd() * 130_000);
  if (r < 0.84) return Math.floor(rnd() * 1_000_000);
  if (r < 0.9) return Math.floor(rnd() * 2 ** 40);
  if (r < 0.95) return -Math.floor(rnd() * 2 ** 40);
  return rnd() < 0.5 ? 0 : Math.floor((rnd() - 0.5) * 2 ** 50);
}

test("on random samples, slots write the bytes an XorAppender writes, whatever the arena held before", () => {
  for (let seed = 1; seed <= 4; seed++) {
    const rnd = lcg(seed);
    const arena = new ByteArena();
    // Garbage where the chunks will be: every slot handed out later was filled with ones first.
    const junk: number[] = [];
    for (let k = 0; k < 400; k++) {
      const bytes = 32 << (k % 6);
      const addr = arena.alloc(bytes);
      arena.page(addr).fill(0xff, ByteArena.offset(addr), ByteArena.offset(addr) + bytes);
      junk.push(addr, bytes);
    }
    for (let k = 0; k < junk.length; k += 2) arena.free(junk[k], junk[k + 1]);
    const count = 40;
    const slots = new XorSlots(arena, count);
    const own: XorAppender[] = [];
    const times: number[] = [];
    const gaps: number[] = [];
    const values: number[] = [];
    for (let s = 0; s < count; s++) {
      slots.start(s, 32);
      own.push(new XorAppender());
      times.push(Math.floor((rnd() - 0.5) * 2 ** 52));
      gaps.push(0);
      values.push(0);
    }
    for (let i = 0; i < 6000; i++) {
      const s = Math.floor(rnd() * count);
      // Short chunks too, so that first and second samples come often.
      if (rnd() < 0.01) {
        assert.deepEqual(slots.bytes(s), own[s].bytes(), `seed ${seed}, slot ${s} before its restart`);
        slots.release(s);
        slots.start(s, 32 << Math.floor(rnd() * 4));
        own[s] = new XorAppender();
      }
      const gap = rnd() < 0.1 ? gaps[s] + EDGES[Math.floor(rnd() * EDGES.length)] : randomGap(rnd);
      const t = Math.max(-(2 ** 52), Math.min(2 ** 52, times[s] + gap));
      gaps[s] = t - times[s];
      const v = randomValue(rnd, values[s]);
      times[s] = t;
      values[s] = v;
      slots.append(s, t, v);
      own[s].append(t, v);
    }
    for (let s = 0; s < count; s++) {
      assert.equal(slots.numSamples(s), own[s].numSamples);
      assert.deepEqual(slots.bytes(s), own[s].bytes(), `seed ${seed}, slot ${s}`);
      const it = new XorIterator(slots.bytes(s).slice());
      let n = 0;
      while (it.next() !== "none") n++;
      assert.equal(it.err(), null);
      assert.equal(n, own[s].numSamples);
      slots.release(s);
    }
    assert.equal(arena.usedBytes, 0);
  }
});

test("reading an empty slot's bytes writes nothing into the arena", () => {
  const arena = new ByteArena();
  const slots = new XorSlots(arena, 4);
  // Slots 0 and 1 take the arena's first two 32-byte slots; once released, they merge into the slot that slot 2
  // then takes (with room to grow in place), so that slot 1's stale address points into the middle of slot 2's chunk
  // (slot 3 was never started).
  slots.start(0, 32);
  slots.start(1, 32);
  slots.release(0);
  slots.release(1);
  slots.start(2, 256);
  const ref = new XorAppender();
  for (let i = 0; i < 20; i++) {
    slots.append(2, ...sample(1, i));
    ref.append(...sample(1, i));
  }
  assert.ok(slots.size(2) > 40);
  for (const empty of [0, 1, 3]) assert.equal(slots.bytes(empty).length, 0);
  assert.deepEqual(slots.bytes(2), ref.bytes());
});

test("a chunk that fits its tail takes no arena room; its bytes read after every append are the encoder's", () => {
  const arena = new ByteArena();
  const slots = new XorSlots(arena, 3);
  const own = [new XorAppender(), new XorAppender(), new XorAppender()];
  for (let s = 0; s < 3; s++) slots.start(s, 32);
  // Slot 0: a constant series, a few bytes a chunk; slots 1 and 2: wide values, flushed to the arena every few
  // samples, their bytes read (the tail copied after the flushed bytes) between appends.
  const base = 1_700_000_000_000;
  for (let i = 0; i < 4; i++) {
    slots.append(0, base + i * 15_000, 1);
    own[0].append(base + i * 15_000, 1);
  }
  assert.equal(arena.usedBytes, 0);
  assert.deepEqual(slots.bytes(0), own[0].bytes());
  for (let i = 0; i < 200; i++) {
    for (const s of [1, 2]) {
      const [t, v] = sample(s === 1 ? 1 : 4, i);
      slots.append(s, t, v);
      own[s].append(t, v);
      if (s === 1 || i % 7 === 0) assert.deepEqual(slots.bytes(s), own[s].bytes(), `slot ${s} after sample ${i}`);
    }
  }
  assert.ok(arena.usedBytes > 0);
  assert.deepEqual(slots.bytes(2), own[2].bytes());
  for (let s = 0; s < 3; s++) slots.release(s);
  assert.equal(arena.usedBytes, 0);
  assert.equal(slots.bytes(0).length, 0);
});

test("chunks in the arena's later pages keep their bytes (addresses past the first page)", () => {
  const arena = new ByteArena();
  const count = 2_000;
  const slots = new XorSlots(arena, count);
  const own: XorAppender[] = [];
  for (let s = 0; s < count; s++) {
    slots.start(s, 32);
    own.push(new XorAppender());
  }
  for (let i = 0; i < 120; i++) {
    for (let s = 0; s < count; s++) {
      const [t, v] = sample(s % 2 === 0 ? 1 : 4, i + s);
      slots.append(s, t, v);
      own[s].append(t, v);
    }
  }
  assert.ok(arena.usedBytes > 4 * 256 * 1024, `${arena.usedBytes} bytes in the arena`);
  for (let s = 0; s < count; s++) assert.deepEqual(slots.bytes(s), own[s].bytes(), `slot ${s}`);
  for (let s = 0; s < count; s++) slots.release(s);
  assert.equal(arena.usedBytes, 0);
});
