import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { LocalCa, startEdge } from "../edge/index.ts";
import { Registry } from "../exposition/registry.ts";
import { isContrailError } from "../model/errors.ts";
import { mulberry32 } from "../testkit/random.ts";
import {
  pathOf,
  pickKind,
  REQUEST_MIX,
  regionShare,
  splitSlots,
  startTraffic,
  type TrafficOptions,
} from "./traffic.ts";

/** A loopback stand-in for the demo app behind an edge: answers like it, and records what it saw. */
interface AppServer {
  readonly url: string;
  readonly hosts: Set<string>;
  readonly paths: string[];
  connections: number;
  open: number;
  maxOpen: number;
  close(): Promise<void>;
}

/** Starts a server; `holdLong` keeps `/slow?ms=` requests unanswered, `holdAll` every request. */
async function appServer(opts: { holdAll?: boolean } = {}): Promise<AppServer> {
  const sockets = new Set<Socket>();
  const s: AppServer = {
    url: "",
    hosts: new Set(),
    paths: [],
    connections: 0,
    open: 0,
    maxOpen: 0,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const sock of sockets) sock.destroy();
      }),
  };
  const server = http.createServer((req, res) => {
    s.hosts.add(req.headers.host ?? "");
    s.paths.push(req.url ?? "");
    s.open++;
    s.maxOpen = Math.max(s.maxOpen, s.open);
    res.on("close", () => s.open--);
    const path = req.url ?? "/";
    if (opts.holdAll === true || path.startsWith("/slow?ms=")) return;
    if (path === "/" || path.startsWith("/event/")) res.end("ok");
    else if (path === "/slow") setTimeout(() => res.end("slept"), 20);
    else if (path === "/error") {
      res.statusCode = 500;
      res.end("broke");
    } else {
      res.statusCode = 404;
      res.end("nothing");
    }
  });
  server.on("connection", (sock: Socket) => {
    s.connections++;
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(s, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long the stall test blocks this process, ms: long enough that every target has a backlog of arrivals. */
const STALL_MS = 500;
/** How often a test looks for the state it waits for, ms. */
const POLL_MS = 10;
/** A hang guard, not a speed bound: a test still running after this long is stuck, ms. */
const HANG_GUARD_MS = 5 * 60_000;

/**
 * Waits until `cond` holds, however long a loaded machine takes: the state is the event waited for, not a time.
 * A state never reached fails the test's hang guard; the polling timer never holds the process open.
 */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, POLL_MS).unref());
}

/** Collects unhandled rejections and process warnings (such as listener leaks) while a test runs. */
const trouble: string[] = [];
const onRejection = (reason: unknown) => trouble.push(`unhandled rejection: ${String(reason)}`);
const onWarning = (w: Error) => trouble.push(`warning: ${w.name}: ${w.message}`);
before(() => {
  process.on("unhandledRejection", onRejection);
  process.on("warning", onWarning);
});
after(() => {
  process.off("unhandledRejection", onRejection);
  process.off("warning", onWarning);
});

describe("the request mix", () => {
  test("pickKind follows the weights", () => {
    const n = 10_000;
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const k = pickKind(() => (i + 0.5) / n);
      seen[k] = (seen[k] ?? 0) + 1;
    }
    for (const m of REQUEST_MIX) assert.equal(seen[m.kind], m.weight * 100, m.kind);
    assert.equal(
      REQUEST_MIX.reduce((sum, m) => sum + m.weight, 0),
      100,
    );
  });

  const paths: [Parameters<typeof pathOf>[0], RegExp][] = [
    ["home", /^\/$/],
    ["event", /^\/event\/(signup|login|checkout|search|share)$/],
    ["slow", /^\/slow$/],
    ["long", /^\/slow\?ms=\d{4,5}$/],
    ["missing", /^\/(notfound|favicon\.ico)$/],
    ["error", /^\/error$/],
  ];
  for (const [kind, re] of paths) {
    test(`pathOf(${kind})`, () => {
      const random = mulberry32(7);
      for (let i = 0; i < 50; i++) assert.match(pathOf(kind, random), re);
    });
  }

  test("long requests wait 5 to 20 s", () => {
    assert.equal(
      pathOf("long", () => 0),
      "/slow?ms=5000",
    );
    assert.equal(
      pathOf("long", () => 0.999999),
      "/slow?ms=20000",
    );
  });

  test("regionShare: decreasing shares that sum to 1", () => {
    for (const n of [1, 2, 3, 7]) {
      const shares = Array.from({ length: n }, (_, i) => regionShare(i, n));
      assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-12, String(n));
      for (let i = 1; i < n; i++) assert.ok(shares[i] < shares[i - 1]);
    }
  });
});

test("splitSlots: every slot given, in proportion to the shares, one at least each", () => {
  const three = [0, 1, 2].map((i) => regionShare(i, 3));
  assert.deepEqual(splitSlots(64, three), [34, 18, 12]);
  assert.deepEqual(
    splitSlots(
      5,
      [0, 1].map((i) => regionShare(i, 2)),
    ),
    [3, 2],
  );
  assert.deepEqual(splitSlots(3, three), [1, 1, 1]);
  assert.deepEqual(splitSlots(7, [1]), [7]);
  for (const total of [3, 4, 10, 31, 64, 1000]) {
    const slots = splitSlots(total, three);
    assert.equal(
      slots.reduce((a, b) => a + b, 0),
      total,
    );
    assert.ok(slots[0] >= slots[1] && slots[1] >= slots[2] && slots[2] >= 1, `${total}: ${slots}`);
  }
});

describe("startTraffic", { timeout: HANG_GUARD_MS }, () => {
  test("rejects bad options", () => {
    const signal = new AbortController().signal;
    const ok = { targets: [{ region: "ord", url: "http://127.0.0.1:1" }], app: "demo", signal };
    const bad: [string, TrafficOptions][] = [
      ["no targets", { ...ok, targets: [] }],
      ["rate 0", { ...ok, ratePerSecond: 0 }],
      ["rate NaN", { ...ok, ratePerSecond: Number.NaN }],
      ["concurrency 0", { ...ok, concurrency: 0 }],
      ["fewer slots than targets", { ...ok, targets: [...ok.targets, ...ok.targets], concurrency: 1 }],
      ["https", { ...ok, targets: [{ region: "ord", url: "https://127.0.0.1:1" }] }],
      ["not a URL", { ...ok, targets: [{ region: "ord", url: "127.0.0.1:1" }] }],
    ];
    for (const [name, options] of bad) {
      assert.throws(
        () => startTraffic(options),
        (e) => isContrailError(e, "bad_data"),
        name,
      );
    }
  });

  test("mixed statuses through every region, busiest first, on kept-alive connections", async () => {
    trouble.length = 0;
    const servers = [await appServer(), await appServer(), await appServer()];
    const ac = new AbortController();
    const traffic = startTraffic({
      targets: servers.map((s, i) => ({ region: ["ord", "ams", "syd"][i], url: s.url })),
      app: "demo",
      ratePerSecond: 400,
      concurrency: 64,
      signal: ac.signal,
      random: mulberry32(42),
      now: () => 0,
    });
    // Two seconds' worth of arrivals at 400/s, counted rather than timed: a loaded machine stalls this process.
    await until(() => traffic.stats().sent >= 800);
    const running = traffic.stats();
    ac.abort();
    await traffic.done;
    const st = traffic.stats();
    try {
      assert.ok(st.sent >= 800, `sent ${st.sent}`);
      assert.equal(st.failed, 0);
      assert.equal(st.inFlight, 0);
      const answered = Object.values(st.byStatus).reduce((a, b) => a + b, 0);
      // Only long requests (held by the server) and requests cut by the abort go unanswered.
      assert.ok(st.sent - answered <= running.inFlight + 20, `${st.sent} sent, ${answered} answered`);
      assert.deepEqual(Object.keys(st.byStatus).sort(), ["200", "404", "500"]);
      const share = (code: number) => st.byStatus[code] / answered;
      assert.ok(share(200) > 0.8 && share(200) < 0.95, `200: ${share(200)}`);
      assert.ok(share(404) > 0.03 && share(404) < 0.12, `404: ${share(404)}`);
      assert.ok(share(500) > 0.015 && share(500) < 0.08, `500: ${share(500)}`);
      assert.ok(st.byKind.slow > 0 && st.byKind.long > 0 && st.byKind.event > 0);
      // With the clock held at 0 the drift factors are 1, 1.43 and 0.57: shares 0.55, 0.39 and 0.10.
      assert.ok(st.byRegion.ord > st.byRegion.ams && st.byRegion.ams > st.byRegion.syd, JSON.stringify(st.byRegion));
      for (const s of servers) {
        assert.deepEqual([...s.hosts], ["demo.localhost"]);
        assert.ok(s.connections <= 64 && s.connections * 4 < s.paths.length, `${s.connections} connections`);
      }
      // Every request the servers saw was sent; the abort may destroy a few before they arrive.
      const seen = servers.reduce((n, s) => n + s.paths.length, 0);
      assert.ok(seen <= st.sent && st.sent - seen <= running.inFlight + 20, `${st.sent} sent, ${seen} seen`);
      assert.deepEqual(trouble, []);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  test("bounded concurrency; abort cancels held requests and stops arrivals", async () => {
    trouble.length = 0;
    const server = await appServer({ holdAll: true });
    const ac = new AbortController();
    const traffic = startTraffic({
      targets: [
        { region: "ord", url: server.url },
        { region: "fra", url: server.url },
      ],
      app: "demo",
      ratePerSecond: 200,
      concurrency: 5,
      signal: ac.signal,
      random: mulberry32(1),
    });
    try {
      // Every slot taken and held by the server, and arrivals past them skipped.
      await until(() => server.open === 5 && traffic.stats().skipped > 20);
      const held = traffic.stats();
      assert.equal(held.inFlight, 5);
      assert.equal(held.sent, 5);
      assert.ok(held.skipped > 20, `skipped ${held.skipped}`);
      assert.equal(server.maxOpen, 5);
      ac.abort();
      await traffic.done;
      // The held requests were cancelled: the server sees each of them closed.
      await until(() => server.open === 0);
      const st = traffic.stats();
      assert.equal(st.inFlight, 0);
      assert.equal(st.failed, 0, "cancelled requests are not failures");
      const seen = server.paths.length;
      await sleep(300);
      assert.equal(server.paths.length, seen, "no request after done");
      assert.equal(traffic.stats().sent, st.sent);
      assert.deepEqual(trouble, []);
    } finally {
      // A failed assertion above must not leave the generator running: the file would never exit.
      ac.abort();
      await server.close();
    }
  });

  test("after a stall each target holds its share of the slots: the first to wake does not take them all", async () => {
    trouble.length = 0;
    const servers = [
      await appServer({ holdAll: true }),
      await appServer({ holdAll: true }),
      await appServer({ holdAll: true }),
    ];
    const ac = new AbortController();
    const traffic = startTraffic({
      targets: servers.map((s, i) => ({ region: ["ord", "ams", "syd"][i], url: s.url })),
      app: "demo",
      ratePerSecond: 400,
      concurrency: 12,
      signal: ac.signal,
      random: mulberry32(3),
      now: () => 0,
    });
    const slots = splitSlots(
      12,
      [0, 1, 2].map((i) => regionShare(i, 3)),
    );
    try {
      // This process stalls: every target wakes with far more arrivals due than there are slots.
      const stallEnd = performance.now() + STALL_MS;
      while (performance.now() < stallEnd) {
        // Busy: no timer or socket of this process runs meanwhile.
      }
      // Every slot taken: the held requests stay, so the spread over the targets is final.
      await until(() => servers.reduce((n, s) => n + s.open, 0) === 12);
      assert.deepEqual(
        servers.map((s) => s.maxOpen),
        slots,
      );
      assert.equal(traffic.stats().inFlight, 12);
      ac.abort();
      await traffic.done;
      assert.deepEqual(trouble, []);
    } finally {
      ac.abort();
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  test("an unreachable edge counts failures without unhandled rejections", async () => {
    trouble.length = 0;
    const server = await appServer();
    const url = server.url;
    await server.close();
    const ac = new AbortController();
    const traffic = startTraffic({
      targets: [{ region: "ord", url }],
      app: "demo",
      ratePerSecond: 100,
      signal: ac.signal,
    });
    await until(() => traffic.stats().failed > 5);
    ac.abort();
    await traffic.done;
    const st = traffic.stats();
    assert.ok(st.failed > 5, `failed ${st.failed}`);
    assert.deepEqual(st.byStatus, {});
    await sleep(50);
    assert.deepEqual(trouble, []);
  });

  test("an already aborted signal sends nothing and is done at once", async () => {
    const ac = new AbortController();
    ac.abort();
    const traffic = startTraffic({
      targets: [{ region: "ord", url: "http://127.0.0.1:1" }],
      app: "a",
      signal: ac.signal,
    });
    await traffic.done;
    await sleep(50);
    assert.equal(traffic.stats().sent, 0);
  });
});

/** The label records of the samples of `name` whose `app` label is `app`. */
function seriesOf(registry: Registry, name: string, app: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  registry.forEachSample((labels, _value) => {
    const l = labels.withoutMetricName().toRecord();
    if (labels.metricName() === name && l.app === app) out.push(l);
  });
  return out;
}

function totalOf(registry: Registry, name: string, app: string): number {
  let sum = 0;
  registry.forEachSample((labels, value) => {
    if (labels.metricName() === name && labels.withoutMetricName().toRecord().app === app) sum += value;
  });
  return sum;
}

test("demo traffic over HTTPS through a real edge gives the app series of every TLS and limit family", {
  timeout: HANG_GUARD_MS,
}, async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "contrail-demo-tls-"));
  const ca = LocalCa.openOrCreate(dataDir);
  const sockets = new Set<Socket>();
  // Answers like the demo app: `/slow?ms=` is held (long requests), everything else at once.
  const app = http.createServer((req, res) => {
    if ((req.url ?? "").startsWith("/slow?ms=")) return;
    res.end("ok");
  });
  app.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  const address = `127.0.0.1:${(app.address() as AddressInfo).port}`;
  const registry = new Registry();
  // The demo app's fly.toml limits: a soft limit of 3 requests that held requests soon reach.
  const routes = new Map([
    [
      "demo",
      {
        org: "personal",
        concurrency: { type: "requests" as const, softLimit: 3, hardLimit: 25 },
        instances: [{ id: "d1".padStart(14, "0"), region: "ord", host: "b100", address, healthy: true }],
        tcpServices: [],
      },
    ],
  ]);
  const edge = await startEdge({
    listeners: [{ region: "ord", host: "e0a0", address: "127.0.0.1:0", tlsAddress: "127.0.0.1:0" }],
    routes,
    registry,
    ca,
  });
  const ac = new AbortController();
  try {
    const l = edge.listeners[0];
    const traffic = startTraffic({
      targets: [{ region: "ord", url: `http://${l.address}`, tlsUrl: `https://${l.tlsAddress}` }],
      app: "demo",
      ca: ca.certPem,
      ratePerSecond: 150,
      concurrency: 64,
      signal: ac.signal,
      random: mulberry32(7),
    });
    // Runs until the untrusting client has sent a few requests (2% of HTTPS ones), the edge has counted a failed
    // handshake, and held requests filled the soft limit.
    await until(
      () =>
        traffic.stats().untrusted >= 3 &&
        totalOf(registry, "fly_edge_tls_handshake_errors", "demo") >= 1 &&
        totalOf(registry, "fly_app_soft_limit_reached_count", "demo") > 0,
    );
    ac.abort();
    await traffic.done;
    const st = traffic.stats();
    assert.ok(st.tls > 0 && st.tls < st.sent, `${st.tls} of ${st.sent} over TLS`);
    assert.equal(st.failed, 0);
    for (const name of [
      "fly_edge_tls_handshake_time_seconds_count",
      "fly_edge_tls_handshake_errors",
      "fly_edge_tls_queue_time_seconds_count",
      "fly_edge_tls_sni_limit_reached_count",
      "fly_edge_tls_ip_limit_reached_count",
      "fly_app_soft_limit_reached_count",
      "fly_app_hard_limit_reached_count",
      "fly_app_connect_time_seconds_count",
      "fly_edge_data_in",
      "fly_edge_data_out",
    ]) {
      assert.ok(seriesOf(registry, name, "demo").length > 0, `${name} has a series for the demo app`);
    }
    assert.ok(totalOf(registry, "fly_edge_tls_handshake_time_seconds_count", "demo") > 0);
    assert.ok(totalOf(registry, "fly_edge_tls_handshake_errors", "demo") >= 1);
    assert.ok(totalOf(registry, "fly_app_soft_limit_reached_count", "demo") > 0);
  } finally {
    ac.abort();
    await edge.close();
    await new Promise<void>((resolve) => {
      app.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
