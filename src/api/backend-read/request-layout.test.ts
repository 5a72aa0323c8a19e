// The read requests the API sends to a VictoriaMetrics cluster (vmselect: the org's accountID in the path,
// `/select/<accountID>/prometheus/api/v1/...`) and to Grafana Mimir (`/prometheus/api/v1/...` with the tenant in
// `X-Scope-OrgID`), checked against those documented layouts. Neither server is available here, so the backend is a
// TEST DOUBLE: a loopback HTTP server that only records each request and answers a fixed, well-formed Prometheus
// API body; it evaluates nothing, and nothing here says anything about those servers' answers.

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { MIMIR_TENANT_HEADER, ORG_LABEL } from "../../storage/remote/backend-spec.ts";
import { MemoryTenants, startTestServer, type TestControl, testControl } from "../test-support.ts";
import { ReadBackend } from "./read-backend.ts";

/** One request as the double received it. */
interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly params: URLSearchParams;
  readonly headers: IncomingMessage["headers"];
}

const NOW = 1_700_000_000_000;
const ACCOUNT_IDS: Readonly<Record<string, number>> = { alpha: 7, beta: 4_000_000_000 };

// Fixed answers by endpoint: enough for the API to build its own answer, nothing computed.
function cannedData(path: string, params: URLSearchParams): unknown {
  if (path.endsWith("/query") && (params.get("query") ?? "").endsWith("[5m]")) {
    return { resultType: "matrix", result: [{ metric: { __name__: "up", job: "x" }, values: [[NOW / 1000, "1"]] }] };
  }
  if (path.endsWith("/query"))
    return { resultType: "vector", result: [{ metric: { job: "x" }, value: [NOW / 1000, "1"] }] };
  if (path.endsWith("/query_range")) {
    return { resultType: "matrix", result: [{ metric: { job: "x" }, values: [[NOW / 1000, "1"]] }] };
  }
  if (path.endsWith("/series")) return [{ __name__: "up", job: "x" }];
  if (path.endsWith("/labels")) return ["__name__", "job"];
  return ["x"];
}

let recorded: Recorded[] = [];
let double: Server;
let doubleUrl = "";
let control: TestControl;
let alphaToken = "";

before(async () => {
  double = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://double");
      const params = new URLSearchParams(url.search);
      for (const [k, v] of new URLSearchParams(body)) params.append(k, v);
      recorded.push({ method: req.method ?? "", path: url.pathname, params, headers: req.headers });
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ status: "success", data: cannedData(url.pathname, params) }));
    });
  });
  await new Promise<void>((resolve) => double.listen(0, "127.0.0.1", resolve));
  doubleUrl = `http://127.0.0.1:${(double.address() as { port: number }).port}`;
  control = testControl();
  alphaToken = control.org("alpha");
  control.org("beta");
});

after(async () => {
  await new Promise((resolve) => double.close(resolve));
  control.cleanup();
});

/** Every read path of the API, relative to `/prometheus/alpha`, and the backend endpoint it must reach. */
const READS: readonly [string, string][] = [
  [`/api/v1/query?query=${encodeURIComponent('sum(rate(up{job="x"}[5m]))')}&time=${NOW / 1000}`, "/api/v1/query"],
  [`/api/v1/query_range?query=up&start=${NOW / 1000 - 60}&end=${NOW / 1000}&step=15`, "/api/v1/query_range"],
  ["/api/v1/series?match[]=up", "/api/v1/series"],
  ["/api/v1/labels", "/api/v1/labels"],
  ["/api/v1/label/job/values", "/api/v1/label/job/values"],
  ["/federate?match[]=up", "/api/v1/query"],
];

/** Sends every read of READS through an API server over `backend`; returns what the double recorded. */
async function recordReads(backend: ReadBackend): Promise<Recorded[]> {
  recorded = [];
  const server = await startTestServer(control, new MemoryTenants(), { backend, now: () => NOW });
  try {
    for (const [path] of READS) {
      const r = await fetch(`${server.url}/prometheus/alpha${path}`, {
        headers: { authorization: `Bearer ${alphaToken}` },
      });
      assert.equal(r.status, 200, `${path}: ${await r.text()}`);
    }
  } finally {
    await server.close();
  }
  return recorded;
}

// Multi-tenant backends: the tenant is in the request, so the query goes as written, with no label and no
// extra_label.
function assertNoOrgLabel(r: Recorded): void {
  assert.equal(r.params.get("extra_label"), null, r.path);
  for (const [, v] of r.params) assert.doesNotMatch(v, new RegExp(ORG_LABEL), r.path);
}

describe("request layouts of multi-tenant backends (recorded by a test double)", () => {
  test("VictoriaMetrics cluster: /select/<accountID>/prometheus/api/v1/... of the org's accountID", async () => {
    const recorded = await recordReads(
      new ReadBackend({
        spec: { kind: "vmcluster", insertUrl: doubleUrl, selectUrl: doubleUrl },
        accountIdOf: (org) => ACCOUNT_IDS[org] ?? 0,
      }),
    );
    assert.deepEqual(
      recorded.map((r) => r.path),
      READS.map(([, endpoint]) => `/select/7/prometheus${endpoint}`),
    );
    for (const r of recorded) {
      assertNoOrgLabel(r);
      assert.equal(r.headers[MIMIR_TENANT_HEADER.toLowerCase()], undefined);
    }
    assert.equal(recorded[0]?.params.get("query"), 'sum(rate(up{job="x"}[5m]))');
    assert.equal(recorded[0]?.method, "POST");
    assert.equal(recorded[4]?.method, "GET", "label values: GET, as the Prometheus API defines it");
    assert.equal(recorded[5]?.params.get("query"), '{__name__="up"}[5m]');
  });

  test("VictoriaMetrics cluster without the org's accountID: refused, nothing sent", async () => {
    recorded = [];
    const backend = new ReadBackend({ spec: { kind: "vmcluster", insertUrl: doubleUrl, selectUrl: doubleUrl } });
    const server = await startTestServer(control, new MemoryTenants(), { backend, now: () => NOW });
    try {
      const r = await fetch(`${server.url}/prometheus/alpha/api/v1/query?query=up`, {
        headers: { authorization: `Bearer ${alphaToken}` },
      });
      assert.equal(r.status, 500);
      assert.match(((await r.json()) as { error: string }).error, /has no valid VictoriaMetrics accountID/);
    } finally {
      await server.close();
    }
    assert.equal(recorded.length, 0);
  });

  test("Mimir: /prometheus/api/v1/... with X-Scope-OrgID: <org>", async () => {
    const recorded = await recordReads(new ReadBackend({ spec: { kind: "mimir", url: doubleUrl } }));
    assert.deepEqual(
      recorded.map((r) => r.path),
      READS.map(([, endpoint]) => `/prometheus${endpoint}`),
    );
    for (const r of recorded) {
      assertNoOrgLabel(r);
      assert.equal(r.headers[MIMIR_TENANT_HEADER.toLowerCase()], "alpha");
    }
  });

  test("single-node VictoriaMetrics: every read carries the confined selectors and extra_label", async () => {
    const recorded = await recordReads(new ReadBackend({ spec: { kind: "victoriametrics", url: doubleUrl } }));
    assert.deepEqual(
      recorded.map((r) => r.path),
      READS.map(([, endpoint]) => endpoint),
    );
    for (const r of recorded) assert.equal(r.params.get("extra_label"), `${ORG_LABEL}=alpha`, r.path);
    assert.equal(recorded[0]?.params.get("query"), `sum(rate(up{${ORG_LABEL}="alpha",job="x"}[5m]))`);
    assert.deepEqual(recorded[3]?.params.getAll("match[]"), [`{${ORG_LABEL}="alpha"}`], "labels without match[]");
    assert.deepEqual(recorded[4]?.params.getAll("match[]"), [`{${ORG_LABEL}="alpha"}`], "values without match[]");
  });
});
