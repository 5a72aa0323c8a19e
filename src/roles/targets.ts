// The scrape manager's target source, read from the control plane: every app with `[metrics]` and its started
// instances (local ones as the runner reported them, external ones once their health check passed).

import { addressOf, type ControlDb, listApps, listInstances } from "../../control/index.ts";
import { type AppMetricsSpec, type ScrapeTarget, type TargetSource, targetsFromApps } from "../../scrape/index.ts";
import { metricsSpecOf } from "./app-spec.ts";

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
