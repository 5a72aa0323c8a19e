// Org isolation over the embedded store: two orgs hold the same metric names; a token of one org is refused on the
// other's paths for every endpoint, remote write included, and no query, regex matcher, lookup, federation or
// status call made with it returns anything of the other org. Per-org limits and metadata stay in their org too.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { OrgLimitsCache, updateOrgLimits } from "../control/index.ts";
import { Labels } from "../model/labels.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import type { WriteRequestData } from "../storage/remote/types.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { crossOrgReads, crossOrgRemoteReads, ORG_ENDPOINTS } from "./attack-set.ts";
import { chunkSamples, decodeFrames, decodeReadResponse } from "./remote-read/test-codec.ts";
import {
  load,
  startTestServer,
  type TestControl,
  type TestSample,
  type TestServer,
  testControl,
  withRemoteWrite,
} from "./test-support.ts";

const NOW = Date.now();
let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let alphaToken: string;
let betaToken: string;
let alphaWriter: string;
let betaWriter: string;
const metadata = new MetadataStore();

// The same names and label sets in both orgs; only `secret` and the values tell them apart.
function samples(secret: string, value: number): TestSample[] {
  const out: TestSample[] = [];
  for (let t = NOW - 600_000; t <= NOW; t += 15_000) {
    for (const app of ["web", "api"]) {
      out.push({
        labels: { __name__: "fly_edge_http_responses_count", app, region: "ams", status: "200", secret },
        t,
        v: value,
      });
      out.push({ labels: { __name__: "fly_app_concurrency", app, region: "ams", secret }, t, v: value });
    }
  }
  return out;
}

before(async () => {
  control = testControl();
  alphaToken = control.org("alpha");
  betaToken = control.org("beta");
  alphaWriter = control.token("alpha", ["read", "write"]);
  betaWriter = control.token("beta", ["read", "write"]);
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  load(store, "alpha", samples("alpha-only", 111));
  load(store, "beta", samples("beta-only", 424242));
  const limits = new OrgLimitsCache(control.db);
  const limitsFor = (org: string) => limits.limitsOf(org);
  const status = {
    targetsFor: () => [],
    metadataFor: (org: string) => new Map(metadata.list(org).map(([name, m]) => [name, [m]])),
  };
  const setup = withRemoteWrite(control, { tenants: store, metadata, limitsFor });
  server = await startTestServer(control, store, { limitsFor, status }, setup);
});

after(async () => {
  await server.close();
  store.close();
  control.cleanup();
});

async function get(org: string, path: string, token: string | null): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  const r = await fetch(`${server.url}/prometheus/${org}${path}`, { headers });
  return { status: r.status, text: await r.text() };
}

test("every endpoint refuses alpha's token on beta's path, and on unknown orgs, identically", async () => {
  for (const path of ORG_ENDPOINTS) {
    const forbidden = await get("beta", path, alphaToken);
    assert.equal(forbidden.status, 403, path);
    const unknown = await get("no-such-org", path, alphaToken);
    assert.equal(unknown.status, 403, path);
    assert.equal(unknown.text, forbidden.text, path);
    const anonymous = await get("beta", path, null);
    assert.equal(anonymous.status, 401, path);
    assert.equal(anonymous.text.length, forbidden.text.length, path);
    for (const form of [true, false]) {
      // POST forms and Basic auth are refused the same way.
      const r = await fetch(`${server.url}/prometheus/beta${path.split("?")[0]}`, {
        method: form ? "POST" : "GET",
        headers: {
          authorization: `Basic ${Buffer.from(`grafana:${alphaToken}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: form ? "query=up" : undefined,
      });
      assert.equal(r.status, 403, path);
    }
  }
});

test("alpha's token on alpha's path never returns beta's data", async () => {
  const calls = crossOrgReads(NOW);
  let sawAlpha = 0;
  for (const path of calls) {
    const r = await get("alpha", path, alphaToken);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    assert.doesNotMatch(r.text, /beta|424242/, path);
    if (r.text.includes("alpha-only") || r.text.includes("111")) sawAlpha++;
  }
  assert.ok(sawAlpha >= 8, `alpha's own data should show up (${sawAlpha} calls)`);
  // And the other way round: beta sees its own value and nothing of alpha.
  const beta = await get("beta", calls[0] as string, betaToken);
  assert.match(beta.text, /424242/);
  assert.doesNotMatch(beta.text, /alpha/);
});

test("remote reads with alpha's token on alpha's path never return beta's data", async () => {
  for (const { accepted, body } of crossOrgRemoteReads(NOW)) {
    const r = await fetch(`${server.url}/prometheus/alpha/api/v1/read`, {
      method: "POST",
      headers: { authorization: `Bearer ${alphaToken}`, "content-encoding": "snappy" },
      body,
    });
    assert.equal(r.status, 200, await r.clone().text());
    const bytes = new Uint8Array(await r.arrayBuffer());
    const series =
      accepted === 0
        ? decodeReadResponse(bytes).flat()
        : decodeFrames(bytes).map((f) => ({ labels: f.labels, samples: chunkSamples(f.chunks).samples }));
    assert.ok(series.length > 0 && series.every((s) => s.labels.secret === "alpha-only"), JSON.stringify(series));
    assert.ok(series.every((s) => s.samples.every(([, v]) => v !== 424242)));
  }
});

test("paths that try to step from alpha's prefix into beta's are refused", async () => {
  const { get: rawGet } = await import("node:http");
  const paths = [
    "/prometheus/alpha/../beta/api/v1/query?query=fly_app_concurrency",
    "/prometheus/alpha/%2e%2e/beta/api/v1/query?query=fly_app_concurrency",
    "/prometheus/alpha%2F..%2Fbeta/api/v1/query?query=fly_app_concurrency",
    "/prometheus/alpha//beta/api/v1/query?query=fly_app_concurrency",
    "/prometheus/beta%00/api/v1/query?query=fly_app_concurrency",
    "/prometheus/BETA/api/v1/query?query=fly_app_concurrency",
  ];
  for (const path of paths) {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = rawGet(
        { host: "127.0.0.1", port: server.port, path, headers: { authorization: `Bearer ${alphaToken}` } },
        (res) => {
          let body = "";
          res.on("data", (c) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
    });
    assert.ok(status === 403 || status === 404 || status === 400, `${path}: ${status}`);
    assert.doesNotMatch(body, /beta-only|424242/, path);
  }
});

const snappy = new SnappyEncoder();

async function write(org: string, token: string, req: WriteRequestData): Promise<{ status: number; text: string }> {
  const r = await fetch(`${server.url}/prometheus/${org}/api/v1/write`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/x-protobuf",
      "content-encoding": "snappy",
    },
    body: snappy.encodeCopy(encodeWriteRequestV1(req)),
  });
  return { status: r.status, text: await r.text() };
}

function planted(value: number, extra: string[] = []): WriteRequestData {
  return {
    series: [{ labels: Labels.fromStrings("__name__", "planted", ...extra), samples: [{ t: NOW - 1000, v: value }] }],
    metadata: [{ name: "planted", type: "gauge", help: `planted by value ${value}`, unit: "" }],
  };
}

test("remote write: alpha's write token is refused on beta's path and unknown orgs alike; nothing reaches beta", async () => {
  const forbidden = await write("beta", alphaWriter, planted(777));
  assert.equal(forbidden.status, 403);
  const unknown = await write("no-such-org", alphaWriter, planted(777));
  assert.equal(unknown.status, 403);
  assert.equal(unknown.text, forbidden.text);
  assert.equal((await write("beta", alphaToken, planted(777))).status, 403, "a read token of alpha");
  assert.equal((await write("alpha", alphaWriter, planted(777))).status, 204);
  const beta = await get("beta", `/api/v1/query?query=planted&time=${NOW / 1000}`, betaToken);
  assert.equal(beta.status, 200);
  assert.doesNotMatch(beta.text, /777/);
  assert.doesNotMatch((await get("beta", "/api/v1/metadata", betaToken)).text, /planted/);
  assert.match((await get("alpha", "/api/v1/metadata", alphaToken)).text, /planted by value 777/);
});

test("per-org limits and metadata tables stay in their org", async () => {
  updateOrgLimits(control.db, "alpha", { set: { max_label_names_per_series: 2, max_metadata_families: 1 } });
  try {
    const wide = planted(5, ["a", "1", "b", "2"]);
    const refused = await write("alpha", alphaWriter, wide);
    assert.equal(refused.status, 400);
    assert.match(refused.text, /3 labels, more than the limit of 2 \(max_label_names_per_series\)/);
    assert.doesNotMatch(refused.text, /beta/);
    assert.equal((await write("beta", betaWriter, wide)).status, 204, "beta keeps the defaults");
    // Alpha's metadata table is full (it holds "planted"); beta's is not.
    const more = { series: [], metadata: [{ name: "other_family", type: "counter" as const, help: "x", unit: "" }] };
    assert.equal((await write("alpha", alphaWriter, more)).status, 204);
    assert.equal((await write("beta", betaWriter, more)).status, 204);
    assert.doesNotMatch((await get("alpha", "/api/v1/metadata", alphaToken)).text, /other_family/);
    assert.match((await get("beta", "/api/v1/metadata", betaToken)).text, /other_family/);
  } finally {
    updateOrgLimits(control.db, "alpha", { unset: ["max_label_names_per_series", "max_metadata_families"] });
  }
});
