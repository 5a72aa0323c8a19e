// Org isolation with remote storage on a real single-node VictoriaMetrics (Debian's victoria-metrics on loopback):
// two orgs' series are imported straight into it with their `contrail_org` labels, and the API reads them through
// a ReadBackend, its own store left empty. The embedded store's attack set (attack-set.ts) runs against it: each
// org's token sees only its org's series on every read path, selectors naming the org label are refused, the
// backend enforces `extra_label` on its own, and after every hostile request the server still answers. Skipped
// when victoria-metrics is absent (required under CI).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ORG_LABEL } from "../../storage/remote/backend-spec.ts";
import { type Peer, startVictoriaMetrics } from "../../testkit/peers.ts";
import { fuzzSeeds } from "../../testkit/random.ts";
import { skipUnlessCi } from "../../testkit/shared-data.ts";
import {
  crossOrgReads,
  DURATIONS,
  HARDENING_CASES,
  HOSTILE_QUERIES,
  LIMITS,
  ORG_ENDPOINTS,
  RAW_VALUES,
  RequestGen,
  randomRequest,
  SELECTORS,
  TIMES,
} from "../attack-set.ts";
import { DEFAULT_LIMITS } from "../limits.ts";
import { backendRuleQuery } from "../rule-queries.ts";
import {
  MemoryTenants,
  orgRequest,
  type Reply,
  startTestServer,
  type TestControl,
  type TestServer,
  testControl,
} from "../test-support.ts";
import { ReadBackend } from "./read-backend.ts";

const HAVE_VM = spawnSync("victoria-metrics", ["-version"], { stdio: "ignore" }).status === 0;
const SKIP = skipUnlessCi(HAVE_VM ? undefined : "victoria-metrics is not installed");

/** The newest sample, a whole second a minute ago (VictoriaMetrics keeps a month by default). */
const NOW = Math.floor(Date.now() / 1000) * 1000 - 60_000;
/** Generous liveness bound of one request, ms: the backend is a real process on a shared machine. */
const LIVENESS_MS = 10_000;
/** Random requests of the property-based case per seed, as the embedded store's hardening test sends. */
const PROPERTY_CASES_PER_SEED = 250;
/** The org's query timeout in these tests, ms: hostile queries the backend works on end there. */
const QUERY_TIMEOUT_MS = 3_000;

let dir = "";
let vm: Peer | null = null;
let control: TestControl;
let server: TestServer;
let backend: ReadBackend;
let alphaToken = "";
let betaToken = "";

// The isolation test's series (same names in both orgs; `secret` and the value tell them apart) and the hardening
// test's `up` and `requests_total`, as Prometheus text lines with the org label, one every 15 s over 10 minutes.
function importLines(org: string, secret: string, value: number): string[] {
  const lines: string[] = [];
  for (let t = NOW - 600_000; t <= NOW; t += 15_000) {
    for (const app of ["web", "api"]) {
      const common = `${ORG_LABEL}="${org}",app="${app}",region="ams",secret="${secret}"`;
      lines.push(`fly_edge_http_responses_count{${common},status="200"} ${value} ${t}`);
      lines.push(`fly_app_concurrency{${common}} ${value} ${t}`);
    }
    for (const instance of ["a", "b", "c"])
      lines.push(`up{${ORG_LABEL}="${org}",job="${secret}",instance="${instance}"} 1 ${t}`);
    lines.push(`requests_total{${ORG_LABEL}="${org}",job="${secret}"} ${(t - NOW + 600_000) / 1000} ${t}`);
  }
  return lines;
}

async function seed(url: string): Promise<void> {
  const lines = [...importLines("alpha", "alpha-only", 111), ...importLines("beta", "beta-only", 424242)];
  const r = await fetch(`${url}/api/v1/import/prometheus`, { method: "POST", body: lines.join("\n") });
  assert.ok(r.ok, `import: ${r.status} ${await r.text()}`);
  await fetch(`${url}/internal/force_flush`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const q = new URLSearchParams({ query: 'count({__name__!=""})', time: String(NOW / 1000), nocache: "1" });
    const body = (await (await fetch(`${url}/api/v1/query?${q}`)).json()) as {
      data: { result: { value: string[] }[] };
    };
    if (body.data.result[0]?.value[1] === String(2 * (4 + 3 + 1))) return;
    if (Date.now() > deadline)
      throw new Error(`victoria-metrics does not show the imported series: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

before(async () => {
  if (SKIP !== false) return;
  dir = mkdtempSync(join(tmpdir(), "contrail-vm-reads-"));
  vm = await startVictoriaMetrics({
    dataDir: join(dir, "vm"),
    flags: ["-search.disableCache", "-search.latencyOffset=0s"],
  });
  await seed(vm.url);
  control = testControl();
  alphaToken = control.org("alpha");
  betaToken = control.org("beta");
  backend = new ReadBackend({ spec: { kind: "victoriametrics", url: vm.url } });
  // The embedded store is empty: every answer below comes from VictoriaMetrics.
  server = await startTestServer(control, new MemoryTenants(), {
    backend,
    now: () => NOW,
    limits: { queryTimeoutMs: QUERY_TIMEOUT_MS },
  });
});

after(async () => {
  await server?.close();
  await vm?.stop();
  control?.cleanup();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

function send(org: string, token: string | null, path: string, body?: string): Promise<Reply> {
  return orgRequest(server.url, org, token, path, { body, timeoutMs: LIVENESS_MS });
}

const alpha = (path: string, body?: string) => send("alpha", alphaToken, path, body);
const enc = (params: Record<string, string>) => new URLSearchParams(params).toString();

/** The server still answers `1+1` from the backend (VictoriaMetrics answers it as a vector of one sample). */
async function assertAlive(after: string): Promise<void> {
  const r = await alpha(`/api/v1/query?${enc({ query: "1+1", time: "4" })}`);
  assert.equal(r.status, 200, `${after}: ${r.text}`);
  assert.match(r.text, /\[4,"2"\]/, after);
}

/** Within the bound: 200 with nothing of beta, a 4xx, or 503 (the backend's timeout or refusal); then alive. */
async function checkHostile(path: string, body?: string): Promise<number> {
  const what = `${path} ${body ?? ""}`.slice(0, 300);
  const r = await alpha(path, body);
  assert.ok(
    r.status === 200 || (r.status >= 400 && r.status < 500) || r.status === 503,
    `${what}: ${r.status} ${r.text.slice(0, 300)}`,
  );
  if (r.status === 200) assert.doesNotMatch(r.text, /beta|424242/, what);
  else assert.equal(r.json?.status, "error", `${what}: the error envelope`);
  await assertAlive(what);
  return r.status;
}

describe("remote storage on VictoriaMetrics: org isolation", { skip: SKIP }, () => {
  test("every endpoint refuses alpha's token on beta's path, as with the embedded store", async () => {
    for (const path of ORG_ENDPOINTS) {
      assert.equal((await send("beta", alphaToken, path)).status, 403, path);
      assert.equal((await send("beta", null, path)).status, 401, path);
    }
  });

  test("alpha's token on alpha's path never returns beta's data, on every read path", async () => {
    const calls = crossOrgReads(NOW);
    let sawAlpha = 0;
    for (const path of calls) {
      const r = await alpha(path);
      if (path.startsWith("/api/v1/status/tsdb")) {
        // The embedded store's head statistics: not kept with remote storage (docs/api.md).
        assert.equal(r.status, 404, r.text);
        continue;
      }
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.doesNotMatch(r.text, /beta|424242/, path);
      assert.doesNotMatch(r.text, new RegExp(ORG_LABEL), `${path}: the org label is not shown`);
      if (r.text.includes("alpha-only") || r.text.includes("111")) sawAlpha++;
    }
    assert.ok(sawAlpha >= 8, `alpha's own data should show up (${sawAlpha} calls)`);
    const beta = await send("beta", betaToken, calls[0] as string);
    assert.match(beta.text, /424242/);
    assert.doesNotMatch(beta.text, /alpha/);
  });

  test("the answers hold the same series as the embedded store would: values, labels, federation", async () => {
    const s = NOW / 1000;
    const q = await alpha(`/api/v1/query?${enc({ query: "sum(fly_app_concurrency)", time: String(s) })}`);
    assert.equal(q.json.data.result[0].value[1], "222");
    const series = await alpha(`/api/v1/series?${enc({ "match[]": "fly_app_concurrency", start: String(s - 60) })}`);
    assert.deepEqual(
      series.json.data.map((l: Record<string, string>) => Object.keys(l).sort().join(",")),
      ["__name__,app,region,secret", "__name__,app,region,secret"],
    );
    const labels = await alpha(`/api/v1/labels?${enc({ start: String(s - 60) })}`);
    assert.deepEqual(labels.json.data, ["__name__", "app", "instance", "job", "region", "secret", "status"]);
    const values = await alpha(`/api/v1/label/job/values?${enc({ start: String(s - 60) })}`);
    assert.deepEqual(values.json.data, ["alpha-only"]);
    for (const name of [ORG_LABEL, "U__contrail__org"]) {
      const own = await alpha(`/api/v1/label/${name}/values`);
      assert.deepEqual(own.json.data, [], name);
    }
    const escaped = await alpha(`/api/v1/label/U__secret/values?${enc({ start: String(s - 60) })}`);
    assert.deepEqual(escaped.json.data, ["alpha-only"]);
    const fed = await alpha(`/federate?${enc({ "match[]": "up" })}`);
    assert.equal(fed.status, 200, fed.text);
    assert.equal(
      fed.text,
      `# TYPE up untyped\n${["a", "b", "c"].map((i) => `up{instance="${i}",job="alpha-only"} 1 ${NOW}\n`).join("")}`,
    );
    const limited = await alpha(`/api/v1/series?${enc({ "match[]": "up", start: String(s - 60), limit: "2" })}`);
    assert.equal(limited.json.data.length, 2);
    assert.deepEqual(limited.json.warnings, ["results truncated due to limit"]);
  });

  test("selectors that name the org label are refused on every read path, with a clear error", async () => {
    const s = String(NOW / 1000);
    const named = `{${ORG_LABEL}="beta"}`;
    const requests = [
      `/api/v1/query?${enc({ query: `sum(up${named})`, time: s })}`,
      `/api/v1/query?${enc({ query: `rate(up{${ORG_LABEL}=~".*"}[5m:1m] offset 1m)`, time: s })}`,
      `/api/v1/query_range?${enc({ query: `up${named}`, start: String(NOW / 1000 - 60), end: s, step: "15" })}`,
      `/api/v1/series?${enc({ "match[]": `up${named}` })}`,
      `/api/v1/labels?${enc({ "match[]": named })}`,
      `/api/v1/label/job/values?${enc({ "match[]": `{job="x",${ORG_LABEL}!="alpha"}` })}`,
      `/federate?${enc({ "match[]": named })}`,
    ];
    for (const path of requests) {
      const r = await alpha(path);
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assert.match(r.json.error, /may not name the label "contrail_org"/, path);
      await assertAlive(path);
    }
    const posted = await alpha("/api/v1/query", enc({ query: `up${named}` }));
    assert.equal(posted.status, 400, posted.text);
  });

  test("VictoriaMetrics enforces extra_label by itself on every read endpoint the API uses", async () => {
    const url = (vm as Peer).url;
    const extra = `extra_label=${ORG_LABEL}=alpha`;
    const all = encodeURIComponent('{__name__=~".+"}');
    const betas = encodeURIComponent('{secret="beta-only"}');
    // Each read, and what it shows of beta without extra_label; with it, it must show nothing of beta.
    const paths: [string, RegExp][] = [
      [`/api/v1/query?query=${all}&time=${NOW / 1000}`, /beta-only/],
      [`/api/v1/query_range?query=${all}&start=${NOW / 1000 - 60}&end=${NOW / 1000}&step=15`, /beta-only/],
      [`/api/v1/series?match[]=${all}`, /beta-only/],
      [`/api/v1/labels?match[]=${betas}`, /"secret"/],
      [`/api/v1/label/secret/values?match[]=${all}`, /beta-only/],
      [`/federate?match[]=${all}`, /beta-only/],
    ];
    for (const [path, leak] of paths) {
      const without = await (await fetch(`${url}${path}`)).text();
      assert.match(without, leak, `${path}: beta's series are there without extra_label`);
      const r = await fetch(`${url}${path}&${extra}`);
      const text = await r.text();
      assert.equal(r.status, 200, text);
      assert.doesNotMatch(text, leak, `${path} with extra_label`);
    }
  });

  test("the rules' queries run on the backend, confined to the org, without the org label", async () => {
    const query = backendRuleQuery(backend, () => DEFAULT_LIMITS);
    const vector = await query("alpha", '{__name__="fly_app_concurrency"}', NOW, AbortSignal.timeout(LIVENESS_MS));
    assert.equal(vector.length, 2);
    for (const s of vector) {
      assert.equal(s.v, 111);
      assert.equal(s.labels.get(ORG_LABEL), "");
      assert.equal(s.labels.get("secret"), "alpha-only");
    }
    await assert.rejects(
      query("alpha", `up{${ORG_LABEL}="beta"}`, NOW, AbortSignal.timeout(LIVENESS_MS)),
      /may not name the label/,
    );
  });
});

describe("remote storage on VictoriaMetrics: the hardening attack set", { skip: SKIP }, () => {
  test("the hostile queries of the hardening issue", async () => {
    for (const [, params] of HARDENING_CASES) await checkHostile(`/api/v1/query?${enc(params)}`);
  });

  test("property-based requests: every generated request, within the bound", async (t) => {
    const statuses = new Map<number, number>();
    const seeds = fuzzSeeds([1]);
    for (const seed of seeds) {
      const g = new RequestGen(seed, NOW);
      for (let i = 0; i < PROPERTY_CASES_PER_SEED; i++) {
        const { req } = randomRequest(g);
        const status = await checkHostile(req.path, req.body);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
    t.diagnostic(
      `${seeds.length * PROPERTY_CASES_PER_SEED} requests; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    assert.ok((statuses.get(200) ?? 0) > 0 && [...statuses.keys()].some((s) => s >= 400), "both answers occur");
  });

  test("hostile requests of one org do not stall another org's requests", async () => {
    const hostile = HARDENING_CASES.map(([, params]) => alpha(`/api/v1/query?${enc(params)}`));
    const others = Array.from({ length: 5 }, () =>
      send("beta", betaToken, `/api/v1/query?${enc({ query: "count(up)", time: String(NOW / 1000) })}`),
    );
    for (const r of await Promise.all(hostile)) {
      assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500) || r.status === 503, r.text);
    }
    for (const r of await Promise.all(others)) assert.equal(r.json?.data?.result?.[0]?.value?.[1], "3", r.text);
  });

  test("every hostile time on every endpoint that takes one", async () => {
    for (const time of TIMES) {
      await checkHostile(`/api/v1/query?${enc({ query: "1+1", time })}`);
      await checkHostile(`/api/v1/query_range?${enc({ query: "up", start: time, end: time, step: "15" })}`);
      for (const path of ["/api/v1/series", "/api/v1/labels", "/api/v1/label/job/values"]) {
        await checkHostile(`${path}?${enc({ "match[]": "up", start: time, end: time })}`);
      }
    }
  });

  test("every hostile duration as step, timeout and lookback_delta", async () => {
    const range = { query: "sum(up)", start: String((NOW - 600_000) / 1000), end: String(NOW / 1000) };
    for (const d of DURATIONS) {
      await checkHostile(`/api/v1/query_range?${enc({ ...range, step: d })}`);
      for (const name of ["timeout", "lookback_delta"]) {
        await checkHostile(`/api/v1/query?${enc({ query: "up", [name]: d })}`);
        await checkHostile(`/api/v1/query_range?${enc({ ...range, step: "60", [name]: d })}`);
      }
    }
  });

  test("every hostile limit on every endpoint that takes one", async () => {
    for (const limit of LIMITS) {
      for (const path of ["/api/v1/query?query=up", "/api/v1/series?match[]=up", "/api/v1/labels?"]) {
        await checkHostile(`${path}&${enc({ limit })}`);
      }
    }
  });

  test("hostile selectors on every lookup and on federation", async () => {
    for (const selector of SELECTORS) {
      for (const path of ["/api/v1/series", "/api/v1/labels", "/api/v1/label/job/values", "/federate"]) {
        await checkHostile(`${path}?${enc({ "match[]": selector })}`);
      }
    }
  });

  test("hostile query texts, as GET and as POST forms", async () => {
    for (const query of HOSTILE_QUERIES) {
      await checkHostile("/api/v1/query", enc({ query }));
      await checkHostile("/api/v1/query_range", enc({ query, start: "0", end: "60", step: "15" }));
      if (query.length < 4_000) await checkHostile(`/api/v1/query?${enc({ query })}`);
    }
  });

  test("invalid percent-encodings", async () => {
    for (const raw of RAW_VALUES) {
      for (const path of [
        "/api/v1/query?query=",
        "/api/v1/series?match[]=",
        "/api/v1/labels?match[]=",
        "/federate?match[]=",
      ]) {
        await checkHostile(`${path}${raw}`);
      }
      await checkHostile(`/api/v1/label/${raw}/values`);
    }
  });
});

describe("remote storage: bounded answers", { skip: SKIP }, () => {
  test("an answer over the size limit is refused with a clear error, and the server answers others", async () => {
    const small = new ReadBackend({ spec: { kind: "victoriametrics", url: (vm as Peer).url }, maxResponseBytes: 4096 });
    const tiny = await startTestServer(control, new MemoryTenants(), { backend: small, now: () => NOW });
    try {
      const query = enc({
        query: '{__name__=~".+"}',
        start: String(NOW / 1000 - 600),
        end: String(NOW / 1000),
        step: "15",
      });
      const r = await fetch(`${tiny.url}/prometheus/alpha/api/v1/query_range?${query}`, {
        headers: { authorization: `Bearer ${alphaToken}` },
      });
      const body = (await r.json()) as { errorType: string; error: string };
      assert.equal(r.status, 422);
      assert.match(body.error, /larger than 4096 bytes, the limit of one answer/);
      const ok = await fetch(`${tiny.url}/prometheus/alpha/api/v1/query?query=1`, {
        headers: { authorization: `Bearer ${alphaToken}` },
      });
      assert.equal(ok.status, 200);
    } finally {
      await tiny.close();
    }
  });

  test("a backend that never answers ends at the org's timeout, and does not hold other orgs up", async () => {
    // A real TCP server that accepts connections and never answers: a stalled backend.
    const sockets = new Set<Socket>();
    const stalled: Server = createServer((socket) => {
      sockets.add(socket);
    });
    await new Promise<void>((resolve) => stalled.listen(0, "127.0.0.1", resolve));
    const port = (stalled.address() as { port: number }).port;
    const stuck = new ReadBackend({ spec: { kind: "victoriametrics", url: `http://127.0.0.1:${port}` } });
    const slow = await startTestServer(control, new MemoryTenants(), {
      backend: stuck,
      limits: { queryTimeoutMs: 500 },
    });
    try {
      const ask = (org: string, token: string) =>
        fetch(`${slow.url}/prometheus/${org}/api/v1/query?query=up`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(LIVENESS_MS),
        });
      const [a, b] = await Promise.all([ask("alpha", alphaToken), ask("beta", betaToken)]);
      for (const r of [a, b]) {
        assert.equal(r.status, 503);
        // The org's 500 ms, less the time spent queued for the org's turn, plus the network grace of 1,000 ms.
        const error = ((await r.json()) as { error: string }).error;
        const budget = Number(/did not answer within (\d+) ms/.exec(error)?.[1]);
        assert.ok(budget > 1000 && budget <= 1500, error);
      }
      // The API itself still answers at once.
      const health = await fetch(`${slow.url}/healthz`, { signal: AbortSignal.timeout(LIVENESS_MS) });
      assert.equal(health.status, 200);
    } finally {
      await slow.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => stalled.close(resolve));
    }
  });
});
