// promtool 2.42 as a real client against a server on loopback over the embedded store: `query instant`, `series`
// and `labels` with the token as the password of a URL (`http://user:<token>@host/prometheus/<org>`), and
// `query range` with `--header 'Authorization: Bearer <token>'`. Skipped when promtool is not installed.

import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import {
  load,
  startTestServer,
  type TestControl,
  type TestSample,
  type TestServer,
  testControl,
} from "./test-support.ts";

// promtool from PATH, or the binary named by $PROMTOOL.
const PROMTOOL = process.env.PROMTOOL ?? "promtool";
const skip = spawnSync(PROMTOOL, ["--version"]).status === 0 ? false : "promtool is not installed";

const T = Math.floor(Date.now() / 60_000) * 60_000; // ms, a whole minute
let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let token: string;
let otherToken: string;

function dataset(): TestSample[] {
  const out: TestSample[] = [];
  for (let t = T - 600_000; t <= T; t += 15_000) {
    const k = (t - (T - 600_000)) / 15_000;
    out.push({ labels: { __name__: "fly_app_concurrency", app: "web", region: "ams", instance: "web-1" }, t, v: 3 });
    out.push({ labels: { __name__: "fly_app_concurrency", app: "web", region: "ord", instance: "web-2" }, t, v: 5 });
    out.push({
      labels: { __name__: "fly_edge_http_responses_count", app: "web", region: "ams", status: "200" },
      t,
      v: k * 15,
    });
  }
  return out;
}

before(async () => {
  if (skip) return;
  control = testControl();
  token = control.org("acme");
  otherToken = control.org("other");
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  load(store, "acme", dataset());
  server = await startTestServer(control, store);
});

after(async () => {
  if (skip) return;
  await server.close();
  store.close();
  control.cleanup();
});

function promtool(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PROMTOOL, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

const withPassword = (t: string) => `http://user:${t}@127.0.0.1:${server.port}/prometheus/acme`;
const lines = (s: string) => s.trim().split("\n").sort();

test("query instant with the token as the URL's password", { skip }, async () => {
  const r = await promtool([
    "query",
    "instant",
    withPassword(token),
    'fly_app_concurrency{app="web"}',
    `--time=${T / 1000}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), [
    `fly_app_concurrency{app="web", instance="web-1", region="ams"} => 3 @[${T / 1000}]`,
    `fly_app_concurrency{app="web", instance="web-2", region="ord"} => 5 @[${T / 1000}]`,
  ]);
  const scalar = await promtool(["query", "instant", withPassword(token), "1+1", "--time=4"]);
  assert.equal(scalar.stdout.trim(), "scalar: 2 @[4]");
  const json = await promtool([
    "query",
    "instant",
    "-o",
    "json",
    withPassword(token),
    "sum(rate(fly_edge_http_responses_count[1m]))",
    `--time=${(T - 30_000) / 1000}.5`,
  ]);
  assert.equal(json.code, 0, json.stderr);
  const [sample] = JSON.parse(json.stdout) as { metric: object; value: [number, string] }[];
  assert.deepEqual(sample.metric, {});
  assert.equal(sample.value[0], (T - 30_000) / 1000 + 0.5);
  assert.ok(Math.abs(Number(sample.value[1]) - 1) < 1e-9, sample.value[1]);
});

test("query range with an Authorization header", { skip }, async () => {
  const r = await promtool([
    "query",
    "range",
    "--header",
    `Authorization: Bearer ${token}`,
    `--start=${(T - 60_000) / 1000}`,
    `--end=${T / 1000}`,
    "--step=30s",
    `http://127.0.0.1:${server.port}/prometheus/acme`,
    'sum by (region) (fly_app_concurrency{app="web"})',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const s = (t: number) => (T - t) / 1000;
  assert.equal(
    r.stdout.trim(),
    [
      `{region="ams"} =>`,
      `3 @[${s(60_000)}]`,
      `3 @[${s(30_000)}]`,
      `3 @[${s(0)}]`,
      `{region="ord"} =>`,
      `5 @[${s(60_000)}]`,
      `5 @[${s(30_000)}]`,
      `5 @[${s(0)}]`,
    ].join("\n"),
  );
});

test("query series and query labels", { skip }, async () => {
  const series = await promtool([
    "query",
    "series",
    withPassword(token),
    "--match=fly_app_concurrency",
    '--match={region="ams"}',
  ]);
  assert.equal(series.code, 0, series.stderr);
  assert.deepEqual(lines(series.stdout), [
    '{__name__="fly_app_concurrency", app="web", instance="web-1", region="ams"}',
    '{__name__="fly_app_concurrency", app="web", instance="web-2", region="ord"}',
    '{__name__="fly_edge_http_responses_count", app="web", region="ams", status="200"}',
  ]);
  const labels = await promtool(["query", "labels", withPassword(token), "region"]);
  assert.equal(labels.code, 0, labels.stderr);
  assert.deepEqual(lines(labels.stdout), ["ams", "ord"]);
  const matched = await promtool([
    "query",
    "labels",
    withPassword(token),
    "instance",
    "--match=fly_app_concurrency{region='ord'}",
  ]);
  assert.deepEqual(lines(matched.stdout), ["web-2"]);
});

test("promtool reports our errors: bad queries, wrong org, no token", { skip }, async () => {
  const bad = await promtool(["query", "instant", withPassword(token), "sum("]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /query error: bad_data: invalid parameter "query": 1:5: parse error/);
  const wrongOrg = await promtool(["query", "instant", withPassword(otherToken), "up"]);
  assert.equal(wrongOrg.code, 1);
  assert.match(wrongOrg.stderr, /403/);
  const anonymous = await promtool(["query", "instant", `http://127.0.0.1:${server.port}/prometheus/acme`, "up"]);
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /401/);
});
