import assert from "node:assert/strict";
import { test } from "node:test";
import { SampleBuffer, STALE_NAN } from "../../model/sample.ts";
import { floatFromBits, floatHi, floatLo } from "../encoding/float-bits.ts";
import { XorAppender, XorIterator } from "./xor.ts";
import { XorBatchDecoder } from "./xor-batch.ts";
import { encodeXorPlanned } from "./xor-windows.ts";

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

interface Decoded {
  samples: string[];
  error: string | null;
  stoppedAt: number;
}

// A sample as text with its value's bit pattern, so NaN payloads and -0 compare exactly.
const text = (t: number, v: number) => `${t}:${floatHi(v).toString(16)}:${floatLo(v).toString(16)}`;

function byIterator(bytes: Uint8Array, stopT: number): Decoded {
  const it = new XorIterator(bytes);
  const samples: string[] = [];
  while (it.next() === "float") {
    if (it.atT() > stopT) return { samples, error: null, stoppedAt: it.atT() };
    samples.push(text(it.atT(), it.atV()));
  }
  return { samples, error: it.err(), stoppedAt: Number.NaN };
}

function byBatch(bytes: Uint8Array, stopT: number, dec = new XorBatchDecoder()): Decoded {
  const out = new SampleBuffer(1);
  out.push(-1, -1); // decoding appends after what the buffer holds
  dec.decode(bytes, out, stopT);
  assert.equal(out.t[0], -1);
  const samples: string[] = [];
  for (let i = 1; i < out.n; i++) samples.push(text(out.t[i], out.v[i]));
  return { samples, error: dec.error, stoppedAt: dec.stoppedAt };
}

// Values that exercise every XOR case: repeats, window reuse, new windows, specials (the staleness marker, NaN
// payloads, infinities, -0, denormals), and timestamps with every delta-of-delta bucket, negative ones included.
function randomChunk(rnd: () => number, n: number): Uint8Array {
  const a = new XorAppender();
  let t = Math.floor(rnd() * 2e12) - 1e12;
  let v = 0;
  const specials = [
    floatFromBits(0x7ff00000, 2),
    floatFromBits(0x7ff80000, 1),
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    5e-324,
    floatFromBits(0xffffffff, 0xffffffff),
  ];
  const steps = [0, 0, 0, 15_000, 15_001, 14_000, 8192, -8191, 60_000, 600_000, 9_000_000_000, -5];
  let step = 15_000;
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.3) v += 1;
    else if (r < 0.45) v = Math.floor(rnd() * 1000) / 8;
    else if (r < 0.55) v = specials[Math.floor(rnd() * specials.length)];
    else if (r < 0.7) v = rnd() * 1e6;
    step += steps[Math.floor(rnd() * steps.length)] * (rnd() < 0.8 ? 0 : 1);
    t += step;
    a.append(t, v);
  }
  return a.bytes().slice();
}

test("batch decoding gives XorIterator's samples, bits and stop point", () => {
  const rnd = lcg(11);
  const dec = new XorBatchDecoder();
  for (let trial = 0; trial < 400; trial++) {
    const bytes = randomChunk(rnd, 1 + Math.floor(rnd() * 150));
    const whole = byIterator(bytes, Number.POSITIVE_INFINITY);
    assert.deepEqual(byBatch(bytes, Number.POSITIVE_INFINITY, dec), whole);
    // Stop somewhere inside the chunk.
    const some = whole.samples[Math.floor(rnd() * whole.samples.length)];
    const stopT = Number(some.split(":")[0]) + (rnd() < 0.5 ? 0 : -1);
    assert.deepEqual(byBatch(bytes, stopT, dec), byIterator(bytes, stopT));
  }
});

test("truncated and damaged chunks end at the same sample with the same error", () => {
  const rnd = lcg(5);
  const dec = new XorBatchDecoder();
  let errors = 0;
  for (let trial = 0; trial < 600; trial++) {
    const good = randomChunk(rnd, 2 + Math.floor(rnd() * 60));
    const bytes = good.slice(0, Math.floor(rnd() * (good.length + 1)));
    // Flip a few bits past the header now and then.
    if (rnd() < 0.5 && bytes.length > 3) {
      for (let k = 0; k < 3; k++) {
        const i = 2 + Math.floor(rnd() * (bytes.length - 2));
        bytes[i] ^= 1 << Math.floor(rnd() * 8);
      }
    }
    const want = byIterator(bytes, Number.POSITIVE_INFINITY);
    if (want.error !== null) errors++;
    assert.deepEqual(byBatch(bytes, Number.POSITIVE_INFINITY, dec), want);
  }
  assert.ok(errors > 100, `only ${errors} damaged chunks decoded with an error`);
});

test("empty and header-only chunks", () => {
  const cases: { name: string; bytes: number[]; error: string | null }[] = [
    { name: "no bytes", bytes: [], error: "XOR chunk shorter than its header" },
    { name: "one byte", bytes: [0], error: "XOR chunk shorter than its header" },
    { name: "zero samples", bytes: [0, 0], error: null },
    { name: "a sample announced, none present", bytes: [0, 1], error: "XOR chunk truncated after 0 of 1 samples" },
  ];
  for (const c of cases) {
    const got = byBatch(new Uint8Array(c.bytes), Number.POSITIVE_INFINITY);
    assert.deepEqual(got, { samples: [], error: c.error, stoppedAt: Number.NaN }, c.name);
  }
});

test("a decode that reports increasing times appended them in strictly increasing order", () => {
  const rnd = lcg(23);
  const dec = new XorBatchDecoder();
  const seen = { increasing: 0, not: 0 };
  for (let trial = 0; trial < 400; trial++) {
    // Half of the chunks step back or stand still once, anywhere (the first delta too), sometimes by a large amount.
    const a = new XorAppender();
    const n = 2 + Math.floor(rnd() * 150);
    const back = rnd() < 0.5 ? Math.floor(rnd() * n) : -1;
    let t = 1_700_000_000_000;
    for (let i = 0; i < n; i++) {
      t += i === back ? -Math.floor(rnd() * 3) * (rnd() < 0.5 ? 1 : 1e9) : 15_000 + Math.floor(rnd() * 3) * 1000;
      a.append(t, rnd() * 100);
    }
    const bytes = a.bytes().slice();
    const out = new SampleBuffer(1);
    dec.decode(bytes, out, Number.POSITIVE_INFINITY);
    let strictly = true;
    for (let i = 1; i < out.n; i++) if (out.t[i] <= out.t[i - 1]) strictly = false;
    if (dec.increasing) {
      seen.increasing++;
      assert.ok(strictly, `trial ${trial}: reported increasing, but its times are not`);
    } else seen.not++;
  }
  // Both kinds of chunk occur, so the report is not trivially one or the other.
  assert.ok(seen.increasing > 100 && seen.not > 100, JSON.stringify(seen));
});

test("counters scraped at a regular interval (value bits in the delta's word) decode as XorIterator's", () => {
  const rnd = lcg(31);
  const dec = new XorBatchDecoder();
  for (let trial = 0; trial < 200; trial++) {
    const a = new XorAppender();
    // Magnitudes from small integers to large ones and fractions, so the changed bits sit anywhere in either half.
    let v = Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * 12))) / (rnd() < 0.3 ? 4 : 1);
    const inc = Math.floor(rnd() * 10 ** Math.floor(rnd() * 6));
    for (let i = 0; i < 1 + Math.floor(rnd() * 240); i++) {
      a.append(1_700_000_000_000 + i * 15_000, v);
      v += rnd() < 0.9 ? inc : Math.floor(rnd() * 3 * inc);
    }
    const bytes = a.bytes().slice();
    assert.deepEqual(byBatch(bytes, Number.POSITIVE_INFINITY, dec), byIterator(bytes, Number.POSITIVE_INFINITY));
  }
});

test("regular counters and constants cut at every byte end where XorIterator ends them, with its error", () => {
  const rnd = lcg(37);
  const dec = new XorBatchDecoder();
  for (let trial = 0; trial < 12; trial++) {
    const a = new XorAppender();
    // Constant series (every sample '0', '0'), counters with small steps, and both mixed.
    const inc = trial % 3 === 0 ? 0 : 1 + Math.floor(rnd() * 100);
    let v = 1000 + Math.floor(rnd() * 100_000);
    for (let i = 0; i < 241; i++) {
      a.append(1_700_000_000_000 + i * 15_000, v);
      if (trial % 3 !== 2 || rnd() < 0.5) v += inc;
    }
    const good = a.bytes().slice();
    // Alone (read from the decoder's copy), and followed by one bits in a larger buffer (read where it lies).
    const host = new Uint8Array(good.length + 64).fill(0xff);
    for (let len = 0; len <= good.length; len++) {
      const bytes = good.slice(0, len);
      const want = byIterator(bytes, Number.POSITIVE_INFINITY);
      assert.deepEqual(byBatch(bytes, Number.POSITIVE_INFINITY, dec), want);
      host.set(bytes);
      assert.deepEqual(byBatch(host.subarray(0, len), Number.POSITIVE_INFINITY, dec), want);
      host.fill(0xff, 0, len);
    }
  }
});

test("chunks with planned windows (as blocks hold them) decode as XorIterator's, stopped anywhere", () => {
  const rnd = lcg(41);
  const dec = new XorBatchDecoder();
  for (let trial = 0; trial < 100; trial++) {
    const n = 1 + Math.floor(rnd() * 240);
    const ts: number[] = [];
    const vs: number[] = [];
    let v = Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * 14)));
    const inc = Math.floor(rnd() * 10 ** Math.floor(rnd() * 5));
    for (let i = 0; i < n; i++) {
      ts.push(1_700_000_000_000 + i * 15_000 + (rnd() < 0.1 ? Math.floor(rnd() * 2000) : 0));
      vs.push(rnd() < 0.02 ? STALE_NAN : v);
      v += rnd() < 0.8 ? inc : Math.floor(rnd() * 50 * (inc + 1));
    }
    const bytes = encodeXorPlanned(ts, vs, 0, n);
    assert.deepEqual(byBatch(bytes, Number.POSITIVE_INFINITY, dec), byIterator(bytes, Number.POSITIVE_INFINITY));
    const stopT = ts[Math.floor(rnd() * n)] - (rnd() < 0.5 ? 0 : 1);
    assert.deepEqual(byBatch(bytes, stopT, dec), byIterator(bytes, stopT));
  }
});

test("a chunk read where it lies in a larger buffer decodes as alone, whatever bytes follow it", () => {
  const rnd = lcg(43);
  const dec = new XorBatchDecoder();
  for (let trial = 0; trial < 400; trial++) {
    const good = randomChunk(rnd, 1 + Math.floor(rnd() * 150));
    // Whole, cut short, or with a bit flipped: the bytes after the end must not change where decoding stops.
    const bytes = rnd() < 0.5 ? good : good.slice(0, Math.floor(rnd() * (good.length + 1)));
    if (bytes.length > 3 && rnd() < 0.3) bytes[2 + Math.floor(rnd() * (bytes.length - 2))] ^= 1 << (trial % 8);
    const at = Math.floor(rnd() * 100);
    const host = new Uint8Array(at + bytes.length + 40 + Math.floor(rnd() * 100));
    for (let i = 0; i < host.length; i++) host[i] = rnd() < 0.5 ? 0xff : Math.floor(rnd() * 256);
    host.set(bytes, at);
    const stopT = rnd() < 0.3 ? 1e12 * (rnd() - 0.5) : Number.POSITIVE_INFINITY;
    const inPlace = host.subarray(at, at + bytes.length);
    assert.deepEqual(byBatch(inPlace, stopT, dec), byIterator(bytes.slice(), stopT), `trial ${trial}`);
  }
});
