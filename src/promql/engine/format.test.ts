import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatF, formatG, formatOpenMetricsFloat } from "./format.ts";

describe("Go float formatting", () => {
  const g: [number, number, string][] = [
    [1, -1, "1"],
    [0.5, -1, "0.5"],
    [123456, -1, "123456"],
    [1234567, -1, "1.234567e+06"],
    [1e-5, -1, "1e-05"],
    [0.0001, -1, "0.0001"],
    [-2.5, -1, "-2.5"],
    [1e21, -1, "1e+21"],
    [Number.NaN, -1, "NaN"],
    [Number.POSITIVE_INFINITY, -1, "+Inf"],
    [Number.NEGATIVE_INFINITY, -1, "-Inf"],
    [0, -1, "0"],
    [0.5, 2, "0.5"],
    [12, 2, "12"],
    [123, 2, "1.2e+02"],
    [100, 2, "1e+02"],
    [0.123456, 2, "0.12"],
  ];
  for (const [v, p, want] of g) {
    it(`%${p > 0 ? `.${p}` : ""}g of ${v}`, () => assert.equal(formatG(v, p), want));
  }
  const f: [number, string][] = [
    [1, "1"],
    [0.1, "0.1"],
    [1e21, "1000000000000000000000"],
    [1e-7, "0.0000001"],
    [-3.25, "-3.25"],
  ];
  for (const [v, want] of f) it(`'f' of ${v}`, () => assert.equal(formatF(v), want));
  it("OpenMetrics floats end in .0 when integral", () => {
    assert.equal(formatOpenMetricsFloat(1), "1.0");
    assert.equal(formatOpenMetricsFloat(0.99), "0.99");
    assert.equal(formatOpenMetricsFloat(1e6), "1e+06");
    assert.equal(formatOpenMetricsFloat(Number.POSITIVE_INFINITY), "+Inf");
  });
});
