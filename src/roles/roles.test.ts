// The three roles assembled in one test process (the process boundary is not what is tested here): they meet only
// in the control database and over HTTP. A deployed app is started by the agent, routed by the edge, and its
// requests, bytes and instance figures land in the metrics node; with the metrics node stopped the edge keeps
// routing; stopping the agent ends the instances.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createToken, deployApp, listInstancesWithRuntime, openControlDb, PERSONAL_ORG } from "../control/index.ts";
import { running } from "../machines/index.ts";
import { type AgentRole, startAgent } from "./agent-role.ts";
import { type EdgeRole, startEdgeRole } from "./edge-role.ts";
import { type Serve, startServe } from "./serve.ts";
import { byLabel, edgeGet, query, waitFor, writeTestApp } from "./testkit.ts";

const APP = "inproc";
let root: string;
let data: string;
let serve: Serve;
let edge: EdgeRole;
let agent: AgentRole;
let token: string;
const warnings: string[] = [];

before(async () => {
  root = mkdtempSync(join(tmpdir(), "contrail-roles-"));
  data = join(root, "data");
  const appDir = join(root, "app");
  mkdirSync(appDir);
  const toml = writeTestApp(appDir, APP);
  const warn = (l: string) => warnings.push(l);
  const edges = [
    { region: "ord", address: "127.0.0.1:0" },
    { region: "ams", address: "127.0.0.1:0" },
  ];
  [serve, edge, agent] = await Promise.all([
    startServe({ dataDir: data, api: "127.0.0.1:0", scrapeIntervalMs: 1000, warn }),
    startEdgeRole({ dataDir: data, edges, domain: "localhost", metrics: "127.0.0.1:0", warn }),
    startAgent({ dataDir: data, regions: ["ord", "ams"], metrics: "127.0.0.1:0", log: () => {}, warn }),
  ]);
  const db = openControlDb({ dataDir: data });
  try {
    deployApp(db, { org: PERSONAL_ORG, flyToml: readFileSync(toml, "utf8"), dir: appDir });
    token = createToken(db, { org: PERSONAL_ORG, scopes: ["read"] }).token;
  } finally {
    db.close();
  }
});

after(async () => {
  await Promise.all([edge?.stop(), serve?.stop(), agent?.stop()]);
  rmSync(root, { recursive: true, force: true });
});

function instances() {
  const db = openControlDb({ dataDir: data });
  try {
    return listInstancesWithRuntime(db, { app: APP });
  } finally {
    db.close();
  }
}

const port = (region: string) => Number(edge.edges.find((e) => e.region === region)!.address.split(":")[1]);
const q = async (promql: string, by: string) => byLabel(await query(serve.apiUrl, PERSONAL_ORG, token, promql), by);

test("the agent starts the app, the edge routes it, the metrics node counts it", async () => {
  const started = await waitFor(
    async () => instances(),
    (l) => l.length === 2 && l.every((i) => i.state === "started"),
  );
  assert.equal(started.length, 2);
  const routed = await waitFor(
    async () =>
      (await fetch(`${edge.metricsUrl}/routes/${APP}`)).json() as Promise<{ instances: { healthy: boolean }[] }>,
    (r) => r.instances.length === 2 && r.instances.every((i) => i.healthy),
  );
  assert.equal(routed.instances.length, 2);
  for (let i = 0; i < 3; i++) assert.equal((await edgeGet(port("ord"), APP, "/ok")).status, 200);
  assert.equal((await edgeGet(port("ams"), APP, "/missing")).status, 404);

  const want = { "200": 3, "404": 1 };
  const counted = await waitFor(
    () => q(`sum by (status) (fly_edge_http_responses_count{app="${APP}"})`, "status"),
    (v) => JSON.stringify(v) === JSON.stringify(want),
  );
  assert.deepEqual(counted, want);
  // The metrics node's query workers read MetricsQL where PromQL has no meaning, as the API promises.
  const upper = await q(
    `label_uppercase(sum by (status) (fly_edge_http_responses_count{app="${APP}"}), "status")`,
    "status",
  );
  assert.deepEqual(upper, want);
  const bytes = await waitFor(
    () => q(`sum by (region) (fly_instance_net_recv_bytes{app="${APP}"})`, "region"),
    (v) => v.ord > 0 && v.ams > 0,
  );
  assert.ok(bytes.ord > bytes.ams, `three requests to ord, one to ams: ${JSON.stringify(bytes)}`);
  const up = await waitFor(
    () => q(`fly_instance_up{app="${APP}"}`, "region"),
    (v) => v.ord === 1 && v.ams === 1,
  );
  assert.deepEqual(up, { ams: 1, ord: 1 });
  assert.equal((await fetch(`${edge.metricsUrl}/healthz`)).status, 200);
  assert.equal((await fetch(`${edge.metricsUrl}/routes/nothing`)).status, 404);
  assert.equal((await fetch(`${agent.metricsUrl}/metrics`, { method: "POST" })).status, 405);
});

test("with the metrics node stopped the edge keeps routing; a stopped agent leaves no instance running", async () => {
  await serve.stop();
  for (let i = 0; i < 5; i++) assert.equal((await edgeGet(port("ams"), APP, "/ok")).status, 200);
  const pids = instances().map((i) => i.runtime!.pid!);
  await agent.stop();
  for (const pid of pids) assert.equal(running(pid), false, `instance ${pid} stopped`);
  assert.deepEqual(
    instances().map((i) => i.state),
    ["stopped", "stopped"],
  );
  assert.deepEqual(warnings, []);
});
