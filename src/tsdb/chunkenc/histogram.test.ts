import assert from "node:assert/strict";
import { test } from "node:test";
import type { Histogram } from "../../model/histogram.ts";
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA } from "../../model/histogram.ts";
import { isStaleNaN } from "../../model/sample.ts";
import { BitReader, BitWriter } from "../encoding/bstream.ts";
import { FloatHistogramIterator } from "./float-histogram.ts";
import { IntHistogramIterator } from "./histogram.ts";
import { appendHistogramSample, type HistogramAppendKind, newHistogramAppender } from "./histogram-append.ts";
import { bucketIndices, CounterResetHeader, spansOf } from "./histogram-layout.ts";
import { counterSequence, encodeSequence, gaugeSequence, hist, staleMarker } from "./histogram-testdata.ts";
import {
  putCustomBound,
  putVarbitInt,
  putVarbitUint,
  putZeroThreshold,
  readCustomBound,
  readVarbitInt,
  readVarbitUint,
  readZeroThreshold,
} from "./varbit.ts";

function roundTrip<T>(values: readonly T[], put: (w: BitWriter, v: T) => void, read: (r: BitReader) => T): T[] {
  const w = new BitWriter();
  for (const v of values) put(w, v);
  const r = new BitReader(w.bytes());
  const out = values.map(() => read(r));
  assert.equal(r.err(), null);
  return out;
}

test("varbit integers round-trip at every size boundary, both signs", () => {
  const ints = [0, 1, -1, 4, -3, 5, -4, 32, -31, 33, 256, -255, 257, 2048, -2047, 2049, 131072, -131071, 131073];
  ints.push(16777216, -16777215, 16777217, 2 ** 40, -(2 ** 40), 2 ** 53 - 1, -(2 ** 53 - 1));
  assert.deepEqual(roundTrip(ints, putVarbitInt, readVarbitInt), ints);
  const uints = [0, 1, 7, 8, 63, 64, 511, 512, 4095, 4096, 262143, 262144, 33554431, 33554432, 2 ** 53 - 1];
  assert.deepEqual(roundTrip(uints, putVarbitUint, readVarbitUint), uints);
});

test("varbit sizes are Prometheus's: 1 bit for 0, 5 bits up to 4, 9 bytes past 56 bits", () => {
  const bits = (v: number) => {
    const w = new BitWriter();
    putVarbitInt(w, v);
    return w.bitLength;
  };
  assert.equal(bits(0), 1);
  assert.equal(bits(4), 5);
  assert.equal(bits(-3), 5);
  assert.equal(bits(-4), 9);
  assert.equal(bits(2 ** 55), 64);
  assert.equal(bits(2 ** 56 + 2), 72);
});

test("zero thresholds: 0 and powers of two in one byte, others in nine", () => {
  const values = [0, 2 ** -128, 2 ** -243, 1024, 0.001, 2 ** 11, 3, 2 ** -244];
  assert.deepEqual(roundTrip(values, putZeroThreshold, readZeroThreshold), values);
  const size = (v: number) => {
    const w = new BitWriter();
    putZeroThreshold(w, v);
    return w.length;
  };
  assert.deepEqual(values.map(size), [1, 1, 1, 1, 9, 9, 9, 9]);
  const w = new BitWriter();
  putZeroThreshold(w, 2 ** -128);
  assert.equal(w.bytes()[0], 116, "Prometheus's documented byte for the default threshold");
});

test("custom bounds: small multiples of 0.001 compact, others as 64 bits", () => {
  const bounds = [0, 0.005, 0.25, 1, 2.5, 10, 33554.43, 33554.431, -1, 0.0001, 1e9];
  assert.deepEqual(roundTrip(bounds, putCustomBound, readCustomBound), bounds);
});

test("spans: indices and the merged spans built from them", () => {
  const spans = [
    { offset: -2, length: 2 },
    { offset: 0, length: 1 },
    { offset: 3, length: 2 },
  ];
  assert.deepEqual(bucketIndices(spans), [-2, -1, 0, 4, 5]);
  assert.deepEqual(spansOf([-2, -1, 0, 4, 5]), [
    { offset: -2, length: 3 },
    { offset: 3, length: 2 },
  ]);
});

/** Appends the samples one by one, returning each append's kind. */
function kinds(samples: readonly Histogram[]): HistogramAppendKind[] {
  let app = newHistogramAppender(!samples[0].integer);
  return samples.map((h, i) => {
    const o = appendHistogramSample(app, null, 1000 * i, h);
    app = o.appender;
    return o.kind;
  });
}

function decodeAll(chunks: readonly Uint8Array[], integer: boolean): { t: number; h: Histogram; header: number }[] {
  const out: { t: number; h: Histogram; header: number }[] = [];
  for (const c of chunks) {
    const it = integer ? new IntHistogramIterator(c) : new FloatHistogramIterator(c);
    while (it.next() !== "none") out.push({ t: it.atT(), h: it.atH(), header: c[2] });
    assert.equal(it.err(), null);
  }
  return out;
}

/** The sample's counts by absolute bucket index, zero buckets left out (recoding adds empty ones). */
function byIndex(spans: Histogram["positiveSpans"], counts: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  bucketIndices(spans).forEach((idx, i) => {
    if (counts[i] !== 0) m.set(idx, counts[i]);
  });
  return m;
}

function assertSameHistogram(got: Histogram, want: Histogram): void {
  if (isStaleNaN(want.sum)) {
    assert.ok(isStaleNaN(got.sum));
    return;
  }
  assert.equal(got.integer, want.integer);
  assert.equal(got.schema, want.schema);
  assert.equal(got.zeroThreshold, want.zeroThreshold);
  assert.equal(got.count, want.count);
  assert.equal(got.zeroCount, want.zeroCount);
  assert.equal(got.sum, want.sum);
  assert.deepEqual(byIndex(got.positiveSpans, got.positiveBuckets), byIndex(want.positiveSpans, want.positiveBuckets));
  assert.deepEqual(byIndex(got.negativeSpans, got.negativeBuckets), byIndex(want.negativeSpans, want.negativeBuckets));
  assert.deepEqual(got.customValues, want.customValues);
}

for (const integer of [true, false]) {
  const kind = integer ? "integer" : "float";

  test(`${kind} counter histograms round-trip through recodes, resets, a schema change and a stale marker`, () => {
    const seq = counterSequence(integer);
    assert.deepEqual(kinds(seq), [
      "appended",
      "appended",
      "appended",
      "recoded",
      "appended",
      "cut",
      "appended",
      "cut",
      "cut",
      "appended",
    ]);
    const samples = seq.map((h, i) => [1000 * i + (i === 2 ? 3 : 0), h] as const);
    const chunks = encodeSequence(samples);
    assert.equal(chunks.length, 4);
    assert.deepEqual(
      chunks.map((c) => c[2]),
      [
        CounterResetHeader.unknown,
        CounterResetHeader.counterReset,
        CounterResetHeader.unknown,
        CounterResetHeader.counterReset,
      ],
    );
    const got = decodeAll(chunks, integer);
    assert.equal(got.length, seq.length);
    got.forEach((g, i) => {
      assert.equal(g.t, samples[i][0]);
      assertSameHistogram(g.h, seq[i]);
    });
    // Hints from the chunk headers: the first sample of a chunk is "unknown", later ones cannot be resets.
    assert.equal(got[0].h.counterResetHint, CounterResetHint.unknown);
    assert.equal(got[1].h.counterResetHint, CounterResetHint.notCounterReset);
  });

  test(`${kind} gauge histograms keep every bucket layout in one gauge chunk`, () => {
    const seq = gaugeSequence(integer);
    assert.deepEqual(kinds(seq), ["appended", "appended", "recoded", "appended"]);
    const chunks = encodeSequence(seq.map((h, i) => [i * 10, h] as const));
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0][2], CounterResetHeader.gauge);
    const got = decodeAll(chunks, integer);
    got.forEach((g, i) => {
      assertSameHistogram(g.h, seq[i]);
      assert.equal(g.h.counterResetHint, CounterResetHint.gauge);
    });
  });

  test(`${kind} custom-buckets histograms keep their bounds; new bounds cut a chunk`, () => {
    const bounds = [0.005, 0.01, 0.25, 1, 2.5, 1e6];
    const pos = [{ offset: 0, length: 4 }];
    const cb = (sum: number, counts: number[], customValues = bounds) =>
      hist({ integer, schema: CUSTOM_BUCKETS_SCHEMA, zeroThreshold: 0, sum, pos, posCounts: counts, customValues });
    const seq = [cb(1, [1, 0, 2, 1]), cb(2, [2, 1, 2, 1]), cb(3, [2, 2, 2, 2], [0.1, 0.2, 0.3, 0.4])];
    assert.deepEqual(kinds(seq), ["appended", "appended", "cut"]);
    const chunks = encodeSequence(seq.map((h, i) => [i, h] as const));
    const got = decodeAll(chunks, integer);
    for (const [i, g] of got.entries()) assertSameHistogram(g.h, seq[i]);
    assert.equal(chunks[1][2], CounterResetHeader.counterReset);
  });
}

test("a chunk starting with a stale marker takes only stale markers; the next histogram cuts", () => {
  const h = counterSequence(true)[0];
  assert.deepEqual(kinds([staleMarker(true), staleMarker(true), h]), ["appended", "appended", "cut"]);
});

test("an explicit counter-reset hint always cuts, and a gauge after counters cuts", () => {
  const [a, b] = counterSequence(true);
  assert.deepEqual(kinds([a, { ...b, counterResetHint: CounterResetHint.counterReset }]), ["appended", "cut"]);
  assert.deepEqual(kinds([a, { ...b, counterResetHint: CounterResetHint.gauge }]), ["appended", "cut"]);
});

test("a chunk cut after a previous one gets its header from comparing with it", () => {
  const [a, b] = counterSequence(true);
  const prev = newHistogramAppender(false);
  appendHistogramSample(prev, null, 0, b);
  const next = newHistogramAppender(false);
  appendHistogramSample(next, prev, 10, a);
  assert.equal(next.header, CounterResetHeader.counterReset);
  const next2 = newHistogramAppender(false);
  appendHistogramSample(next2, prev, 10, b);
  assert.equal(next2.header, CounterResetHeader.notCounterReset);
});

test("truncated and malformed chunks end the iteration with an error", () => {
  const [chunk] = encodeSequence(
    counterSequence(true)
      .slice(0, 3)
      .map((h, i) => [i, h] as const),
  );
  const it = new IntHistogramIterator(chunk.subarray(0, chunk.length - 4));
  let n = 0;
  while (it.next() !== "none") n++;
  assert.ok(n < 3);
  assert.match(it.err() ?? "", /truncated/);
  assert.match(new FloatHistogramIterator(new Uint8Array(2)).err() ?? "", /shorter/);
});

test("seek moves to the first sample at or after the time", () => {
  const [chunk] = encodeSequence(
    counterSequence(false)
      .slice(0, 3)
      .map((h, i) => [i * 100, h] as const),
  );
  const it = new FloatHistogramIterator(chunk);
  assert.equal(it.seek(150), "histogram");
  assert.equal(it.atT(), 200);
  assert.equal(it.seek(100), "histogram");
  assert.equal(it.atT(), 200);
  assert.equal(it.seek(201), "none");
});
