// Test helpers of the scraper (used by `*.test.ts` files and the benchmark only): a TenantStore of MemoryStores
// that counts how samples arrive, a loopback HTTP server with a replaceable handler, and readers of stored samples.

import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import type { Appender, CommitReport, Querier, Queryable, SeriesRef, TenantStore } from "../storage/interface.ts";
import { MemoryStore } from "../storage/memory.ts";

/** Counts of appender calls, over all orgs. */
export interface AppendCounts {
  append: number;
  appendRef: number;
  commits: number;
  rollbacks: number;
}

/** First ref handed out for recorded histogram series. */
const RECORDED_REF_BASE = 2 ** 40;

/** A native histogram sample that reached `appendHistogram`: org, series, time (ms), value. */
export interface RecordedHistogram {
  readonly org: string;
  readonly labels: string;
  readonly t: number;
  readonly h: Histogram;
}

/**
 * A TenantStore keeping each org in its own MemoryStore and counting appender calls. Native histograms reach the
 * MemoryStore when it keeps them; with `recordHistograms` they are recorded in `histograms` instead (at commit),
 * for tests of what a scrape hands to a store that keeps them.
 */
export class MemoryTenants implements TenantStore {
  readonly counts: AppendCounts = { append: 0, appendRef: 0, commits: 0, rollbacks: 0 };
  /** Committed histogram samples, when recording. */
  readonly histograms: RecordedHistogram[] = [];
  private readonly recordHistograms: boolean;
  /** Series of the refs handed out for recorded histograms. */
  private readonly recordedNames = new Map<SeriesRef, string>();

  /** `recordHistograms`: give appenders `appendHistogram` that records (see the class comment). */
  constructor(opts: { readonly recordHistograms?: boolean } = {}) {
    this.recordHistograms = opts.recordHistograms ?? false;
  }
  private readonly stores = new Map<string, MemoryStore>();
  /** Orgs whose appender() throws, to simulate unavailable storage. */
  readonly failing = new Set<string>();

  /** The MemoryStore of `org`, created on first use. */
  of(org: string): MemoryStore {
    let s = this.stores.get(org);
    if (s === undefined) {
      s = new MemoryStore();
      this.stores.set(org, s);
    }
    return s;
  }

  /** Gives `org` an empty store, as a database opened again that has lost its series: old refs mean nothing there. */
  reopen(org: string): void {
    this.stores.set(org, new MemoryStore());
  }

  /** Orgs that have a store. */
  orgs(): string[] {
    return [...this.stores.keys()].sort();
  }

  /** Resets the call counts. */
  resetCounts(): void {
    this.counts.append = 0;
    this.counts.appendRef = 0;
    this.counts.commits = 0;
    this.counts.rollbacks = 0;
  }

  appender(org: string): Appender {
    if (this.failing.has(org)) throw new Error(`storage of ${org} is unavailable`);
    const inner = this.of(org).appender();
    const c = this.counts;
    const pending: RecordedHistogram[] = [];
    const names = this.recordedNames;
    const histograms = this.histograms;
    const record = (labels: string, t: number, h: Histogram) => pending.push({ org, labels, t, h });
    const histogramCalls: Pick<Appender, "appendHistogram" | "appendHistogramRef"> = this.recordHistograms
      ? {
          appendHistogram(labels, t, h) {
            // Refs of recorded series lie far above the MemoryStore's own, so they never name its series.
            const ref = (RECORDED_REF_BASE + names.size) as SeriesRef;
            names.set(ref, labels.toString());
            record(labels.toString(), t, h);
            return ref;
          },
          appendHistogramRef(ref, t, h) {
            record(names.get(ref) ?? `<ref ${ref}>`, t, h);
            return ref;
          },
        }
      : {
          appendHistogram: inner.appendHistogram?.bind(inner),
          appendHistogramRef: inner.appendHistogramRef?.bind(inner),
        };
    return {
      refScope: inner.refScope,
      ...histogramCalls,
      append(labels: Labels, t: number, v: number): SeriesRef {
        c.append++;
        return inner.append(labels, t, v);
      },
      appendRef(ref: SeriesRef, t: number, v: number): SeriesRef {
        c.appendRef++;
        return inner.appendRef(ref, t, v);
      },
      commit(): CommitReport {
        c.commits++;
        histograms.push(...pending);
        return inner.commit();
      },
      rollback(): void {
        c.rollbacks++;
        inner.rollback();
      },
    };
  }

  querier(org: string, mint: number, maxt: number): Querier {
    return this.of(org).querier(mint, maxt);
  }

  queryable(org: string): Queryable {
    return { querier: (mint, maxt) => this.querier(org, mint, maxt) };
  }
}

/** One stored sample with its series' labels as a record. */
export interface StoredSample {
  readonly labels: Record<string, string>;
  readonly t: number;
  readonly v: number;
}

/** Every sample of `store`, optionally only of series named `name`, in series then time order. */
export function storedSamples(store: MemoryStore, name?: string): StoredSample[] {
  const out: StoredSample[] = [];
  for (const s of store.allSeries()) {
    if (name !== undefined && s.labels.metricName() !== name) continue;
    const labels = s.labels.toRecord();
    for (let i = 0; i < s.n; i++) out.push({ labels, t: s.t[i], v: s.v[i] });
  }
  return out;
}

/** The native histogram samples of series named `name` in `store` (when it keeps them), as copies in time order. */
export function storedHistograms(store: MemoryStore, name: string): { t: number; h: Histogram }[] {
  const q = store.querier(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const out: { t: number; h: Histogram }[] = [];
  for (const s of q.select([newMatcher("=", "__name__", name)], { start: 0, end: Number.MAX_SAFE_INTEGER })) {
    const it = s.iterator();
    for (let k = it.next(); k !== "none"; k = it.next()) {
      if (k === "histogram" && it.atH !== undefined) out.push({ t: it.atT(), h: structuredClone(it.atH()) });
    }
  }
  q.close();
  return out;
}

/** The samples of the one series named `name` whose labels include `match`, in time order. */
export function seriesSamples(
  store: MemoryStore,
  name: string,
  match: Readonly<Record<string, string>> = {},
): { t: number; v: number }[] {
  return storedSamples(store, name)
    .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .map(({ t, v }) => ({ t, v }));
}

/** A loopback HTTP server whose handler can be replaced between requests. */
export interface TestServer {
  readonly port: number;
  /** `http://127.0.0.1:<port><path>`. */
  url(path?: string): string;
  /** Replaces the request handler. */
  handle(handler: http.RequestListener): void;
  /** Requests served so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 with `handler`. */
export async function startServer(handler: http.RequestListener): Promise<TestServer> {
  let current = handler;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    current(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path = "/metrics") => `http://127.0.0.1:${port}${path}`,
    handle: (h) => {
      current = h;
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A handler answering every request with `body` (a string or a function of the request count). */
export function serveText(
  body: string | (() => string),
  contentType = "text/plain; version=0.0.4",
): http.RequestListener {
  return (_req, res) => {
    res.writeHead(200, { "Content-Type": contentType });
    res.end(typeof body === "string" ? body : body());
  };
}

/** A loopback port nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
