// `contrail up` as separate processes, end to end, when they die: the metrics node SIGKILLed under steady traffic
// (no request fails; the edge's counts continue after its restart), the edge SIGKILLed (restarted on the same
// ports, its death logged), the agent SIGKILLed (its instances ended by the next agent, the app served again), the
// supervisor SIGKILLed (every process it started stops by itself), and SIGINT (every process gone, by pid).

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { running } from "../machines/index.ts";
import {
  appInstances,
  byLabel,
  contrail,
  contrailOk,
  descendants,
  edgeGet,
  query,
  startUp,
  type UpProcess,
  waitFor,
  writeTestApp,
} from "./testkit.ts";

const APP = "steady";
/** Generous bound for a process to come back or go away (the goals are 2 s and 15 s; this is a liveness check). */
const LIVENESS_MS = 20_000;

let root: string;
let up: UpProcess;
let data: string;
let token: string;

async function startWithApp(name: string): Promise<{ up: UpProcess; data: string }> {
  const d = join(root, name, "data");
  const appDir = join(root, name, "app");
  mkdirSync(appDir, { recursive: true });
  const toml = writeTestApp(appDir, APP);
  const u = await startUp(d, ["--edge", "ord=127.0.0.1:0", "--edge", "ams=127.0.0.1:0", "--scrape-interval", "1s"]);
  const deployed = await contrail(["deploy", "-c", toml, "--data", d, "--wait", "--wait-timeout", "30s"]);
  assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
  return { up: u, data: d };
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), "contrail-failures-"));
  ({ up, data } = await startWithApp("main"));
  token = (await contrailOk(["tokens", "create", "--data", data])).trim();
});

after(async () => {
  if (up !== undefined && up.proc.exitCode === null) up.proc.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Requests through both edges, one at a time, until stopped; counts what came back. */
function steadyTraffic(u: UpProcess): { stop(): Promise<{ sent: number; failed: string[] }> } {
  let stopped = false;
  let sent = 0;
  const failed: string[] = [];
  const ports = [...u.edges.values()];
  const loop = (async () => {
    while (!stopped) {
      const port = ports[sent % ports.length];
      try {
        const r = await edgeGet(port, APP, "/ok");
        if (r.status !== 200) failed.push(`${r.status} ${r.body}`);
      } catch (err) {
        failed.push((err as Error).message);
      }
      sent++;
      await sleep(10);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { sent, failed };
    },
  };
}

const edgeCount = async () =>
  byLabel(await query(up.apiUrl, "personal", token, `sum(fly_edge_http_responses_count{app="${APP}"})`), "")[""] ?? 0;

describe("contrail up when its processes die", () => {
  test("the metrics node SIGKILLed under traffic: no request fails, the edge's counts continue", async () => {
    const traffic = steadyTraffic(up);
    await waitFor(edgeCount, (n) => n >= 20, LIVENESS_MS);
    const serve = up.pids().get("serve")!;
    process.kill(serve, "SIGKILL");
    await waitFor(
      async () => up.pids().get("serve"),
      (pid) => pid !== serve,
      LIVENESS_MS,
    );
    await sleep(1000);
    const { sent, failed } = await traffic.stop();
    assert.deepEqual(failed, [], "every request answered 200 while the metrics node was down");
    assert.match(up.output(), new RegExp(`serve \\(pid ${serve}\\) killed by SIGKILL; restarting it in`));
    const counted = await waitFor(edgeCount, (n) => n === sent, LIVENESS_MS);
    assert.equal(counted, sent, "every request counted once, before and after the restart");
  });

  test("the edge SIGKILLed is restarted on the same ports and its death is logged", async () => {
    const edge = up.pids().get("edge")!;
    const ord = up.edges.get("ord")!;
    process.kill(edge, "SIGKILL");
    const back = await waitFor(
      () => edgeGet(ord, APP, "/ok"),
      (r) => r.status === 200,
      LIVENESS_MS,
    );
    assert.equal(back.status, 200);
    assert.match(up.output(), new RegExp(`edge \\(pid ${edge}\\) killed by SIGKILL; restarting it in 0\\.1 s`));
    assert.notEqual(up.pids().get("edge"), edge);
  });

  test("the agent SIGKILLed: its instances are ended, new ones serve the app", async () => {
    const agent = up.pids().get("agent")!;
    const old = (await appInstances(data, APP)).map((i) => i.pid!);
    process.kill(agent, "SIGKILL");
    const fresh = await waitFor(
      () => appInstances(data, APP),
      (list) => list.length === 2 && list.every((i) => i.state === "started" && !old.includes(i.pid!)),
      LIVENESS_MS,
    );
    assert.equal(fresh.length, 2);
    for (const pid of old) assert.ok(!running(pid), `instance process ${pid} of the killed agent is gone`);
    // The ams edge learns of the new ams instance at its next route poll; until then it serves the app from ord.
    const r = await waitFor(
      () => edgeGet(up.edges.get("ams")!, APP, "/ok"),
      (x) => x.status === 200 && x.body.startsWith("ams "),
      LIVENESS_MS,
    );
    assert.match(r.body, /^ams [0-9a-f]{14} 200\n$/);
  });

  test("SIGINT stops every process it started, app instances included", async () => {
    const roles = [...up.pids().values()];
    const instances = (await appInstances(data, APP)).map((i) => i.pid!);
    const pids = [up.proc.pid!, ...descendants(up.proc.pid!)];
    for (const pid of [...roles, ...instances]) assert.ok(pids.includes(pid), `${pid} is a descendant of up`);
    // Besides: whatever else a role started (all of them must go).
    assert.ok(pids.length >= 6, JSON.stringify(pids));
    const exited = new Promise<number | null>((resolve) => up.proc.once("exit", (code) => resolve(code)));
    up.proc.kill("SIGINT");
    assert.equal(await exited, 0, up.output());
    assert.match(up.output(), /SIGINT received, shutting down\ncontrail: stopped\n/);
    for (const pid of pids) assert.ok(!running(pid), `process ${pid} is gone`);
  });

  test("the supervisor SIGKILLed: its processes and their instances stop by themselves", async () => {
    const other = await startWithApp("orphaned");
    const pids = descendants(other.up.proc.pid!);
    assert.ok(pids.length >= 5, JSON.stringify(pids));
    other.up.proc.kill("SIGKILL");
    const left = await waitFor(
      async () => pids.filter((pid) => running(pid)),
      (l) => l.length === 0,
      LIVENESS_MS,
    );
    assert.deepEqual(left, [], "nothing left running");
  });
});
