// A metrics node started with `storage: victoriametrics=URL` (startServe, as `contrail serve --storage` does) reads
// from a real VictoriaMetrics (Debian's, on loopback): the series imported there for two orgs, each with its
// `contrail_org` label, answer each org's token through the node's API and nothing of the other org, and an
// alerting rule of one org evaluates on the backend too (its alert carries the org's series, not the org label).
// Skipped when victoria-metrics is absent (required under CI).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ORG_LABEL } from "../storage/remote/backend-spec.ts";
import { type Peer, startVictoriaMetrics } from "../testkit/peers.ts";
import { skipUnlessCi } from "../testkit/shared-data.ts";
import { type Serve, startServe } from "./serve.ts";
import { seedOrgs } from "./testkit.ts";

const HAVE_VM = spawnSync("victoria-metrics", ["-version"], { stdio: "ignore" }).status === 0;
const SKIP = skipUnlessCi(HAVE_VM ? undefined : "victoria-metrics is not installed");
/** Liveness bound of every wait, ms. */
const WAIT_MS = 40_000;

const GROUP = `name: remote
interval: 1s
rules:
  - alert: Busy
    expr: fly_app_concurrency > 100
`;

let dir = "";
let vm: Peer | null = null;
let serve: Serve | null = null;
let tokens: Record<string, string> = {};

before(async () => {
  if (SKIP !== false) return;
  dir = mkdtempSync(join(tmpdir(), "contrail-serve-remote-"));
  vm = await startVictoriaMetrics({ dataDir: join(dir, "vm"), flags: ["-search.latencyOffset=0s"] });
  const now = Date.now();
  const lines: string[] = [];
  for (let t = now - 120_000; t <= now; t += 15_000) {
    lines.push(`fly_app_concurrency{${ORG_LABEL}="acme",secret="acme-only"} 150 ${t}`);
    lines.push(`fly_app_concurrency{${ORG_LABEL}="other",secret="other-only"} 424242 ${t}`);
  }
  // Samples keep arriving a minute ahead, so instant queries near "now" see a fresh one.
  for (let t = now + 15_000; t <= now + 60_000; t += 15_000) {
    lines.push(`fly_app_concurrency{${ORG_LABEL}="acme",secret="acme-only"} 150 ${t}`);
  }
  const r = await fetch(`${vm.url}/api/v1/import/prometheus`, { method: "POST", body: lines.join("\n") });
  assert.ok(r.ok, `import: ${r.status}`);
  await fetch(`${vm.url}/internal/force_flush`);
  tokens = seedOrgs(join(dir, "data"), ["acme", "other"]);
  serve = await startServe({
    dataDir: join(dir, "data"),
    api: "127.0.0.1:0",
    scrapeIntervalMs: 60_000,
    storage: { kind: "victoriametrics", url: vm.url },
    rules: { minIntervalMs: 1000 },
    warn: () => {},
  });
});

after(async () => {
  await serve?.stop();
  await vm?.stop();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

async function get(org: string, path: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${(serve as Serve).apiUrl}/prometheus/${org}${path}`, {
    headers: { authorization: `Bearer ${tokens[org]}` },
  });
  return { status: r.status, text: await r.text() };
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`not within ${WAIT_MS} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("a metrics node with storage on VictoriaMetrics", { skip: SKIP }, () => {
  test("each org's token reads its own series from the backend, and nothing of the other org", async () => {
    const query = `/api/v1/query?query=${encodeURIComponent('{__name__=~".+"}')}`;
    await until("acme's series through the API", async () => (await get("acme", query)).text.includes("acme-only"));
    const acme = await get("acme", query);
    assert.equal(acme.status, 200, acme.text);
    assert.doesNotMatch(acme.text, /other-only|424242|contrail_org/);
    const other = await get("other", query);
    assert.match(other.text, /424242/);
    assert.doesNotMatch(other.text, /acme/);
  });

  test("an org's alerting rule evaluates on the backend, confined to the org", async () => {
    const posted = await fetch(`${(serve as Serve).apiUrl}/prometheus/acme/config/v1/rules/remote`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.acme}`, "content-type": "application/yaml" },
      body: GROUP,
    });
    assert.equal(posted.status, 202, await posted.text());
    await until("the Busy alert of acme", async () => (await get("acme", "/api/v1/alerts")).text.includes("Busy"));
    const alerts = await get("acme", "/api/v1/alerts");
    assert.match(alerts.text, /"secret":"acme-only"/);
    assert.doesNotMatch(alerts.text, /other-only|contrail_org/);
    assert.doesNotMatch((await get("other", "/api/v1/alerts")).text, /Busy/);
  });
});
