import assert from "node:assert/strict";
import { test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { floatFromBits, floatHi, floatLo } from "../encoding/float-bits.ts";
import { numSamples, XorAppender, XorIterator } from "./xor.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A sample whose value is given by its bit pattern, so NaN payloads never pass through a plain JS array. */
type Bits = readonly [t: number, hi: number, lo: number];
const f = (t: number, v: number): Bits => [t, floatHi(v), floatLo(v)];

function encode(samples: readonly Bits[]): Uint8Array {
  const a = new XorAppender({ capacity: 8 });
  for (const [t, hi, lo] of samples) a.append(t, floatFromBits(hi, lo));
  return a.bytes().slice();
}

function decode(bytes: Uint8Array, it = new XorIterator()): Bits[] {
  it.reset(bytes);
  const out: Bits[] = [];
  while (it.next() === "float") out.push([it.atT(), floatHi(it.atV()), floatLo(it.atV())]);
  assert.equal(it.err(), null);
  return out;
}

// Expected bytes worked out by following Prometheus's xor.go step by step (header, varint first timestamp, raw first
// value, uvarint first delta, then delta-of-delta buckets and XOR values with window reuse).
const GOLDEN: { name: string; samples: Bits[]; hex: string }[] = [
  { name: "one sample", samples: [f(1000, 1)], hex: "0001d00f3ff0000000000000" },
  { name: "two equal values", samples: [f(1000, 1), f(16000, 1)], hex: "0002d00f3ff0000000000000987500" },
  {
    name: "scrape-like counter",
    samples: [1, 1, 2, 2, 3.5, 3.5, 100, -0].map((v, i) => f(1_700_000_000_000 + 15_000 * i, v)),
    hex: "000880a0abfef9623ff000000000000098753097ffc6c0b1a47aac08602c80",
  },
  {
    name: "every delta-of-delta bucket",
    samples: [
      f(0, 0),
      f(10, 1),
      f(30, 2),
      f(8222, 3),
      f(8222 + 8192 + 20, 4),
      f(100_000, 5),
      f(700_000, 6),
      f(700_000 + 9_000_000_000, 7),
      f(700_000 + 18_000_000_000 - 5, 8),
    ],
    hex: "00090000000000000000000ac457ff001584bfff3fd9b01c00a6b0be1265ada0f9f854b605f800000010c33f9204dffdea13c0",
  },
  {
    name: "bucket edges 8192 and -8191, then back in time",
    samples: [f(0, 0), f(100, 0), f(8392, 0), f(8492, 0), f(8693, 0), f(0, 0)],
    hex: "000600000000000000000064500037800100caddd420",
  },
  {
    name: "special values: StaleNaN, ±Inf, Go NaN, -0, denormal, all ones",
    samples: [
      [-5, 0x7ff00000, 2],
      f(-4, Number.POSITIVE_INFINITY),
      f(-3, Number.NEGATIVE_INFINITY),
      [-2, 0x7ff80000, 1],
      f(-1, -0),
      [0, 0x7ff00000, 2],
      [1, 0, 1],
      [2, 0xffffffff, 0xffffffff],
    ],
    hex: "0008097ff000000000000201ff000000000b003600200200000000000057ffc000000000000afff00000000000024ffe0000000000006bfffffffffffffff8",
  },
  {
    name: "negative first delta (10-byte uvarint) and a zero delta",
    samples: [f(1000, 1.5), f(990, 1.25), f(995, 1.25), f(995, 1.25)],
    hex: "0004d00f3ff8000000000000f6ffffffffffffffff01d817001ebffb00",
  },
];

test("XOR chunks are byte-identical to Prometheus's", () => {
  for (const g of GOLDEN) {
    const bytes = encode(g.samples);
    assert.equal(hex(bytes), g.hex, g.name);
    assert.equal(numSamples(bytes), g.samples.length, g.name);
    assert.deepEqual(decode(bytes), g.samples, `${g.name}: decode`);
  }
});

test("numSamples reads a chunk's header where it lies in a larger buffer", () => {
  const [a, b] = [encode(GOLDEN[0].samples), encode(GOLDEN[GOLDEN.length - 1].samples)];
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  assert.equal(numSamples(both), GOLDEN[0].samples.length);
  assert.equal(numSamples(both, a.length), GOLDEN[GOLDEN.length - 1].samples.length);
});

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

test("random and adversarial series round trip exactly", () => {
  const rnd = lcg(7);
  const series: { name: string; samples: Bits[] }[] = [];
  const gen = (name: string, n: number, tf: (i: number, prev: number) => number, vf: (i: number) => Bits) => {
    const samples: Bits[] = [];
    let t = 0;
    for (let i = 0; i < n; i++) {
      t = tf(i, t);
      const [, hi, lo] = vf(i);
      samples.push([t, hi, lo]);
    }
    series.push({ name, samples });
  };
  const start = 1_700_000_000_000;
  gen(
    "jittered gauge",
    240,
    (i) => start + i * 15_000 + Math.floor(rnd() * 40) - 20,
    () => f(0, rnd() * 100),
  );
  gen(
    "counter",
    120,
    (i) => start + i * 15_000,
    (i) => f(0, i * 17 + Math.floor(rnd() * 5)),
  );
  gen(
    "random bits",
    300,
    (i, p) => (i === 0 ? -1e12 : p + Math.floor(rnd() * 2 ** 40) - 2 ** 39),
    () => [0, Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * 2 ** 32)],
  );
  gen(
    "huge deltas",
    50,
    (i) => (i % 2 === 0 ? -(2 ** 50) + i : 2 ** 50 - i),
    () => f(0, 1),
  );
  gen(
    "equal timestamps",
    130,
    () => 42,
    (i) => f(0, i % 3),
  );
  gen(
    "single bit flips",
    128,
    (i) => i,
    (i) => {
      if (i < 32) return [0, 0, 2 ** i];
      if (i < 64) return [0, 2 ** (i - 32), 0];
      return [0, 2 ** (i % 32), 2 ** ((i * 7) % 32)];
    },
  );
  gen(
    "alternating specials",
    200,
    (i) => start + i * 1000,
    (i) => {
      switch (i % 6) {
        case 0:
          return [0, 0x7ff00000, 2];
        case 1:
          return f(0, Number.POSITIVE_INFINITY);
        case 2:
          return f(0, -0);
        case 3:
          return [0, 0x7ff80000, 1];
        case 4:
          return f(0, Number.NEGATIVE_INFINITY);
        default:
          return f(0, Number.MIN_VALUE);
      }
    },
  );
  gen(
    "long constant",
    1000,
    (i) => i * 60_000,
    () => f(0, 3.25),
  );
  const it = new XorIterator();
  for (const s of series) {
    const bytes = encode(s.samples);
    assert.equal(numSamples(bytes), s.samples.length, s.name);
    assert.deepEqual(decode(bytes, it), s.samples, s.name);
  }
});

test("StaleNaN keeps its exact bits; its quieted form is written as the real marker", () => {
  const a = new XorAppender();
  a.append(1, floatFromBits(0x7ff00000, 2));
  a.append(2, floatFromBits(0x7ff80000, 2));
  const it = new XorIterator(a.bytes());
  for (const t of [1, 2]) {
    assert.equal(it.next(), "float");
    assert.equal(it.atT(), t);
    assert.deepEqual([floatHi(it.atV()), floatLo(it.atV())], [0x7ff00000, 2]);
  }
  assert.equal(it.next(), "none");
});

test("seek moves forward only and stops at the end", () => {
  const samples = Array.from({ length: 150 }, (_, i) => f(i * 10, i));
  const bytes = encode(samples);
  const it = new XorIterator(bytes);
  assert.equal(it.seek(-100), "float");
  assert.equal(it.atT(), 0);
  assert.equal(it.seek(55), "float");
  assert.equal(it.atT(), 60);
  assert.equal(it.seek(20), "float");
  assert.equal(it.atT(), 60, "seeking backwards stays");
  assert.equal(it.seek(60), "float");
  assert.equal(it.atV(), 6);
  assert.equal(it.next(), "float");
  assert.equal(it.atT(), 70);
  assert.equal(it.seek(1490), "float");
  assert.equal(it.atV(), 149);
  assert.equal(it.seek(1491), "none");
  assert.equal(it.seek(0), "none", "exhausted stays exhausted");
  assert.equal(it.next(), "none");
  it.reset(bytes);
  assert.equal(it.seek(1500), "none");
});

test("empty, truncated and corrupt chunks", () => {
  const empty = new XorAppender();
  assert.equal(hex(empty.bytes()), "0000");
  assert.equal(new XorIterator(empty.bytes()).next(), "none");
  assert.equal(new XorIterator().next(), "none");

  const short = new XorIterator(Uint8Array.of(1));
  assert.equal(short.next(), "none");
  assert.notEqual(short.err(), null);

  const bytes = encode(Array.from({ length: 20 }, (_, i) => f(i * 1000 + (i % 3), i * 1.1)));
  const cut = new XorIterator(bytes.subarray(0, bytes.length - 4));
  let n = 0;
  while (cut.next() === "float") n++;
  assert.ok(n < 20);
  assert.match(cut.err() ?? "", /truncated/);

  // Header claims more samples than the stream holds.
  const lying = bytes.slice();
  lying[1] = 200;
  const li = new XorIterator(lying);
  while (li.next() === "float");
  assert.notEqual(li.err(), null);
});

test("resume continues a chunk exactly as one appender would", () => {
  const rnd = lcg(99);
  const samples = Array.from({ length: 130 }, (_, i) => f(1_000_000 + i * 15_000 + Math.floor(rnd() * 10), rnd()));
  const whole = encode(samples);
  for (const cut of [1, 2, 3, 64, 129]) {
    const first = encode(samples.slice(0, cut));
    const a = XorAppender.resume(first);
    assert.equal(a.numSamples, cut);
    for (const [t, hi, lo] of samples.slice(cut)) a.append(t, floatFromBits(hi, lo));
    assert.deepEqual(decode(a.bytes()), samples, `cut ${cut}`);
    // After one sample no value window exists yet; like Prometheus, the reopened appender then starts from the
    // full 64-bit window, so only later cuts reproduce the uninterrupted bytes.
    if (cut > 1) assert.equal(hex(a.bytes()), hex(whole), `cut ${cut}`);
    else assert.ok(a.size > whole.length, "cut 1 uses the wide window");
  }
  // Bytes Prometheus writes when it reopens a one-sample chunk and appends 2 then 3.
  const reopened = XorAppender.resume(encode([f(1000, 1)]));
  reopened.append(2000, 2);
  reopened.append(3000, 3);
  assert.equal(hex(reopened.bytes()), "0003d00f3ff0000000000000e8079ffc000000000000100040000000000000");
  assert.equal(hex(encode([f(1000, 1), f(2000, 2), f(3000, 3)])), "0003d00f3ff0000000000000e807c25fff6c06");
  assert.equal(XorAppender.resume(Uint8Array.of(0, 0)).numSamples, 0);
  assert.throws(
    () => XorAppender.resume(Uint8Array.of(0, 5, 1)),
    (e) => isContrailError(e, "corruption"),
  );
});

test("an appender refuses a 65536th sample", () => {
  const a = new XorAppender();
  for (let i = 0; i < 65535; i++) a.append(i, 0);
  assert.equal(numSamples(a.bytes()), 65535);
  assert.throws(
    () => a.append(65535, 0),
    (e) => isContrailError(e, "too_large"),
  );
});
