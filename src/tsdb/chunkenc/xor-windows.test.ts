import assert from "node:assert/strict";
import { test } from "node:test";
import { floatHi, floatLo, STALE_NAN } from "../encoding/float-bits.ts";
import { numSamples, XorAppender, XorIterator } from "./xor.ts";
import { encodeXorPlanned } from "./xor-windows.ts";

/** Deterministic numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

function decode(data: Uint8Array): string[] {
  const out: string[] = [];
  const it = new XorIterator(data);
  while (it.next() !== "none") out.push(`${it.atT()}=${floatHi(it.atV())}:${floatLo(it.atV())}`);
  assert.equal(it.err(), null);
  return out;
}

function prometheusEncoding(ts: Float64Array, vs: Float64Array): Uint8Array {
  const app = new XorAppender();
  for (let i = 0; i < ts.length; i++) app.append(ts[i], vs[i]);
  return app.bytes().slice();
}

/** 480 samples of a kind of series, 15 s apart with a little jitter. */
function series(kind: string, rnd: () => number): { ts: Float64Array; vs: Float64Array } {
  const ts = new Float64Array(480);
  const vs = new Float64Array(480);
  const rate = 1 + Math.floor(rnd() * 200);
  let v = Math.floor(rnd() * 1e6);
  for (let k = 0; k < ts.length; k++) {
    ts[k] = 1_700_000_000_000 + k * 15_000 + Math.round(rnd() * 10) - 5;
    if (kind === "counter") v += rate;
    else if (kind === "noisy counter") v += Math.floor(rnd() * 2 * rate);
    else if (kind === "gauge") v = Math.round((2 + rnd() - 0.5) * 100) / 100;
    else {
      // Special values and repeats: markers, NaN, infinities, signed zeros, equal runs.
      const specials = [
        STALE_NAN,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        -0,
        0,
        1e308,
        5e-324,
      ];
      v = rnd() < 0.3 ? specials[Math.floor(rnd() * specials.length)] : rnd() < 0.5 ? v : rnd() * 1e3 - 500;
    }
    vs[k] = v;
  }
  return { ts, vs };
}

test("a chunk with planned windows decodes to exactly the samples, special values included", () => {
  const rnd = lcg(3);
  for (const kind of ["counter", "noisy counter", "gauge", "special"]) {
    for (let s = 0; s < 50; s++) {
      const { ts, vs } = series(kind, rnd);
      const planned = encodeXorPlanned(ts, vs, 0, ts.length);
      assert.equal(numSamples(planned), ts.length);
      assert.deepEqual(decode(planned), decode(prometheusEncoding(ts, vs)), kind);
    }
  }
});

test("planned windows make long chunks of counters smaller than Prometheus's encoding", () => {
  const rnd = lcg(4);
  for (const kind of ["counter", "noisy counter"]) {
    let planned = 0;
    let prometheus = 0;
    for (let s = 0; s < 50; s++) {
      const { ts, vs } = series(kind, rnd);
      planned += encodeXorPlanned(ts, vs, 0, ts.length).length;
      prometheus += prometheusEncoding(ts, vs).length;
    }
    assert.ok(planned < prometheus * 0.95, `${kind}: ${planned} bytes planned, ${prometheus} as Prometheus writes`);
  }
});

test("a sub-range is encoded on its own", () => {
  const { ts, vs } = series("noisy counter", lcg(5));
  const part = encodeXorPlanned(ts, vs, 100, 220);
  assert.deepEqual(decode(part), decode(prometheusEncoding(ts.subarray(100, 220), vs.subarray(100, 220))));
});

test("an appender ignores a requested window that does not hold the value's bits", () => {
  const a = new XorAppender();
  const b = new XorAppender();
  a.append(1000, 1.5);
  b.append(1000, 1.5);
  // The XOR of 1.5 and 1.75 has 13 leading zeros: a window claiming 20 cannot hold it.
  a.append(2000, 1.75, (20 << 6) | 0);
  b.append(2000, 1.75);
  assert.deepEqual(a.bytes(), b.bytes());
  assert.deepEqual(decode(a.bytes().slice()), ["1000=1073217536:0", "2000=1073479680:0"]);
});
