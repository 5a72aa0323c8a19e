import assert from "node:assert/strict";
import { test } from "node:test";
import v8 from "node:v8";
import { tierUpSooner } from "./tier-up.ts";

// V8's own view of a function's tier, through its natives syntax (allowed for the functions compiled below).
v8.setFlagsFromString("--allow-natives-syntax");
const optimizationStatus = new Function("f", "return %GetOptimizationStatus(f)") as (f: unknown) => number;
/** Status bits: optimized, or marked for (concurrent) optimization, or being optimized now. */
const ON_THE_WAY = (1 << 4) | (1 << 8) | (1 << 9) | (1 << 10);
/** Calls of a function of ~200 bytes of bytecode a call: well under V8's default budget three times over. */
const CALLS = 400;

// A fresh function (its own feedback) called CALLS times, as a request handler is once per request.
function exercised(): unknown {
  const f = new Function("a", "let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * 2 + (a[i] >> 1); return s;");
  const input = [1, 2, 3];
  for (let i = 0; i < CALLS; i++) f(input);
  return f;
}

test("after tierUpSooner, a function run a few hundred times is optimized; before, it is not", () => {
  assert.equal(optimizationStatus(exercised()) & ON_THE_WAY, 0);
  tierUpSooner();
  assert.notEqual(optimizationStatus(exercised()) & ON_THE_WAY, 0);
});
