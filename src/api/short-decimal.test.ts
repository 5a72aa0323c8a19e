import assert from "node:assert/strict";
import { test } from "node:test";
import { mulberry32 } from "../testkit/random.ts";
import { formatFloatF } from "./json.ts";
import { SHORT_DECIMAL_MAX_BYTES, writeShortDecimal } from "./short-decimal.ts";

const buf = new Uint8Array(64);

/** The text writeShortDecimal writes for `v`, or null when it leaves `v` to the caller. */
function written(v: number): string | null {
  buf.fill(0);
  const end = writeShortDecimal(buf, 3, v);
  if (end < 0) return null;
  assert.ok(end - 3 <= SHORT_DECIMAL_MAX_BYTES, `${v}: ${end - 3} bytes`);
  assert.equal(buf[2], 0, `${v}: wrote before its start`);
  return Buffer.from(buf.subarray(3, end)).toString("latin1");
}

test("values with up to six decimals are written as formatFloatF writes them", () => {
  for (const v of [
    1433.6,
    0.5,
    -2.25,
    123456.789,
    0.000001,
    1,
    10,
    100000,
    7.1,
    99.99,
    0.1,
    1_099_000.5,
    5e-6,
    2_000_000_000 / 2_048,
  ]) {
    assert.equal(written(v), formatFloatF(v), String(v));
  }
  const rnd = mulberry32(7);
  for (let i = 0; i < 200_000; i++) {
    const decimals = Math.floor(rnd() * 7);
    const digits = 1 + Math.floor(rnd() * 13);
    const n = Math.floor(rnd() * 10 ** digits);
    const v = (rnd() < 0.2 ? -n : n) / 10 ** decimals;
    if (v === 0 || Math.abs(v) * 1e6 >= 2 ** 40) continue;
    assert.equal(written(v), formatFloatF(v), `${n} / 10^${decimals}`);
  }
});

test("every value it writes reads as formatFloatF's text, and a value it leaves has more than six decimals", () => {
  const rnd = mulberry32(11);
  let writtenCount = 0;
  for (let i = 0; i < 200_000; i++) {
    const raw = (rnd() - 0.3) * 10 ** Math.floor(rnd() * 16 - 8);
    // Half the draws rounded to 0–8 decimals: values near the bound of six from both sides.
    const k = Math.floor(rnd() * 9);
    const v = rnd() < 0.5 ? raw : Math.round(raw * 10 ** k) / 10 ** k;
    const text = written(v);
    if (text !== null) {
      writtenCount++;
      assert.equal(text, formatFloatF(v), String(v));
      continue;
    }
    const f = formatFloatF(v);
    const point = f.indexOf(".");
    const decimals = point < 0 ? 0 : f.length - point - 1;
    assert.ok(decimals > 6 || Math.abs(v) * 1e6 >= 2 ** 40 || v === 0, `${v} (${f}) was left`);
  }
  assert.ok(writtenCount > 10_000, `${writtenCount} written`);
});

test("values it leaves to the caller: long fractions, tiny and large magnitudes, zero and non-finite values", () => {
  for (const v of [
    1e11 + 0.5,
    1_100_000,
    0.1 + 0.2,
    1 / 3,
    1e-7,
    2 ** 40,
    2 ** 53,
    1e21,
    5e-324,
    0,
    -0,
    Number.NaN,
    Infinity,
    -Infinity,
  ]) {
    assert.equal(written(v), null, String(v));
  }
});
