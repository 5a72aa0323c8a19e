import assert from "node:assert/strict";
import { test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import {
  ConcurrencyGate,
  checkMatcherCount,
  checkQueryLength,
  checkSeriesCount,
  DEFAULT_LIMITS,
  limitsResolver,
} from "./limits.ts";

test("ConcurrencyGate admits up to the limit per org and refuses more with unavailable", () => {
  const gate = new ConcurrencyGate();
  const a1 = gate.enter("a", 2);
  const a2 = gate.enter("a", 2);
  assert.throws(
    () => gate.enter("a", 2),
    (err) => isContrailError(err, "unavailable") && /too many concurrent queries.*limit 2/.test(err.message),
  );
  const b1 = gate.enter("b", 2);
  assert.equal(gate.count("a"), 2);
  assert.equal(gate.total(), 3);
  a1();
  a1(); // leaving twice counts once
  assert.equal(gate.count("a"), 1);
  const a3 = gate.enter("a", 2);
  a2();
  a3();
  b1();
  assert.equal(gate.total(), 0);
});

test("limitsResolver applies defaults, then per-org overrides", () => {
  const resolve = limitsResolver({ maxSeries: 10 }, (org) => (org === "big" ? { maxSeries: 1000 } : undefined));
  assert.equal(resolve("small").maxSeries, 10);
  assert.equal(resolve("big").maxSeries, 1000);
  assert.equal(resolve("big").maxSamples, DEFAULT_LIMITS.maxSamples);
});

test("length, matcher and series checks throw coded errors naming the limit", () => {
  const limits = { ...DEFAULT_LIMITS, maxQueryLength: 10, maxMatchers: 2, maxSeries: 3 };
  checkQueryLength("up", limits);
  checkQueryLength("ééééé", limits); // 10 bytes
  assert.throws(
    () => checkQueryLength("éééééé", limits),
    (e) => isContrailError(e, "bad_data") && /12 bytes.*10/.test(e.message),
  );
  checkMatcherCount(2, limits);
  assert.throws(
    () => checkMatcherCount(3, limits),
    (e) => isContrailError(e, "bad_data") && /limit of 2/.test(e.message),
  );
  checkSeriesCount(3, limits);
  assert.throws(
    () => checkSeriesCount(4, limits),
    (e) => isContrailError(e, "limit_exceeded") && /more than 3 series/.test(e.message),
  );
});
