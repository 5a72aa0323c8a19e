// The remote-storage write path against a TEST DOUBLE: a loopback HTTP server that only records the requests it
// gets and answers with the statuses each test scripts. It stands in for the VictoriaMetrics cluster (vminsert)
// and Mimir, which are not available here, to check their documented request layouts (paths, tenant header,
// remote-write 1.0 headers) and the sender's retry, backoff, ordering and drop behaviour. The same path against a
// real single-node VictoriaMetrics is tested in roles/remote-storage.test.ts.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { isStaleNaN, STALE_NAN } from "../../model/sample.ts";
import { SnappyDecoder } from "../../tsdb/encoding/snappy.ts";
import { parseStorageSpec } from "./backend-spec.ts";
import { type BackendStoreOptions, BackendTenantStore } from "./backend-store.ts";
import { WriteRequestV1Decoder } from "./codec-v1.ts";
import { retryAfterMs } from "./queue/sender.ts";
import { DEFAULT_RECEIVE_LIMITS } from "./receive.ts";
import type { WriteSink } from "./types.ts";

/** One decoded sample of a recorded request: the series as text, time and value. */
interface Got {
  readonly series: string;
  readonly t: number;
  readonly v: number;
}

/** A request the double received. */
interface Recorded {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly samples: readonly Got[];
}

/** Decodes a snappy remote-write 1.0 body with Contrail's own decoder. */
function decode(body: Uint8Array): Got[] {
  const out: Got[] = [];
  let series = "";
  const sink: WriteSink = {
    series: (labels, _counts, slot) => {
      series = (labels ?? slot!.labels()).toString();
      return true;
    },
    sample: (t, v) => out.push({ series, t, v }),
    invalidSeries: (reason) => assert.fail(reason),
    histogram: () => assert.fail("no histograms are written here"),
    invalidHistogram: (reason) => assert.fail(reason),
    metadata: () => {},
    invalidMetadata: () => {},
  };
  new WriteRequestV1Decoder().decode(new SnappyDecoder().decode(body), sink, DEFAULT_RECEIVE_LIMITS);
  return out;
}

/** The recording double: `answer` picks each response (status and headers) from the requests so far. */
class Recorder {
  readonly requests: Recorded[] = [];
  answer: (n: number) => { status: number; headers?: Record<string, string>; body?: string } = () => ({ status: 204 });
  private server: Server | null = null;
  url = "";

  /** Listens on loopback, on `port` (0: a free one). */
  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.requests.push({ url: req.url ?? "", headers: req.headers, samples: decode(Buffer.concat(chunks)) });
        const a = this.answer(this.requests.length);
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? "");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
    this.server?.closeAllConnections();
  }

  /** Every sample received, in arrival order. */
  samples(): Got[] {
    return this.requests.flatMap((r) => r.samples);
  }
}

/** Resolves once `check` holds (polled), failing after 5 s. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`not within 5 s: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let dir: string;
let rec: Recorder;
let warnings: string[];
const stores: BackendTenantStore[] = [];

function store(spec: string, o: Partial<BackendStoreOptions> = {}): BackendTenantStore {
  const s = new BackendTenantStore({
    spec: parseStorageSpec(spec) as BackendStoreOptions["spec"],
    dataDir: dir,
    accountIdFor: (org) => (org === "acme" ? 7 : 8),
    sender: { batchWaitMs: 20, minBackoffMs: 5, maxBackoffMs: 40, random: () => 0.5 },
    warn: (l) => warnings.push(l),
    ...o,
  });
  stores.push(s);
  return s;
}

/** The store's queued, unacknowledged samples, from its counters. */
function pendingSamples(s: BackendTenantStore): number {
  return s.families().find((f) => f.name === "contrail_remote_storage_queue_pending_samples")!.samples[0].value;
}

function write(s: BackendTenantStore, org: string, points: readonly [string, number, number][]): void {
  const app = s.appender(org);
  for (const [name, t, v] of points) app.append(Labels.fromStrings("__name__", name, "job", "j"), t, v);
  const report = app.commit();
  assert.equal(report.appended, points.length);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "contrail-backend-store-"));
  rec = new Recorder();
  warnings = [];
  await rec.start();
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  await rec.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("request layout per backend", () => {
  test("vmcluster: each org's accountID in vminsert's path, with Prometheus's remote-write 1.0 headers", async () => {
    const s = store(`vmcluster=${rec.url}/vminsert,${rec.url}/vmselect`);
    write(s, "acme", [["up", 1000, 1]]);
    write(s, "globex", [["up", 1000, 0]]);
    await eventually(() => rec.requests.length === 2, "two requests");
    const byUrl = new Map(rec.requests.map((r) => [r.url, r]));
    assert.deepEqual([...byUrl.keys()].sort(), [
      "/vminsert/insert/7/prometheus/api/v1/write",
      "/vminsert/insert/8/prometheus/api/v1/write",
    ]);
    const acme = byUrl.get("/vminsert/insert/7/prometheus/api/v1/write")!;
    assert.equal(acme.headers["content-encoding"], "snappy");
    assert.equal(acme.headers["content-type"], "application/x-protobuf");
    assert.equal(acme.headers["x-prometheus-remote-write-version"], "0.1.0");
    assert.match(acme.headers["user-agent"] ?? "", /^Contrail-RemoteWrite\//);
    assert.equal(acme.headers["x-scope-orgid"], undefined);
    assert.deepEqual(acme.samples, [{ series: '{__name__="up", job="j"}', t: 1000, v: 1 }]);
  });

  test("mimir: /api/v1/push with the org in X-Scope-OrgID, no org label", async () => {
    const s = store(`mimir=${rec.url}`);
    write(s, "acme", [["up", 1000, 1]]);
    await eventually(() => rec.requests.length === 1, "one request");
    const [r] = rec.requests;
    assert.equal(r.url, "/api/v1/push");
    assert.equal(r.headers["x-scope-orgid"], "acme");
    assert.equal(r.headers["content-encoding"], "snappy");
    assert.deepEqual(r.samples, [{ series: '{__name__="up", job="j"}', t: 1000, v: 1 }]);
  });

  test("victoriametrics: /api/v1/write, every series labelled contrail_org, replacing a value it came with", async () => {
    const s = store(`victoriametrics=${rec.url}`);
    const app = s.appender("acme");
    app.append(Labels.fromStrings("__name__", "a", "contrail_org", "globex"), 1, 1);
    app.append(Labels.fromStrings("__name__", "b", "zone", "z"), 2, -0);
    app.append(Labels.fromStrings("__name__", "c"), 3, STALE_NAN);
    app.commit();
    await eventually(() => rec.requests.length === 1, "one request");
    const [r] = rec.requests;
    assert.equal(r.url, "/api/v1/write");
    assert.deepEqual(
      r.samples.map((g) => g.series),
      [
        '{__name__="a", contrail_org="acme"}',
        '{__name__="b", contrail_org="acme", zone="z"}',
        '{__name__="c", contrail_org="acme"}',
      ],
    );
    assert.ok(Object.is(r.samples[1].v, -0), "-0 keeps its sign");
    assert.ok(isStaleNaN(r.samples[2].v), "a staleness marker keeps its bits");
  });
});

describe("sending", () => {
  test("batches: samples of several commits go in one request, at most maxSamplesPerSend, in order", async () => {
    const s = store(`mimir=${rec.url}`, { sender: { batchWaitMs: 60_000, maxSamplesPerSend: 4 } });
    for (let i = 0; i < 6; i++) write(s, "acme", [["m", i * 1000, i]]);
    await eventually(() => rec.requests.length === 1, "the first full batch");
    assert.deepEqual(
      rec.requests[0].samples.map((g) => g.v),
      [0, 1, 2, 3],
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(rec.requests.length, 1, "the last 2 samples wait for more, up to the batch wait");
  });

  test("retries network errors, 5xx and 429 with backoff, honouring Retry-After, never reordering", async () => {
    rec.answer = (n) =>
      n === 1
        ? { status: 503, body: "overloaded" }
        : n === 2
          ? { status: 429, headers: { "retry-after": "0" }, body: "slow down" }
          : { status: 204 };
    const s = store(`mimir=${rec.url}`, { sender: { batchWaitMs: 1, maxSamplesPerSend: 1, minBackoffMs: 5 } });
    write(s, "acme", [["m", 1000, 1]]);
    write(s, "acme", [["m", 2000, 2]]);
    await eventually(() => rec.requests.length === 4, "two failures, then both batches");
    assert.deepEqual(
      rec.requests.map((r) => r.samples.map((g) => g.v)),
      [[1], [1], [1], [2]],
      "the second batch waits until the first is through",
    );
    // Counted once the answers are back, as they are acknowledged.
    await eventually(() => pendingSamples(s) === 0, "both batches acknowledged");
    const text = s
      .families()
      .map((f) => `${f.name} ${f.samples.map((x) => `${x.labels.toString()}=${x.value}`).join(" ")}`)
      .join("\n");
    assert.match(text, /contrail_remote_storage_samples_sent_total \{backend="mimir"\}=2/);
    assert.match(text, /contrail_remote_storage_samples_retried_total \{backend="mimir"\}=2/);
    assert.match(text, /contrail_remote_storage_failed_requests_total \{backend="mimir"\}=2/);
    assert.match(text, /contrail_remote_storage_queue_pending_samples \{backend="mimir"\}=0/);
    assert.match(warnings.join("\n"), /HTTP 503: overloaded; retrying 1 samples/);
  });

  test("retries a backend that is not listening until it is", async () => {
    await rec.stop();
    const s = store(`mimir=${rec.url}`);
    write(s, "acme", [["m", 1000, 1]]);
    await eventually(() => warnings.some((w) => /retrying 1 samples/.test(w)), "a failed attempt");
    const port = Number(new URL(rec.url).port);
    rec = new Recorder();
    await rec.start(port);
    await eventually(() => rec.requests.length === 1, "delivered once the backend listens");
    assert.deepEqual(rec.samples(), [{ series: '{__name__="m", job="j"}', t: 1000, v: 1 }]);
  });

  test("a 4xx other than 429 drops the batch, counted by reason and logged with the backend's message", async () => {
    rec.answer = (n) => (n === 1 ? { status: 400, body: "out of order sample" } : { status: 204 });
    const s = store(`mimir=${rec.url}`, { sender: { batchWaitMs: 1, maxSamplesPerSend: 2 } });
    write(s, "acme", [
      ["m", 2000, 1],
      ["m", 1000, 1],
    ]);
    write(s, "acme", [["m", 3000, 3]]);
    await eventually(() => rec.requests.length === 2, "the refused batch, then the next");
    assert.deepEqual(
      rec.requests[1].samples.map((g) => g.v),
      [3],
    );
    const dropped = s.families().find((f) => f.name === "contrail_remote_storage_samples_dropped_total")!;
    assert.deepEqual(
      dropped.samples.map((x) => [x.labels.toString(), x.value]),
      [['{backend="mimir", reason="rejected"}', 2]],
    );
    assert.match(warnings.join("\n"), /backend refused 2 samples, dropped: .*HTTP 400: out of order sample/);
  });
});

describe("queue and restarts", () => {
  test("a store closed with the backend down resends its queue after a restart, and nothing is sent twice after", async () => {
    rec.answer = () => ({ status: 503 });
    let s = store(`mimir=${rec.url}`);
    write(s, "acme", [["m", 1000, 1]]);
    write(s, "globex", [["m", 1000, 2]]);
    await eventually(() => rec.requests.length >= 2, "failed attempts");
    await s.close();
    // A request aborted by the close may still reach the double: let it land before counting.
    await new Promise((r) => setTimeout(r, 50));
    rec.answer = () => ({ status: 204 });
    const before = rec.requests.length;
    s = store(`mimir=${rec.url}`);
    await eventually(() => rec.requests.length === before + 2, "both orgs' queues resent without a new write");
    assert.deepEqual(
      rec.requests
        .slice(before)
        .map((r) => `${r.headers["x-scope-orgid"]}:${r.samples.map((g) => g.v)}`)
        .sort(),
      ["acme:1", "globex:2"],
    );
    // Acknowledged once the answers are back (a close before that would rightly send them again).
    await eventually(() => pendingSamples(s) === 0, "both batches acknowledged");
    await s.close();
    s = store(`mimir=${rec.url}`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(rec.requests.length, before + 2, "acknowledged batches are not sent again");
  });

  test("a full queue refuses the commit with rate_limited, counts it, and keeps nothing of the batch", async () => {
    rec.answer = () => ({ status: 503 });
    const s = store(`mimir=${rec.url}`, { queueMaxBytes: 200 });
    write(s, "acme", [["m", 1000, 1]]);
    const app = s.appender("acme");
    for (let i = 0; i < 20; i++) app.append(Labels.fromStrings("__name__", "big", "i", String(i)), 1000, i);
    assert.throws(
      () => app.commit(),
      (err) => isContrailError(err, "rate_limited") && /is full/.test(err.message),
    );
    const refused = s.families().find((f) => f.name === "contrail_remote_storage_commits_refused_total")!;
    assert.equal(refused.samples[0].value, 1);
    assert.equal(pendingSamples(s), 1);
  });

  test("reads are refused with a clear error: they go to the backend's own API", () => {
    const s = store(`mimir=${rec.url}`);
    assert.throws(
      () => s.queryable("acme").querier(0, 1),
      (err) => isContrailError(err, "unavailable") && /reads go to the backend's query API/.test(err.message),
    );
    assert.throws(() => s.querier("acme", 0, 1), /stored in mimir/);
  });

  test("appenders are spent after commit, and an org id that is not one is refused", () => {
    const s = store(`mimir=${rec.url}`);
    const app = s.appender("acme");
    app.commit();
    assert.throws(
      () => app.append(Labels.fromStrings("__name__", "x"), 1, 1),
      (err) => isContrailError(err, "internal"),
    );
    assert.throws(
      () => s.appender("../etc"),
      (err) => isContrailError(err, "bad_data"),
    );
  });
});

describe("retryAfterMs", () => {
  test("reads seconds and HTTP dates, capped, and ignores what it cannot read", () => {
    assert.equal(retryAfterMs("3"), 3000);
    assert.equal(retryAfterMs("100000"), 300_000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6_000);
    assert.equal(retryAfterMs("soon"), null);
    assert.equal(retryAfterMs(null), null);
  });
});
