// Test support: the platform's metric path in miniature, to fill a store with the series a dashboard reads. A real
// edge (one listener per region) in front of a loopback stand-in for the demo app, the instance agent, the
// in-process collector, and the demo traffic generator sending requests through the edge. Collections are stamped
// on a synthetic 15 s grid while the traffic runs for real, so a few seconds give many minutes of samples.
// Used by `*.test.ts` files only.

import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { DEFAULT_CONCURRENCY, type Edge, startEdge } from "../edge/index.ts";
import { Registry } from "../exposition/registry.ts";
import { InstanceAgent, type InstanceStatus } from "../machines/index.ts";
import { RegistryCollector } from "../scrape/index.ts";
import type { TenantStore } from "../storage/interface.ts";
import { startTraffic } from "./traffic.ts";

/** One app of the miniature platform: its instances per region, and the demo traffic it gets. */
export interface DemoApp {
  readonly name: string;
  /** Region code → number of instances there. */
  readonly instances: Readonly<Record<string, number>>;
  /** Mean requests per second the traffic generator sends it. */
  readonly ratePerSecond: number;
}

/** Options of {@link runDemoPlatform}. */
export interface DemoPlatformOptions {
  readonly store: TenantStore;
  /** The org owning every app. */
  readonly org: string;
  readonly apps: readonly DemoApp[];
  /** Edge regions; each gets a listener. */
  readonly regions: readonly string[];
  /** Time of the first collection, ms. */
  readonly t0: number;
  /** Collections to make, one per `scrapeMs` of synthetic time. */
  readonly collections: number;
  /** Synthetic scrape interval, ms. Default 15 s. */
  readonly scrapeMs?: number;
  /** Real time between two collections, ms. Default 40. */
  readonly realGapMs?: number;
  /** Seeded uniform random numbers for the traffic. */
  readonly random: () => number;
}

/** What ran: the time of the last collection and the requests sent per app. */
export interface DemoPlatformRun {
  readonly lastT: number;
  readonly sent: Readonly<Record<string, number>>;
}

/** Answers like examples/node-express (without its own metrics); `/slow?ms=` is held for that long. */
function demoApp(): { server: http.Server; sockets: Set<Socket> } {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://app");
    const reply = (status: number, body: string) => {
      res.statusCode = status;
      res.end(body);
    };
    if (url.pathname === "/" || url.pathname.startsWith("/event/")) reply(200, "Hello World!");
    else if (url.pathname === "/slow") {
      const ms = url.searchParams.has("ms") ? Number(url.searchParams.get("ms")) : 5 + Math.random() * 40;
      const timer = setTimeout(() => reply(200, "slept"), ms);
      res.on("close", () => clearTimeout(timer));
    } else if (url.pathname === "/error") reply(500, "broke");
    else reply(404, "nothing here");
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return { server, sockets };
}

/** A 4- or 14-digit hex id derived from a counter. */
function hexId(n: number, digits: number): string {
  return n.toString(16).padStart(digits, "0");
}

/** Runs the miniature platform until every collection is made, then stops it all. */
export async function runDemoPlatform(opts: DemoPlatformOptions): Promise<DemoPlatformRun> {
  const scrapeMs = opts.scrapeMs ?? 15_000;
  const app = demoApp();
  await new Promise<void>((resolve) => app.server.listen(0, "127.0.0.1", resolve));
  const appAddress = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const registry = new Registry();
  const statuses: InstanceStatus[] = [];
  const routes = new Map(
    opts.apps.map((a, ai) => {
      const instances = Object.entries(a.instances).flatMap(([region, n], ri) =>
        Array.from({ length: n }, (_, k) => {
          const id = hexId(0xd000_0000 + ai * 0x1000 + ri * 0x10 + k, 14);
          const host = hexId(0xb100 + ri, 4);
          statuses.push({
            info: { id, app: a.name, group: "app", region, host, kind: "external", address: appAddress },
            state: "running",
            health: "healthy",
            pid: null,
            dir: null,
            restarts: 0,
            lastExit: null,
            startedAtMs: null,
          });
          return { id, region, host, address: appAddress, healthy: true };
        }),
      );
      return [a.name, { org: opts.org, concurrency: DEFAULT_CONCURRENCY, instances, tcpServices: [] }];
    }),
  );
  let edge: Edge | undefined;
  const ac = new AbortController();
  try {
    edge = await startEdge({
      listeners: opts.regions.map((region, i) => ({ region, host: hexId(0xe0a0 + i, 4), address: "127.0.0.1:0" })),
      routes,
      registry,
    });
    const e = edge;
    new InstanceAgent({ source: { instances: () => statuses }, proxiedBytes: (id) => e.proxiedBytes(id), registry });
    const owned = new Set(opts.apps.map((a) => a.name));
    const collector = new RegistryCollector({
      source: { name: "platform", registry },
      store: opts.store,
      orgOfApp: (name) => (owned.has(name) ? opts.org : null),
    });
    const targets = e.listeners.map((l) => ({ region: l.region, url: `http://${l.address}` }));
    const traffic = opts.apps.map((a) =>
      startTraffic({ targets, app: a.name, ratePerSecond: a.ratePerSecond, signal: ac.signal, random: opts.random }),
    );
    let lastT = opts.t0;
    for (let k = 0; k < opts.collections; k++) {
      await new Promise((r) => setTimeout(r, opts.realGapMs ?? 40));
      lastT = opts.t0 + k * scrapeMs;
      const outcome = collector.collectOnce(lastT);
      if (outcome.errors.size > 0) throw [...outcome.errors.values()][0];
    }
    ac.abort();
    await Promise.all(traffic.map((t) => t.done));
    return { lastT, sent: Object.fromEntries(opts.apps.map((a, i) => [a.name, traffic[i].stats().sent])) };
  } finally {
    ac.abort();
    await edge?.close();
    await new Promise<void>((resolve) => {
      app.server.close(() => resolve());
      for (const s of app.sockets) s.destroy();
    });
  }
}
