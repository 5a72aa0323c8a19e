import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import type { Expr, MatrixSelector } from "../parser/ast.ts";
import { parseExpr } from "../parser/index.ts";
import { evalDuration } from "./durations.ts";

const opts = { durationExpressions: true, experimentalFunctions: true };
function rangeExpr(query: string): Expr {
  const e = parseExpr(query, opts) as MatrixSelector;
  assert.ok(e.rangeExpr !== null, "expected a duration expression");
  return e.rangeExpr!;
}

describe("duration expressions", () => {
  const ctx = { step: 15_000, range: 3_600_000 };
  const cases: [string, number][] = [
    ["x[26m+4m]", 1_800_000],
    ["x[2m*(10+5)]", 1_800_000],
    ["x[1h30m % 1h]", 1_800_000],
    ["x[step()*4]", 60_000],
    ["x[range()/2]", 1_800_000],
    ["x[min_of(5m, step())]", 15_000],
    ["x[max_of(5m, step())]", 300_000],
    ["x[1.5*1ms]", 1],
  ];
  for (const [q, want] of cases) it(q, () => assert.equal(evalDuration(rangeExpr(q), ctx, false), want));

  it("rejects non-positive and invalid durations with Prometheus's text", () => {
    assert.throws(
      () => evalDuration(rangeExpr("x[5m-10m]"), ctx, false),
      (e) => isContrailError(e, "bad_data") && /duration must be greater than 0$/.test(e.message),
    );
    assert.throws(
      () => evalDuration(rangeExpr("x[5m/(step()*0)]"), ctx, false),
      (e) => isContrailError(e, "bad_data") && /division by zero$/.test(e.message),
    );
    assert.equal(evalDuration(rangeExpr("x[5m-10m]"), ctx, true), -300_000);
  });
});
