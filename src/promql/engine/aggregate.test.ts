import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { parseSeriesDesc } from "../parser/index.ts";
import { Engine } from "./index.ts";

const store = new MemoryStore();
{
  const app = store.appender();
  for (const line of [
    'v{g="a", i="1"} 1 1',
    'v{g="a", i="2"} 2 NaN',
    'v{g="a", i="3"} 3 3',
    'v{g="b", i="1"} 10 10',
    'v{g="b", i="2"} 10 _',
    'v{g="c", i="1"} -5 -5',
  ]) {
    const { labels, values } = parseSeriesDesc(line);
    values.forEach((v, i) => {
      if (v.kind === "float") app.append(labels, i * 60_000, v.value);
    });
  }
  app.commit();
}
const engine = new Engine();

async function lines(query: string, time = 0, ordered = false): Promise<string[]> {
  const r = await engine.instantQuery(store, query, time);
  assert.equal(r.value.type, "vector");
  if (r.value.type !== "vector") return [];
  const out = r.value.samples.map((s) => `${s.labels.toString()} ${s.v}`);
  return ordered ? out : out.sort();
}

const cases: { query: string; want: string[]; time?: number; ordered?: boolean }[] = [
  { query: "sum by (g) (v)", want: ['{g="a"} 6', '{g="b"} 20', '{g="c"} -5'] },
  { query: "sum(v)", want: ["{} 21"] },
  { query: "avg without (i) (v)", want: ['{g="a"} 2', '{g="b"} 10', '{g="c"} -5'] },
  { query: "count by (g) (v)", want: ['{g="a"} 3', '{g="b"} 2', '{g="c"} 1'] },
  { query: "min(v)", want: ["{} -5"] },
  { query: "max by (g) (v)", want: ['{g="a"} 3', '{g="b"} 10', '{g="c"} -5'] },
  { query: "group by (g) (v)", want: ['{g="a"} 1', '{g="b"} 1', '{g="c"} 1'] },
  { query: 'stdvar(v{g="a"})', want: [`{} ${2 / 3}`] },
  { query: 'stddev(v{g="b"})', want: ["{} 0"] },
  { query: "quantile(0.5, v)", want: ["{} 2.5"] },
  { query: 'quantile by (g) (0.25, v{g="a"})', want: ['{g="a"} 1.5'] },
  {
    query: 'count_values by (g) ("value", v)',
    want: [
      '{g="a", value="1"} 1',
      '{g="a", value="2"} 1',
      '{g="a", value="3"} 1',
      '{g="b", value="10"} 2',
      '{g="c", value="-5"} 1',
    ],
  },
  // NaN is ignored by min/max unless it is the only value.
  { query: 'max(v{g="a"})', time: 60_000, want: ["{} 3"] },
  { query: 'sum(v{g="a"})', time: 60_000, want: ["{} NaN"] },
  {
    // Ties come out in the order Go's heap leaves them.
    query: "topk(2, v)",
    ordered: true,
    want: ['{__name__="v", g="b", i="2"} 10', '{__name__="v", g="b", i="1"} 10'],
  },
  {
    query: "bottomk by (g) (1, v)",
    ordered: true,
    want: ['{__name__="v", g="a", i="1"} 1', '{__name__="v", g="b", i="1"} 10', '{__name__="v", g="c", i="1"} -5'],
  },
  { query: "topk(0, v)", want: [] },
  { query: 'limitk(1, v{g="c"})', want: ['{__name__="v", g="c", i="1"} -5'] },
  { query: 'limit_ratio(1, v{g="c"})', want: ['{__name__="v", g="c", i="1"} -5'] },
];

describe("aggregations", () => {
  for (const c of cases) {
    it(c.query, async () => assert.deepEqual(await lines(c.query, c.time ?? 0, c.ordered), c.want));
  }

  it("agrees between range and instant evaluation", async () => {
    for (const query of ["sum by (g) (v)", "avg(v)", "stddev by (g) (v)", "quantile(0.9, v)", "topk(1, v)"]) {
      const r = await engine.rangeQuery(store, query, { start: 0, end: 60_000, step: 60_000 });
      assert.equal(r.value.type, "matrix");
      if (r.value.type !== "matrix") continue;
      for (const t of [0, 60_000]) {
        const inst = await lines(query, t);
        const fromRange = r.value.series
          .filter((s) => s.t.includes(t))
          .map((s) => `${s.labels.toString()} ${s.v[s.t.indexOf(t)]}`)
          .sort();
        assert.deepEqual(fromRange, inst, `${query} at ${t}`);
      }
    }
  });

  it("rejects a NaN k", async () => {
    await assert.rejects(engine.instantQuery(store, "topk(NaN, v)", 0), (e) => {
      return isContrailError(e, "execution") && e.message === "Parameter value is NaN";
    });
  });
});
