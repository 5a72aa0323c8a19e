import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { floatError, formatGoFloat, formatOpenMetricsFloat, scanFloat } from "./float.ts";

const parse = (s: string) => scanFloat(s, 0, s.length);

describe("scanFloat", () => {
  const valid: [string, number][] = [
    ["0", 0],
    ["-0", -0],
    ["1", 1],
    ["+1", 1],
    ["-1.5", -1.5],
    ["007", 7],
    ["1.", 1],
    [".5", 0.5],
    ["-.5", -0.5],
    ["4.9351e-05", 4.9351e-5],
    ["7.424100000000001e-05", 7.424100000000001e-5],
    ["1E+06", 1e6],
    ["1e6", 1e6],
    ["0.000123", 0.000123],
    ["123456789012345", 123456789012345],
    ["12345678901234567890", 1.2345678901234567e19],
    ["0.30000000000000004", 0.30000000000000004],
    ["1.7976931348623157e308", 1.7976931348623157e308],
    ["5e-324", 5e-324],
    ["1e-400", 0],
    ["1520879607.789", 1520879607.789],
    ["Inf", Number.POSITIVE_INFINITY],
    ["+Inf", Number.POSITIVE_INFINITY],
    ["-inf", Number.NEGATIVE_INFINITY],
    ["infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["NaN", Number.NaN],
    ["nan", Number.NaN],
    ["NAN", Number.NaN],
  ];
  for (const [text, want] of valid) {
    test(`reads ${JSON.stringify(text)}`, () => assert.equal(Object.is(parse(text), want), true, `${parse(text)}`));
  }

  const invalid: [string, string][] = [
    ["", 'strconv.ParseFloat: parsing "": invalid syntax'],
    [".", 'strconv.ParseFloat: parsing ".": invalid syntax'],
    ["-", 'strconv.ParseFloat: parsing "-": invalid syntax'],
    ["1e", 'strconv.ParseFloat: parsing "1e": invalid syntax'],
    ["1e+", 'strconv.ParseFloat: parsing "1e+": invalid syntax'],
    ["1.2.3", 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'],
    ["true", 'strconv.ParseFloat: parsing "true": invalid syntax'],
    ["0x10", 'strconv.ParseFloat: parsing "0x10": invalid syntax'],
    ["+NaN", 'strconv.ParseFloat: parsing "+NaN": invalid syntax'],
    ["infin", 'strconv.ParseFloat: parsing "infin": invalid syntax'],
    [" 1", 'strconv.ParseFloat: parsing " 1": invalid syntax'],
    ["1\t2", 'strconv.ParseFloat: parsing "1\\t2": invalid syntax'],
    ["1_000", "unsupported character in float"],
    ["0x1p-3", "unsupported character in float"],
    ["0x1P-3", "unsupported character in float"],
    ["1e400", 'strconv.ParseFloat: parsing "1e400": value out of range'],
    ["-1e400", 'strconv.ParseFloat: parsing "-1e400": value out of range'],
  ];
  for (const [text, message] of invalid) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.equal(parse(text), undefined);
      assert.equal(floatError(text), message);
    });
  }

  test("reads a slice of a longer string without looking outside it", () => {
    assert.equal(scanFloat("x 12.5 y", 2, 6), 12.5);
  });

  test("agrees with Number() on random decimal text", () => {
    let seed = 7;
    const rnd = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 20_000; i++) {
      const digits =
        Math.floor(rnd() * 1e9).toString() +
        Math.floor(rnd() * 1e9)
          .toString()
          .slice(0, Math.floor(rnd() * 9));
      const point = Math.floor(rnd() * (digits.length + 1));
      const exp = rnd() < 0.5 ? "" : `e${Math.floor(rnd() * 40) - 20}`;
      const text = `${digits.slice(0, point)}.${digits.slice(point)}${exp}`;
      assert.equal(parse(text), Number(text), text);
    }
  });
});

describe("formatGoFloat", () => {
  // Expected texts are Go's strconv.FormatFloat(v, 'g', -1, 64).
  const cases: [number, string][] = [
    [0, "0"],
    [-0, "-0"],
    [1, "1"],
    [-2.5, "-2.5"],
    [100000, "100000"],
    [123456, "123456"],
    [999999.5, "999999.5"],
    [1e6, "1e+06"],
    [1234567, "1.234567e+06"],
    [9999999, "9.999999e+06"],
    [123456789, "1.23456789e+08"],
    [1e21, "1e+21"],
    [1e100, "1e+100"],
    [0.001, "0.001"],
    [0.0001, "0.0001"],
    [0.00012, "0.00012"],
    [0.00001, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [0.1 + 0.2, "0.30000000000000004"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [1520879607.789, "1.520879607789e+09"],
    [Number.POSITIVE_INFINITY, "+Inf"],
    [Number.NEGATIVE_INFINITY, "-Inf"],
    [Number.NaN, "NaN"],
  ];
  for (const [v, want] of cases) {
    test(`${v} → ${want}`, () => assert.equal(formatGoFloat(v), want));
  }

  test("round trips through scanFloat bit for bit", () => {
    const f64 = new Float64Array(1);
    const u32 = new Uint32Array(f64.buffer);
    let seed = 11;
    for (let i = 0; i < 50_000; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      u32[0] = seed;
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      u32[1] = seed;
      const v = f64[0];
      if (Number.isNaN(v)) continue;
      const text = formatGoFloat(v);
      assert.equal(Object.is(parse(text), v), true, `${v} → ${text}`);
    }
  });
});

describe("formatOpenMetricsFloat", () => {
  const cases: [number, string][] = [
    [1, "1.0"],
    [0, "0.0"],
    [-1, "-1.0"],
    [10, "10.0"],
    [0.25, "0.25"],
    [1e6, "1e+06"],
    [Number.POSITIVE_INFINITY, "+Inf"],
    [Number.NaN, "NaN"],
  ];
  for (const [v, want] of cases) {
    test(`${v} → ${want}`, () => assert.equal(formatOpenMetricsFloat(v), want));
  }
});
