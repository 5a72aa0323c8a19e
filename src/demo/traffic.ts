// Demo traffic: realistic mixed requests to one app through the edge listeners of several regions, so the seed's
// dashboard has something to show. Mostly 200s, some 404s and 500s, slow requests, a few long-held ones (plain HTTP,
// no WebSocket), at rates that differ per region and drift over minutes. Arrivals are Poisson; at most
// `concurrency` requests are in flight, arrivals beyond that are skipped rather than queued. Each target holds its
// own share of that bound, in proportion to its rate: after this process stalls, every target sends its backlog at
// once, and with one shared bound the first to wake would take every slot and skew the regions' shares. Targets
// with an HTTPS address get about half their requests over TLS (a keep-alive agent that trusts the edge's CA), and a
// few of those from a client that does not trust it, as a browser would before the CA is installed: its handshakes
// fail.
//
// Requests go through node:http with a keep-alive agent rather than `fetch`: the edge routes by the `Host` header
// (`<app>.<domain>`), which the Fetch standard forbids a client to set (undici replaces it with the URL's host), and
// names like `demo.localhost` do not resolve with every system resolver.

import http from "node:http";
import https from "node:https";
import { ContrailError } from "../model/errors.ts";

/** One edge listener to send traffic to: its region code and base URLs (`http://127.0.0.1:PORT`, `https://…`). */
export interface TrafficTarget {
  readonly region: string;
  readonly url: string;
  /** The HTTPS listener's base URL; none sends plain HTTP only. Needs `ca` in the options. */
  readonly tlsUrl?: string;
}

/** Options of {@link startTraffic}. */
export interface TrafficOptions {
  readonly targets: readonly TrafficTarget[];
  /** The app's name; requests carry `Host: <app>.<domain>`. */
  readonly app: string;
  /** Host suffix of app addresses, as configured on the edge. Default "localhost". */
  readonly domain?: string;
  /** The edge CA's certificate (PEM), trusted by the HTTPS requests. */
  readonly ca?: string;
  /** Mean requests per second over all targets together. Default 20. */
  readonly ratePerSecond?: number;
  /** Most requests in flight at once, over all targets (at least one per target). Default 32. */
  readonly concurrency?: number;
  /** Aborting stops new arrivals and cancels the requests in flight. */
  readonly signal: AbortSignal;
  /** Uniform random numbers in [0, 1); tests pass a seeded one. Default `Math.random`. */
  readonly random?: () => number;
  /** Clock in milliseconds, used for the slow drift of the rates. Default `Date.now`. */
  readonly now?: () => number;
}

/** Counts since the start. Statuses and regions count completed responses. */
export interface TrafficStats {
  /** Requests started. */
  readonly sent: number;
  /** Responses received, by status code. */
  readonly byStatus: Readonly<Record<number, number>>;
  /** Responses received, by target region. */
  readonly byRegion: Readonly<Record<string, number>>;
  /** Requests sent, by kind of request. */
  readonly byKind: Readonly<Record<RequestKind, number>>;
  /** Requests sent over HTTPS (the untrusting client's included). */
  readonly tls: number;
  /** HTTPS requests of the client that does not trust the edge's CA (each ends in a refused certificate). */
  readonly untrusted: number;
  /** Requests that ended without a response (connection refused or reset, timeout), not counting aborts. */
  readonly failed: number;
  /** Arrivals not sent because their target's share of `concurrency` was already in flight. */
  readonly skipped: number;
  /** Requests in flight now. */
  readonly inFlight: number;
}

/** A running traffic generator. */
export interface Traffic {
  /** A snapshot of the counts. */
  stats(): TrafficStats;
  /** Resolves once the signal has aborted and every request in flight has ended. Never rejects. */
  readonly done: Promise<void>;
}

/** What a request asks the demo app for; each kind has its path and expected answer. */
export type RequestKind = "home" | "event" | "slow" | "long" | "missing" | "error";

/** Share of each kind among requests (weights out of 100): about 89% answered 200, 7% 404, 4% 500. */
export const REQUEST_MIX: readonly { readonly kind: RequestKind; readonly weight: number }[] = [
  { kind: "home", weight: 58 },
  { kind: "event", weight: 22 },
  { kind: "slow", weight: 8 },
  { kind: "long", weight: 1 },
  { kind: "missing", weight: 7 },
  { kind: "error", weight: 4 },
];

/** Event types sent to `/event/:type`: a fixed few, so the app's `events_by_type` keeps few series. */
const EVENT_TYPES = ["signup", "login", "checkout", "search", "share"];
/** Paths answered 404 by the demo app: fixed, because the app labels its request metrics by path. */
const MISSING_PATHS = ["/notfound", "/notfound", "/favicon.ico"];
/** Long-held requests ask the app to wait this long, in milliseconds. */
const LONG_MIN_MS = 5_000;
const LONG_MAX_MS = 20_000;
/** A request without a response after this long is destroyed and counted as failed (the app waits 30 s at most). */
const REQUEST_TIMEOUT_MS = 35_000;
/** Period of the slow drift of each region's rate, in milliseconds; regions drift out of phase. */
const DRIFT_PERIOD_MS = 10 * 60_000;
/** The drift scales a region's rate between 1 - DRIFT and 1 + DRIFT. */
const DRIFT = 0.5;
/** Arrivals more than this late (the event loop was blocked) are dropped instead of sent in one burst, in ms. */
const MAX_BACKLOG_MS = 1_000;
/** Share of a target's requests sent over HTTPS when it has an HTTPS address. */
const TLS_SHARE = 0.5;
/** Share of HTTPS requests sent by a client that does not trust the edge's CA. */
const UNTRUSTED_SHARE = 0.02;

/** The path of a request of `kind`. */
export function pathOf(kind: RequestKind, random: () => number): string {
  switch (kind) {
    case "home":
      return "/";
    case "event":
      return `/event/${EVENT_TYPES[Math.floor(random() * EVENT_TYPES.length)]}`;
    case "slow":
      return "/slow";
    case "long":
      return `/slow?ms=${Math.round(LONG_MIN_MS + random() * (LONG_MAX_MS - LONG_MIN_MS))}`;
    case "missing":
      return MISSING_PATHS[Math.floor(random() * MISSING_PATHS.length)];
    case "error":
      return "/error";
  }
}

/** Draws a request kind from {@link REQUEST_MIX}. */
export function pickKind(random: () => number): RequestKind {
  let r = random() * 100;
  for (const m of REQUEST_MIX) {
    r -= m.weight;
    if (r < 0) return m.kind;
  }
  return REQUEST_MIX[0].kind;
}

/** Share of the total rate of the i-th of n targets: proportional to 1/(i+1), so the first region is the busiest. */
export function regionShare(i: number, n: number): number {
  let sum = 0;
  for (let k = 0; k < n; k++) sum += 1 / (k + 1);
  return 1 / (i + 1) / sum;
}

/**
 * Splits `total` slots over targets in proportion to `shares` (largest remainder), at least one each; the caller
 * ensures `total` is at least the number of shares.
 */
export function splitSlots(total: number, shares: readonly number[]): number[] {
  const spare = total - shares.length;
  const exact = shares.map((s) => s * spare);
  const out = exact.map((x) => 1 + Math.floor(x));
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left === 0) break;
    out[i]++;
    left--;
  }
  return out;
}

/** Mutable counters behind {@link TrafficStats}. */
interface Counts {
  sent: number;
  byStatus: Record<number, number>;
  byRegion: Record<string, number>;
  byKind: Record<RequestKind, number>;
  tls: number;
  untrusted: number;
  failed: number;
  skipped: number;
  inFlight: number;
}

/** The shared state of one generator. */
interface Run {
  readonly host: string;
  readonly ca: string | undefined;
  readonly signal: AbortSignal;
  readonly random: () => number;
  readonly now: () => number;
  readonly counts: Counts;
  readonly idle: () => void;
}

/** The arrivals of one target: a Poisson process whose rate drifts slowly around the target's share. */
class TargetLoop {
  private readonly base: URL;
  private readonly agent: http.Agent;
  /** The HTTPS base URL and its agents (trusting the CA; trusting nothing, without keep-alive), or null. */
  private readonly secure: { base: URL; agent: https.Agent; untrusting: https.Agent } | null;
  private readonly meanRate: number;
  private readonly phase: number;
  private readonly inFlight = new Set<http.ClientRequest>();
  /** This target's share of the generator's concurrency: requests in flight to it at most. */
  private readonly slots: number;
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly run: Run,
    private readonly target: TrafficTarget,
    options: { readonly rate: number; readonly phase: number; readonly slots: number },
  ) {
    this.slots = options.slots;
    this.base = new URL(target.url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: this.slots });
    this.secure =
      target.tlsUrl === undefined
        ? null
        : {
            base: new URL(target.tlsUrl),
            agent: new https.Agent({ keepAlive: true, maxSockets: this.slots, ca: run.ca }),
            untrusting: new https.Agent({ keepAlive: false }),
          };
    this.meanRate = options.rate;
    this.phase = options.phase;
  }

  start(): void {
    this.next = performance.now() + this.gap();
    this.arm();
  }

  /** Stops arrivals and cancels the requests in flight; their ends are not counted as failures. */
  stop(): void {
    clearTimeout(this.timer);
    for (const req of this.inFlight) req.destroy();
    this.agent.destroy();
    this.secure?.agent.destroy();
    this.secure?.untrusting.destroy();
  }

  /** Requests per second now. */
  private rate(): number {
    const angle = (2 * Math.PI * this.run.now()) / DRIFT_PERIOD_MS + this.phase;
    return this.meanRate * (1 + DRIFT * Math.sin(angle));
  }

  /** Milliseconds to the next arrival, drawn from the exponential distribution at the current rate. */
  private gap(): number {
    return (-Math.log(1 - this.run.random()) / this.rate()) * 1000;
  }

  private arm(): void {
    this.timer = setTimeout(this.tick, Math.max(0, this.next - performance.now()));
  }

  private readonly tick = (): void => {
    if (this.run.signal.aborted) return;
    // Several arrivals may be due at once at high rates: send them all, then sleep until the next one.
    const now = performance.now();
    if (now - this.next > MAX_BACKLOG_MS) this.next = now;
    while (this.next <= now) {
      this.arrive();
      this.next += this.gap();
    }
    this.arm();
  };

  private arrive(): void {
    const c = this.run.counts;
    if (this.inFlight.size >= this.slots) {
      c.skipped++;
      return;
    }
    const kind = pickKind(this.run.random);
    const path = pathOf(kind, this.run.random);
    const secure = this.secure !== null && this.run.random() < TLS_SHARE ? this.secure : null;
    const untrusted = secure !== null && this.run.random() < UNTRUSTED_SHARE;
    c.sent++;
    c.byKind[kind]++;
    c.inFlight++;
    const options = {
      headers: { host: this.run.host, "user-agent": "contrail-demo-traffic" },
      timeout: REQUEST_TIMEOUT_MS,
    };
    let req: http.ClientRequest;
    if (secure === null) req = http.request(new URL(path, this.base), { ...options, agent: this.agent });
    else {
      c.tls++;
      if (untrusted) c.untrusted++;
      req = https.request(new URL(path, secure.base), {
        ...options,
        agent: untrusted ? secure.untrusting : secure.agent,
        servername: this.run.host,
      });
    }
    this.inFlight.add(req);
    let ended = false;
    const end = (status: number | null) => {
      if (ended) return;
      ended = true;
      this.inFlight.delete(req);
      c.inFlight--;
      if (status !== null) {
        c.byStatus[status] = (c.byStatus[status] ?? 0) + 1;
        c.byRegion[this.target.region] = (c.byRegion[this.target.region] ?? 0) + 1;
      } else if (!this.run.signal.aborted && !untrusted) {
        c.failed++;
      }
      if (c.inFlight === 0) this.run.idle();
    };
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      res.on("error", () => end(null));
      res.on("end", () => end(status));
      res.resume();
    });
    req.on("timeout", () => req.destroy(new Error(`no response within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on("error", () => end(null));
    req.on("close", () => end(null));
    req.end();
  }
}

/** Starts sending traffic; it runs until `signal` aborts. Throws bad_data for an empty or malformed target list. */
export function startTraffic(options: TrafficOptions): Traffic {
  const ratePerSecond = options.ratePerSecond ?? 20;
  const concurrency = options.concurrency ?? 32;
  if (options.targets.length === 0) throw new ContrailError("bad_data", "demo traffic needs at least one target");
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) {
    throw new ContrailError("bad_data", `demo traffic: rate must be above 0 per second, got ${ratePerSecond}`);
  }
  if (!(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new ContrailError("bad_data", `demo traffic: concurrency must be a positive integer, got ${concurrency}`);
  }
  if (concurrency < options.targets.length) {
    throw new ContrailError(
      "bad_data",
      `demo traffic: concurrency ${concurrency} is below the ${options.targets.length} targets (one slot each at least)`,
    );
  }
  for (const t of options.targets) {
    if (!/^http:\/\/[^/]+/.test(t.url)) {
      throw new ContrailError("bad_data", `demo traffic: target URL must be http://HOST:PORT, got ${t.url}`);
    }
    if (t.tlsUrl !== undefined && !/^https:\/\/[^/]+/.test(t.tlsUrl)) {
      throw new ContrailError("bad_data", `demo traffic: HTTPS target URL must be https://HOST:PORT, got ${t.tlsUrl}`);
    }
  }
  const counts: Counts = {
    sent: 0,
    byStatus: {},
    byRegion: {},
    byKind: { home: 0, event: 0, slow: 0, long: 0, missing: 0, error: 0 },
    tls: 0,
    untrusted: 0,
    failed: 0,
    skipped: 0,
    inFlight: 0,
  };
  let settle: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const run: Run = {
    host: `${options.app}.${options.domain ?? "localhost"}`,
    ca: options.ca,
    signal: options.signal,
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
    counts,
    idle: () => {
      if (options.signal.aborted) settle();
    },
  };
  const n = options.targets.length;
  const shares = options.targets.map((_, i) => regionShare(i, n));
  const slots = splitSlots(concurrency, shares);
  const loops = options.targets.map(
    (t, i) =>
      new TargetLoop(run, t, { rate: ratePerSecond * shares[i], phase: (2 * Math.PI * i) / n, slots: slots[i] }),
  );
  const stop = () => {
    for (const l of loops) l.stop();
    if (counts.inFlight === 0) settle();
  };
  if (options.signal.aborted) stop();
  else {
    options.signal.addEventListener("abort", stop, { once: true });
    for (const l of loops) l.start();
  }
  return {
    stats: () => ({
      ...counts,
      byStatus: { ...counts.byStatus },
      byRegion: { ...counts.byRegion },
      byKind: { ...counts.byKind },
    }),
    done,
  };
}
