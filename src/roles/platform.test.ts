// `contrail up` end to end: a tiny app deployed to a running platform (two edge regions, 1 s scrapes), traffic sent
// through both edges, and the platform's metrics read back through the API with a read token: edge and app response
// counts and histogram counts per status, client connections, concurrency back to 0, the app's own counter with
// the platform labels; a WebSocket held open counted in `fly_app_concurrency` until it closes; the targets and
// metadata endpoints; and a clean stop that leaves the instances stopped.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  appInstances,
  byLabel,
  contrail,
  contrailOk,
  edgeGet,
  query,
  startUp,
  type UpProcess,
  waitFor,
  writeTestApp,
} from "./testkit.ts";

const APP = "hello";
let root: string;
let data: string;
let up: UpProcess;
let token: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), "contrail-platform-"));
  data = join(root, "data");
  const appDir = join(root, "app");
  mkdirSync(appDir);
  const toml = writeTestApp(appDir, APP);
  up = await startUp(data, ["--edge", "ord=127.0.0.1:0", "--edge", "ams=127.0.0.1:0", "--scrape-interval", "1s"]);
  token = (await contrailOk(["tokens", "create", "--data", data])).trim();
  const deployed = await contrail(["deploy", "-c", toml, "--data", data, "--wait", "--wait-timeout", "20s"]);
  assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
  assert.match(deployed.stdout, /created and deployed app hello v1 \(org personal/);
  assert.match(deployed.stdout, /app hello v1 is healthy/);
});

after(async () => {
  if (up !== undefined && up.proc.exitCode === null) await up.stop();
  rmSync(root, { recursive: true, force: true });
});

const q = (promql: string) => query(up.apiUrl, "personal", token, promql);
const same = (want: unknown) => (got: unknown) => JSON.stringify(got) === JSON.stringify(want);

describe("a deployed app behind two edge regions", () => {
  test("one healthy instance per edge region, listed by apps status and apps list", async () => {
    const instances = await appInstances(data, APP);
    assert.deepEqual(instances.map((i) => [i.region, i.kind, i.state]).sort(), [
      ["ams", "local", "started"],
      ["ord", "local", "started"],
    ]);
    for (const i of instances) {
      assert.match(i.address, /^127\.0\.0\.1:\d+$/);
      assert.ok(i.pid !== null && i.pid > 0);
    }
    const list = await contrailOk(["apps", "list", "--data", data]);
    assert.match(list, /hello\s+personal\s+running v1\s+2\/2 started/);
  });

  test("traffic through both edges is counted exactly, by status, region and connection", async () => {
    const ord = up.edges.get("ord")!;
    const ams = up.edges.get("ams")!;
    // ord: 7 requests on 7 connections; ams: 7 requests on one kept-alive connection.
    for (let i = 0; i < 5; i++) assert.equal((await edgeGet(ord, APP, "/ok")).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await edgeGet(ord, APP, "/missing")).status, 404);
    const keep = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 4; i++) assert.equal((await edgeGet(ams, APP, "/ok", keep)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await edgeGet(ams, APP, "/fail", keep)).status, 500);
    keep.destroy();
    const served = (await edgeGet(ams, APP, "/ok")).body;
    assert.match(served, /^ams [0-9a-f]{14} 200\n$/, "the ams edge prefers the ams instance");

    const byStatus = { "200": 10, "404": 2, "500": 3 };
    const edge = await waitFor(
      async () => byLabel(await q("sum by (status) (fly_edge_http_responses_count)"), "status"),
      same(byStatus),
    );
    assert.deepEqual(edge, byStatus);
    const cases: [string, string, Record<string, number>][] = [
      ["sum by (status) (fly_app_http_responses_count)", "status", byStatus],
      ["sum by (status) (fly_edge_http_response_time_seconds_count)", "status", byStatus],
      ["sum by (status) (fly_app_http_response_time_seconds_count)", "status", byStatus],
      ['sum by (region) (fly_edge_http_responses_count{status="200"})', "region", { ams: 5, ord: 5 }],
      ['sum by (region) (fly_edge_http_response_time_seconds_bucket{le="+Inf"})', "region", { ams: 8, ord: 7 }],
      ["sum by (region) (fly_edge_tcp_connects_count)", "region", { ams: 2, ord: 7 }],
      ["sum by (region) (fly_app_http_responses_count)", "region", { ams: 8, ord: 7 }],
      ["sum by (code) (testapp_requests_total)", "code", byStatus],
      ["sum(fly_app_concurrency)", "", { "": 0 }],
    ];
    for (const [promql, label, want] of cases) {
      const got = await waitFor(async () => byLabel(await q(promql), label), same(want));
      assert.deepEqual(got, want, promql);
    }
  });

  test("the app's own counter carries the platform labels, overriding its own", async () => {
    const instances = await appInstances(data, APP);
    const series = await q("testapp_requests_total");
    assert.ok(series.length >= 2, JSON.stringify(series));
    for (const s of series) {
      const inst = instances.find((i) => i.id === s.metric.instance);
      assert.ok(inst !== undefined, `instance label ${s.metric.instance} names an instance`);
      assert.equal(s.metric.app, APP);
      assert.equal(s.metric.region, inst.region);
      assert.equal(s.metric.host, inst.host);
    }
    const perInstance = byLabel(await q("sum by (region) (testapp_requests_total)"), "region");
    assert.deepEqual(perInstance, { ams: 8, ord: 7 });
    const up1 = byLabel(await q(`up{app="${APP}"}`), "region");
    assert.deepEqual(up1, { ams: 1, ord: 1 });
  });

  test("a WebSocket held open counts in fly_app_concurrency until it closes", async () => {
    const port = up.edges.get("ord")!;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port,
        path: "/ws",
        headers: {
          host: `${APP}.localhost`,
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          "sec-websocket-version": "13",
        },
      });
      req.on("upgrade", (res, s) => {
        assert.equal(res.statusCode, 101);
        assert.equal(res.headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        resolve(s);
      });
      req.on("response", (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on("error", reject);
      req.end();
    });
    const echoed = new Promise<string>((resolve) => socket.once("data", (d: Buffer) => resolve(d.toString())));
    socket.write("ping");
    assert.equal(await echoed, "ping");
    const open = await waitFor(
      async () => byLabel(await q("sum by (region) (fly_app_concurrency)"), "region"),
      same({ ams: 0, ord: 1 }),
    );
    assert.deepEqual(open, { ams: 0, ord: 1 });
    // Still counted a few scrapes later: a long-lived connection keeps its place.
    await new Promise((r) => setTimeout(r, 2500));
    assert.deepEqual(byLabel(await q("sum by (region) (fly_app_concurrency)"), "region"), { ams: 0, ord: 1 });
    socket.end();
    const closed = await waitFor(async () => byLabel(await q("sum(fly_app_concurrency)"), ""), same({ "": 0 }));
    assert.deepEqual(closed, { "": 0 });
  });

  test("targets and metadata of the org", async () => {
    const r = await fetch(`${up.apiUrl}/prometheus/personal/api/v1/targets`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const targets = (
      (await r.json()) as {
        data: { activeTargets: { scrapePool: string; health: string; labels: Record<string, string> }[] };
      }
    ).data.activeTargets;
    assert.deepEqual(targets.map((t) => [t.scrapePool, t.health, t.labels.region]).sort(), [
      [APP, "up", "ams"],
      [APP, "up", "ord"],
    ]);
    const m = await fetch(`${up.apiUrl}/prometheus/personal/api/v1/metadata`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const md = ((await m.json()) as { data: Record<string, { type: string; help: string }[]> }).data;
    assert.deepEqual(md.testapp_requests_total, [
      { type: "counter", help: "Requests answered, by status code.", unit: "" },
    ]);
    assert.equal(md.fly_edge_http_responses_count?.[0]?.type, "counter");
    assert.equal(md.fly_instance_up?.[0]?.type, "gauge");
  });

  test("SIGTERM stops the instances and exits 0; deploy then says no up runs and still saves", async () => {
    const pids = (await appInstances(data, APP)).map((i) => i.pid!);
    assert.equal(await up.stop(), 0, up.output());
    assert.match(up.output(), /SIGTERM received, shutting down\ncontrail: stopped\n/);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `instance process ${pid} is gone`);
    assert.deepEqual(
      (await appInstances(data, APP)).map((i) => i.state),
      ["stopped", "stopped"],
    );
    const again = await contrail(["deploy", "-c", join(root, "app", "fly.toml"), "--data", data]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /deployed app hello v2/);
    assert.match(again.stderr, /no contrail up is running on .*the deploy is saved/);
  });
});
