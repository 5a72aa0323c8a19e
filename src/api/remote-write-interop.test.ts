// A real Prometheus remote-writing into Contrail: it scrapes itself every second and sends its samples (and metadata)
// to the remote-write route on loopback, authenticated with a write token. Once `up` and `prometheus_build_info`
// have arrived, a window of raw samples of several of its series is read from Prometheus's own API and compared
// with what Contrail stored: same series, same timestamps, same values. Skipped when prometheus is not installed.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { authenticate } from "../control/index.ts";
import { newMatcher } from "../model/matcher.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import { type Peer, remoteWritingConfig, startPrometheus } from "../testkit/peers.ts";
import { checkAccess } from "./auth.ts";
import { registerRemoteWrite } from "./remote-write.ts";
import { MemoryTenants, type TestControl, testControl } from "./test-support.ts";

const HAVE_PROMETHEUS = (() => {
  const r = spawnSync("prometheus", ["--version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
})();
const SKIP = HAVE_PROMETHEUS ? false : "prometheus is not installed";
const ORG = "acme";
/** How long Prometheus may take to start and deliver its first samples. */
const ARRIVAL_TIMEOUT_MS = 60_000;
/** Series compared between the two; all are produced by Prometheus scraping itself. */
const COMPARED = ["up", "prometheus_build_info", "scrape_samples_scraped", "prometheus_tsdb_head_series"];

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

let control: TestControl;
let tenants: MemoryTenants;
let metadata: MetadataStore;
let app: FastifyInstance;
let dir: string;
let prom: Peer | null = null;
let writes = 0;
let refusedWrites = 0;

before(async () => {
  if (!HAVE_PROMETHEUS) return;
  control = testControl();
  const token = control.org(ORG, ["write"]);
  tenants = new MemoryTenants();
  metadata = new MetadataStore();
  app = Fastify({ logger: false });
  await registerRemoteWrite(app, {
    authorize: (request, org, scope) =>
      checkAccess((t) => authenticate(control.db, t), { header: request.headers.authorization, org, scope }),
    tenants,
    metadata,
    onWrite: (_org, o) => {
      writes++;
      if (o.kind !== "written") refusedWrites++;
    },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  dir = mkdtempSync(join(tmpdir(), "contrail-rw-interop-"));
  prom = await startPrometheus({
    dir,
    config: (port) =>
      remoteWritingConfig({
        job: "prometheus",
        target: `127.0.0.1:${port}`,
        writeUrl: `http://127.0.0.1:${address.port}/prometheus/${ORG}/api/v1/write`,
        token,
      }),
  });
});

after(async () => {
  if (!HAVE_PROMETHEUS) return;
  await prom?.stop(15_000);
  await app.close();
  control.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Raw samples Contrail holds per series (keyed by the label set's text) of metric `name` in (from, to] ms. */
function contrailSamples(name: string, from: number, to: number): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  const q = tenants.querier(ORG, from + 1, to);
  for (const s of q.select([newMatcher("=", "__name__", name)], { start: from + 1, end: to })) {
    const list: [number, number][] = [];
    const it = s.iterator();
    while (it.next() !== "none") if (it.atT() > from && it.atT() <= to) list.push([it.atT(), it.atV()]);
    out.set(JSON.stringify(s.labels.toRecord()), list);
  }
  q.close();
  return out;
}

/** The newest sample time Contrail holds for `name`, or 0. */
function newest(name: string): number {
  let t = 0;
  for (const list of contrailSamples(name, 0, Number.MAX_SAFE_INTEGER).values())
    for (const [ts] of list) t = Math.max(t, ts);
  return t;
}

/** Prometheus's raw samples of `name` in (to - rangeS, to] ms, from an instant query of a range selector. */
async function prometheusSamples(base: string, name: string, to: number, rangeS: number) {
  const u = `${base}/api/v1/query?query=${encodeURIComponent(`${name}[${rangeS}s]`)}&time=${to / 1000}`;
  const body = (await (await fetch(u)).json()) as {
    status: string;
    data: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  assert.equal(body.status, "success");
  assert.equal(body.data.resultType, "matrix");
  const out = new Map<string, [number, number][]>();
  for (const r of body.data.result) {
    const sorted = Object.fromEntries(Object.entries(r.metric).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    // Prometheus 2 includes a sample exactly at the window's start, Prometheus 3 does not: leave it out.
    const samples: [number, number][] = r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)]);
    out.set(
      JSON.stringify(sorted),
      samples.filter(([t]) => t > to - rangeS * 1000),
    );
  }
  return out;
}

test("Prometheus 2.x remote-writes its own series into Contrail, sample for sample", { skip: SKIP }, async () => {
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
  // Wait until both series have arrived and a few seconds of history exist.
  let firstUp = 0;
  for (;;) {
    const upT = newest("up");
    if (upT > 0 && firstUp === 0) firstUp = upT;
    if (firstUp > 0 && newest("prometheus_build_info") > 0 && upT - firstUp >= 8000) break;
    if (Date.now() > deadline || prom?.proc.exitCode != null) {
      assert.fail(
        `no samples from Prometheus within ${ARRIVAL_TIMEOUT_MS} ms (writes: ${writes}); log: ${prom?.log()}`,
      );
    }
    await sleep(250);
  }
  // Metadata arrives through 1.0's metadata list (metadata_config above), once per second.
  while (metadata.get(ORG, "prometheus_build_info") === undefined && Date.now() < deadline) await sleep(100);
  // A window ending a few scrapes before the newest `up` Contrail holds, so every sample in it has been sent.
  const to = newest("up") - 3000;
  const rangeS = Math.floor((to - firstUp) / 1000);
  const want = new Map<string, Map<string, [number, number][]>>();
  for (const name of COMPARED) want.set(name, await prometheusSamples(prom!.url, name, to, rangeS));
  await prom?.stop(15_000);

  for (const name of COMPARED) {
    const theirs = want.get(name)!;
    const ours = contrailSamples(name, to - rangeS * 1000, to);
    assert.ok(theirs.size > 0, `Prometheus has ${name}`);
    assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort(), `${name}: the same series`);
    for (const [key, samples] of theirs) {
      // Scrapes slip on a loaded machine; the comparison needs samples, not a particular count of them.
      assert.ok(samples.length >= 1, `${key}: samples in the window`);
      assert.deepEqual(ours.get(key), samples, `${key}: the same raw samples`);
    }
  }
  const build = [...want.get("prometheus_build_info")!.keys()][0];
  assert.match(build, /"version":"2\./);
  assert.equal(refusedWrites, 0, "every write was accepted whole");
  assert.equal(metadata.get(ORG, "prometheus_build_info")?.type, "gauge");
});
