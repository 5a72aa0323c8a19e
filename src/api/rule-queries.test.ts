import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { DEFAULT_ORG_LIMITS } from "../model/limits.ts";
import { QueryPool } from "./query-pool/pool.ts";
import { decodeInstantAnswer, poolRuleQuery } from "./rule-queries.ts";
import { load, MemoryTenants } from "./test-support.ts";

// The rule evaluator's queries on a real query pool (worker threads) over an org's data: vectors and scalars come
// back as samples with their labels and times, other results and query errors as ContrailErrors.

const T = 1_700_000_000_000;
let pool: QueryPool;
const store = new MemoryTenants();
const never = new AbortController().signal;

before(() => {
  pool = new QueryPool({ workers: 1 });
  load(store, "acme", [
    { labels: { __name__: "up", job: "a" }, t: T - 10_000, v: 1 },
    { labels: { __name__: "up", job: "b" }, t: T - 10_000, v: 0 },
  ]);
  load(store, "other", [{ labels: { __name__: "up", job: "secret" }, t: T - 10_000, v: 1 }]);
});

after(() => pool.close());

describe("poolRuleQuery", () => {
  const query = () => poolRuleQuery({ pool, store, limitsFor: () => DEFAULT_ORG_LIMITS });

  test("an instant vector of the org only, at the evaluation time", async () => {
    const v = await query()("acme", "up", T, never);
    assert.deepEqual(
      v.map((s) => [s.labels.get("job"), s.t, s.v]),
      [
        ["a", T, 1],
        ["b", T, 0],
      ],
    );
  });

  test("a scalar is one sample without labels; special values survive", async () => {
    const [s] = await query()("acme", "scalar(sum(up)) / 0", T, never);
    assert.equal(s.labels.size, 0);
    assert.equal(s.v, Number.POSITIVE_INFINITY);
    const [n] = await query()("acme", "-1/0", T, never);
    assert.equal(n.v, Number.NEGATIVE_INFINITY);
  });

  test("a matrix or a string result is an execution error", async () => {
    for (const expr of ["up[5m]", '"text"']) {
      await assert.rejects(query()("acme", expr, T, never), (e) => isContrailError(e, "execution"));
    }
  });

  test("a query stopped by its signal rejects", async () => {
    const c = new AbortController();
    c.abort();
    await assert.rejects(query()("acme", "up", T, c.signal), (e) => isContrailError(e));
  });
});

describe("decodeInstantAnswer", () => {
  test("reads NaN and fractional timestamps", () => {
    const body =
      '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1.5,"NaN"]}]}}';
    const [s] = decodeInstantAnswer([Buffer.from(body)]);
    assert.equal(s.t, 1500);
    assert.ok(Number.isNaN(s.v));
    assert.equal(s.labels.get("a"), "b");
  });

  test("refuses a native histogram by name instead of recording a wrong float", () => {
    const body =
      '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"histogram":[1,{"count":"2","sum":"3","buckets":[]}]}]}}';
    assert.throws(
      () => decodeInstantAnswer([Buffer.from(body)]),
      (err: Error) => /native histogram for \{"a":"b"\}: rules evaluate to floats only/.test(err.message),
    );
  });
});
