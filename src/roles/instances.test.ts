// Instances under `contrail up`, end to end: a killed instance is restarted while the other instances keep serving,
// and its exit is recorded (`fly_instance_exit_code` 137, the restart count in `apps status`); a redeploy replaces
// the instances; an app whose only instance runs elsewhere is registered over the control API with a write token,
// health checked, routed to and scraped, then removed again.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  appInstances,
  byLabel,
  contrail,
  contrailOk,
  edgeGet,
  freePort,
  query,
  startUp,
  testAppSource,
  type UpProcess,
  waitFor,
  writeTestApp,
} from "./testkit.ts";

let root: string;
let data: string;
let up: UpProcess;
let token: string;
let external: ChildProcess | null = null;

before(async () => {
  root = mkdtempSync(join(tmpdir(), "contrail-instances-"));
  data = join(root, "data");
  up = await startUp(data, ["--edge", "ord=127.0.0.1:0", "--edge", "ams=127.0.0.1:0", "--scrape-interval", "1s"]);
  token = (await contrailOk(["tokens", "create", "--scope", "read,write", "--data", data])).trim();
});

after(async () => {
  external?.kill("SIGKILL");
  if (up !== undefined && up.proc.exitCode === null) await up.stop();
  rmSync(root, { recursive: true, force: true });
});

const q = (promql: string) => query(up.apiUrl, "personal", token, promql);

async function deploy(app: string, options: { withCommand?: boolean } = {}): Promise<string> {
  const dir = join(root, app);
  mkdirSync(dir, { recursive: true });
  const toml = writeTestApp(dir, app, options);
  const r = await contrail(["deploy", "-c", toml, "--data", data, "--wait", "--wait-timeout", "20s"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return toml;
}

test("a second up on the same data directory is refused", async () => {
  const second = await contrail(["up", "--data", data, "--api", "127.0.0.1:0", "--edge", "ord=127.0.0.1:0"]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /another contrail up \(pid \d+ on .*\) serves this data directory/);
});

describe("local instances", () => {
  test("a SIGKILLed instance restarts, its exit is recorded, and traffic goes on meanwhile", async () => {
    await deploy("crashy");
    const ord = up.edges.get("ord")!;
    const [victim] = (await appInstances(data, "crashy")).filter((i) => i.region === "ord");
    assert.ok(victim.pid !== null);

    // The kill falls between two requests: a request the instance is answering when it dies is lost with it, and
    // the edge needs a moment to see the instance's pooled connections close.
    const statuses: number[] = [];
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        statuses.push((await edgeGet(ord, "crashy", "/ok")).status);
        if (statuses.length === 10) {
          process.kill(victim.pid!, "SIGKILL");
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const back = await waitFor(
      async () => (await appInstances(data, "crashy")).find((i) => i.id === victim.id)!,
      (i) => i.restarts >= 1 && i.state === "started",
      20_000,
    );
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await traffic;
    assert.equal(back.restarts, 1);
    assert.equal(back.lastExitCode, 137);
    assert.notEqual(back.pid, victim.pid);
    assert.ok(statuses.length > 10, `${statuses.length} requests`);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      "every GET succeeded while the instance was down",
    );

    const exit = await waitFor(
      async () => byLabel(await q(`fly_instance_exit_code{app="crashy"}`), "instance"),
      (v) => v[victim.id] === 137,
    );
    assert.deepEqual(exit, { [victim.id]: 137 });
    const served = await waitFor(
      async () => (await edgeGet(ord, "crashy", "/ok")).body,
      (b) => b.startsWith(`ord ${victim.id}`),
      10_000,
    );
    assert.match(served, /^ord /, "the restarted instance serves its region again");
  });

  test("a redeploy replaces every instance", async () => {
    const before = (await appInstances(data, "crashy")).map((i) => i.id).sort();
    await deploy("crashy");
    const after = await appInstances(data, "crashy");
    assert.equal(after.length, 2);
    for (const i of after) {
      assert.ok(!before.includes(i.id), "new instance ids");
      assert.equal(i.state, "started");
    }
    const status = await contrailOk(["apps", "status", "crashy", "--data", data]);
    assert.match(status, /app crashy \(org personal\): running v2/);
    assert.match(status, /ord: http:\/\/crashy\.localhost:\d+/);
  });
});

describe("external instances", () => {
  test("registered over the control API: checked, routed, scraped; removed again", async () => {
    await deploy("remote", { withCommand: false });
    assert.deepEqual(await appInstances(data, "remote"), []);
    const dir = join(root, "remote-instance");
    mkdirSync(dir);
    writeFileSync(join(dir, "server.js"), testAppSource());
    const port = await freePort();
    external = spawn(process.execPath, ["server.js"], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", PORT: String(port), FLY_REGION: "fra", FLY_ALLOC_ID: "external" },
      stdio: "ignore",
    });

    const base = `${up.apiUrl}/control/v1/apps/remote/instances`;
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const created = await fetch(base, {
      method: "POST",
      headers,
      body: JSON.stringify({ region: "fra", address: `127.0.0.1:${port}` }),
    });
    assert.equal(created.status, 201);
    const { instance } = (await created.json()) as { instance: { id: string; state: string } };
    assert.equal(instance.state, "starting");

    const checked = await waitFor(
      async () => (await appInstances(data, "remote")).find((i) => i.id === instance.id)?.state,
      (s) => s === "started",
    );
    assert.equal(checked, "started");
    const ams = up.edges.get("ams")!;
    const r = await waitFor(
      () => edgeGet(ams, "remote", "/hi"),
      (x) => x.status === 200,
    );
    assert.equal(r.body, "fra external 200\n");
    const scraped = await waitFor(
      async () => byLabel(await q('sum by (instance) (testapp_requests_total{app="remote"})'), "instance"),
      (v) => v[instance.id] >= 1,
    );
    assert.ok(scraped[instance.id] >= 1, JSON.stringify(scraped));
    const routed = await waitFor(
      async () => byLabel(await q('fly_app_http_responses_count{app="remote"}'), "region"),
      (v) => v.fra >= 1,
    );
    assert.ok(routed.fra >= 1);

    const removed = await fetch(`${base}/${instance.id}`, {
      method: "DELETE",
      headers: { authorization: headers.authorization },
    });
    assert.equal(removed.status, 204);
    const gone = await waitFor(
      () => edgeGet(ams, "remote", "/hi"),
      (x) => x.status !== 200,
    );
    assert.notEqual(gone.status, 200);
    assert.deepEqual(await appInstances(data, "remote"), []);
  });
});
