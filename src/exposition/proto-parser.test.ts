import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CounterResetHint, type Histogram } from "../model/histogram.ts";
import { Labels, LabelsBuilder } from "../model/labels.ts";
import { ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "../model/protobuf.ts";
import {
  formatForContentType,
  PROTOBUF_CONTENT_TYPE,
  parserForContentType,
  prefersProtobuf,
  SCRAPE_ACCEPT_HEADER,
  SCRAPE_ACCEPT_HEADER_PROTOBUF,
} from "./content-type.ts";
import { bucketIndex } from "./native-buckets.ts";
import { ProtobufParser } from "./proto-parser.ts";
import { writeProtobuf } from "./proto-writer.ts";
import { Registry } from "./registry.ts";
import type { MetricFamily } from "./writer.ts";

interface Read {
  kind: string;
  series: string;
  labels: string;
  value?: number;
  h?: Histogram;
  t?: number;
}

function readAll(p: ProtobufParser): Read[] {
  const out: Read[] = [];
  const b = new LabelsBuilder();
  for (;;) {
    const k = p.next();
    if (k === "eof") return out;
    if (k !== "series" && k !== "histogram") continue;
    const e: Read = { kind: k, series: p.series(), labels: p.labels(b).toString() };
    if (k === "series") e.value = p.value();
    else e.h = p.histogram();
    const t = p.timestamp();
    if (t !== undefined) e.t = t;
    out.push(e);
  }
}

const l = (...kv: string[]) => Labels.fromStrings(...kv);

describe("protobuf exposition: content type", () => {
  test("the delimited MetricFamily protobuf is recognised, other protobufs are not", () => {
    assert.equal(formatForContentType(PROTOBUF_CONTENT_TYPE), "protobuf");
    assert.equal(
      formatForContentType(
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
      ),
      "protobuf",
    );
    assert.equal(
      formatForContentType("application/vnd.google.protobuf; proto=other.Message; encoding=delimited"),
      "prometheus",
    );
    assert.equal(
      formatForContentType("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily"),
      "prometheus",
    );
    assert.equal(parserForContentType(PROTOBUF_CONTENT_TYPE).format, "protobuf");
  });

  test("a server answers in protobuf only when the Accept header prefers it", () => {
    assert.equal(prefersProtobuf(SCRAPE_ACCEPT_HEADER_PROTOBUF), true);
    assert.equal(prefersProtobuf(SCRAPE_ACCEPT_HEADER), false);
    assert.equal(prefersProtobuf(undefined), false);
    assert.equal(prefersProtobuf("*/*"), false);
    // Prometheus 2.42's header with native histograms on.
    assert.equal(
      prefersProtobuf(
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7," +
          "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      ),
      true,
    );
    assert.equal(
      prefersProtobuf(
        "text/plain;version=0.0.4;q=0.9,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5",
      ),
      false,
    );
    assert.equal(prefersProtobuf("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily"), false);
    assert.equal(
      prefersProtobuf("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0"),
      false,
    );
  });
});

describe("protobuf exposition: parser", () => {
  test("counters, gauges, untyped, summaries and classic histograms flatten as Prometheus does", () => {
    const families: MetricFamily[] = [
      { name: "requests_total", type: "counter", help: "Requests.", samples: [{ labels: l("code", "200"), value: 7 }] },
      {
        name: "temp",
        type: "gauge",
        help: "",
        samples: [{ labels: l(), value: -1.5, timestampMs: 1_700_000_000_000 }],
      },
      { name: "thing", type: "unknown", samples: [{ labels: l("a", 'x"y'), value: 3 }] },
      {
        name: "rpc",
        type: "summary",
        samples: [
          { name: "rpc", labels: l("quantile", "0.5"), value: 0.2 },
          { name: "rpc_sum", labels: l(), value: 9 },
          { name: "rpc_count", labels: l(), value: 30 },
        ],
      },
      {
        name: "lat",
        type: "histogram",
        samples: [
          { name: "lat_bucket", labels: l("le", "0.1"), value: 1 },
          { name: "lat_bucket", labels: l("le", "1"), value: 3 },
          { name: "lat_bucket", labels: l("le", "+Inf"), value: 4 },
          { name: "lat_sum", labels: l(), value: 2.5 },
          { name: "lat_count", labels: l(), value: 4 },
        ],
      },
    ];
    const p = new ProtobufParser(writeProtobuf(families));
    const got = readAll(p);
    assert.deepEqual(
      got.map((e) => [e.kind, e.labels, e.value, e.t]),
      [
        ["series", '{__name__="lat_count"}', 4, undefined],
        ["series", '{__name__="lat_sum"}', 2.5, undefined],
        ["series", '{__name__="lat_bucket", le="0.1"}', 1, undefined],
        ["series", '{__name__="lat_bucket", le="1.0"}', 3, undefined],
        ["series", '{__name__="lat_bucket", le="+Inf"}', 4, undefined],
        ["series", '{__name__="requests_total", code="200"}', 7, undefined],
        ["series", '{__name__="rpc_count"}', 30, undefined],
        ["series", '{__name__="rpc_sum"}', 9, undefined],
        ["series", '{__name__="rpc", quantile="0.5"}', 0.2, undefined],
        ["series", '{__name__="temp"}', -1.5, 1_700_000_000_000],
        ["series", '{__name__="thing", a="x\\"y"}', 3, undefined],
      ].map(([k, lb, v, t]) => [k, lb, v, t]),
    );
    assert.equal(got[got.length - 1].series, 'thing{a="x\\"y"}');
    assert.deepEqual(p.metadata().get("requests_total"), { type: "counter", help: "Requests.", unit: "" });
    assert.deepEqual(p.metadata().get("rpc"), { type: "summary", help: "", unit: "" });
  });

  test("native histograms from the registry: native only by default, classic buckets too when asked", () => {
    const reg = new Registry();
    const h = reg.histogram({
      name: "rt_seconds",
      help: "Response time.",
      labelNames: ["app"],
      buckets: [0.1, 1],
      native: { schema: 0 },
    });
    const child = h.labels("web");
    for (const v of [0.3, 0.3, 1.5, 0]) child.observe(v);
    const body = writeProtobuf(reg.collect());
    const native = readAll(new ProtobufParser(body));
    assert.equal(native.length, 1);
    assert.equal(native[0].kind, "histogram");
    assert.equal(native[0].labels, '{__name__="rt_seconds", app="web"}');
    // Schema 0: 0.3 is in (0.25, 0.5] (index -1), 1.5 in (1, 2] (index 1); 0 in the zero bucket.
    assert.deepEqual(native[0].h, {
      integer: true,
      counterResetHint: CounterResetHint.unknown,
      schema: 0,
      zeroThreshold: 2 ** -128,
      zeroCount: 1,
      count: 4,
      sum: 2.1,
      positiveSpans: [
        { offset: -1, length: 1 },
        { offset: 1, length: 1 },
      ],
      negativeSpans: [],
      positiveBuckets: [2, 1],
      negativeBuckets: [],
      customValues: [],
    });
    const both = readAll(new ProtobufParser(body, { classicHistograms: true }));
    assert.deepEqual(
      both.map((e) => [e.kind, e.labels, e.value]),
      [
        ["histogram", '{__name__="rt_seconds", app="web"}', undefined],
        ["series", '{__name__="rt_seconds_count", app="web"}', 4],
        ["series", '{__name__="rt_seconds_sum", app="web"}', 2.1],
        ["series", '{__name__="rt_seconds_bucket", app="web", le="0.1"}', 1],
        ["series", '{__name__="rt_seconds_bucket", app="web", le="1.0"}', 3],
        ["series", '{__name__="rt_seconds_bucket", app="web", le="+Inf"}', 4],
      ],
    );
  });

  test("a float native histogram of a gauge histogram family, written by hand", () => {
    const w = new ProtoWriter();
    const fam = new ProtoWriter();
    fam.tag(1, WIRE_LEN);
    fam.string("queue_depth");
    fam.tag(3, WIRE_VARINT);
    fam.uint32(5);
    const m = fam.begin(4);
    const h = fam.begin(7);
    fam.tag(4, WIRE_FIXED64);
    fam.double(2.5);
    fam.tag(2, WIRE_FIXED64);
    fam.double(10);
    fam.tag(5, WIRE_VARINT);
    fam.sint64(-1);
    fam.tag(6, WIRE_FIXED64);
    fam.double(0.001);
    fam.tag(8, WIRE_FIXED64);
    fam.double(0.5);
    const s = fam.begin(12);
    fam.tag(1, WIRE_VARINT);
    fam.sint64(2);
    fam.tag(2, WIRE_VARINT);
    fam.uint32(1);
    fam.end(s);
    fam.tag(14, WIRE_LEN);
    fam.uint32(8);
    fam.double(2);
    fam.end(h);
    fam.end(m);
    const msg = fam.finish();
    w.uint32(msg.length);
    const body = Buffer.concat([w.finish(), msg]);
    const got = readAll(new ProtobufParser(body));
    assert.deepEqual(got[0].h, {
      integer: false,
      counterResetHint: CounterResetHint.gauge,
      schema: -1,
      zeroThreshold: 0.001,
      zeroCount: 0.5,
      count: 2.5,
      sum: 10,
      positiveSpans: [{ offset: 2, length: 1 }],
      negativeSpans: [],
      positiveBuckets: [2],
      negativeBuckets: [],
      customValues: [],
    });
  });

  test("an empty native histogram (a span of no buckets) is native, with the span dropped", () => {
    const body = writeProtobuf([
      {
        name: "empty",
        type: "histogram",
        samples: [
          {
            labels: l(),
            value: 0,
            histogram: {
              integer: true,
              counterResetHint: CounterResetHint.unknown,
              schema: 3,
              zeroThreshold: 0,
              zeroCount: 0,
              count: 0,
              sum: 0,
              positiveSpans: [],
              negativeSpans: [],
              positiveBuckets: [],
              negativeBuckets: [],
              customValues: [],
            },
          },
        ],
      },
    ]);
    const got = readAll(new ProtobufParser(body));
    assert.equal(got[0].kind, "histogram");
    assert.deepEqual(got[0].h?.positiveSpans, []);
  });

  test("hostile bodies fail with bad_data naming the problem", () => {
    const invalid = writeProtobuf([
      {
        name: "bad",
        type: "histogram",
        samples: [
          {
            labels: l("x", "1"),
            value: 3,
            histogram: {
              integer: true,
              counterResetHint: CounterResetHint.unknown,
              schema: 3,
              zeroThreshold: 0.001,
              zeroCount: 0,
              count: 3,
              sum: 1,
              positiveSpans: [{ offset: 0, length: 5 }],
              negativeSpans: [],
              positiveBuckets: [1, 2],
              negativeBuckets: [],
              customValues: [],
            },
          },
        ],
      },
    ]);
    assert.throws(
      () => readAll(new ProtobufParser(invalid)),
      /series bad\{x="1"\}: invalid native histogram: positive side: the spans name 5 buckets but 2 are given/,
    );
    assert.throws(() => readAll(new ProtobufParser(invalid.subarray(0, invalid.length - 3))), /invalid protobuf/);
    assert.throws(() => readAll(new ProtobufParser(new Uint8Array([0xff, 0xff, 0xff, 0x0f]))), /invalid protobuf/);
    assert.throws(() => readAll(new ProtobufParser(new Uint8Array([2, 0x18, 9]))), /without a name/);
    const dup = writeProtobuf([{ name: "d", type: "gauge", samples: [{ labels: l(), value: 1 }] }]);
    assert.equal(readAll(new ProtobufParser(dup)).length, 1);
  });
});

describe("native buckets", () => {
  test("bucket indices match Prometheus's bounds at and around the bucket edges", () => {
    // Schema 0: bucket i is (2^(i-1), 2^i].
    assert.equal(bucketIndex(1, 0), 0);
    assert.equal(bucketIndex(1.0000001, 0), 1);
    assert.equal(bucketIndex(2, 0), 1);
    assert.equal(bucketIndex(0.5, 0), -1);
    // Schema 3: bucket i is (2^((i-1)/8), 2^(i/8)].
    for (const i of [-40, -9, -1, 0, 1, 7, 8, 9, 100]) {
      const upper = 2 ** (i / 8);
      assert.equal(bucketIndex(upper, 3), i, `upper bound of ${i}`);
      assert.equal(bucketIndex(upper * 1.000001, 3), i + 1, `just past ${i}`);
    }
    // Schema -2: bucket i is (16^(i-1), 16^i].
    assert.equal(bucketIndex(16, -2), 1);
    assert.equal(bucketIndex(17, -2), 2);
    assert.equal(bucketIndex(1, -2), 0);
  });
});
