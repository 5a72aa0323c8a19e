import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MetricType } from "../../exposition/types.ts";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { DEFAULT_ORG_LIMITS } from "../../model/limits.ts";
import { float64Bits, STALE_NAN } from "../../model/sample.ts";
import { WriteRequestV1Decoder } from "./codec-v1.ts";
import { encodeWriteRequestV1 } from "./codec-v1-encode.ts";
import { encodeRequestV2, RequestV2Decoder } from "./codec-v2.ts";
import { ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";
import type { RefSlot } from "./series-cache.ts";
import type { DecodeLimits, SeriesCounts, WriteProto, WriteRequestData, WriteSink } from "./types.ts";

/** What a decoder handed to its sink, as plain data. */
interface Collected {
  series: { labels: string; counts: SeriesCounts; samples: [number, number[], number][] }[];
  invalid: { reason: string; counts: SeriesCounts }[];
  metadata: [string, MetricType, string, string][];
  invalidMetadata: string[];
  histograms: { t: number; h: Histogram }[];
  invalidHistograms: string[];
}

/** What a decoder hands to a sink; `cached[i]`: series `i` came with no label set, to be asked of its slot. */
interface Collector {
  sink: WriteSink;
  got: Collected;
  labels: Labels[];
  slots: (RefSlot | undefined)[];
  cached: boolean[];
}

function collector(): Collector {
  const got: Collected = {
    series: [],
    invalid: [],
    metadata: [],
    invalidMetadata: [],
    histograms: [],
    invalidHistograms: [],
  };
  const labels: Labels[] = [];
  const slots: (RefSlot | undefined)[] = [];
  const cached: boolean[] = [];
  const sink: WriteSink = {
    series(found, counts, slot) {
      const l = found ?? slot!.labels();
      labels.push(l);
      slots.push(slot);
      cached.push(found === null);
      got.series.push({ labels: l.toString(), counts: { ...counts }, samples: [] });
      return true;
    },
    sample(t, v, startT) {
      got.series[got.series.length - 1].samples.push([t, float64Bits(v), startT]);
    },
    histogram(t, h) {
      got.histograms.push({ t, h });
    },
    invalidHistogram(reason) {
      got.invalidHistograms.push(reason);
    },
    invalidSeries(reason, counts) {
      got.invalid.push({ reason, counts: { ...counts } });
    },
    metadata(name, type, help, unit) {
      got.metadata.push([name, type, help, unit]);
    },
    invalidMetadata(reason) {
      got.invalidMetadata.push(reason);
    },
  };
  return { sink, got, labels, slots, cached };
}

const LIMITS: DecodeLimits = DEFAULT_ORG_LIMITS;

function decode(proto: WriteProto, body: Uint8Array, limits: Partial<DecodeLimits> = {}): Collected {
  const { sink, got } = collector();
  if (proto === "v1") new WriteRequestV1Decoder().decode(body, sink, { ...LIMITS, ...limits });
  else new RequestV2Decoder().decode(body, sink, { ...LIMITS, ...limits });
  return got;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

const up = Labels.fromStrings("__name__", "up", "job", "a");

/** An integer histogram of 4 observations: 1 in the zero bucket, 3 in two positive buckets. */
const LATENCY: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.notCounterReset,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 1,
  count: 4,
  sum: 1.25,
  positiveSpans: [{ offset: -2, length: 2 }],
  negativeSpans: [],
  positiveBuckets: [1, 2],
  negativeBuckets: [],
  customValues: [],
};

describe("golden bytes", () => {
  // Derived by hand from prompb/remote.proto and prompb/types.proto:
  //   0a 28                      WriteRequest.timeseries (field 1, 40 bytes)
  //     0a 0e 0a 08 "__name__" 12 02 "up"     Label
  //     0a 08 0a 03 "job" 12 01 "a"           Label
  //     12 0c 09 <1.0 as 8 LE bytes> 10 e8 07 Sample {value 1, timestamp 1000}
  const v1Golden =
    "0a28" + "0a0e0a085f5f6e616d655f5f12027570" + "0a080a036a6f621201" + "61" + "120c09000000000000f03f10e807";

  // From prompb/io/prometheus/write/v2/types.proto:
  //   22 00, 22 08 "__name__", 22 02 "up", 22 03 "job", 22 01 "a"   symbols (field 4)
  //   2a 18                                                         timeseries (field 5, 24 bytes)
  //     0a 04 01 02 03 04                                           labels_refs, packed
  //     12 0c 09 <1.0> 10 e8 07                                     Sample
  //     2a 02 08 02                                                 metadata {type GAUGE}
  const v2Golden =
    "2200" +
    "22085f5f6e616d655f5f" +
    "22027570" +
    "22036a6f62" +
    "220161" +
    "2a18" +
    "0a0401020304" +
    "120c09000000000000f03f10e807" +
    "2a020802";

  test("1.0 WriteRequest", () => {
    const req: WriteRequestData = { series: [{ labels: up, samples: [{ t: 1000, v: 1 }] }] };
    assert.equal(hex(encodeWriteRequestV1(req)), v1Golden);
    const got = decode("v1", Buffer.from(v1Golden, "hex"));
    assert.equal(got.series.length, 1);
    assert.equal(got.series[0].labels, '{__name__="up", job="a"}');
    assert.deepEqual(got.series[0].samples, [[1000, float64Bits(1), 0]]);
  });

  test("2.0 Request", () => {
    const req: WriteRequestData = {
      series: [{ labels: up, samples: [{ t: 1000, v: 1 }], metadata: { type: "gauge", help: "", unit: "" } }],
    };
    assert.equal(hex(encodeRequestV2(req)), v2Golden);
    const got = decode("v2", Buffer.from(v2Golden, "hex"));
    assert.equal(got.series[0].labels, '{__name__="up", job="a"}');
    assert.deepEqual(got.series[0].samples, [[1000, float64Bits(1), 0]]);
    assert.deepEqual(got.metadata, [["up", "gauge", "", ""]]);
  });

  test("each message is refused under the other's Content-Type, naming the mix-up", () => {
    assert.throws(
      () => decode("v2", Buffer.from(v1Golden, "hex")),
      /the body looks like a Remote-Write 1.0 prometheus.WriteRequest \(its top-level field 1 is 1.0's timeseries\), but the Content-Type declares io.prometheus.write.v2.Request; send it with Content-Type application\/x-protobuf/,
    );
    assert.throws(
      () => decode("v1", Buffer.from(v2Golden, "hex")),
      /the body looks like a Remote-Write 2.0 io.prometheus.write.v2.Request \(its top-level field 4 is 2.0's symbols\), but the Content-Type declares prometheus.WriteRequest; send it with Content-Type application\/x-protobuf;proto=io.prometheus.write.v2.Request/,
    );
  });
});

/** A request exercising what the codecs carry: odd values, negative times, unicode, empty label values. */
function sampleRequest(): WriteRequestData {
  const values = [0, -0, 1.5, -2.25e-300, Number.NaN, STALE_NAN, Number.POSITIVE_INFINITY, 1e308];
  return {
    series: [
      {
        labels: Labels.fromStrings("__name__", "http_requests_total", "code", "200", "région", "日本"),
        samples: values.map((v, i) => ({ t: 1_700_000_000_000 + i * 15_000, v, startT: 1_699_999_000_000 })),
        exemplars: [{ labels: Labels.fromStrings("trace_id", "abc"), v: 3, t: 1_700_000_000_500 }],
        metadata: { type: "counter", help: "Requests served.", unit: "" },
      },
      {
        labels: Labels.fromStrings("__name__", "early", "x", "y"),
        samples: [
          { t: -5000, v: 1 },
          { t: 0, v: 2 },
        ],
      },
      {
        labels: Labels.fromStrings("__name__", "latency"),
        samples: [],
        histograms: [{ t: 1000, h: LATENCY }],
        metadata: { type: "histogram", help: "", unit: "seconds" },
      },
    ],
    metadata: [
      { name: "http_requests", type: "counter", help: "Requests served.", unit: "" },
      { name: "temperature", type: "gauge", help: 'Room temperature, "quoted" ✓', unit: "celsius" },
    ],
  };
}

describe("round trips", () => {
  for (const proto of ["v1", "v2"] as const) {
    test(`${proto}: labels, samples (bits exact), counts and metadata survive`, () => {
      const req = sampleRequest();
      const body = proto === "v1" ? encodeWriteRequestV1(req) : encodeRequestV2(req);
      const got = decode(proto, body);
      assert.deepEqual(got.invalid, []);
      assert.deepEqual(got.invalidHistograms, []);
      assert.deepEqual(got.histograms, [{ t: 1000, h: LATENCY }]);
      assert.equal(got.series.length, 3);
      req.series.forEach((s, i) => {
        const g = got.series[i];
        assert.equal(g.labels, s.labels.toString());
        assert.deepEqual(
          g.samples,
          s.samples.map((x) => [x.t, float64Bits(x.v), proto === "v2" ? (x.startT ?? 0) : 0]),
        );
        assert.deepEqual(g.counts, {
          samples: s.samples.length,
          histograms: s.histograms?.length ?? 0,
          exemplars: s.exemplars?.length ?? 0,
        });
      });
      if (proto === "v1") {
        assert.deepEqual(
          got.metadata,
          req.metadata!.map((m) => [m.name, m.type, m.help, m.unit]),
        );
      } else {
        assert.deepEqual(got.metadata, [
          ["http_requests_total", "counter", "Requests served.", ""],
          ["latency", "histogram", "", "seconds"],
        ]);
      }
    });
  }

  test("a large request round trips through both codecs (sub-messages over 127 and 16383 bytes)", () => {
    const series = Array.from({ length: 300 }, (_, i) => ({
      labels: Labels.fromStrings("__name__", `m_${i % 7}`, "instance", `host-${i}:9100`, "job", "node"),
      samples: Array.from({ length: i === 0 ? 3000 : 4 }, (_, k) => ({ t: 1_000_000 + k * 15_000, v: i * k })),
    }));
    for (const proto of ["v1", "v2"] as const) {
      const body = proto === "v1" ? encodeWriteRequestV1({ series }) : encodeRequestV2({ series });
      const got = decode(proto, body);
      assert.equal(got.series.length, 300);
      assert.equal(got.series[0].samples.length, 3000);
      assert.equal(got.series[299].labels, series[299].labels.toString());
      assert.deepEqual(got.series[17].samples[3], [1_045_000, float64Bits(51), 0]);
    }
  });
});

type RawLabel = readonly [string | Uint8Array, string | Uint8Array];

function putText(w: ProtoWriter, s: string | Uint8Array): void {
  if (typeof s === "string") w.string(s);
  else w.bytes(s);
}

/** A 1.0 TimeSeries written field by field, for shapes the encoder never makes. */
function rawV1Series(w: ProtoWriter, labels: readonly RawLabel[], samples: readonly [number, number][], first = "") {
  const ts = w.begin(1);
  const writeSamples = () => {
    for (const [t, v] of samples) {
      const m = w.begin(2);
      w.tag(2, WIRE_VARINT); // timestamp before value: any field order is valid
      w.int64(t);
      w.tag(1, WIRE_FIXED64);
      w.double(v);
      w.tag(9, WIRE_VARINT); // an unknown field
      w.uint32(7);
      w.end(m);
    }
  };
  if (first === "samples") writeSamples();
  for (const [n, v] of labels) {
    const m = w.begin(1);
    w.tag(1, WIRE_LEN);
    putText(w, n);
    w.tag(2, WIRE_LEN);
    putText(w, v);
    w.end(m);
  }
  if (first !== "samples") writeSamples();
  w.tag(15, WIRE_LEN); // unknown field in TimeSeries
  w.string("ignored");
  w.end(ts);
}

describe("1.0 decoding", () => {
  test("fields in any order and unknown fields", () => {
    const w = new ProtoWriter();
    w.tag(2, WIRE_VARINT); // reserved field 2 of WriteRequest: skipped
    w.uint32(1);
    rawV1Series(
      w,
      [
        ["__name__", "m"],
        ["a", "1"],
      ],
      [
        [5, 1],
        [6, 2],
      ],
      "samples",
    );
    const got = decode("v1", w.finish());
    assert.equal(got.series[0].labels, '{__name__="m", a="1"}');
    assert.deepEqual(
      got.series[0].samples.map(([t]) => t),
      [5, 6],
    );
  });

  const bad = new Uint8Array([0x66, 0xff, 0x6f]);
  const invalid: [string, RawLabel[], RegExp][] = [
    [
      "unsorted",
      [
        ["__name__", "m"],
        ["b", "1"],
        ["a", "2"],
      ],
      /label names not sorted: "b" before "a"/,
    ],
    [
      "duplicate",
      [
        ["__name__", "m"],
        ["a", "1"],
        ["a", "2"],
      ],
      /duplicate label name "a"/,
    ],
    [
      "empty name",
      [
        ["", "x"],
        ["__name__", "m"],
      ],
      /empty label name/,
    ],
    [
      "invalid UTF-8 name",
      [
        ["__name__", "m"],
        [bad, "v"],
      ],
      /label name "f\\xffo" is not valid UTF-8/,
    ],
    [
      "invalid UTF-8 value",
      [
        ["__name__", "m"],
        ["a", bad],
      ],
      /label value "f\\xffo" is not valid UTF-8/,
    ],
    ["no __name__", [["job", "x"]], /no metric name/],
    [
      "empty __name__",
      [
        ["__name__", ""],
        ["job", "x"],
      ],
      /no metric name/,
    ],
    [
      "UTF-16 order is not UTF-8 order",
      [
        ["__name__", "m"],
        ["😀", "y"],
        ["\uff61", "x"],
      ],
      /not sorted/,
    ],
  ];
  for (const [name, labels, re] of invalid) {
    test(`invalid labels: ${name}`, () => {
      const w = new ProtoWriter();
      rawV1Series(w, labels, [[1, 1]]);
      rawV1Series(w, [["__name__", "good"]], [[1, 1]]);
      const got = decode("v1", w.finish());
      assert.equal(got.invalid.length, 1);
      assert.match(got.invalid[0].reason, re);
      assert.match(got.invalid[0].reason, /^series \{/);
      assert.equal(got.invalid[0].counts.samples, 1);
      assert.deepEqual(
        got.series.map((s) => s.labels),
        ['{__name__="good"}'],
        "the valid series is still decoded",
      );
    });
  }

  test("labels with empty values are dropped; UTF-8 names in byte order are accepted", () => {
    const w = new ProtoWriter();
    rawV1Series(
      w,
      [
        ["__name__", "m"],
        ["a", ""],
        ["b", "x"],
        ["😀", "y"],
        ["\uff61", "z"],
      ],
      [[1, 1]],
    );
    // In UTF-8 byte order U+FF61 (ef bd a1) sorts before U+1F600 (f0 9f 98 80): this one is unsorted.
    assert.equal(decode("v1", w.finish()).invalid.length, 1);
    const w2 = new ProtoWriter();
    rawV1Series(
      w2,
      [
        ["__name__", "m"],
        ["a", ""],
        ["b", "x"],
        ["\uff61", "z"],
        ["😀", "y"],
      ],
      [[1, 1]],
    );
    const got = decode("v1", w2.finish());
    assert.deepEqual(got.invalid, []);
    assert.equal(got.series[0].labels, '{__name__="m", b="x", "｡"="z", "😀"="y"}');
  });

  test("repeated label bytes come from the cache: the same slot, no label set built unless asked for", () => {
    const dec = new WriteRequestV1Decoder();
    const body = encodeWriteRequestV1({ series: [{ labels: up, samples: [{ t: 1, v: 1 }] }] });
    const a = collector();
    const b = collector();
    dec.decode(body, a.sink, LIMITS);
    dec.decode(encodeWriteRequestV1({ series: [{ labels: up, samples: [{ t: 2, v: 2 }] }] }), b.sink, LIMITS);
    assert.ok(a.slots[0] !== undefined && a.slots[0] === b.slots[0]);
    assert.deepEqual([a.cached[0], b.cached[0]], [false, true]);
    assert.ok(a.labels[0].equals(up) && b.labels[0].equals(up));
    // The names and values are the cache's interned strings, decoded again from its key.
    assert.ok(b.labels[0].interned);
  });

  // A series with valid labels whose sample carries its value as a varint.
  function badSample(): Uint8Array {
    const w = new ProtoWriter();
    const ts = w.begin(1);
    const l = w.begin(1);
    w.tag(1, WIRE_LEN);
    w.string("__name__");
    w.tag(2, WIRE_LEN);
    w.string("m");
    w.end(l);
    const m = w.begin(2);
    w.tag(1, WIRE_VARINT);
    w.uint32(1);
    w.end(m);
    w.end(ts);
    return w.finish();
  }

  test("very long label sets are decoded every time, not cached", () => {
    const dec = new WriteRequestV1Decoder();
    const long = Labels.fromStrings("__name__", "m", "blob", "x".repeat(5000));
    const a = collector();
    const b = collector();
    const limits = { ...LIMITS, maxLabelValueLength: 8192 };
    dec.decode(encodeWriteRequestV1({ series: [{ labels: long, samples: [{ t: 1, v: 1 }] }] }), a.sink, limits);
    dec.decode(encodeWriteRequestV1({ series: [{ labels: long, samples: [{ t: 2, v: 1 }] }] }), b.sink, limits);
    assert.notEqual(a.labels[0], b.labels[0]);
    assert.ok(a.labels[0].equals(b.labels[0]));
  });

  test("malformed messages throw bad_data naming the problem", () => {
    const good = encodeWriteRequestV1({ series: [{ labels: up, samples: [{ t: 1000, v: 1 }] }] }).slice();
    const table: [string, Uint8Array, RegExp][] = [
      ["truncated", good.subarray(0, good.length - 3), /invalid protobuf: length 40 runs past the end/],
      ["timeseries as varint", new Uint8Array([0x08, 0x01]), /WriteRequest.timeseries has wire type 0/],
      ["sample value as varint", badSample(), /Sample field 1 has wire type 0/],
      ["group wire type", new Uint8Array([0x2b]), /unsupported wire type 3/],
      ["random bytes", new Uint8Array([0xff, 0xff, 0xff]), /invalid protobuf/],
    ];
    for (const [name, body, re] of table) {
      assert.throws(() => decode("v1", body), re, name);
    }
  });
});

/** A 2.0 request written field by field: symbols, then series given as refs. */
function rawV2(
  symbols: readonly (string | Uint8Array)[],
  series: readonly { refs: number[]; samples?: [number, number][]; packed?: boolean; meta?: number[] }[],
): Uint8Array {
  const w = new ProtoWriter();
  for (const s of series) {
    // Timeseries first, symbols last: the decoder must not depend on the order.
    const ts = w.begin(5);
    if (s.packed === false) {
      for (const r of s.refs) {
        w.tag(1, WIRE_VARINT);
        w.uint32(r);
      }
    } else {
      const m = w.begin(1);
      for (const r of s.refs) w.uint32(r);
      w.end(m);
    }
    for (const [t, v] of s.samples ?? [[1, 1]]) {
      const m = w.begin(2);
      w.tag(1, WIRE_FIXED64);
      w.double(v);
      w.tag(2, WIRE_VARINT);
      w.int64(t);
      w.end(m);
    }
    if (s.meta !== undefined) {
      const m = w.begin(5);
      [1, 3, 4].forEach((field, i) => {
        w.tag(field, WIRE_VARINT);
        w.uint32(s.meta![i]);
      });
      w.end(m);
    }
    w.end(ts);
  }
  for (const sym of symbols) {
    w.tag(4, WIRE_LEN);
    putText(w, sym);
  }
  return w.finish();
}

describe("2.0 decoding", () => {
  const symbols = ["", "__name__", "m", "a", "1", "b", "2", "help text", "bytes"];

  test("symbols after the series, unpacked refs, metadata refs", () => {
    const got = decode(
      "v2",
      rawV2(symbols, [{ refs: [1, 2, 3, 4], packed: false, meta: [2, 7, 8] }, { refs: [1, 2, 5, 6] }]),
    );
    assert.deepEqual(got.invalid, []);
    assert.deepEqual(
      got.series.map((s) => s.labels),
      ['{__name__="m", a="1"}', '{__name__="m", b="2"}'],
    );
    assert.deepEqual(got.metadata, [["m", "gauge", "help text", "bytes"]]);
  });

  const invalid: [string, { refs: number[]; samples?: [number, number][]; meta?: number[] }, RegExp][] = [
    ["odd refs", { refs: [1, 2, 3] }, /odd number of label refs \(3\)/],
    ["ref out of range", { refs: [1, 2, 3, 40] }, /label ref 40 out of range \(10 symbols\)/],
    ["unsorted", { refs: [1, 2, 5, 6, 3, 4] }, /not sorted: "b" before "a"/],
    ["duplicate", { refs: [1, 2, 3, 4, 3, 6] }, /duplicate label name "a"/],
    ["empty name", { refs: [0, 4, 1, 2] }, /empty label name/],
    ["no __name__", { refs: [3, 4] }, /no metric name/],
    ["invalid UTF-8", { refs: [1, 2, 3, 9] }, /label value "\\xff" is not valid UTF-8/],
    ["help ref out of range", { refs: [1, 2], meta: [1, 99, 0] }, /metadata help_ref 99 out of range/],
    ["no samples", { refs: [1, 2], samples: [] }, /no samples or histograms/],
  ];
  for (const [name, s, re] of invalid) {
    test(`invalid series: ${name}`, () => {
      const got = decode("v2", rawV2([...symbols, new Uint8Array([0xff])], [s, { refs: [1, 2] }]));
      assert.equal(got.invalid.length, 1, name);
      assert.match(got.invalid[0].reason, re);
      assert.deepEqual(
        got.series.map((x) => x.labels),
        ['{__name__="m"}'],
      );
    });
  }

  test("start timestamps: the sample's own, else the series' created_timestamp (field 6)", () => {
    const w = new ProtoWriter();
    for (const sym of ["", "__name__", "c"]) {
      w.tag(4, WIRE_LEN);
      w.string(sym);
    }
    const ts = w.begin(5);
    const refs = w.begin(1);
    w.uint32(1);
    w.uint32(2);
    w.end(refs);
    w.tag(6, WIRE_VARINT);
    w.int64(500);
    for (const [t, st] of [
      [1000, 0],
      [2000, 1500],
    ]) {
      const m = w.begin(2);
      w.tag(2, WIRE_VARINT);
      w.int64(t);
      if (st !== 0) {
        w.tag(3, WIRE_VARINT);
        w.int64(st);
      }
      w.end(m);
    }
    w.end(ts);
    const got = decode("v2", w.finish());
    assert.deepEqual(
      got.series[0].samples.map(([t, , st]) => [t, st]),
      [
        [1000, 500],
        [2000, 1500],
      ],
    );
  });
});
