import assert from "node:assert/strict";
import { test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import {
  Form,
  limitParam,
  MAX_TIME_MS,
  MIN_TIME_MS,
  parseDurationParam,
  parseMatcherSets,
  parseTime,
  timeParam,
} from "./params.ts";

test("parseTime reads float seconds and RFC 3339 as Prometheus does", () => {
  const cases: [string, number][] = [
    ["4", 4000],
    ["0", 0],
    ["1712345678", 1712345678000],
    ["1712345678.123", 1712345678123],
    ["1712345678.1234", 1712345678123],
    ["1712345678.1235", 1712345678124],
    ["-1.5", -1500],
    ["1e3", 1_000_000],
    [".5", 500],
    ["1712345678123", 1712345678123000], // Grafana's exemplar probe sends ms; read as seconds, as Prometheus does
    ["1970-01-01T00:00:04Z", 4000],
    ["2024-04-05T19:21:18.123Z", Date.UTC(2024, 3, 5, 19, 21, 18, 123)],
    ["2024-04-05T19:21:18.123456789Z", Date.UTC(2024, 3, 5, 19, 21, 18, 123)],
    ["2024-04-05T21:21:18+02:00", Date.UTC(2024, 3, 5, 19, 21, 18)],
    ["2024-04-05T17:51:18-01:30", Date.UTC(2024, 3, 5, 19, 21, 18)],
    ["-292273086-05-16T16:47:06Z", MIN_TIME_MS],
    ["292277026596-12-04T15:30:07.999999999Z", MAX_TIME_MS],
  ];
  for (const [text, ms] of cases) assert.equal(parseTime(text), ms, text);
});

test("parseTime rejects what Prometheus rejects, with its message", () => {
  for (const text of [
    "",
    "abc",
    "0x10",
    " 4",
    "4 ",
    "2024-13-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-01-01",
    "NaN",
    "+Inf",
  ]) {
    assert.throws(
      () => parseTime(text),
      (err) =>
        isContrailError(err, "bad_data") && err.message === `cannot parse ${JSON.stringify(text)} to a valid timestamp`,
      text,
    );
  }
});

test("parseTime refuses seconds beyond int64 milliseconds, which Prometheus turns into garbage", () => {
  assert.equal(parseTime("9223372036854"), 9_223_372_036_854_000);
  assert.equal(parseTime("-9000000000000000"), -9e18);
  for (const text of ["1e20", "-1e20", "9.3e15", "1e308"]) {
    assert.throws(
      () => parseTime(text),
      (err) =>
        isContrailError(err, "bad_data") &&
        err.message ===
          `cannot parse ${JSON.stringify(text)} to a valid timestamp: it lies beyond the range of int64 milliseconds (±9.2e15 s)`,
      text,
    );
  }
});

test("parseDurationParam reads float seconds and Prometheus durations", () => {
  const cases: [string, number][] = [
    ["15", 15_000],
    ["0.5", 500],
    ["60", 60_000],
    ["1m15s", 75_000],
    ["1m0s", 60_000],
    ["1h0m0s", 3_600_000],
    ["3600s", 3_600_000],
    ["2m", 120_000],
    ["1d", 86_400_000],
    ["100ms", 100],
  ];
  for (const [text, ms] of cases) assert.equal(parseDurationParam(text), ms, text);
  assert.throws(() => parseDurationParam("1x"), /cannot parse "1x" to a valid duration/);
  assert.throws(() => parseDurationParam(""), /cannot parse "" to a valid duration/);
  assert.throws(() => parseDurationParam("1e19"), /It overflows int64/);
  assert.throws(() => parseDurationParam("-Inf"), /It overflows int64/);
  assert.throws(() => parseDurationParam("NaN"), { message: `cannot parse "NaN" to a valid duration` });
});

test("Form takes body values before URL values, and keeps every match[]", () => {
  const f = new Form("query=up&match%5B%5D=a", "query=down&match[]=b&time=4");
  assert.equal(f.get("query"), "up");
  assert.equal(f.get("time"), "4");
  assert.equal(f.get("missing"), "");
  assert.deepEqual(f.all("match[]"), ["a", "b"]);
  assert.equal(new Form("", "query=1%2B1&x=a+b").get("query"), "1+1");
  assert.equal(new Form("", "x=a+b").get("x"), "a b");
});

test("timeParam wraps errors as invalid parameter and falls back when absent", () => {
  assert.equal(timeParam(new Form("", ""), "time", 42), 42);
  assert.throws(
    () => timeParam(new Form("", "time=x"), "time", 0),
    (err) =>
      isContrailError(err, "bad_data") &&
      err.message === `invalid parameter "time": invalid time value for 'time': cannot parse "x" to a valid timestamp`,
  );
});

test("limitParam accepts non-negative integers only", () => {
  assert.equal(limitParam(new Form("", "")), 0);
  assert.equal(limitParam(new Form("", "limit=40000")), 40000);
  assert.throws(() => limitParam(new Form("", "limit=-1")), /limit must be non-negative/);
  assert.throws(() => limitParam(new Form("", "limit=abc")), /invalid parameter "limit"/);
  assert.equal(limitParam(new Form("", "limit=9223372036854775807")), 2 ** 63);
  for (const big of ["9223372036854775808", "-9223372036854775809", "99999999999999999999999"]) {
    assert.throws(
      () => limitParam(new Form("", `limit=${big}`)),
      (err) =>
        isContrailError(err, "bad_data") &&
        err.message === `invalid parameter "limit": strconv.Atoi: parsing "${big}": value out of range`,
      big,
    );
  }
});

test("parseMatcherSets parses selectors and refuses empty-matching or non-selector ones", () => {
  const sets = parseMatcherSets(['up{job="x"}', '{__name__=~"fly_.+"}']);
  assert.equal(sets.length, 2);
  assert.deepEqual(sets[0].map((m) => `${m.name}${m.type}${m.value}`).sort(), ["__name__=up", "job=x"]);
  assert.ok(sets[1][0].matches("fly_edge"));
  assert.throws(() => parseMatcherSets(['{job=~".*"}']), /at least one non-empty matcher/);
  assert.throws(() => parseMatcherSets(["up[5m]"]), /not a series selector/);
  assert.throws(
    () => parseMatcherSets(["up{"]),
    (err) => isContrailError(err, "parse_error"),
  );
});
