// One suite run against both parsers through the Content-Type choice: the same bodies (valid in both formats,
// with `# EOF` added for OpenMetrics) must give the same series, labels, values and metadata.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LabelsBuilder } from "../model/labels.ts";
import { formatForContentType, parserForContentType } from "./content-type.ts";
import type { ExpositionFormat, ExpositionParser } from "./types.ts";

const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

function open(format: ExpositionFormat, body: string): ExpositionParser {
  const factory = parserForContentType(CONTENT_TYPES[format]);
  assert.equal(factory.format, format);
  const text = format === "openmetrics" ? `${body}# EOF\n` : body;
  return factory.newParser(new TextEncoder().encode(text));
}

interface SeriesSeen {
  readonly series: string;
  readonly labels: string;
  readonly value: number;
  readonly type: string;
  readonly created: boolean;
}

function seriesOf(p: ExpositionParser): SeriesSeen[] {
  const b = new LabelsBuilder();
  const out: SeriesSeen[] = [];
  for (let k = p.next(); k !== "eof"; k = p.next()) {
    if (k !== "series") continue;
    out.push({
      series: p.series(),
      labels: p.labels(b).toString(),
      value: p.value(),
      type: p.type(),
      created: p.isCreated(),
    });
  }
  return out;
}

const BODIES: Record<string, string> = {
  "histogram family": `# HELP http_request_duration_seconds Request latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{code="200",le="0.1"} 3
http_request_duration_seconds_bucket{code="200",le="1"} 5
http_request_duration_seconds_bucket{code="200",le="+Inf"} 6
http_request_duration_seconds_sum{code="200"} 2.25
http_request_duration_seconds_count{code="200"} 6
http_request_duration_seconds_created{code="200"} 1700000000
`,
  "escapes and UTF-8 names": `# TYPE "app.up" gauge
{"app.up",region="fra",msg="say \\"hi\\"\\nthen \\\\ leave"} 1
{"app.up","ünï"="cödé"} 0
`,
  "special values": "nan_gauge NaN\npos +Inf\nneg -Inf\ntiny 5e-324\nbig 1.7976931348623157e+308\n",
};

for (const format of ["prometheus", "openmetrics"] as const) {
  describe(`conformance: ${format}`, () => {
    for (const [name, body] of Object.entries(BODIES)) {
      test(`${name} reads the same as in the other format`, () => {
        const other = format === "prometheus" ? "openmetrics" : "prometheus";
        assert.deepEqual(seriesOf(open(format, body)), seriesOf(open(other, body)));
      });
    }

    test("series() is the raw text; labels() is only built on request and reuses the builder", () => {
      const p = open(format, BODIES["histogram family"]);
      const b = new LabelsBuilder();
      const raw: string[] = [];
      for (let k = p.next(); k !== "eof"; k = p.next()) if (k === "series") raw.push(p.series());
      assert.deepEqual(
        raw,
        BODIES["histogram family"]
          .split("\n")
          .filter((l) => l !== "" && !l.startsWith("#"))
          .map((l) => l.slice(0, l.lastIndexOf(" "))),
      );
      const q = open(format, BODIES["histogram family"]);
      while (q.next() !== "series");
      const first = q.labels(b);
      assert.equal(first.toString(), '{__name__="http_request_duration_seconds_bucket", code="200", le="0.1"}');
      assert.equal(q.ownedSeries(), q.series());
      assert.equal(q.type(), "histogram");
    });

    test("the histogram's values, types and _created flag", () => {
      const got = seriesOf(open(format, BODIES["histogram family"]));
      assert.deepEqual(
        got.map((g) => [g.value, g.type, g.created]),
        [
          [3, "histogram", false],
          [5, "histogram", false],
          [6, "histogram", false],
          [2.25, "histogram", false],
          [6, "histogram", false],
          [1700000000, "histogram", true],
        ],
      );
      assert.equal(got[1].labels, '{__name__="http_request_duration_seconds_bucket", code="200", le="1.0"}');
    });

    test("metadata by family name", () => {
      const p = open(format, BODIES["histogram family"]);
      while (p.next() !== "eof");
      assert.deepEqual(p.metadata().get("http_request_duration_seconds"), {
        type: "histogram",
        help: "Request latency.",
        unit: "",
      });
    });

    test("special values", () => {
      const got = seriesOf(open(format, BODIES["special values"])).map((g) => g.value);
      assert.deepEqual(got, [
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        5e-324,
        1.7976931348623157e308,
      ]);
    });

    test("escapes and quoted names", () => {
      const got = seriesOf(open(format, BODIES["escapes and UTF-8 names"])).map((g) => g.labels);
      assert.deepEqual(got, [
        '{__name__="app.up", msg="say \\"hi\\"\\nthen \\\\ leave", region="fra"}',
        '{__name__="app.up", "ünï"="cödé"}',
      ]);
    });

    test("errors are bad_data with a line number", () => {
      const p = open(format, "ok 1\nbroken{\n");
      assert.equal(p.next(), "series");
      assert.throws(() => p.next(), {
        name: "ContrailError",
        code: "bad_data",
        message: /^line 2: expected label name/,
      });
    });
  });
}

describe("formatForContentType", () => {
  const cases: [string | undefined, ExpositionFormat][] = [
    ["text/plain; version=0.0.4", "prometheus"],
    ["text/plain;version=0.0.4;charset=utf-8", "prometheus"],
    ["text/plain", "prometheus"],
    ["application/openmetrics-text; version=1.0.0; charset=utf-8", "openmetrics"],
    ["application/openmetrics-text;version=0.0.1", "openmetrics"],
    ["Application/OpenMetrics-Text", "openmetrics"],
    [undefined, "prometheus"],
    ["", "prometheus"],
    ["application/json", "prometheus"],
    ["application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily", "prometheus"],
    [";;garbage", "prometheus"],
  ];
  for (const [ct, want] of cases) {
    test(`${JSON.stringify(ct)} → ${want}`, () => assert.equal(formatForContentType(ct), want));
  }
});
