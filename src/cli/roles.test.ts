// `contrail serve`, `contrail edge` and `contrail agent` run alone (not under `up`): bad flags exit 1 with a message;
// a role prints where it serves with its prefix, refuses a second process of its kind on the data directory, and
// stops with exit 0 on SIGTERM, leaving no heartbeat behind.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { listHeartbeats, openControlDb } from "../control/index.ts";
import { BIN, contrail } from "../roles/testkit.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-role-commands-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Starts `contrail ARGS` and resolves with the process and its output once `ready` matches it. */
function startRole(args: readonly string[], ready: RegExp): Promise<{ proc: ChildProcess; output: () => string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${out}`)), 30_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      if (!ready.test(out)) return;
      clearTimeout(timer);
      resolve({ proc, output: () => out });
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
}

function stop(proc: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  proc.kill("SIGTERM");
  return exited;
}

test("bad flags exit 1 with a message naming the flag", async () => {
  const cases: [string[], RegExp][] = [
    [["edge", "--edge", "ord"], /^contrail edge: --edge: expected REGION=HOST:PORT/],
    [["agent", "--region", "ORD"], /^contrail agent: --region: three lower-case letters, got "ORD"/],
    [["serve", "--scrape-interval", "10ms"], /^contrail serve: --scrape-interval: at least 1s/],
    [["serve", "--alertmanager", "nowhere"], /^contrail serve: --alertmanager: expected an http or https URL/],
    [["serve", "--external-label", "org=x"], /^contrail serve: --external-label: org is set to each alert's org/],
    [["serve", "--roles", "api,bogus"], /^contrail serve: --roles: a comma-separated list of api, scrape, rules/],
    [["edge", "--metrics", "nowhere"], /^contrail edge: --metrics: expected HOST:PORT/],
    [["agent", "--metrics", "nowhere"], /^contrail agent: --metrics: expected HOST:PORT/],
    [
      ["serve", "--storage", "s3=x"],
      /^contrail serve: --storage "s3=x": expected one of embedded, victoriametrics=URL/,
    ],
    [["serve", "--storage-queue-max", "1KiB"], /^contrail serve: --storage-queue-max: expected a size from 1MiB/],
    [["up", "--storage", "mimir=ftp://x"], /^contrail: --storage: mimir URL "ftp:\/\/x" must be http/],
    [["up", "--storage-queue-max", "lots"], /^contrail: --storage-queue-max: expected a size/],
  ];
  for (const [args, message] of cases) {
    const r = await contrail([...args, "--data", join(root, "bad")]);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, message);
  }
  // CONTRAIL_STORAGE stands in for --storage (the child inherits this process's environment).
  process.env.CONTRAIL_STORAGE = "vmcluster=http://a";
  try {
    const r = await contrail(["serve", "--data", join(root, "bad")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^contrail serve: --storage vmcluster needs two URLs/);
  } finally {
    delete process.env.CONTRAIL_STORAGE;
  }
});

test("serve and edge alone: they say where they serve, refuse a twin, and stop cleanly", async () => {
  const data = join(root, "alone");
  const serve = await startRole(
    ["serve", "--data", data, "--api", "127.0.0.1:0"],
    /contrail serve: listening on http:\/\/127\.0\.0\.1:\d+ /,
  );
  const edge = await startRole(
    ["edge", "--data", data, "--edge", "ord=127.0.0.1:0"],
    /contrail edge: metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/,
  );
  try {
    assert.match(
      edge.output(),
      /contrail edge: edge ord http:\/\/<app>\.localhost:\d+ https:\/\/<app>\.localhost:\d+ \(127\.0\.0\.1:\d+, host [0-9a-f]{4}\)\ncontrail edge: edge CA certificate \S+\/edge-ca\/ca\.pem /,
    );
    const metrics = /metrics on (\S+)\/metrics/.exec(edge.output())![1];
    assert.equal((await fetch(`${metrics}/healthz`)).status, 200);
    assert.match(await (await fetch(`${metrics}/metrics`)).text(), /# TYPE fly_edge_http_responses_count counter/);

    const twin = await contrail(["serve", "--data", data, "--api", "127.0.0.1:0"]);
    assert.equal(twin.code, 1);
    assert.match(twin.stderr, /contrail serve: another contrail serve \(pid \d+ on .*\) serves this data directory/);
    // Over the embedded store an API-only node is a twin too: the store has one owner.
    const apiOnly = await contrail(["serve", "--data", data, "--api", "127.0.0.1:0", "--roles", "api"]);
    assert.equal(apiOnly.code, 1);
    assert.match(apiOnly.stderr, /another contrail serve \(pid \d+ on .*\) serves this data directory/);
    const sameRegion = await contrail(["edge", "--data", data, "--edge", "ord=127.0.0.1:0"]);
    assert.equal(sameRegion.code, 1);
    assert.match(sameRegion.stderr, /another contrail edge \(pid \d+\) serves region ord on this data directory/);
  } finally {
    assert.equal(await stop(edge.proc), 0, edge.output());
    assert.equal(await stop(serve.proc), 0, serve.output());
  }
  const db = openControlDb({ dataDir: data });
  try {
    assert.deepEqual(listHeartbeats(db), [], "a clean stop deletes the heartbeat rows");
  } finally {
    db.close();
  }
});

test("serve --roles scrape runs without an API and announces its shard in its heartbeat", async () => {
  const data = join(root, "scrape-only");
  const node = await startRole(
    ["serve", "--data", data, "--roles", "scrape", "--shard", "0/2"],
    /contrail serve: running scrape without an API \(data in /,
  );
  const db = openControlDb({ dataDir: data });
  try {
    const rows = listHeartbeats(db, "node/").map((hb) => hb.info);
    assert.deepEqual(rows, [{ api: null, roles: ["scrape"], shard: "0/2" }]);
  } finally {
    db.close();
    assert.equal(await stop(node.proc), 0, node.output());
  }
});
