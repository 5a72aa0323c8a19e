// A real Prometheus (Debian's 2.42) reading from Contrail by remote read: configured with `remote_read` to the org's
// `/api/v1/read` and a bearer token, its own PromQL answers with Contrail's float samples, instant and range
// queries alike, and a token of another org gets it nothing. Prometheus 2.42's client asks for SAMPLES and drops
// the histograms of a response (they arrive in later versions); native histograms over remote read are checked by
// the protocol tests (route.test.ts). Skipped when prometheus is not on PATH, except under CI=true, where that fails.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { EmbeddedTenantStore } from "../../storage/tenants.ts";
import { type Peer, startPrometheus } from "../../testkit/peers.ts";
import { skipUnlessCi } from "../../testkit/shared-data.ts";
import { startTestServer, type TestControl, type TestServer, testControl } from "../test-support.ts";

const HAVE_PROMETHEUS = spawnSync("prometheus", ["--version"], { stdio: "ignore" }).status === 0;
const SKIP = skipUnlessCi(HAVE_PROMETHEUS ? undefined : "prometheus is not on PATH");
/** Whole seconds, 20 minutes back: older than anything Prometheus's own fresh TSDB holds. */
const AT = Math.floor(Date.now() / 1000) * 1000 - 20 * 60_000;
const STEP_MS = 15_000;

type Vector = { metric: Record<string, string>; value: [number, string] }[];
type Matrix = { metric: Record<string, string>; values: [number, string][] }[];

let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let token: string;
let otherToken: string;
let dir: string;
const peers: Peer[] = [];

function remoteReadConfig(credentials: string): () => string {
  return () =>
    [
      "global:",
      "  scrape_interval: 15s",
      "scrape_configs: []",
      "remote_read:",
      `  - url: ${server.url}/prometheus/acme/api/v1/read`,
      "    read_recent: true",
      "    authorization:",
      `      credentials: ${credentials}`,
      "",
    ].join("\n");
}

async function promQuery<T>(peer: Peer, path: string): Promise<T> {
  const r = await fetch(`${peer.url}${path}`);
  const body = (await r.json()) as { status: string; data: { result: T }; error?: string };
  assert.equal(body.status, "success", `${path}: ${body.error ?? ""}\n${peer.log()}`);
  return body.data.result;
}

before(async () => {
  if (SKIP !== false) return;
  control = testControl();
  token = control.org("acme", ["read"]);
  otherToken = control.org("other", ["read"]);
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  server = await startTestServer(control, store);
  const app = store.appender("acme");
  for (const job of ["api", "web"]) {
    const labels = Labels.fromStrings("__name__", "edge_requests_total", "job", job);
    for (let i = 0; i < 10; i++) app.append(labels, AT + i * STEP_MS, (job === "api" ? 100 : 7) + i);
  }
  app.commit();
  dir = mkdtempSync(join(tmpdir(), "contrail-remote-read-"));
});

after(async () => {
  for (const p of peers) await p.stop(15_000);
  if (SKIP !== false) return;
  await server.close();
  store.close();
  control.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("Prometheus 2.42 reading Contrail by remote read", { skip: SKIP }, () => {
  test("instant and range queries answer with Contrail's samples", async () => {
    mkdirSync(join(dir, "acme"));
    const prom = await startPrometheus({ dir: join(dir, "acme"), config: remoteReadConfig(token) });
    peers.push(prom);
    const last = (AT + 9 * STEP_MS) / 1000;
    const instant = await promQuery<Vector>(
      prom,
      `/api/v1/query?query=${encodeURIComponent("edge_requests_total")}&time=${last}`,
    );
    instant.sort((a, b) => (a.metric.job ?? "").localeCompare(b.metric.job ?? ""));
    assert.deepEqual(
      instant.map((s) => [s.metric, s.value]),
      [
        [{ __name__: "edge_requests_total", job: "api" }, [last, "109"]],
        [{ __name__: "edge_requests_total", job: "web" }, [last, "16"]],
      ],
    );
    const range = await promQuery<Matrix>(
      prom,
      `/api/v1/query_range?query=${encodeURIComponent('sum(edge_requests_total{job=~"a.*"})')}` +
        `&start=${AT / 1000}&end=${last}&step=15`,
    );
    assert.equal(range.length, 1);
    assert.deepEqual(
      range[0].values.map(([, v]) => Number(v)),
      Array.from({ length: 10 }, (_, i) => 100 + i),
    );
    const rate = await promQuery<Vector>(
      prom,
      `/api/v1/query?query=${encodeURIComponent('rate(edge_requests_total{job="web"}[2m])')}&time=${last}`,
    );
    assert.equal(Number(rate[0]?.value[1]), 1 / 15);
  });

  test("with another org's token, Prometheus reads nothing and says why", async () => {
    mkdirSync(join(dir, "other"));
    const prom = await startPrometheus({ dir: join(dir, "other"), config: remoteReadConfig(otherToken) });
    peers.push(prom);
    const r = await fetch(
      `${prom.url}/api/v1/query?query=${encodeURIComponent("edge_requests_total")}&time=${AT / 1000 + 60}`,
    );
    const body = (await r.json()) as {
      status: string;
      data?: { result: unknown[] };
      warnings?: string[];
      error?: string;
    };
    // Prometheus reports the remote's refusal as an error or a warning, never as data.
    const said = `${body.error ?? ""} ${(body.warnings ?? []).join(" ")}`;
    assert.equal(body.data?.result.length ?? 0, 0);
    assert.match(said, /403|forbidden/i, JSON.stringify(body));
  });
});
