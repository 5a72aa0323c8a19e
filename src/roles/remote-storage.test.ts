// The metrics node on `--storage victoriametrics=URL` with Debian's real VictoriaMetrics: samples remote-written
// into two orgs through Contrail's receiver reach VictoriaMetrics, each series labelled with its org (checked with
// VictoriaMetrics's own export API); VictoriaMetrics stopped for 20 s and started again while writes go on loses
// no accepted sample; a metrics node stopped with a queue the backend never took resends it when started again;
// `contrail up --storage` hands the flag to its metrics node.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Labels } from "../model/labels.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { freePort, type Peer, startPrometheus, startVictoriaMetrics } from "../testkit/peers.ts";
import { skipUnlessCi } from "../testkit/shared-data.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { type Serve, startServe } from "./serve.ts";
import { seedOrgs, startUp, waitFor } from "./testkit.ts";

const HAVE_VM = spawnSync("victoria-metrics", ["-version"], { stdio: "ignore" }).status === 0;
const SKIP = skipUnlessCi(HAVE_VM ? undefined : "victoria-metrics is not installed");

const ORGS = ["alpha", "beta"] as const;
/** How long VictoriaMetrics is down while writes go on, ms (the issue's 20 s). */
const BACKEND_DOWN_MS = 20_000;
/** Time between two writes of one org, ms. */
const WRITE_EVERY_MS = 100;

let dir: string;
let vmPort: number;
let vm: Peer | null = null;
let serve: Serve | null = null;
let tokens: Record<string, string>;
const warnings: string[] = [];
const snappy = new SnappyEncoder();
/** Accepted samples (answered 204) by org: "series@t=v" keys. */
const accepted: Record<string, Set<string>> = { alpha: new Set(), beta: new Set() };

async function startVm(): Promise<void> {
  // Reads see samples at once (VictoriaMetrics hides the newest 30 s by default).
  vm = await startVictoriaMetrics({ dataDir: join(dir, "vm"), port: vmPort, flags: ["-search.latencyOffset=1s"] });
}

async function startNode(): Promise<void> {
  serve = await startServe({
    dataDir: join(dir, "contrail"),
    api: "127.0.0.1:0",
    scrapeIntervalMs: 60_000,
    storage: { kind: "victoriametrics", url: `http://127.0.0.1:${vmPort}` },
    remoteSender: { batchWaitMs: 200, minBackoffMs: 50, maxBackoffMs: 1_000 },
    warn: (line) => warnings.push(line),
  });
}

/** Writes one sample of two series into `org` at `t` through Contrail; records them when answered 204. */
async function write(org: string, t: number): Promise<number> {
  const series = ["x", "y"].map((s) => ({
    // A series claiming another org's label keeps its own org's: the platform writes that label.
    labels: Labels.fromStrings("__name__", "e2e_metric", "contrail_org", "forged", "s", s),
    samples: [{ t, v: t % 1000 }],
  }));
  const r = await fetch(`${serve!.apiUrl}/prometheus/${org}/api/v1/write`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${tokens[org]}`,
      "content-type": "application/x-protobuf",
      "content-encoding": "snappy",
    },
    body: snappy.encodeCopy(encodeWriteRequestV1({ series })),
  });
  await r.body?.cancel();
  if (r.status === 204) for (const s of ["x", "y"]) accepted[org].add(`${s}@${t}=${t % 1000}`);
  return r.status;
}

/** Writes into both orgs every WRITE_EVERY_MS until `stop` is called; resolves with the statuses seen. */
function writeContinuously(): { stop: () => Promise<Map<number, number>> } {
  let running = true;
  const statuses = new Map<number, number>();
  const loop = (async () => {
    let t = Date.now();
    while (running) {
      t = Math.max(t + 1, Date.now());
      for (const org of ORGS) {
        const status = await write(org, t);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, WRITE_EVERY_MS));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return statuses;
    },
  };
}

/** The node's queued, unacknowledged samples, from its /metrics. */
async function pendingSamples(): Promise<number> {
  const text = await (await fetch(`${serve!.apiUrl}/metrics`)).text();
  const m = /^contrail_remote_storage_queue_pending_samples\{backend="victoriametrics"\} (\S+)$/m.exec(text);
  assert.ok(m !== null, `the queue gauge is on /metrics:\n${text}`);
  return Number(m[1]);
}

/** What VictoriaMetrics holds for `org` (its export API, after a flush), as "series@t=v" keys, and the orgs seen. */
async function exported(org: string): Promise<{ keys: Set<string>; orgs: Set<string> }> {
  await fetch(`${vm!.url}/internal/force_flush`);
  const url = `${vm!.url}/api/v1/export?match[]=${encodeURIComponent(`e2e_metric{contrail_org="${org}"}`)}`;
  const text = await (await fetch(url)).text();
  const keys = new Set<string>();
  const orgs = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const row = JSON.parse(line) as { metric: Record<string, string>; values: number[]; timestamps: number[] };
    orgs.add(row.metric.contrail_org);
    for (let i = 0; i < row.timestamps.length; i++) keys.add(`${row.metric.s}@${row.timestamps[i]}=${row.values[i]}`);
  }
  return { keys, orgs };
}

/** The `writer` labels of `up` series VictoriaMetrics holds under `org`'s label (its export API). */
async function exportedUp(org: string): Promise<string[]> {
  await fetch(`${vm!.url}/internal/force_flush`);
  const url = `${vm!.url}/api/v1/export?match[]=${encodeURIComponent(`up{contrail_org="${org}"}`)}`;
  const text = await (await fetch(url)).text();
  const writers = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.trim() !== "") writers.add((JSON.parse(line) as { metric: Record<string, string> }).metric.writer);
  }
  return [...writers].sort();
}

/** Accepted samples of `org` that VictoriaMetrics does not have. */
async function missing(org: string): Promise<string[]> {
  const { keys } = await exported(org);
  return [...accepted[org]].filter((k) => !keys.has(k));
}

/** Waits for the queue to drain, then checks every accepted sample of both orgs is in VictoriaMetrics. */
async function assertAllDelivered(): Promise<void> {
  await waitFor(pendingSamples, (n) => n === 0, 30_000);
  for (const org of ORGS) {
    const gone = await waitFor(
      () => missing(org),
      (m) => m.length === 0,
    );
    assert.deepEqual(gone, [], `accepted samples of ${org} missing in VictoriaMetrics`);
  }
}

before(async () => {
  if (SKIP !== false) return;
  dir = mkdtempSync(join(tmpdir(), "contrail-remote-storage-"));
  vmPort = await freePort();
  tokens = seedOrgs(join(dir, "contrail"), ORGS);
  await startVm();
  await startNode();
});

after(async () => {
  if (SKIP !== false) return;
  await serve?.stop();
  await vm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("remote storage on a real VictoriaMetrics", { skip: SKIP }, () => {
  test("two orgs' writes reach VictoriaMetrics, each series labelled with its own org", async () => {
    const t = Date.now();
    for (const org of ORGS) assert.equal(await write(org, t), 204);
    for (const org of ORGS) {
      await waitFor(
        () => missing(org),
        (m) => m.length === 0,
      );
      assert.deepEqual([...(await exported(org)).orgs], [org], "no series of another org, none keeps 'forged'");
    }
  });

  test("a real Prometheus remote-writes into two orgs through Contrail; each org's token reads only its own", async () => {
    // One Prometheus scraping itself, remote-writing to both orgs with their tokens; each copy marked with its org.
    const promDir = mkdtempSync(join(dir, "prometheus-"));
    const prometheus = await startPrometheus({
      dir: promDir,
      config: (port) =>
        [
          "global:",
          "  scrape_interval: 1s",
          "scrape_configs:",
          "  - job_name: prom",
          "    static_configs:",
          `      - targets: ["127.0.0.1:${port}"]`,
          "remote_write:",
          ...ORGS.flatMap((org) => [
            `  - url: ${serve!.apiUrl}/prometheus/${org}/api/v1/write`,
            "    authorization:",
            `      credentials: ${tokens[org]}`,
            "    queue_config:",
            "      batch_send_deadline: 500ms",
            "      min_backoff: 100ms",
            "    write_relabel_configs:",
            "      - target_label: writer",
            `        replacement: ${org}`,
          ]),
          "",
        ].join("\n"),
    });
    try {
      const writersSeen = async (org: string, token: string): Promise<string[]> => {
        const start = Math.floor(Date.now() / 1000) - 600;
        const url = `${serve!.apiUrl}/prometheus/${org}/api/v1/series?match[]=up&start=${start}`;
        const body = (await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json()) as {
          data: Record<string, string>[];
        };
        return [...new Set(body.data.map((l) => `${l.writer}:${l.contrail_org ?? "-"}`))].sort();
      };
      for (const org of ORGS) {
        // VictoriaMetrics' own API holds the org's copy under its org label.
        await waitFor(
          async () => (await exportedUp(org)).length,
          (n) => n > 0,
          30_000,
        );
        assert.deepEqual(await exportedUp(org), [org]);
        // Through Contrail, the org's token sees its own copy only, without the platform's label.
        const seen = await waitFor(
          () => writersSeen(org, tokens[org]),
          (w) => w.length > 0,
          30_000,
        );
        assert.deepEqual(seen, [`${org}:-`]);
        const query = `${serve!.apiUrl}/prometheus/${org}/api/v1/query?query=${encodeURIComponent("count by (writer) (up)")}`;
        const writers = await waitFor(
          async () => {
            const r = await fetch(query, { headers: { authorization: `Bearer ${tokens[org]}` } });
            const answer = (await r.json()) as { data: { result: { metric: Record<string, string> }[] } };
            return answer.data.result.map((x) => x.metric.writer);
          },
          (w) => w.length > 0,
          30_000,
        );
        assert.deepEqual(writers, [org]);
      }
      // One org's token cannot read the other org.
      const other = await fetch(`${serve!.apiUrl}/prometheus/beta/api/v1/series?match[]=up`, {
        headers: { authorization: `Bearer ${tokens.alpha}` },
      });
      await other.body?.cancel();
      assert.equal(other.status, 403);
    } finally {
      await prometheus.stop();
    }
  });

  test("VictoriaMetrics down for 20 s while writes go on: every accepted sample is there afterwards", async () => {
    const writer = writeContinuously();
    await new Promise((r) => setTimeout(r, 1_000));
    await vm!.stop();
    await new Promise((r) => setTimeout(r, BACKEND_DOWN_MS));
    assert.ok((await pendingSamples()) > 0, "writes were queued while the backend was down");
    await startVm();
    await new Promise((r) => setTimeout(r, 1_000));
    const statuses = await writer.stop();
    assert.deepEqual([...statuses.keys()], [204], "every write was accepted: the queue took them");
    await assertAllDelivered();
    assert.ok(accepted.alpha.size > 2 * (BACKEND_DOWN_MS / WRITE_EVERY_MS / 2), "writes went on while it was down");
    assert.match(warnings.join("\n"), /remote write of org "alpha": POST .*retrying/);
  });

  test("a node stopped with samples the backend never took sends them after its restart", async () => {
    await vm!.stop();
    const t = Date.now();
    for (let i = 0; i < 5; i++) for (const org of ORGS) assert.equal(await write(org, t + i), 204);
    assert.ok((await pendingSamples()) >= 20);
    await serve!.stop();
    serve = null;
    await startVm();
    await startNode();
    await assertAllDelivered();
  });

  test("contrail up --storage passes it to its metrics node: writes go to VictoriaMetrics", async () => {
    const data = join(dir, "up");
    const upTokens = seedOrgs(data, ["gamma"]);
    const up = await startUp(data, ["--storage", `victoriametrics=${vm!.url}`, "--edge", "ord=127.0.0.1:0"]);
    try {
      const text = await (await fetch(`${up.apiUrl}/metrics`)).text();
      assert.match(text, /^contrail_remote_storage_queue_bytes\{backend="victoriametrics"\} /m);
      assert.doesNotMatch(text, /contrail_series_limited_total/, "the embedded store's counter is absent");
      const body = snappy.encodeCopy(
        encodeWriteRequestV1({
          series: [{ labels: Labels.fromStrings("__name__", "e2e_up"), samples: [{ t: Date.now(), v: 7 }] }],
        }),
      );
      const r = await fetch(`${up.apiUrl}/prometheus/gamma/api/v1/write`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${upTokens.gamma}`,
          "content-type": "application/x-protobuf",
          "content-encoding": "snappy",
        },
        body,
      });
      assert.equal(r.status, 204);
      await waitFor(
        async () => {
          await fetch(`${vm!.url}/internal/force_flush`);
          const q = encodeURIComponent('e2e_up{contrail_org="gamma"}');
          return (await fetch(`${vm!.url}/api/v1/export?match[]=${q}`)).text();
        },
        (t) => t.includes('"values":[7]'),
      );
    } finally {
      assert.equal(await up.stop(), 0);
    }
  });
});
