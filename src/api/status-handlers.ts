// Status endpoints: build information, the org's TSDB cardinality and the org's scrape targets. Rules and alerts are
// in rules-handlers.ts.

import { createRequire } from "node:module";
import { ContrailError } from "../model/errors.ts";
import { type Answer, dataAnswer, type OrgRequest } from "./context.ts";
import { MAX_TIME_MS, MIN_TIME_MS } from "./params.ts";
import { hasStats, statusFromQuerier, statusFromStats, tsdbStatusText } from "./tsdb-status.ts";

/** Contrail's version, from package.json. */
export const VERSION: string = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

/**
 * Prometheus's buildinfo fields, describing Contrail, plus Mimir's `application` and `features`. Grafana's alerting
 * offers to create and edit a data source's rules only when its buildinfo names Mimir with `ruler_config_api`, and
 * then manages them through `<data source>/config/v1/rules`, the ruler API every org has; other clients ignore both
 * fields. The version stays Contrail's own.
 */
export const BUILD_INFO = {
  version: VERSION,
  revision: "",
  branch: "",
  buildUser: "",
  buildDate: "",
  goVersion: `node${process.versions.node}`,
  application: "Grafana Mimir",
  features: {
    ruler_config_api: "true",
    alertmanager_config_api: "false",
    query_sharding: "false",
    federated_rules: "false",
  },
} as const;

/** `GET /api/v1/status/buildinfo`. */
export function buildInfo(): Answer {
  return dataAnswer(JSON.stringify(BUILD_INFO));
}

const MAX_TSDB_LIMIT = 10_000;

/** `GET /api/v1/status/tsdb`: head statistics and the top `limit` (default 10) entries of each cardinality list. */
export function tsdbStatus(req: OrgRequest): Answer {
  let limit = 10;
  const s = req.form.get("limit");
  if (s !== "") {
    limit = /^[+-]?\d+$/.test(s) ? Number(s) : 0;
    if (limit < 1) throw new ContrailError("bad_data", "limit must be a positive number");
    if (limit > MAX_TSDB_LIMIT) throw new ContrailError("bad_data", `limit must not exceed ${MAX_TSDB_LIMIT}`);
  }
  const store = req.store;
  if (hasStats(store)) return dataAnswer(tsdbStatusText(statusFromStats(store.stats(req.org, { limit }))));
  const q = store.querier(req.org, MIN_TIME_MS, MAX_TIME_MS);
  try {
    return dataAnswer(tsdbStatusText(statusFromQuerier(q, limit)));
  } finally {
    q.close();
  }
}

/**
 * `GET /api/v1/targets`: the org's active scrape targets, optionally of one `scrapePool` (an app), and `state`
 * active|dropped|any as Prometheus reads it. Targets are never dropped by relabelling here, so that list is empty.
 */
export function targets(req: OrgRequest): Answer {
  const state = req.form.get("state").toLowerCase();
  const pool = req.form.get("scrapePool");
  const active = state === "" || state === "any" || state === "active";
  const dropped = state === "" || state === "any" || state === "dropped";
  const list = active ? req.status.targetsFor(req.org).filter((t) => pool === "" || t.scrapePool === pool) : [];
  const counts = dropped ? ',"droppedTargetCounts":{}' : "";
  return dataAnswer(`{"activeTargets":${JSON.stringify(list)},"droppedTargets":[]${counts}}`);
}
