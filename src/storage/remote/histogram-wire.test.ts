import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { histogramProblem } from "../../model/histogram-check.ts";
import { decodeWireHistogram, writeWireHistogram } from "./histogram-wire.ts";
import { ProtoReader, ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";

/** Integer histogram: 10 observations, 2 in the zero bucket, buckets on both sides, one gap between spans. */
const INTEGER: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.unknown,
  schema: 3,
  zeroThreshold: 1e-128,
  zeroCount: 2,
  count: 10,
  sum: -3.5,
  positiveSpans: [
    { offset: -1, length: 2 },
    { offset: 3, length: 1 },
  ],
  negativeSpans: [{ offset: 0, length: 1 }],
  positiveBuckets: [3, 1, 2],
  negativeBuckets: [2],
  customValues: [],
};

const FLOAT: Histogram = {
  ...INTEGER,
  integer: false,
  counterResetHint: CounterResetHint.gauge,
  count: 10.5,
  positiveBuckets: [3.25, 1, 2.25],
};

const CUSTOM: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.counterReset,
  schema: -53,
  zeroThreshold: 0,
  zeroCount: 0,
  count: 6,
  sum: 4.2,
  positiveSpans: [
    { offset: 0, length: 2 },
    { offset: 1, length: 1 },
  ],
  negativeSpans: [],
  positiveBuckets: [1, 2, 3],
  negativeBuckets: [],
  customValues: [0.1, 0.5, 1],
};

function encode(t: number, h: Histogram): Uint8Array {
  const w = new ProtoWriter();
  writeWireHistogram(w, 1, t, h);
  // Strip the field key and length byte(s) the sub-message writer put in front.
  const b = w.finish();
  const r = new ProtoReader(b);
  r.tag();
  const end = r.lengthDelimited();
  return b.slice(r.pos, end);
}

function decode(b: Uint8Array) {
  return decodeWireHistogram(new ProtoReader(b), 0, b.length);
}

/** A Histogram message written field by field, for shapes the encoder does not make. */
function raw(write: (w: ProtoWriter) => void): Uint8Array {
  const w = new ProtoWriter();
  write(w);
  return w.finish().slice();
}

describe("remote-write Histogram message", () => {
  for (const [name, h] of [
    ["integer (delta buckets)", INTEGER],
    ["float (absolute counts)", FLOAT],
    ["custom buckets (schema -53)", CUSTOM],
  ] as const) {
    test(`${name}: round trips exactly`, () => {
      assert.equal(histogramProblem(h), null);
      assert.deepEqual(decode(encode(1_700_000_000_123, h)), { t: 1_700_000_000_123, h });
    });
  }

  test("integer buckets are written as deltas (zigzag), as Prometheus writes them", () => {
    const b = encode(0, { ...INTEGER, negativeSpans: [], negativeBuckets: [], zeroCount: 4 });
    // positive_deltas (field 12, packed): 3, -2, +1 as zigzag 6, 3, 2.
    const packed = Buffer.from([(12 << 3) | WIRE_LEN, 3, 6, 3, 2]);
    assert.ok(Buffer.from(b).includes(packed), Buffer.from(b).toString("hex"));
  });

  test("unpacked repeated fields are read too", () => {
    const b = raw((w) => {
      w.tag(1, WIRE_VARINT);
      w.uint32(3);
      w.tag(3, WIRE_FIXED64);
      w.double(1.5);
      const s = w.begin(11);
      w.tag(2, WIRE_VARINT);
      w.uint32(2);
      w.end(s);
      w.tag(12, WIRE_VARINT);
      w.sint64(1);
      w.tag(12, WIRE_VARINT);
      w.sint64(1);
    });
    const d = decode(b);
    assert.equal(d.problem, undefined);
    assert.deepEqual(d.h?.positiveBuckets, [1, 2]);
    assert.equal(d.h?.schema, 0);
  });

  const hostile: [string, Uint8Array, RegExp][] = [
    [
      "spans name more buckets than given",
      encode(0, { ...INTEGER, positiveSpans: [{ offset: 0, length: 9 }] }),
      /positive side: the spans name 9 buckets but 3 are given/,
    ],
    [
      "a later span with a negative offset",
      encode(0, {
        ...INTEGER,
        positiveSpans: [
          { offset: 0, length: 2 },
          { offset: -4, length: 1 },
        ],
      }),
      /span 2 has the negative offset -4/,
    ],
    ["schema 9", encode(0, { ...INTEGER, schema: 9 }), /schema 9 is out of range/],
    ["schema -5", encode(0, { ...INTEGER, schema: -5 }), /schema -5 is out of range/],
    [
      "deltas going below zero",
      encode(0, { ...INTEGER, positiveBuckets: [3, -1, 2], count: 6 }),
      /bucket 2 has the count -1/,
    ],
    ["count below the buckets' total", encode(0, { ...INTEGER, count: 9 }), /10 observations .* count is 9/],
    ["a negative float count", encode(0, { ...FLOAT, positiveBuckets: [1, -2, 3] }), /bucket 2 has the count -2/],
    [
      "custom bounds not increasing",
      encode(0, { ...CUSTOM, customValues: [0.5, 0.1, 1] }),
      /must increase strictly, but 0.1 follows 0.5/,
    ],
    [
      "custom bounds ending in +Inf",
      encode(0, { ...CUSTOM, customValues: [0.1, 0.5, Number.POSITIVE_INFINITY] }),
      /last custom bound must be finite/,
    ],
    ["custom spans past the bounds", encode(0, { ...CUSTOM, customValues: [0.1] }), /cover 4 buckets but 1 custom/],
    [
      "custom buckets with a zero bucket",
      encode(0, { ...CUSTOM, zeroCount: 1, count: 7 }),
      /custom buckets has no zero bucket/,
    ],
    [
      "exponential schema with custom bounds",
      encode(0, { ...INTEGER, customValues: [1] }),
      /exponential schema 3 has custom bounds/,
    ],
    [
      "integer and float fields mixed",
      raw((w) => {
        w.tag(1, WIRE_VARINT);
        w.uint32(1);
        w.tag(13, WIRE_LEN);
        w.uint32(8);
        w.double(1);
      }),
      /mixes integer fields/,
    ],
    [
      "an unknown reset hint",
      raw((w) => {
        w.tag(14, WIRE_VARINT);
        w.uint32(7);
      }),
      /unknown reset hint 7/,
    ],
    [
      "a span of four billion buckets",
      raw((w) => {
        const s = w.begin(11);
        w.tag(2, WIRE_VARINT);
        w.uint32(0xffff_ffff);
        w.end(s);
      }),
      /spans name 4294967295 buckets but 0 are given/,
    ],
  ];
  for (const [name, b, want] of hostile) {
    test(`refused with a reason: ${name}`, () => {
      const d = decode(b);
      assert.match(d.problem ?? "(accepted)", want);
    });
  }

  test("malformed protobuf throws bad_data", () => {
    // A packed double field whose length is not a multiple of 8.
    const b = raw((w) => {
      w.tag(13, WIRE_LEN);
      w.uint32(3);
      w.double(0);
    });
    assert.throws(() => decode(b.subarray(0, 5)), /invalid protobuf/);
    assert.throws(() => decode(Buffer.from([(11 << 3) | WIRE_LEN, 9, 8])), /invalid protobuf/);
  });
});
