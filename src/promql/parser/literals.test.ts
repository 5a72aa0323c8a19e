import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import {
  formatFloatFixed6,
  formatFloatG,
  formatFloatShortest,
  parseGoFloat,
  parseNumberLiteral,
  quoteRune,
  unicodeRune,
  unquote,
} from "./literals.ts";

describe("durations", () => {
  const ok: [string, number][] = [
    ["0", 0],
    ["1ms", 1],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1y2w3d4h5m6s7ms", 31_536_000_000 + 2 * 604_800_000 + 3 * 86_400_000 + 4 * 3_600_000 + 5 * 60_000 + 6000 + 7],
    ["90s", 90_000],
  ];
  for (const [s, ms] of ok) test(`parses ${s}`, () => assert.equal(parseDuration(s), ms));

  const bad: [string, string][] = [
    ["", "empty duration string"],
    ["5", 'not a valid duration string: "5"'],
    ["5m1h", 'not a valid duration string: "5m1h"'],
    ["1hs", 'unknown unit "hs" in duration "1hs"'],
    ["1.5h", 'unknown unit "." in duration "1.5h"'],
    ["300y", "duration out of range"],
    ["-5m", 'not a valid duration string: "-5m"'],
  ];
  for (const [s, msg] of bad) {
    test(`rejects ${JSON.stringify(s)}`, () => {
      assert.throws(
        () => parseDuration(s),
        (e: unknown) => isContrailError(e, "bad_data") && e.message === msg,
      );
    });
  }

  test("prints as model.Duration does", () => {
    const cases: [number, string][] = [
      [0, "0s"],
      [1, "1ms"],
      [90_000, "1m30s"],
      [5_400_000, "1h30m"],
      [7 * 86_400_000, "1w"],
      [8 * 86_400_000, "8d"],
      [365 * 86_400_000, "1y"],
      [366 * 86_400_000, "366d"],
      [4180, "4s180ms"],
      [-1, ""],
    ];
    for (const [ms, s] of cases) assert.equal(formatDuration(ms), s);
  });
});

describe("Go number literals", () => {
  test("parse like ParseInt(s, 0, 64) then ParseFloat", () => {
    const cases: [string, number][] = [
      ["0755", 493],
      ["08", 8],
      ["0x1_F", 31],
      ["1_000", 1000],
      ["1e3", 1000],
      ["1.e2", 100],
      ["Inf", Infinity],
      ["nAn", Number.NaN],
      ["9223372036854775808", 2 ** 63],
    ];
    for (const [s, v] of cases) assert.deepEqual(parseNumberLiteral(s), v, s);
  });

  test("report Go's errors", () => {
    assert.deepEqual(parseGoFloat("1e400"), { error: 'strconv.ParseFloat: parsing "1e400": value out of range' });
    assert.deepEqual(parseNumberLiteral("0x"), { error: 'strconv.ParseFloat: parsing "0x": invalid syntax' });
    assert.deepEqual(parseGoFloat("1__0"), { error: 'strconv.ParseFloat: parsing "1__0": invalid syntax' });
  });

  test("print like FormatFloat 'f' -1, %g and %f", () => {
    assert.equal(formatFloatShortest(1e21), "1000000000000000000000");
    assert.equal(formatFloatShortest(5e-7), "0.0000005");
    assert.equal(formatFloatShortest(-Infinity), "-Inf");
    assert.equal(formatFloatG(1e6), "1e+06");
    assert.equal(formatFloatG(123456), "123456");
    assert.equal(formatFloatG(0.00001), "1e-05");
    assert.equal(formatFloatG(-23), "-23");
    assert.equal(formatFloatFixed6(Infinity), "+Inf");
    assert.equal(formatFloatFixed6(2 ** 63), "9223372036854775808.000000");
    assert.equal(formatFloatFixed6(1e300).length, 301 + 7);
  });
});

describe("Go strings and runes", () => {
  test("unquote resolves Go escapes", () => {
    assert.equal(unquote('"a\\tb\\u263a\\x41\\101"'), "a\tb☺AA");
    assert.equal(unquote("'it\\'s'"), "it's");
    assert.equal(unquote("`a\\b`"), "a\\b");
    assert.equal(unquote('"\\xe2\\x98\\xba"'), "☺");
    assert.throws(() => unquote('"\\q"'));
  });

  test("%q and %#U of runes", () => {
    assert.equal(quoteRune(0x2e), "'.'");
    assert.equal(quoteRune(0x27), "'\\''");
    assert.equal(quoteRune(0x0a), "'\\n'");
    assert.equal(quoteRune(-1), "'�'");
    assert.equal(unicodeRune(0x63), "U+0063 'c'");
    assert.equal(unicodeRune(0x0a), "U+000A");
  });
});
