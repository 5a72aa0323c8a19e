// Names as Prometheus 3's default OTLP translation (UnderscoreEscapingWithSuffixes) makes them: cases from the
// OpenTelemetry compatibility spec and Prometheus's own translator tests.

import assert from "node:assert/strict";
import { test } from "node:test";
import { formatPlain, labelName, metricName, type NameType, unitName } from "./names.ts";

const METRICS: readonly [name: string, unit: string, type: NameType, want: string][] = [
  ["http.server.request.duration", "s", "other", "http_server_request_duration_seconds"],
  ["system.filesystem.usage", "By", "gauge", "system_filesystem_usage_bytes"],
  ["requests.count", "1", "counter", "requests_count_total"],
  ["system.io", "By", "counter", "system_io_bytes_total"],
  ["cpu.utilization", "1", "gauge", "cpu_utilization_ratio"],
  ["metric.with.ratio", "1", "gauge", "metric_with_ratio"],
  ["queue.fill", "1", "other", "queue_fill"],
  ["throughput", "By/s", "gauge", "throughput_bytes_per_second"],
  ["speed", "m/s", "gauge", "speed_meters_per_second"],
  ["events", "1/s", "gauge", "events_per_second"],
  ["packets", "{packets}/s", "gauge", "packets_per_second"],
  ["active_requests", "{request}", "other", "active_requests"],
  ["hello_you_total", "", "counter", "hello_you_total"],
  ["total_hello", "", "counter", "hello_total"],
  ["foo_seconds", "s", "other", "foo_seconds"],
  ["temperature", "Cel", "gauge", "temperature_celsius"],
  ["memory", "KiBy", "gauge", "memory_kibibytes"],
  ["load", "%", "gauge", "load_percent"],
  ["odd", "custom unit", "gauge", "odd_custom_unit"],
  ["__my__metric__", "", "gauge", "my_metric"],
  ["123metric", "", "gauge", "_123metric"],
  ["ünïcode", "", "gauge", "n_code"],
  ["with:colon", "", "gauge", "with:colon"],
  ["!!!", "", "gauge", ""],
  ["", "s", "gauge", "seconds"],
];

test("metric names: escaping, unit words and type suffixes", () => {
  for (const [name, unit, type, want] of METRICS) {
    assert.equal(metricName(name, unit, type), want, `${name} [${unit}] ${type}`);
  }
});

test("units for metadata", () => {
  assert.equal(unitName("By/s"), "bytes_per_second");
  assert.equal(unitName("s"), "seconds");
  assert.equal(unitName("1"), "");
  assert.equal(unitName("{request}"), "");
  assert.equal(unitName("{x}/s"), "per_second");
});

test("label names: underscores for other characters, key_ before a digit, reserved names kept", () => {
  const cases: readonly [string, string][] = [
    ["http.method", "http_method"],
    ["service.instance.id", "service_instance_id"],
    ["123invalid", "key_123invalid"],
    ["__reserved__", "__reserved__"],
    ["__a.b__", "__a_b__"],
    ["_private", "_private"],
    ["a..b", "a_b"],
    ["a__b", "a_b"],
    ["ünicode", "_nicode"],
    ["le", "le"],
    ["___", ""],
    ["...", ""],
  ];
  for (const [key, want] of cases) assert.equal(labelName(key), want, key);
});

test("le and quantile values are written without exponents, as Go's FormatFloat 'f' -1", () => {
  const cases: readonly [number, string][] = [
    [0.5, "0.5"],
    [1, "1"],
    [1e-7, "0.0000001"],
    [2.5e-10, "0.00000000025"],
    [1e21, "1000000000000000000000"],
    [-1.5e22, "-15000000000000000000000"],
    [1.2345e25, "12345000000000000000000000"],
    [Number.POSITIVE_INFINITY, "+Inf"],
    [Number.NEGATIVE_INFINITY, "-Inf"],
  ];
  for (const [v, want] of cases) assert.equal(formatPlain(v), want, String(v));
});
