// The metrics node's notifiers end to end: `--alertmanager` URLs and an org's receivers written through the API
// receive the alerts handed to the node's alert sink, and `/metrics` shows the counters.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Serve, startServe } from "./serve.ts";
import { seedOrgs } from "./testkit.ts";

let dir: string;
let serve: Serve;
let token: string;
const posts: { path: string; body: string }[] = [];
let peer: ReturnType<typeof createServer>;
let peerUrl: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "contrail-serve-notify-"));
  peer = createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    posts.push({ path: req.url ?? "", body });
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => peer.listen(0, "127.0.0.1", r));
  peerUrl = `http://127.0.0.1:${(peer.address() as { port: number }).port}`;
  token = seedOrgs(dir, ["acme"]).acme;
  serve = await startServe({
    dataDir: dir,
    api: "127.0.0.1:0",
    scrapeIntervalMs: 60_000,
    alertmanagers: [`${peerUrl}/am`],
    externalLabels: { cluster: "eu-1" },
    warn: () => {},
  });
});

after(async () => {
  await serve?.stop();
  await new Promise((r) => peer.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within 5 s: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("alerts reach the Alertmanager and the org's receiver; /metrics counts them", async () => {
  const put = await fetch(`${serve.apiUrl}/prometheus/acme/config/v1/receivers/ops`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ kind: "webhook", url: `${peerUrl}/hook`, group_wait: "0s", group_by: [] }),
  });
  assert.equal(put.status, 201);
  const now = Date.now();
  serve.alertSink("acme", [
    { labels: { alertname: "Up" }, annotations: {}, startsAtMs: now, endsAtMs: now + 60_000, generatorURL: "" },
  ]);
  await until("both received", () => posts.length === 2);
  const am = posts.find((p) => p.path === "/am/api/v2/alerts");
  assert.deepEqual(JSON.parse(am!.body)[0].labels, { alertname: "Up", cluster: "eu-1", org: "acme" });
  const hook = posts.find((p) => p.path === "/hook");
  assert.equal(JSON.parse(hook!.body).externalURL, serve.apiUrl);
  await until("counted", async () => {
    const text = await (await fetch(`${serve.apiUrl}/metrics`)).text();
    return (
      /^contrail_notifications_sent_total\{[^}]*\} 1$/m.test(text) &&
      /^contrail_receiver_notifications_total\{kind="webhook"\} 1$/m.test(text)
    );
  });
});
