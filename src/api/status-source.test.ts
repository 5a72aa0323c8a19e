// `/api/v1/targets` and `/api/v1/metadata` served from a TargetsAndMetadata source, per org; and the remote-write
// route on the API server taking a write-only token past the server's read check.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { authenticate } from "../control/index.ts";
import type { MetricMetadata } from "../exposition/index.ts";
import { Labels } from "../model/labels.ts";
import type { ActiveTarget } from "../scrape/index.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { checkAccess } from "./auth.ts";
import type { TargetsAndMetadata } from "./context.ts";
import { registerRemoteWrite } from "./remote-write.ts";
import { createApiServer } from "./server.ts";
import { MemoryTenants, type TestControl, testControl } from "./test-support.ts";

const NOW = 1_700_000_000_000;

function target(app: string, url: string): ActiveTarget {
  const labels = { app, host: "ab12", instance: "0123456789abcd", region: "ord" };
  return {
    discoveredLabels: { __address__: new URL(url).host, ...labels },
    labels,
    scrapePool: app,
    scrapeUrl: url,
    globalUrl: url,
    lastError: "",
    lastScrape: "2023-11-14T22:13:20Z",
    lastScrapeDuration: 0.002,
    health: "up",
    scrapeInterval: "15s",
    scrapeTimeout: "10s",
  };
}

const counter = (help: string): MetricMetadata => ({ type: "counter", help, unit: "" });

const source: TargetsAndMetadata = {
  targetsFor: (org) =>
    org === "acme" ? [target("api", "http://127.0.0.1:1/metrics"), target("web", "http://127.0.0.1:2/metrics")] : [],
  metadataFor: (org) =>
    org === "acme"
      ? new Map([
          ["a_total", [counter("A."), counter("A, again.")]],
          ["b_total", [counter("B.")]],
          ["c", [{ type: "gauge", help: "C.", unit: "seconds" }]],
        ])
      : new Map(),
};

let control: TestControl;
let url: string;
let close: () => Promise<void>;
const tokens: Record<string, string> = {};
const store = new MemoryTenants();

before(async () => {
  control = testControl();
  tokens.read = control.org("acme");
  tokens.write = control.token("acme", ["write"]);
  tokens.other = control.org("other");
  const { app } = createApiServer({
    store,
    authenticate: (t) => authenticate(control.db, t),
    status: source,
    now: () => NOW,
  });
  await registerRemoteWrite(app, {
    authorize: (request, org, scope) =>
      checkAccess((t) => authenticate(control.db, t), { header: request.headers.authorization, org, scope }),
    tenants: store,
    metadata: new MetadataStore(),
    now: () => NOW,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  url = `http://127.0.0.1:${address.port}`;
  close = () => app.close();
});

after(async () => {
  await close();
  control.cleanup();
});

async function get(path: string, token = tokens.read): Promise<{ status: number; json: { data: unknown } }> {
  const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, json: (await r.json()) as { data: unknown } };
}

describe("targets", () => {
  test("active targets of the org, filtered by pool and state", async () => {
    const all = (await get("/prometheus/acme/api/v1/targets")).json.data as { activeTargets: ActiveTarget[] };
    assert.deepEqual(
      all.activeTargets.map((t) => t.scrapePool),
      ["api", "web"],
    );
    assert.deepEqual(all, {
      activeTargets: [target("api", "http://127.0.0.1:1/metrics"), target("web", "http://127.0.0.1:2/metrics")],
      droppedTargets: [],
      droppedTargetCounts: {},
    });
    const cases: [string, string[], boolean][] = [
      ["?scrapePool=web", ["web"], true],
      ["?state=active", ["api", "web"], false],
      ["?state=dropped", [], true],
      ["?state=any&scrapePool=nope", [], true],
    ];
    for (const [q, pools, counts] of cases) {
      const d = (await get(`/prometheus/acme/api/v1/targets${q}`)).json.data as Record<string, unknown>;
      assert.deepEqual(
        (d.activeTargets as ActiveTarget[]).map((t) => t.scrapePool),
        pools,
        q,
      );
      assert.equal("droppedTargetCounts" in d, counts, q);
    }
    const other = (await get("/prometheus/other/api/v1/targets", tokens.other)).json.data as {
      activeTargets: unknown[];
    };
    assert.deepEqual(other.activeTargets, []);
  });
});

describe("metadata", () => {
  test("families with their entries; metric, limit and limit_per_metric", async () => {
    const cases: [string, unknown][] = [
      [
        "",
        {
          a_total: [counter("A."), counter("A, again.")],
          b_total: [counter("B.")],
          c: [{ type: "gauge", help: "C.", unit: "seconds" }],
        },
      ],
      ["?metric=b_total", { b_total: [counter("B.")] }],
      ["?limit=1", { a_total: [counter("A."), counter("A, again.")] }],
      ["?limit_per_metric=1&limit=2", { a_total: [counter("A.")], b_total: [counter("B.")] }],
      ["?limit=0", {}],
      ["?metric=nope", {}],
    ];
    for (const [q, want] of cases)
      assert.deepEqual((await get(`/prometheus/acme/api/v1/metadata${q}`)).json.data, want, q);
    assert.equal((await get("/prometheus/acme/api/v1/metadata?limit_per_metric=x")).status, 400);
    assert.deepEqual((await get("/prometheus/other/api/v1/metadata", tokens.other)).json.data, {});
  });
});

describe("remote write beside the API", () => {
  test("a write-only token writes but cannot read; a read-only token cannot write", async () => {
    const body = new SnappyEncoder().encodeCopy(
      encodeWriteRequestV1({
        series: [{ labels: Labels.fromStrings("__name__", "pushed", "job", "x"), samples: [{ t: NOW - 1000, v: 5 }] }],
      }),
    );
    const post = (token: string) =>
      fetch(`${url}/prometheus/acme/api/v1/write`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/x-protobuf",
          "content-encoding": "snappy",
        },
        body,
      });
    assert.equal((await post(tokens.write)).status, 204);
    assert.equal((await post(tokens.read)).status, 403);
    assert.equal((await get("/prometheus/acme/api/v1/query?query=pushed", tokens.write)).status, 403);
    const q = await get(`/prometheus/acme/api/v1/query?query=pushed&time=${NOW / 1000}`);
    assert.deepEqual((q.json.data as { result: unknown[] }).result, [
      { metric: { __name__: "pushed", job: "x" }, value: [NOW / 1000, "5"] },
    ]);
  });
});
