// An org's active-series limit end to end on a real metrics node (startServe): set with `contrail orgs limits`, it
// reaches the running node; a remote write that would create series past it answers 400 naming the limit and its
// value while the request's samples of existing series are written (as Mimir's per-tenant series limit does); a
// recording rule's new series is refused and the rule shows why; `/metrics` counts the refusals (and shows the
// ingest decode pool); the node still answers. The rules' writer is also checked on its own: existing series
// written, the refusal thrown after commit.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { type Serve, startServe } from "./serve.ts";
import { storeAppendFn } from "./serve-rules.ts";
import { contrailOk, query, seedOrgs, waitFor } from "./testkit.ts";

const LIMIT = 3;
let dir: string;
let serve: Serve;
let token: string;

const metric = (name: string) => Labels.fromStrings("__name__", name, "job", "limit-test");

/** Posts one Remote-Write 1.0 request of one sample per name at `t`; resolves with the status and the answer. */
async function write(names: readonly string[], t: number): Promise<{ status: number; text: string }> {
  const body = new SnappyEncoder().encodeCopy(
    encodeWriteRequestV1({ series: names.map((n) => ({ labels: metric(n), samples: [{ t, v: 1 }] })) }),
  );
  const r = await fetch(`${serve.apiUrl}/prometheus/acme/api/v1/write`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/x-protobuf",
      "content-encoding": "snappy",
    },
    body,
  });
  return { status: r.status, text: await r.text() };
}

async function seriesLimitedTotal(): Promise<number> {
  const text = await (await fetch(`${serve.apiUrl}/metrics`)).text();
  const m = /^contrail_series_limited_total (\S+)$/m.exec(text);
  assert.ok(m !== null, "contrail_series_limited_total is on /metrics");
  return Number(m[1]);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "contrail-series-limit-"));
  token = seedOrgs(dir, ["acme"]).acme;
  serve = await startServe({
    dataDir: dir,
    api: "127.0.0.1:0",
    scrapeIntervalMs: 60_000,
    rules: { minIntervalMs: 1000 },
    warn: () => {},
  });
});

after(async () => {
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("max_active_series on a running metrics node", () => {
  test("contrail orgs limits sets it for the org", async () => {
    await contrailOk(["orgs", "limits", "acme", "--set", `max_active_series=${LIMIT}`, "--data", dir]);
    const shown = await contrailOk(["orgs", "limits", "acme", "--data", dir]);
    assert.match(shown, new RegExp(`^max_active_series\\s+${LIMIT}\\b.*\\(set\\)`, "m"));
  });

  test("remote write: 400 naming the limit, samples of existing series written, new ones refused", async () => {
    const t = Date.now() - 10_000;
    assert.equal((await write(["a", "b", "c"], t)).status, 204);
    const before = await seriesLimitedTotal();
    const r = await write(["a", "d", "b", "e"], t + 1000);
    assert.equal(r.status, 400);
    assert.match(r.text, /2 new series over the series limit/);
    assert.match(r.text, new RegExp(`series limit reached: ${LIMIT} active series \\(max_active_series\\)`));
    const counts: Record<string, number | undefined> = {};
    for (const name of ["a", "b", "c", "d", "e"]) {
      const got = await query(serve.apiUrl, "acme", token, `count_over_time(${name}[1m])`);
      counts[name] = got.length === 0 ? undefined : Number(got[0].value[1]);
    }
    assert.deepEqual(counts, { a: 2, b: 2, c: 1, d: undefined, e: undefined });
    assert.equal((await seriesLimitedTotal()) - before, 2);
    // Existing series keep accepting; the node still answers queries.
    assert.equal((await write(["c"], t + 2000)).status, 204);
    const sum = await query(serve.apiUrl, "acme", token, "vector(1+1)");
    assert.equal(sum[0]?.value[1], "2");
  });

  test("/metrics shows the ingest decode pool with a node's default size, and counts a small write in place", async () => {
    const inPlace = async () => {
      const text = await (await fetch(`${serve.apiUrl}/metrics`)).text();
      const size = /^contrail_ingest_decode_workers_max (\S+)$/m.exec(text);
      const count = /^contrail_ingest_decode_requests_total\{where="in_place"\} (\S+)$/m.exec(text);
      return { size: size === null ? null : Number(size[1]), count: count === null ? null : Number(count[1]) };
    };
    const cores = availableParallelism();
    const before = await inPlace();
    assert.equal((await write(["a"], Date.now() - 5000)).status, 204);
    const after = await inPlace();
    if (cores < 2) {
      assert.deepEqual(after, { size: null, count: null }, "one core: no pool, every body decoded in place");
      return;
    }
    assert.equal(after.size, cores - 1, "the cores less the storage's thread");
    assert.equal((after.count ?? 0) - (before.count ?? 0), 1);
  });

  test("a recording rule's new series is refused and the rule says why", async () => {
    const posted = await fetch(`${serve.apiUrl}/prometheus/acme/config/v1/rules/limits`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/yaml" },
      body: "name: over\ninterval: 1s\nrules:\n  - record: over:limit\n    expr: vector(1)\n",
    });
    assert.equal(posted.status, 202);
    const lastError = await waitFor(
      async () => {
        const r = await fetch(`${serve.apiUrl}/prometheus/acme/api/v1/rules`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const json = (await r.json()) as { data: { groups: { rules: { lastError?: string }[] }[] } };
        return json.data.groups[0]?.rules[0]?.lastError ?? "";
      },
      (e) => e !== "",
    );
    assert.match(lastError, /1 of 1 results not recorded: series limit reached: 3 active series \(max_active_series\)/);
    assert.deepEqual(await query(serve.apiUrl, "acme", token, "over:limit"), []);
  });
});

describe("the rules' writer at the series limit", () => {
  test("writes the samples of existing series, then throws the refusal of the new ones", async () => {
    const data = mkdtempSync(join(tmpdir(), "contrail-rules-limit-"));
    const store = new EmbeddedTenantStore({ dataDir: data, idleCloseMs: 0, maxActiveSeries: () => 1 });
    try {
      const append = storeAppendFn(store);
      await append("acme", [{ labels: metric("kept"), tMs: 1000, value: 1 }]);
      await assert.rejects(
        append("acme", [
          { labels: metric("new"), tMs: 2000, value: 2 },
          { labels: metric("kept"), tMs: 2000, value: 3 },
        ]),
        (err) => isContrailError(err, "series_limit") && /1 of 2 results not recorded/.test(err.message),
      );
      assert.equal(store.stats("acme").head.numSeries, 1);
      const q = store.querier("acme", 0, 10_000);
      const stored = [...q.select([newMatcher("=", "job", "limit-test")], { start: 0, end: 10_000 })];
      const names = stored.map((s) => s.labels.metricName());
      const samples = stored.map((s) => {
        const it = s.iterator();
        let n = 0;
        while (it.next() !== "none") n++;
        return n;
      });
      q.close();
      assert.deepEqual(names, ["kept"]);
      assert.deepEqual(samples, [2]);
      assert.equal(store.seriesLimited().get("acme"), 1);
    } finally {
      store.close();
      rmSync(data, { recursive: true, force: true });
    }
  });
});
