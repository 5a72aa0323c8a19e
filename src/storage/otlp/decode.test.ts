// Both decoders: a protobuf request round-trips through the test encoder, the same request in OTLP/JSON decodes to
// the same data, the JSON mapping's details (int64 as strings, enum names, snake_case, bytes, nested values), and
// every bound (points, values per point, nesting, counts) and malformed input refused with a clear error.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ContrailError } from "../../model/errors.ts";
import { ProtoWriter } from "../remote/protobuf.ts";
import { MAX_VALUE_DEPTH } from "./attributes.ts";
import { DecodeBudget, MAX_VALUES_PER_POINT } from "./budget.ts";
import { decodeJsonRequest } from "./decode-json.ts";
import { decodeProtoRequest } from "./decode-proto.ts";
import type { ExportRequest } from "./model.ts";
import { nanosToMs } from "./numbers.ts";
import { encodeExportRequest } from "./testkit.ts";

const T = 1_700_000_000_123;
const budget = (maxSamplesPerWrite = 1000) => new DecodeBudget({ maxSamplesPerWrite });
const point = {
  attributes: [["http.route", "/a"]] as [string, string][],
  startMs: T - 60_000,
  timeMs: T,
  flags: 0,
  exemplars: 0,
};

const REQUEST: ExportRequest = {
  resources: [
    {
      attributes: [
        ["service.name", "shop"],
        ["host.name", "h1"],
      ],
      scopes: [
        {
          metrics: [
            {
              name: "temp",
              description: "a gauge",
              unit: "Cel",
              data: { kind: "gauge", points: [{ ...point, value: 21.5 }] },
            },
            {
              name: "requests",
              description: "",
              unit: "{request}",
              data: { kind: "sum", temporality: 2, monotonic: true, points: [{ ...point, value: 42 }] },
            },
            {
              name: "latency",
              description: "",
              unit: "s",
              data: {
                kind: "histogram",
                temporality: 2,
                points: [{ ...point, count: 6, sum: 1.5, bucketCounts: [1, 2, 3], explicitBounds: [0.1, 1] }],
              },
            },
            {
              name: "size",
              description: "",
              unit: "By",
              data: {
                kind: "exponentialHistogram",
                temporality: 2,
                points: [
                  {
                    ...point,
                    count: 7,
                    sum: 100,
                    scale: 3,
                    zeroCount: 1,
                    zeroThreshold: 0.5,
                    positive: { offset: -2, counts: [1, 0, 3] },
                    negative: { offset: 5, counts: [2] },
                  },
                ],
              },
            },
            {
              name: "rpc",
              description: "",
              unit: "ms",
              data: {
                kind: "summary",
                points: [{ ...point, flags: 1, count: 3, sum: 9, quantiles: [{ quantile: 0.5, value: 2 }] }],
              },
            },
          ],
        },
      ],
    },
  ],
};

const NS = `${T}000000`;
const JSON_REQUEST = {
  resourceMetrics: [
    {
      resource: {
        attributes: [
          { key: "service.name", value: { stringValue: "shop" } },
          { key: "host.name", value: { stringValue: "h1" } },
        ],
      },
      scopeMetrics: [
        {
          scope: { name: "lib", version: "1" },
          metrics: [
            {
              name: "temp",
              description: "a gauge",
              unit: "Cel",
              gauge: {
                dataPoints: [
                  {
                    attributes: [{ key: "http.route", value: { stringValue: "/a" } }],
                    startTimeUnixNano: `${T - 60_000}000000`,
                    timeUnixNano: NS,
                    asDouble: 21.5,
                  },
                ],
              },
            },
            {
              name: "requests",
              unit: "{request}",
              sum: {
                aggregationTemporality: 2,
                isMonotonic: true,
                dataPoints: [
                  {
                    attributes: [{ key: "http.route", value: { stringValue: "/a" } }],
                    start_time_unix_nano: `${T - 60_000}000000`,
                    timeUnixNano: NS,
                    asInt: "42",
                    exemplars: [],
                  },
                ],
              },
            },
            {
              name: "latency",
              unit: "s",
              histogram: {
                aggregationTemporality: "AGGREGATION_TEMPORALITY_CUMULATIVE",
                dataPoints: [
                  {
                    attributes: [{ key: "http.route", value: { stringValue: "/a" } }],
                    startTimeUnixNano: `${T - 60_000}000000`,
                    timeUnixNano: NS,
                    count: "6",
                    sum: 1.5,
                    bucketCounts: ["1", 2, "3"],
                    explicitBounds: [0.1, 1],
                  },
                ],
              },
            },
            {
              name: "size",
              unit: "By",
              exponentialHistogram: {
                aggregationTemporality: 2,
                dataPoints: [
                  {
                    attributes: [{ key: "http.route", value: { stringValue: "/a" } }],
                    startTimeUnixNano: `${T - 60_000}000000`,
                    timeUnixNano: NS,
                    count: "7",
                    sum: 100,
                    scale: 3,
                    zeroCount: "1",
                    zeroThreshold: 0.5,
                    positive: { offset: -2, bucketCounts: ["1", "0", "3"] },
                    negative: { offset: 5, bucketCounts: ["2"] },
                  },
                ],
              },
            },
            {
              name: "rpc",
              unit: "ms",
              summary: {
                dataPoints: [
                  {
                    attributes: [{ key: "http.route", value: { stringValue: "/a" } }],
                    startTimeUnixNano: `${T - 60_000}000000`,
                    timeUnixNano: NS,
                    flags: 1,
                    count: "3",
                    sum: 9,
                    quantileValues: [{ quantile: 0.5, value: 2 }],
                  },
                ],
              },
            },
          ],
        },
      ],
    },
  ],
};

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function refusal(fn: () => unknown, code: "bad_data" | "too_large", pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ContrailError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

describe("protobuf", () => {
  test("a request round-trips through the encoder: every metric type, attributes, times, flags", () => {
    assert.deepEqual(decodeProtoRequest(encodeExportRequest(REQUEST), budget()), REQUEST);
  });

  test("an empty body is an empty request", () => {
    assert.deepEqual(decodeProtoRequest(new Uint8Array(0), budget()), { resources: [] });
  });

  test("nanoseconds to milliseconds is exact over the whole uint64 range", () => {
    assert.equal(nanosToMs(0, 999_999), 0);
    assert.equal(nanosToMs(0, 1_000_000), 1);
    // 2^64 - 1 ns = 18446744073709.551615 ms
    assert.equal(nanosToMs(0xffff_ffff, 0xffff_ffff), 18_446_744_073_709);
    const ns = BigInt(T) * 1_000_000n + 999_999n;
    assert.equal(nanosToMs(Number(ns >> 32n), Number(ns & 0xffff_ffffn)), T);
  });

  test("malformed and truncated bodies are refused as bad_data", () => {
    const good = encodeExportRequest(REQUEST);
    for (const cut of [1, 7, 40, good.length - 3]) {
      refusal(
        () => decodeProtoRequest(good.subarray(0, cut), budget()),
        "bad_data",
        /invalid protobuf|truncated|runs past/,
      );
    }
    refusal(
      () => decodeProtoRequest(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f), budget()),
      "bad_data",
      /runs past/,
    );
    refusal(() => decodeProtoRequest(Uint8Array.of(0x00), budget()), "bad_data", /field number 0/);
  });

  test("a time of the wrong wire type is named", () => {
    const w = new ProtoWriter();
    const rm = w.begin(1);
    const sm = w.begin(2);
    const m = w.begin(2);
    const g = w.begin(5);
    const p = w.begin(1);
    w.tag(3, 0);
    w.uint32(5);
    w.end(p);
    w.end(g);
    w.end(m);
    w.end(sm);
    w.end(rm);
    refusal(() => decodeProtoRequest(w.finish(), budget()), "bad_data", /time_unix_nano has wire type 0/);
  });

  test("more data points than max_samples_per_write: too_large naming the limit", () => {
    refusal(
      () => decodeProtoRequest(encodeExportRequest(REQUEST), budget(4)),
      "too_large",
      /more than 4 data points.*max_samples_per_write/,
    );
  });

  test("more bucket counts in one point than a point may carry: too_large", () => {
    const counts = new Array(MAX_VALUES_PER_POINT + 1).fill(1);
    const req: ExportRequest = {
      resources: [
        {
          attributes: [],
          scopes: [
            {
              metrics: [
                {
                  name: "x",
                  description: "",
                  unit: "",
                  data: {
                    kind: "exponentialHistogram",
                    temporality: 2,
                    points: [
                      {
                        ...point,
                        count: counts.length,
                        sum: 0,
                        scale: 0,
                        zeroCount: 0,
                        zeroThreshold: 0,
                        positive: { offset: 0, counts },
                        negative: { offset: 0, counts: [] },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    refusal(
      () => decodeProtoRequest(encodeExportRequest(req), budget()),
      "too_large",
      new RegExp(`more than ${MAX_VALUES_PER_POINT} bucket counts`),
    );
  });
});

describe("JSON", () => {
  test("the same request in OTLP/JSON decodes to the same data as protobuf", () => {
    assert.deepEqual(decodeJsonRequest(json(JSON_REQUEST), budget()), REQUEST);
  });

  test("attribute values: int64 strings exactly, bool, double, bytes, arrays and lists as JSON with sorted keys", () => {
    const body = {
      resourceMetrics: [
        {
          resource: {
            attributes: [
              { key: "i", value: { intValue: "9007199254740993" } },
              { key: "b", value: { boolValue: true } },
              { key: "d", value: { doubleValue: 0.25 } },
              { key: "y", value: { bytesValue: "AQI=" } },
              { key: "a", value: { arrayValue: { values: [{ stringValue: "x" }, { intValue: 3 }] } } },
              {
                key: "m",
                value: {
                  kvlistValue: {
                    values: [
                      { key: "z", value: { boolValue: false } },
                      { key: "a", value: {} },
                    ],
                  },
                },
              },
              { key: "e", value: {} },
            ],
          },
        },
      ],
    };
    assert.deepEqual(decodeJsonRequest(json(body), budget()).resources[0].attributes, [
      ["i", "9007199254740993"],
      ["b", "true"],
      ["d", "0.25"],
      ["y", "AQI="],
      ["a", '["x",3]'],
      ["m", '{"a":null,"z":false}'],
      ["e", ""],
    ]);
  });

  test("special doubles as strings; unknown fields ignored", () => {
    const body = {
      resourceMetrics: [
        {
          unknown: 1,
          scopeMetrics: [
            { metrics: [{ name: "g", gauge: { dataPoints: [{ timeUnixNano: NS, asDouble: "NaN", flags: 0 }] } }] },
          ],
        },
      ],
    };
    const m = decodeJsonRequest(json(body), budget()).resources[0].scopes[0].metrics[0];
    assert.equal(m.data.kind, "gauge");
    assert.ok(m.data.kind === "gauge" && Number.isNaN(m.data.points[0].value));
  });

  test("wrong types, invalid JSON and invalid UTF-8 are refused, naming the field", () => {
    refusal(() => decodeJsonRequest(Buffer.from("{"), budget()), "bad_data", /invalid OTLP JSON/);
    refusal(() => decodeJsonRequest(Buffer.from([0x7b, 0xff, 0x7d]), budget()), "bad_data", /not valid UTF-8/);
    refusal(() => decodeJsonRequest(json([]), budget()), "bad_data", /the request must be an object/);
    refusal(
      () => decodeJsonRequest(json({ resourceMetrics: {} }), budget()),
      "bad_data",
      /resourceMetrics must be an array/,
    );
    const withPoint = (p: unknown) => ({
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: "g", gauge: { dataPoints: [p] } }] }] }],
    });
    refusal(
      () => decodeJsonRequest(json(withPoint({ timeUnixNano: "soon" })), budget()),
      "bad_data",
      /timeUnixNano "soon" is not a uint64/,
    );
    refusal(() => decodeJsonRequest(json(withPoint({ asInt: 1.5 })), budget()), "bad_data", /asInt must be an integer/);
    refusal(
      () => decodeJsonRequest(json(withPoint({ asDouble: "x" })), budget()),
      "bad_data",
      /asDouble must be a number/,
    );
    const hist = (p: unknown) => ({
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: "h", histogram: { dataPoints: [p] } }] }] }],
    });
    refusal(
      () => decodeJsonRequest(json(hist({ count: "18446744073709551615" })), budget()),
      "bad_data",
      /not a count below 2\^53/,
    );
    refusal(() => decodeJsonRequest(json(hist({ count: -1 })), budget()), "bad_data", /not a count below 2\^53/);
  });

  test("attribute values nested deeper than the bound are refused", () => {
    let v: unknown = { stringValue: "leaf" };
    for (let i = 0; i <= MAX_VALUE_DEPTH; i++) v = { arrayValue: { values: [v] } };
    const body = { resourceMetrics: [{ resource: { attributes: [{ key: "deep", value: v }] } }] };
    refusal(
      () => decodeJsonRequest(json(body), budget()),
      "bad_data",
      new RegExp(`more than ${MAX_VALUE_DEPTH} levels`),
    );
  });

  test("a hundred thousand nested arrays neither crash nor hang the decoder", () => {
    const depth = 100_000;
    const text = `{"resourceMetrics":[{"resource":{"attributes":[{"key":"k","value":${'{"arrayValue":{"values":['.repeat(depth)}${"]}}".repeat(depth)}}]}}]}`;
    refusal(() => decodeJsonRequest(Buffer.from(text), budget()), "bad_data", /levels deep|invalid OTLP JSON/);
  });

  test("more data points than the limit: too_large", () => {
    refusal(() => decodeJsonRequest(json(JSON_REQUEST), budget(2)), "too_large", /more than 2 data points/);
  });
});
