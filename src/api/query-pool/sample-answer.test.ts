// The rules' samples answer: every kind of sample survives the round trip bit for bit (floats with their NaN
// payloads and signed zeros; integer, float, gauge and custom-bucket histograms with every field), scalars become one
// unlabelled sample, other values and too many series are refused as the API's answer refuses them, and malformed
// bytes are an error rather than a wrong sample.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { STALE_NAN } from "../../model/sample.ts";
import type { VectorSample } from "../../promql/engine/index.ts";
import { hist } from "../../tsdb/chunkenc/histogram-testdata.ts";
import { decodeSampleAnswer, encodeSampleAnswer } from "./sample-answer.ts";

const T = 1_700_000_000_123;

/** The bits of every number in `x` (NaN payloads and -0 included), for a bit-for-bit comparison. */
function bits(x: unknown): unknown {
  if (typeof x === "number") {
    const f = new Float64Array([x]);
    return new BigUint64Array(f.buffer)[0].toString(16);
  }
  if (Array.isArray(x)) return x.map(bits);
  if (x instanceof Labels) return x.toString();
  if (typeof x === "object" && x !== null) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, bits(v)]));
  }
  return x;
}

const FLOATS: VectorSample[] = [
  { labels: Labels.fromStrings("__name__", "a", "job", "x"), t: T, v: 0.1 + 0.2 },
  { labels: Labels.fromStrings("__name__", "a", "job", "ü☃"), t: T, v: -0 },
  { labels: Labels.fromStrings("__name__", "a", "job", "z"), t: -T, v: STALE_NAN },
  { labels: Labels.fromStrings("job", ""), t: 0, v: Number.NEGATIVE_INFINITY },
  { labels: Labels.EMPTY, t: T, v: Number.MIN_VALUE },
];

const HISTOGRAMS: VectorSample[] = [
  {
    labels: Labels.fromStrings("__name__", "h", "le_kind", "integer"),
    t: T,
    v: 0,
    h: hist({
      integer: true,
      schema: 0,
      zeroThreshold: 0.001,
      zeroCount: 3,
      sum: 12.5,
      pos: [
        { offset: -2, length: 2 },
        { offset: 3, length: 1 },
      ],
      posCounts: [2 ** 52, 1, 7],
      neg: [{ offset: 1, length: 2 }],
      negCounts: [4, 0],
    }),
  },
  {
    labels: Labels.fromStrings("__name__", "h", "le_kind", "float gauge"),
    t: T,
    v: 0,
    h: hist({
      integer: false,
      hint: CounterResetHint.gauge,
      schema: 8,
      zeroCount: 1 / 3,
      sum: Number.NaN,
      pos: [{ offset: 100, length: 3 }],
      posCounts: [0.1, 0.2, 1e-300],
    }),
  },
  {
    labels: Labels.fromStrings("__name__", "h", "le_kind", "custom"),
    t: T,
    v: 0,
    h: hist({
      integer: false,
      hint: CounterResetHint.counterReset,
      schema: CUSTOM_BUCKETS_SCHEMA,
      zeroThreshold: 0,
      sum: -4.25,
      pos: [{ offset: 0, length: 3 }],
      posCounts: [1.5, 2.5, 0.5],
      customValues: [0.25, 1, 2.5],
    }),
  },
];

describe("samples answer", () => {
  test("floats and histograms of every kind come back bit for bit, in order", () => {
    const samples = [...FLOATS, ...HISTOGRAMS];
    const back = decodeSampleAnswer([encodeSampleAnswer({ type: "vector", samples }, 100)]);
    assert.deepEqual(bits(back), bits(samples));
    assert.deepEqual(
      back.map((s) => s.h?.integer),
      [undefined, undefined, undefined, undefined, undefined, true, false, false],
    );
  });

  test("an answer cut into chunks reads the same", () => {
    const bytes = encodeSampleAnswer({ type: "vector", samples: HISTOGRAMS }, 100);
    const chunks = [bytes.slice(0, 7), bytes.slice(7, 40), bytes.slice(40)];
    assert.deepEqual(bits(decodeSampleAnswer(chunks)), bits(HISTOGRAMS));
  });

  test("an empty vector, and a scalar as one unlabelled sample", () => {
    assert.deepEqual(decodeSampleAnswer([encodeSampleAnswer({ type: "vector", samples: [] }, 0)]), []);
    const [s] = decodeSampleAnswer([encodeSampleAnswer({ type: "scalar", t: T, v: Number.NaN }, 0)]);
    assert.equal(s.labels.size, 0);
    assert.equal(s.t, T);
    assert.ok(Number.isNaN(s.v));
    assert.equal(s.h, undefined);
  });

  test("strings and matrices are execution errors; more series than the limit is limit_exceeded", () => {
    assert.throws(
      () => encodeSampleAnswer({ type: "string", t: T, v: "x" }, 10),
      (e) => isContrailError(e, "execution") && /got a string/.test(e.message),
    );
    assert.throws(
      () => encodeSampleAnswer({ type: "matrix", series: [] }, 10),
      (e) => isContrailError(e, "execution") && /got a matrix/.test(e.message),
    );
    assert.throws(
      () => encodeSampleAnswer({ type: "vector", samples: FLOATS }, FLOATS.length - 1),
      (e) => isContrailError(e, "limit_exceeded") && /max_series/.test(e.message),
    );
  });

  test("malformed bytes are an internal error, never a wrong sample", () => {
    const bytes = encodeSampleAnswer({ type: "vector", samples: [...FLOATS, ...HISTOGRAMS] }, 100);
    const cases: [string, Uint8Array][] = [
      ["cut short", bytes.subarray(0, bytes.length - 3)],
      ["trailing bytes", new Uint8Array([...bytes, 0])],
      ["a huge sample count", new Uint8Array([0xff, 0xff, 0xff, 0x0f])],
      ["an unknown sample kind", new Uint8Array([1, 0, 0, 9])],
    ];
    for (const [name, body] of cases) {
      assert.throws(
        () => decodeSampleAnswer([body]),
        (e) => isContrailError(e, "internal") && /malformed samples answer/.test(e.message),
        name,
      );
    }
    // Every cut of a valid answer fails to read rather than reading as fewer samples.
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(
        () => decodeSampleAnswer([bytes.subarray(0, n)]),
        (e) => isContrailError(e, "internal"),
        `${n}`,
      );
    }
  });
});
