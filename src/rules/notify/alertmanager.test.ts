import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { alertmanagerSkip, freePort, type Peer, startAlertmanager } from "../../testkit/peers.ts";
import type { OutgoingAlert } from "../types.ts";
import { fingerprint } from "./alert-labels.ts";
import { AlertmanagerNotifier, MAX_BATCH } from "./alertmanager.ts";

const skip = alertmanagerSkip();
const LIVENESS_MS = 5_000;

let dir = "";
let am: Peer | undefined;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "contrail-am-"));
  am = await startAlertmanager({ dir });
});

after(async () => {
  await am?.stop();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

interface ReceivedAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  endsAt: string;
  fingerprint: string;
}

async function amAlerts(filter: string): Promise<ReceivedAlert[]> {
  const r = await fetch(`${am!.url}/api/v2/alerts?filter=${encodeURIComponent(filter)}`);
  assert.equal(r.status, 200);
  return (await r.json()) as ReceivedAlert[];
}

/** Polls until `check` returns true, for at most the liveness bound. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + LIVENESS_MS;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${LIVENESS_MS} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alert(name: string, labels: Record<string, string>, endsAtMs: number): OutgoingAlert {
  return {
    labels: { alertname: name, ...labels },
    annotations: { summary: `${name} is firing` },
    startsAtMs: Date.now() - 60_000,
    endsAtMs,
    generatorURL: "http://127.0.0.1:9300/graph?g0.expr=up",
  };
}

test("alerts arrive at Alertmanager with org and external labels; the org label wins", { skip }, async () => {
  const n = new AlertmanagerNotifier({ urls: [am!.url], externalLabels: { cluster: "test", region: "ord" } });
  try {
    n.enqueue("acme", [alert("HighLatency", { org: "spoofed", region: "ams" }, Date.now() + 600_000)]);
    await n.idle();
    const got = await amAlerts('alertname="HighLatency"');
    assert.equal(got.length, 1);
    assert.deepEqual(got[0].labels, { alertname: "HighLatency", cluster: "test", org: "acme", region: "ams" });
    assert.equal(got[0].annotations.summary, "HighLatency is firing");
    assert.equal(got[0].status.state, "active");
    assert.equal(fingerprint(got[0].labels), got[0].fingerprint, "our fingerprint is Alertmanager's");
    const f = n.figures();
    assert.equal(f.alertmanagers[0].sent, 1);
    assert.equal(f.alertmanagers[0].errors, 0);
    assert.equal(f.dropped, 0);
    assert.equal(f.queueLength, 0);
  } finally {
    await n.stop();
  }
});

test("a resolved alert resolves in Alertmanager", { skip }, async () => {
  const n = new AlertmanagerNotifier({ urls: [am!.url] });
  try {
    const firing = alert("DiskFull", { instance: "a" }, Date.now() + 600_000);
    n.enqueue("acme", [firing]);
    await n.idle();
    assert.equal((await amAlerts('alertname="DiskFull"')).length, 1);
    n.enqueue("acme", [{ ...firing, endsAtMs: Date.now() - 1000 }]);
    await n.idle();
    // A resolved alert leaves the list of active alerts (Alertmanager hides resolved ones from the API).
    await eventually("the alert resolves", async () => (await amAlerts('alertname="DiskFull"')).length === 0);
  } finally {
    await n.stop();
  }
});

test("many alerts go in batches of at most 64 and all arrive", { skip }, async () => {
  const n = new AlertmanagerNotifier({ urls: [am!.url] });
  try {
    const count = MAX_BATCH * 2 + 5;
    n.enqueue(
      "bulk",
      Array.from({ length: count }, (_, i) => alert("Bulk", { shard: String(i) }, Date.now() + 600_000)),
    );
    await n.idle();
    const f = n.figures().alertmanagers[0];
    assert.equal(f.posts, 3);
    assert.equal(f.sent, count);
    assert.equal((await amAlerts('org="bulk"')).length, count);
  } finally {
    await n.stop();
  }
});

test("each org's alerts carry their own org; one org cannot pose as another", { skip }, async () => {
  const n = new AlertmanagerNotifier({ urls: [am!.url] });
  try {
    n.enqueue("red", [alert("Iso", { org: "blue" }, Date.now() + 600_000)]);
    n.enqueue("blue", [alert("Iso", {}, Date.now() + 600_000)]);
    await n.idle();
    const got = await amAlerts('alertname="Iso"');
    assert.deepEqual(got.map((a) => a.labels.org).sort(), ["blue", "red"]);
  } finally {
    await n.stop();
  }
});

test("a down Alertmanager counts errors and drops, without blocking; a live one still receives", async () => {
  const downUrl = `http://127.0.0.1:${await freePort()}`;
  const urls = skip ? [downUrl] : [downUrl, am!.url];
  const warnings: string[] = [];
  const n = new AlertmanagerNotifier({ urls, timeoutMs: 2_000, warn: (l) => warnings.push(l) });
  try {
    const started = performance.now();
    n.enqueue("acme", [alert("DownTest", {}, Date.now() + 600_000)]);
    // enqueue returns at once: the POSTs happen later.
    assert.ok(performance.now() - started < LIVENESS_MS);
    await n.idle();
    const f = n.figures();
    assert.equal(f.alertmanagers[0].errors, 1);
    assert.equal(f.alertmanagers[0].sent, 0);
    assert.ok(warnings.some((w) => w.includes(downUrl)));
    if (skip) assert.equal(f.dropped, 1);
    else {
      assert.equal(f.dropped, 0, "one Alertmanager took the batch");
      assert.equal(f.alertmanagers[1].sent, 1);
    }
  } finally {
    await n.stop();
  }
});

test("a hanging Alertmanager times out and counts an error", async () => {
  const server: Server = createServer(() => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const n = new AlertmanagerNotifier({ urls: [`http://127.0.0.1:${port}`], timeoutMs: 200 });
  try {
    n.enqueue("acme", [alert("Hang", {}, Date.now() + 600_000)]);
    await n.idle();
    assert.equal(n.figures().alertmanagers[0].errors, 1);
    assert.equal(n.figures().dropped, 1);
  } finally {
    await n.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test("a full queue drops the oldest alerts and counts them", async () => {
  const received: string[] = [];
  const server: Server = createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    for (const a of JSON.parse(body) as { labels: Record<string, string> }[]) received.push(a.labels.i);
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const n = new AlertmanagerNotifier({ urls: [`http://127.0.0.1:${port}`], queueCapacity: 10 });
  try {
    n.enqueue(
      "acme",
      Array.from({ length: 25 }, (_, i) => alert("Q", { i: String(i) }, Date.now() + 600_000)),
    );
    assert.equal(n.figures().queueLength, 10);
    assert.equal(n.figures().dropped, 15);
    await n.idle();
    assert.equal(n.figures().alertmanagers[0].sent, 10);
    assert.deepEqual(
      received,
      Array.from({ length: 10 }, (_, i) => String(15 + i)),
      "the newest ten were kept",
    );
  } finally {
    await n.stop();
    await new Promise((r) => server.close(r));
  }
});
