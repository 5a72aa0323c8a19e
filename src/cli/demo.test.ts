// `contrail up --demo` end to end: the platform started as its own process on free ports with a 1 s scrape interval,
// the printed token and data source used to run every query of the seed's dashboard through the API and through
// `contrail query`, the demo app's own `events_by_type` series found, then SIGINT: exit 0 and no process left (the
// metrics node, the edge, the agent, the app's instances: every descendant, checked by pid).

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { running } from "../machines/index.ts";
import { isContrailError } from "../model/errors.ts";
import { descendants } from "../roles/testkit.ts";
import { checkDemoDependencies, DEMO_APP } from "./demo.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "contrail.js");
/** Budget from the spawn until every dashboard query returns data, ms. */
const DATA_TIMEOUT_MS = 90_000;

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "contrail-demo-"));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function contrail(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

/** The seed's dashboard queries with `$app` = the demo app and `$__interval` = 1m. */
const SEED_QUERIES = [
  'sum(rate(fly_edge_http_responses_count{app=~"^$app$"}[$__interval])) by (region)',
  'sum(increase(fly_edge_http_response_time_seconds_bucket{app=~"^$app$"}[$__interval])) by (le)',
  'sum(irate(fly_instance_net_sent_bytes{app="$app"}[5m]))*8',
  'sum(irate(fly_instance_net_recv_bytes{app="$app"}[5m]))*8',
  'increase(fly_app_tcp_connects_count{app="$app"}[$__interval])',
].map((q) => q.replaceAll("$__interval", "1m").replaceAll("$app", DEMO_APP));

/** One instant query's result vector (empty on any failure). */
async function instant(ds: string, token: string, query: string): Promise<{ metric: Record<string, string> }[]> {
  const res = await fetch(`${ds}/api/v1/query`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ query }).toString(),
  });
  const body = (await res.json()) as { status: string; data?: { result: { metric: Record<string, string> }[] } };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.data?.result ?? [];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

test("checkDemoDependencies names the install command for missing dependencies", () => {
  const app = join(dir, "app");
  mkdirSync(join(app, "node_modules", "express"), { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ dependencies: { express: "^4", "prom-client": "^13" } }));
  writeFileSync(join(app, "node_modules", "express", "package.json"), "{}");
  assert.throws(
    () => checkDemoDependencies(app),
    (e) =>
      isContrailError(e, "unavailable") &&
      /missing: prom-client\b/.test(e.message) &&
      /npm ci --prefix /.test(e.message),
  );
  mkdirSync(join(app, "node_modules", "prom-client"));
  writeFileSync(join(app, "node_modules", "prom-client", "package.json"), "{}");
  checkDemoDependencies(app);
});

test("contrail up --demo serves the seed's dashboard queries and stops cleanly", { timeout: 150_000 }, async () => {
  const edges = ["ord", "ams", "syd"].flatMap((r) => ["--edge", `${r}=127.0.0.1:0`]);
  const args = ["up", "--demo", "--data", join(dir, "data"), "--api", "127.0.0.1:0", ...edges];
  const proc = spawn(process.execPath, [BIN, ...args, "--scrape-interval", "1s"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  proc.stderr.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + DATA_TIMEOUT_MS;
  try {
    while (!out.includes("Ctrl-C stops everything.") && Date.now() < deadline && proc.exitCode === null) {
      await sleep(100);
    }
    const token = /Authorization: Bearer (\S+)/.exec(out)?.[1];
    const ds = /URL\s+(http:\/\/127\.0\.0\.1:\d+\/prometheus\/personal)\n/.exec(out)?.[1];
    assert.ok(token !== undefined && ds !== undefined, out);
    for (const region of ["ord", "ams", "syd"]) {
      assert.match(
        out,
        new RegExp(`${region}  http://${DEMO_APP}\\.localhost:\\d+  https://${DEMO_APP}\\.localhost:\\d+\\n`),
      );
    }
    // The console's one-time link first (opening the app's dashboard), Grafana's settings second.
    const consoleAt = out.search(
      new RegExp(`^Console {2}http://127\\.0\\.0\\.1:\\d+/apps/${DEMO_APP}#link=cl_\\S{43}$`, "m"),
    );
    assert.ok(consoleAt >= 0 && consoleAt < out.indexOf("Grafana: add a Prometheus data source"), out);
    assert.match(out, /dashboards\/contrail-app\.json/);
    assert.match(out, /npx contrail query '.+'/);

    // Every panel's query returns data with the printed token (the requests-by-region query for every region), and
    // the app's own metric is there, scraped from its /metrics with the platform's labels.
    const events = `sum by (event_type, region) (events_by_type{app="${DEMO_APP}"})`;
    const complete: Record<string, (r: { metric: Record<string, string> }[]) => boolean> = {
      [SEED_QUERIES[0]]: (r) =>
        r
          .map((s) => s.metric.region)
          .sort()
          .join() === "ams,ord,syd",
      [SEED_QUERIES[1]]: (r) => r.some((s) => s.metric.le === "+Inf"),
      [events]: (r) => r.length > 0 && r.every((s) => s.metric.event_type !== undefined && s.metric.region),
    };
    let missing = [...SEED_QUERIES, events];
    while (missing.length > 0 && Date.now() < deadline) {
      const results = await Promise.all(missing.map((q) => instant(ds, token, q)));
      missing = missing.filter((q, i) => results[i].length === 0 || complete[q]?.(results[i]) === false);
      if (missing.length > 0) await sleep(1000);
    }
    assert.deepEqual(missing, [], out);

    // `contrail query` prints the same answer.
    const api = ds.replace(/\/prometheus\/personal$/, "");
    const q = await contrail(["query", SEED_QUERIES[0], "--api", api, "--token", token]);
    assert.equal(q.code, 0, q.stderr);
    for (const region of ["ord", "ams", "syd"]) assert.match(q.stdout, new RegExp(`\\b${region}\\b`));

    const status = await contrail(["apps", "status", DEMO_APP, "--json", "--data", join(dir, "data")]);
    assert.equal(status.code, 0, status.stderr);
    const pids = (JSON.parse(status.stdout) as { instances: { pid: number | null }[] }).instances
      .map((i) => i.pid)
      .filter((p): p is number => p !== null);
    assert.equal(pids.length, 3, status.stdout);
    const roles = /processes: serve pid (\d+), edge pid (\d+), agent pid (\d+)/.exec(out);
    assert.ok(roles !== null, out);
    pids.push(...roles.slice(1).map(Number), ...descendants(proc.pid!));

    proc.kill("SIGINT");
    assert.equal(await exited, 0, out);
    assert.match(out, /SIGINT received, shutting down\ncontrail: stopped\n/);
    for (const pid of pids) assert.equal(running(pid), false, `process ${pid} still runs`);
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL");
  }
});
