import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProtobufParser, writeProtobuf } from "../exposition/index.ts";
import { Registry } from "../exposition/registry.ts";
import { LabelsBuilder } from "../model/labels.ts";
import { EdgeMetrics, RESPONSE_TIME_BUCKETS } from "./metrics.ts";

describe("edge metrics: --native-histograms", () => {
  for (const native of [false, true]) {
    test(`response time ${native ? "with" : "without"} a native histogram; the classic buckets always stay`, () => {
      const registry = new Registry();
      const m = new EdgeMetrics(registry, { nativeHistograms: native });
      m.edgeResponseTime.labels("web", "ord", "ab12", "200").observe(0.03);
      m.appResponseTime.labels("web", "ord", "ab12", "i1", "200").observe(0.03);
      const kinds: string[] = [];
      const p = new ProtobufParser(writeProtobuf(registry.collect()), { classicHistograms: true });
      const b = new LabelsBuilder();
      for (let k = p.next(); k !== "eof"; k = p.next()) {
        if (k === "histogram") kinds.push(`${p.labels(b).metricName()} schema ${p.histogram().schema}`);
        if (k === "series" && p.metricName().endsWith("_bucket")) kinds.push(p.metricName());
      }
      const classic = RESPONSE_TIME_BUCKETS.length + 1;
      assert.equal(kinds.filter((k) => k === "fly_edge_http_response_time_seconds_bucket").length, classic);
      assert.equal(kinds.filter((k) => k === "fly_app_http_response_time_seconds_bucket").length, classic);
      assert.deepEqual(
        kinds.filter((k) => k.includes("schema")),
        native ? ["fly_edge_http_response_time_seconds schema 3"] : [],
      );
    });
  }
});
