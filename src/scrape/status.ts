// The targets API's view of a scrape target, in the shape of Prometheus's `activeTargets` entries, so Grafana and
// the Prometheus UI read it unchanged. There is no `job` label on this platform: the scrape pool is the app's name.

import type { TargetStatus } from "./loop.ts";
import { formatDuration, type ScrapeOptions } from "./options.ts";
import type { ScrapeTarget } from "./target.ts";

/** One entry of `/api/v1/targets` `activeTargets`. Times: `lastScrape` ISO 8601, `lastScrapeDuration` seconds. */
export interface ActiveTarget {
  readonly discoveredLabels: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly globalUrl: string;
  readonly lastError: string;
  readonly lastScrape: string;
  readonly lastScrapeDuration: number;
  readonly health: "up" | "down" | "unknown";
  readonly scrapeInterval: string;
  readonly scrapeTimeout: string;
}

/** Go's zero time, which Prometheus reports for a target never scraped. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

/** The activeTargets entry of a target and its status. */
export function activeTarget(target: ScrapeTarget, status: TargetStatus, opts: ScrapeOptions): ActiveTarget {
  const url = new URL(target.url);
  const labels = { app: target.app, host: target.host, instance: target.instance, region: target.region };
  return {
    discoveredLabels: {
      __address__: url.host,
      __metrics_path__: url.pathname,
      __scheme__: url.protocol.replace(/:$/, ""),
      __scrape_interval__: formatDuration(opts.intervalMs),
      __scrape_timeout__: formatDuration(opts.timeoutMs),
      ...labels,
    },
    labels,
    scrapePool: target.app,
    scrapeUrl: target.url,
    globalUrl: target.url,
    lastError: status.lastError,
    lastScrape: status.lastScrape === null ? ZERO_TIME : new Date(status.lastScrape).toISOString(),
    lastScrapeDuration: status.lastScrapeDuration,
    health: status.health,
    scrapeInterval: formatDuration(opts.intervalMs),
    scrapeTimeout: formatDuration(opts.timeoutMs),
  };
}
