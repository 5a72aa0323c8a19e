// The scrape manager's target sources, read from the control plane: every app with `[metrics]` and its started
// instances (local ones as the agent reported them, external ones once their health check passed), and the
// platform's own processes (edges and agents) found through their heartbeats.

import { addressOf, type ControlDb, getApp, listApps, listInstances } from "../control/index.ts";
import {
  type AppMetricsSpec,
  type OrgOfApp,
  type PlatformTarget,
  type PlatformTargetSource,
  parseShard,
  type ScrapeTarget,
  type ShardPeers,
  type ShardSpec,
  type TargetSource,
  targetsFromApps,
} from "../scrape/index.ts";
import { metricsSpecOf } from "./app-spec.ts";
import { AGENT_ROLE, EDGE_ROLE_PREFIX, liveHeartbeats, NODE_ROLE_PREFIX } from "./heartbeat.ts";

/** Scrape targets of the apps in `db`, read at each call (the manager refreshes every second or so). */
export function controlTargetSource(db: ControlDb): TargetSource {
  return {
    targets(): ScrapeTarget[] {
      const apps: AppMetricsSpec[] = [];
      for (const a of listApps(db)) {
        if (a.config !== null && a.config.metrics.length > 0) apps.push(metricsSpecOf(a.name, a.orgId, a.config));
      }
      if (apps.length === 0) return [];
      const instances = listInstances(db, { state: "started" }).filter((i) => addressOf(i) !== null);
      return targetsFromApps(apps, instances);
    },
  };
}

/** The `/metrics` of every live edge and agent, by heartbeat role (read at each call). */
export function heartbeatTargetSource(db: ControlDb): PlatformTargetSource {
  return {
    targets(): PlatformTarget[] {
      const out: PlatformTarget[] = [];
      for (const prefix of [EDGE_ROLE_PREFIX, AGENT_ROLE]) {
        for (const hb of liveHeartbeats(db, prefix)) {
          const metrics = hb.info.metrics;
          if (typeof metrics === "string" && metrics !== "") out.push({ name: hb.role, url: `${metrics}/metrics` });
        }
      }
      return out;
    },
  };
}

/** The org owning an app, read from the control database at each call (the collector asks once per app per scrape). */
export function orgOfAppIn(db: ControlDb): OrgOfApp {
  return (app) => getApp(db, app)?.orgId ?? null;
}

/** The shard a live scraping node announces in its heartbeat (`shard: "i/n"`; none: 0/1), or null if it scrapes not. */
function announcedShard(info: Readonly<Record<string, unknown>>): ShardSpec | null {
  if (!Array.isArray(info.roles) || !info.roles.includes("scrape")) return null;
  if (typeof info.shard !== "string") return { index: 0, count: 1 };
  try {
    return parseShard(info.shard);
  } catch {
    return null;
  }
}

/** The shards of the live scraping metrics nodes on `db`, from their heartbeats (read at each call). */
export function scrapeShardsIn(db: ControlDb): ShardPeers {
  return () => {
    const out: ShardSpec[] = [];
    for (const hb of liveHeartbeats(db, NODE_ROLE_PREFIX)) {
      const shard = announcedShard(hb.info);
      if (shard !== null) out.push(shard);
    }
    return out;
  };
}
