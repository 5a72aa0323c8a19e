// Translation of decoded requests into Prometheus series: every metric type, resource attributes (job, instance,
// target_info), attribute escaping and collisions, staleness, metadata, and the refusals (delta temporality, label
// limits, inconsistent histograms), each with its reason.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MetricType } from "../../exposition/types.ts";
import type { Histogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import { DEFAULT_ORG_LIMITS } from "../../model/limits.ts";
import { isStaleNaN } from "../../model/sample.ts";
import type { Attribute, ExportRequest, Metric, MetricData } from "./model.ts";
import { type TranslateLimits, type TranslateSink, translateRequest } from "./translate.ts";

const T = 1_700_000_000_000;

class Recorder implements TranslateSink {
  readonly floats: [string, number, number][] = [];
  readonly histograms: [string, number, Histogram][] = [];
  readonly refusals: [number, string][] = [];
  readonly meta: [string, MetricType, string, string][] = [];
  points = 0;
  exemplarCount = 0;
  point(): void {
    this.points++;
  }
  float(labels: Labels, t: number, v: number): void {
    this.floats.push([labels.toString(), t, v]);
  }
  histogram(labels: Labels, t: number, h: Histogram): void {
    this.histograms.push([labels.toString(), t, h]);
  }
  refuse(points: number, reason: string): void {
    this.refusals.push([points, reason]);
  }
  metadata(name: string, type: MetricType, help: string, unit: string): void {
    this.meta.push([name, type, help, unit]);
  }
  exemplars(n: number): void {
    this.exemplarCount += n;
  }
  /** The float series as "labels value", sorted. */
  series(): string[] {
    return this.floats.map(([l, , v]) => `${l} ${v}`).sort();
  }
}

const SERVICE: Attribute[] = [
  ["service.name", "shop"],
  ["service.instance.id", "i-1"],
];

function request(metrics: Metric[], resource: Attribute[] = SERVICE): ExportRequest {
  return { resources: [{ attributes: resource, scopes: [{ metrics }] }] };
}

function metric(name: string, unit: string, data: MetricData, description = ""): Metric {
  return { name, description, unit, data };
}

const at = (attributes: Attribute[] = [], over: { flags?: number; t?: number; exemplars?: number } = {}) => ({
  attributes,
  startMs: 0,
  timeMs: over.t ?? T,
  flags: over.flags ?? 0,
  exemplars: over.exemplars ?? 0,
});

function translate(req: ExportRequest, limits: Partial<TranslateLimits> = {}): Recorder {
  const r = new Recorder();
  translateRequest(req, r, { ...DEFAULT_ORG_LIMITS, ...limits });
  return r;
}

describe("resource attributes", () => {
  test("job and instance from service.*, the other attributes on target_info at the newest point", () => {
    const r = translate(
      request(
        [
          metric("temp", "Cel", {
            kind: "gauge",
            points: [{ ...at([["room.name", "a"]], { t: T - 5000 }), value: 21 }],
          }),
          metric("load", "", { kind: "gauge", points: [{ ...at(), value: 0.5 }] }),
        ],
        [...SERVICE, ["service.namespace", "eu"], ["host.name", "h1"], ["k8s.pod.uid", "p"]],
      ),
    );
    assert.deepEqual(r.series(), [
      '{__name__="load", instance="i-1", job="eu/shop"} 0.5',
      '{__name__="target_info", host_name="h1", instance="i-1", job="eu/shop", k8s_pod_uid="p"} 1',
      '{__name__="temp_celsius", instance="i-1", job="eu/shop", room_name="a"} 21',
    ]);
    assert.equal(r.floats.find((f) => f[0].includes("target_info"))?.[1], T);
    assert.equal(r.points, 2);
  });

  test("no target_info when the resource has only service attributes; resource job wins over a point's", () => {
    const r = translate(
      request([metric("g", "", { kind: "gauge", points: [{ ...at([["job", "mine"]]), value: 1 }] })]),
    );
    assert.deepEqual(r.series(), ['{__name__="g", instance="i-1", job="shop"} 1']);
  });

  test("no service.name: no job, even with a namespace", () => {
    const r = translate(
      request([metric("g", "", { kind: "gauge", points: [{ ...at(), value: 1 }] })], [["service.namespace", "x"]]),
    );
    assert.deepEqual(r.series(), ['{__name__="g"} 1']);
  });
});

describe("attributes", () => {
  test("keys escaped to the legacy charset; keys escaping to one name have their values joined in key order", () => {
    const r = translate(
      request([
        metric("g", "", {
          kind: "gauge",
          points: [
            {
              ...at([
                ["a_b", "2"],
                ["a.b", "1"],
                ["http.méthod", "GET"],
                ["0day", "x"],
                ["empty", ""],
              ]),
              value: 1,
            },
          ],
        }),
      ]),
    );
    assert.deepEqual(r.series(), [
      '{__name__="g", a_b="1;2", http_m_thod="GET", instance="i-1", job="shop", key_0day="x"} 1',
    ]);
  });

  test("a key with nothing left once escaped refuses its point", () => {
    const r = translate(request([metric("g", "", { kind: "gauge", points: [{ ...at([["...", "x"]]), value: 1 }] })]));
    assert.deepEqual(r.floats, []);
    assert.equal(r.refusals[0][0], 1);
    assert.match(r.refusals[0][1], /attribute key "\.\.\." leaves no valid label name/);
  });

  test("label limits: too many labels, too long a name or value refuse the point, naming the limit", () => {
    const many: Attribute[] = Array.from({ length: 5 }, (_, i) => [`k${i}`, "v"]);
    const r1 = translate(request([metric("g", "", { kind: "gauge", points: [{ ...at(many), value: 1 }] })]), {
      maxLabelNamesPerSeries: 4,
    });
    assert.match(r1.refusals[0][1], /8 labels, more than 4 \(max_label_names_per_series\)/);
    const r2 = translate(
      request([metric("g", "", { kind: "gauge", points: [{ ...at([["k", "x".repeat(11)]]), value: 1 }] })]),
      {
        maxLabelValueLength: 10,
      },
    );
    assert.match(r2.refusals[0][1], /label k of g has a value longer than 10 bytes \(max_label_value_length\)/);
    const r3 = translate(
      request([metric("g", "", { kind: "gauge", points: [{ ...at([["k".repeat(11), "x"]]), value: 1 }] })]),
      {
        maxLabelNameLength: 10,
      },
    );
    assert.match(r3.refusals[0][1], /max_label_name_length/);
    assert.deepEqual([r1.floats, r2.floats, r3.floats], [[], [], []]);
  });
});

describe("metric types", () => {
  test("monotonic cumulative sum: a counter with _total; metadata with type, help and unit", () => {
    const r = translate(
      request([
        metric(
          "http.requests",
          "{request}",
          { kind: "sum", temporality: 2, monotonic: true, points: [{ ...at(), value: 42 }] },
          "requests served",
        ),
        metric("io", "By", { kind: "sum", temporality: 2, monotonic: true, points: [{ ...at(), value: 7 }] }),
      ]),
    );
    assert.deepEqual(r.series(), [
      '{__name__="http_requests_total", instance="i-1", job="shop"} 42',
      '{__name__="io_bytes_total", instance="i-1", job="shop"} 7',
    ]);
    assert.deepEqual(r.meta, [
      ["http_requests_total", "counter", "requests served", ""],
      ["io_bytes_total", "counter", "", "bytes"],
    ]);
  });

  test("non-monotonic sum: a gauge, no _total; a gauge of unit 1 gets _ratio", () => {
    const r = translate(
      request([
        metric("queue.size", "", { kind: "sum", temporality: 2, monotonic: false, points: [{ ...at(), value: -3 }] }),
        metric("cpu.utilization", "1", { kind: "gauge", points: [{ ...at(), value: 0.25 }] }),
      ]),
    );
    assert.deepEqual(r.series(), [
      '{__name__="cpu_utilization_ratio", instance="i-1", job="shop"} 0.25',
      '{__name__="queue_size", instance="i-1", job="shop"} -3',
    ]);
    assert.deepEqual(
      r.meta.map((m) => m[1]),
      ["gauge", "gauge"],
    );
  });

  test("delta and unspecified temporality are refused with the reason, every point counted", () => {
    const r = translate(
      request([
        metric("d", "", {
          kind: "sum",
          temporality: 1,
          monotonic: true,
          points: [
            { ...at(), value: 1 },
            { ...at(), value: 2 },
          ],
        }),
        metric("h", "", {
          kind: "histogram",
          temporality: 1,
          points: [{ ...at(), count: 1, sum: 1, bucketCounts: [], explicitBounds: [] }],
        }),
        metric("u", "", { kind: "sum", temporality: 0, monotonic: false, points: [{ ...at(), value: 1 }] }),
      ]),
    );
    assert.deepEqual(r.floats, []);
    assert.deepEqual(
      r.refusals.map((x) => x[0]),
      [2, 1, 1],
    );
    assert.match(
      r.refusals[0][1],
      /metric "d": delta aggregation temporality is not supported, only cumulative; configure the exporter's temporality preference/,
    );
    assert.match(r.refusals[2][1], /unspecified \(0\) aggregation temporality/);
  });

  test("classic histogram: cumulative _bucket{le} with +Inf holding the count, _sum, _count", () => {
    const r = translate(
      request([
        metric("latency", "ms", {
          kind: "histogram",
          temporality: 2,
          points: [
            {
              ...at([["route", "/"]]),
              count: 10,
              sum: 123.5,
              bucketCounts: [1, 2, 3, 4],
              explicitBounds: [0.5, 10, 1e-7].sort((a, b) => a - b),
            },
          ],
        }),
      ]),
    );
    const l = 'instance="i-1", job="shop"';
    assert.deepEqual(
      r.series(),
      [
        `{__name__="latency_milliseconds_bucket", ${l}, le="+Inf", route="/"} 10`,
        `{__name__="latency_milliseconds_bucket", ${l}, le="0.0000001", route="/"} 1`,
        `{__name__="latency_milliseconds_bucket", ${l}, le="0.5", route="/"} 3`,
        `{__name__="latency_milliseconds_bucket", ${l}, le="10", route="/"} 6`,
        `{__name__="latency_milliseconds_count", ${l}, route="/"} 10`,
        `{__name__="latency_milliseconds_sum", ${l}, route="/"} 123.5`,
      ].sort(),
    );
    assert.deepEqual(r.meta, [["latency_milliseconds", "histogram", "", "milliseconds"]]);
    assert.equal(r.points, 1);
  });

  test("a histogram without sum or buckets has _count and the +Inf bucket only", () => {
    const r = translate(
      request([
        metric("h", "", {
          kind: "histogram",
          temporality: 2,
          points: [{ ...at(), count: 4, sum: undefined, bucketCounts: [], explicitBounds: [] }],
        }),
      ]),
    );
    assert.deepEqual(r.series(), [
      '{__name__="h_bucket", instance="i-1", job="shop", le="+Inf"} 4',
      '{__name__="h_count", instance="i-1", job="shop"} 4',
    ]);
  });

  test("inconsistent histograms are refused: counts not one more than bounds, bounds not increasing", () => {
    const r = translate(
      request([
        metric("a", "", {
          kind: "histogram",
          temporality: 2,
          points: [{ ...at(), count: 1, sum: 0, bucketCounts: [1], explicitBounds: [1] }],
        }),
        metric("b", "", {
          kind: "histogram",
          temporality: 2,
          points: [{ ...at(), count: 1, sum: 0, bucketCounts: [1, 0, 0], explicitBounds: [2, 1] }],
        }),
      ]),
    );
    assert.deepEqual(r.floats, []);
    assert.match(r.refusals[0][1], /1 bucket counts for 1 explicit bounds \(expected 2\)/);
    assert.match(r.refusals[1][1], /not strictly increasing/);
  });

  test("summary: {quantile}, _sum, _count; a quantile outside [0, 1] refuses the point", () => {
    const r = translate(
      request([
        metric("rpc", "s", {
          kind: "summary",
          points: [
            {
              ...at(),
              count: 5,
              sum: 2.5,
              quantiles: [
                { quantile: 0.5, value: 0.4 },
                { quantile: 0.99, value: 1.2 },
              ],
            },
          ],
        }),
        metric("bad", "", {
          kind: "summary",
          points: [{ ...at(), count: 1, sum: 1, quantiles: [{ quantile: 2, value: 1 }] }],
        }),
      ]),
    );
    assert.deepEqual(r.series(), [
      '{__name__="rpc_seconds", instance="i-1", job="shop", quantile="0.5"} 0.4',
      '{__name__="rpc_seconds", instance="i-1", job="shop", quantile="0.99"} 1.2',
      '{__name__="rpc_seconds_count", instance="i-1", job="shop"} 5',
      '{__name__="rpc_seconds_sum", instance="i-1", job="shop"} 2.5',
    ]);
    assert.match(r.refusals[0][1], /quantile 2 is outside \[0, 1\]/);
  });

  test("exponential histogram: one native histogram sample; an unconvertible one refused", () => {
    const exp = (scale: number) => ({
      ...at(),
      count: 3,
      sum: 4,
      scale,
      zeroCount: 1,
      zeroThreshold: 0,
      positive: { offset: 0, counts: [2] },
      negative: { offset: 0, counts: [] },
    });
    const r = translate(
      request([metric("size", "By", { kind: "exponentialHistogram", temporality: 2, points: [exp(2), exp(-9)] })]),
    );
    assert.equal(r.histograms.length, 1);
    assert.equal(r.histograms[0][0], '{__name__="size_bytes", instance="i-1", job="shop"}');
    assert.equal(r.histograms[0][2].schema, 2);
    assert.equal(r.histograms[0][2].count, 3);
    assert.match(r.refusals[0][1], /metric "size": scale -9 is outside/);
  });

  test("no recorded value: staleness markers on every series of the point", () => {
    const r = translate(
      request([
        metric("g", "", { kind: "gauge", points: [{ ...at([], { flags: 1 }), value: 5 }] }),
        metric("h", "", {
          kind: "histogram",
          temporality: 2,
          points: [{ ...at([], { flags: 1 }), count: 1, sum: 1, bucketCounts: [1, 0], explicitBounds: [1] }],
        }),
      ]),
    );
    assert.equal(r.floats.length, 5);
    for (const [, , v] of r.floats) assert.ok(isStaleNaN(v));
  });

  test("exemplars are counted and dropped; a metric without data is reported, counting no point", () => {
    const r = translate(
      request([
        metric("g", "", { kind: "gauge", points: [{ ...at([], { exemplars: 3 }), value: 1 }] }),
        metric("nothing", "", { kind: "empty" }),
        metric("!!!", "", { kind: "gauge", points: [{ ...at(), value: 1 }] }),
      ]),
    );
    assert.equal(r.exemplarCount, 3);
    assert.deepEqual(r.refusals[0], [0, 'metric "nothing" has no data (or a data type this receiver does not know)']);
    assert.match(r.refusals[1][1], /nothing of its name is left/);
    assert.equal(r.refusals[1][0], 1);
  });

  test("help texts over the metadata length limit are cut", () => {
    const r = translate(
      request([metric("g", "", { kind: "gauge", points: [{ ...at(), value: 1 }] }, "é".repeat(20))]),
      { maxMetadataLength: 16 },
    );
    assert.equal(r.meta[0][2], "é".repeat(8));
  });
});
