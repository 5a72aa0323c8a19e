// `contrail up` end to end: an org and a token made with the CLI, data loaded with `contrail tsdb import`, the
// server started as its own process on loopback, queried over HTTP, and stopped with SIGTERM while a query runs.

import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { parseListenAddress } from "./up.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "contrail.js");
const END_S = Math.floor(Date.now() / 1000 / 60) * 60 - 4 * 3600; // older than a head would hold
const START_S = END_S - 3600;

let dir: string;
let token: string;

function contrail(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "contrail-up-"));
  assert.equal((await contrail(["orgs", "create", "acme", "--data", dir])).code, 0);
  const t = await contrail(["tokens", "create", "--org", "acme", "--data", dir]);
  assert.equal(t.code, 0, t.stderr);
  token = t.stdout.trim();
  let om = "";
  for (let s = START_S; s <= END_S; s += 15) {
    const k = (s - START_S) / 15;
    om += `http_requests_total{job="api",instance="a"} ${k * 30} ${s}\n`;
    om += `http_requests_total{job="api",instance="b"} ${k * 15} ${s}\n`;
  }
  writeFileSync(join(dir, "data.om"), `${om}# EOF\n`);
  const imported = await contrail(["tsdb", "import", "--data", dir, "--org", "acme", join(dir, "data.om")]);
  assert.equal(imported.code, 0, imported.stderr);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** An Alertmanager URL for `--alertmanager`: nothing is sent to it, as no rules are loaded. */
const ALERTMANAGER = "http://127.0.0.1:9093";

/** Starts `contrail up` and resolves with the process and its base URL once it listens. */
function startUp(): Promise<{ proc: ChildProcess; url: string; output: () => string }> {
  const args = ["up", "--data", dir, "--api", "127.0.0.1:0", "--alertmanager", ALERTMANAGER];
  const proc = spawn(process.execPath, [BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`contrail up did not start: ${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ proc, url: m[1], output: () => out });
      }
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    proc.on("exit", (code) => reject(new Error(`contrail up exited with ${code}: ${out}`)));
  });
}

test("parseListenAddress", () => {
  assert.deepEqual(parseListenAddress("127.0.0.1:9300"), { host: "127.0.0.1", port: 9300 });
  assert.deepEqual(parseListenAddress("[::1]:0"), { host: "::1", port: 0 });
  assert.deepEqual(parseListenAddress("localhost:80"), { host: "localhost", port: 80 });
  for (const bad of ["9300", "127.0.0.1", "127.0.0.1:99999", ":9300", "::1:9300"]) {
    assert.throws(
      () => parseListenAddress(bad),
      (e) => isContrailError(e, "bad_data"),
      bad,
    );
  }
});

test("contrail up serves imported data and shuts down cleanly on SIGTERM", async () => {
  const { proc, url, output } = await startUp();
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const auth = { authorization: `Bearer ${token}` };
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  // --alertmanager reached the metrics node: its notifier reports the Alertmanager.
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /^contrail_notifications_alertmanagers 1$/m);
  const r = await fetch(
    `${url}/prometheus/acme/api/v1/query?query=${encodeURIComponent("sum(rate(http_requests_total[5m]))")}&time=${END_S}`,
    {
      headers: auth,
    },
  );
  const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
  assert.equal(r.status, 200);
  assert.ok(Math.abs(Number(body.data.result[0].value[1]) - 3) < 1e-9, JSON.stringify(body));
  assert.equal((await fetch(`${url}/prometheus/acme/api/v1/query?query=up`)).status, 401);

  // A query in flight when the signal arrives still gets its answer.
  const inFlight = fetch(
    `${url}/prometheus/acme/api/v1/query_range?query=${encodeURIComponent("sum(rate(http_requests_total[1h:1s]))")}&start=${START_S}&end=${END_S}&step=15`,
    { headers: auth },
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  proc.kill("SIGTERM");
  const slow = await inFlight;
  assert.equal(slow.status, 200);
  assert.equal(((await slow.json()) as { status: string }).status, "success");
  assert.equal(await exited, 0, output());
  assert.match(output(), /SIGTERM received, shutting down\ncontrail: stopped\n/);

  // The databases were closed: a second server opens them and still serves the data.
  const second = await startUp();
  const again = await fetch(`${second.url}/prometheus/acme/api/v1/series?match[]=http_requests_total`, {
    headers: auth,
  });
  assert.equal(((await again.json()) as { data: unknown[] }).data.length, 2);
  const stopped = new Promise((resolve) => second.proc.once("exit", resolve));
  second.proc.kill("SIGINT");
  assert.equal(await stopped, 0);
});
