import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "./errors.ts";
import {
  checkLimitValue,
  clampLimitValue,
  DEFAULT_ORG_LIMITS,
  formatLimit,
  LIMIT_KEYS,
  LIMIT_SPECS,
  limitKeyOf,
  limitName,
  parseLimitValue,
  requireLimitKey,
} from "./limits.ts";

describe("the limit table", () => {
  test("every default lies in its range, and every setting name maps back to its key", () => {
    for (const key of LIMIT_KEYS) {
      const spec = LIMIT_SPECS[key];
      assert.ok(spec.min <= spec.default && spec.default <= spec.max, key);
      assert.ok(Number.isSafeInteger(spec.min) && Number.isSafeInteger(spec.max), key);
      assert.equal(DEFAULT_ORG_LIMITS[key], spec.default);
      assert.match(limitName(key), /^[a-z][a-z0-9_]*$/);
      assert.equal(limitKeyOf(limitName(key)), key);
    }
    assert.equal(limitName("maxLabelNamesPerSeries"), "max_label_names_per_series");
  });

  test("unknown names are refused with the list of known ones", () => {
    assert.throws(
      () => requireLimitKey("max_labels"),
      (e) => isContrailError(e, "bad_data") && /unknown limit "max_labels".*max_label_names_per_series/.test(e.message),
    );
  });
});

describe("values", () => {
  const good: [Parameters<typeof parseLimitValue>[0], string, number][] = [
    ["maxLabelNamesPerSeries", "40", 40],
    ["maxLabelNamesPerSeries", " 7 ", 7],
    ["maxWriteBytes", "64MiB", 64 * 1024 * 1024],
    ["maxWriteBytes", "512kib", 512 * 1024],
    ["maxWriteBytes", "1048576", 1048576],
    ["queryTimeoutMs", "90s", 90_000],
    ["queryTimeoutMs", "2m", 120_000],
    ["queryTimeoutMs", "1500ms", 1500],
    ["creationGracePeriodMs", "0", 0],
  ];
  for (const [key, text, want] of good) {
    test(`${limitName(key)}=${text} is ${want}`, () => assert.equal(parseLimitValue(key, text), want));
  }

  const bad: [Parameters<typeof parseLimitValue>[0], string, RegExp][] = [
    ["maxLabelNamesPerSeries", "0", /max_label_names_per_series must be an integer from 1 to 1000, got 0/],
    ["maxLabelNamesPerSeries", "1001", /from 1 to 1000, got 1001/],
    ["maxLabelNamesPerSeries", "-3", /expected a whole number, got "-3"/],
    ["maxLabelNamesPerSeries", "3.5", /expected a whole number/],
    ["maxLabelNamesPerSeries", "10MiB", /expected a whole number, got "10MiB"/],
    ["maxWriteBytes", "1GiB", /max_write_bytes must be an integer from 64KiB to 256MiB, got 1GiB/],
    ["maxWriteBytes", "12 parsecs", /optionally with one of GiB, MiB, KiB, B/],
    ["queryTimeoutMs", "5h", /query_timeout_ms must be an integer from 1s to 1h, got 5h/],
    ["queryTimeoutMs", "99999999999999999", /expected a whole number/],
  ];
  for (const [key, text, message] of bad) {
    test(`${limitName(key)}=${text} is refused`, () => {
      assert.throws(
        () => parseLimitValue(key, text),
        (e) => isContrailError(e, "bad_data") && message.test(e.message),
      );
    });
  }

  test("checkLimitValue refuses fractions and NaN; clampLimitValue brings values into range", () => {
    assert.throws(() => checkLimitValue("maxSeries", 1.5), /max_series must be an integer/);
    assert.throws(() => checkLimitValue("maxSeries", Number.NaN), /got NaN/);
    assert.equal(clampLimitValue("maxLabelNamesPerSeries", 5000), 1000);
    assert.equal(clampLimitValue("maxLabelNamesPerSeries", -1), 1);
  });

  test("formatLimit writes exact values with the largest fitting unit", () => {
    assert.equal(formatLimit("maxWriteBytes", 32 * 1024 * 1024), "32MiB");
    assert.equal(formatLimit("maxWriteBytes", 1000), "1000B");
    assert.equal(formatLimit("queryTimeoutMs", 120_000), "2m");
    assert.equal(formatLimit("queryTimeoutMs", 1500), "1500ms");
    assert.equal(formatLimit("creationGracePeriodMs", 0), "0");
    assert.equal(formatLimit("maxSeries", 200_000), "200000");
  });
});
