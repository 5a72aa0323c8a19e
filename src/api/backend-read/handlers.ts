// The org endpoints that read the store directly (series, label names, label values, federation, TSDB status),
// answered from a remote backend. Each runs the embedded handler's own parameter checks first (metadata-handlers.ts,
// federate.ts), then asks the backend with every selector confined to the org, then applies `limit` and the org's
// series limit to what came back, with the org label removed. PromQL queries need no handler of their own: the
// server hands `ReadBackend.query` to the embedded handlers as their evaluator.

import { prefersProtobuf } from "../../exposition/index.ts";
import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import type { Matcher } from "../../model/matcher.ts";
import { formatDuration } from "../../promql/parser/index.ts";
import { scopeMatcherSet, withoutOrgLabel } from "../../storage/remote/org-scope.ts";
import { type Answer, capNotes, dataAnswer, type OrgHandler, type OrgRequest } from "../context.ts";
import { FEDERATE_LOOKBACK_MS, type FederatedSample, federateSelectors, federationAnswer } from "../federate.ts";
import { parseSampleValue, stringsJson } from "../json.ts";
import { checkSeriesCount } from "../limits.ts";
import {
  type Lookup,
  labelValuesName,
  lookupParams,
  seriesParams,
  TRUNCATED,
  truncated,
} from "../metadata-handlers.ts";
import { type Params, type ReadBackend, seconds } from "./read-backend.ts";

// The backend's parameters of a lookup: its selectors confined to the org (every series of the org when none was
// given, on a single-tenant backend), and the time range only when the client gave one: the backend's default
// applies otherwise (VictoriaMetrics: the last day).
function lookupRequest(backend: ReadBackend, req: OrgRequest, p: Lookup, backendLimit: number): Params {
  const label = backend.orgLabel(req.org);
  const params: Params = [];
  const sets: readonly (readonly Matcher[])[] = p.sets.length === 0 && label !== null ? [[]] : p.sets;
  for (const set of sets) params.push(["match[]", scopeMatcherSet(set, label)]);
  if (req.form.get("start") !== "") params.push(["start", seconds(p.start)]);
  if (req.form.get("end") !== "") params.push(["end", seconds(p.end)]);
  if (backendLimit > 0) params.push(["limit", String(backendLimit)]);
  return params;
}

function lookupOptions(req: OrgRequest, method: "GET" | "POST") {
  return { method, timeoutMs: req.limits.queryTimeoutMs, signal: req.signal };
}

function stringList(data: unknown): string[] {
  if (!Array.isArray(data)) throw new ContrailError("unavailable", "storage backend answered a lookup without a list");
  return data.filter((v): v is string => typeof v === "string");
}

/** `GET|POST /api/v1/series` from the backend. */
export async function backendSeries(backend: ReadBackend, req: OrgRequest): Promise<Answer> {
  const p = seriesParams(req);
  const answer = await backend.call(
    req.org,
    "/series",
    lookupRequest(backend, req, p, p.storeLimit),
    lookupOptions(req, "POST"),
  );
  if (!Array.isArray(answer.data))
    throw new ContrailError("unavailable", "storage backend answered series without a list");
  const label = backend.orgLabel(req.org);
  let found = (answer.data as Record<string, string>[]).map((l) =>
    label === null ? l : withoutOrgLabel(l, label.name),
  );
  const warnings = capNotes(answer.warnings, "warning");
  if (p.limit > 0 && found.length > p.limit) {
    found = found.slice(0, p.limit);
    warnings.push(TRUNCATED);
  }
  checkSeriesCount(found.length, req.limits);
  return dataAnswer(JSON.stringify(found), warnings);
}

// The answer of a list lookup (names or values): the org label left out, then cut to `limit`.
function listAnswer(
  list: string[],
  leaveOut: string | null,
  limit: number,
  backendWarnings: readonly string[],
): Answer {
  const kept = leaveOut === null ? list : list.filter((v) => v !== leaveOut);
  const { values, warnings } = truncated(kept, limit);
  return dataAnswer(stringsJson(values), [...capNotes(backendWarnings, "warning"), ...warnings]);
}

/** `GET|POST /api/v1/labels` from the backend. */
export async function backendLabelNames(backend: ReadBackend, req: OrgRequest): Promise<Answer> {
  const p = lookupParams(req, false);
  const label = backend.orgLabel(req.org);
  // One more than the limit, and one more for the org label the backend counts among them.
  const backendLimit = p.limit > 0 ? p.limit + (label === null ? 1 : 2) : 0;
  const answer = await backend.call(
    req.org,
    "/labels",
    lookupRequest(backend, req, p, backendLimit),
    lookupOptions(req, "POST"),
  );
  return listAnswer(stringList(answer.data), label?.name ?? null, p.limit, answer.warnings);
}

/** `GET /api/v1/label/<name>/values` from the backend; the org label's own values are never listed. */
export async function backendLabelValues(backend: ReadBackend, req: OrgRequest): Promise<Answer> {
  const name = labelValuesName(req);
  const p = lookupParams(req, false);
  const label = backend.orgLabel(req.org);
  if (label !== null && name === label.name) return dataAnswer("[]");
  // The name as checked, unescaped: VictoriaMetrics reads no `U__` escaping, Prometheus-compatible backends read both.
  const path = `/label/${encodeURIComponent(name)}/values`;
  const params = lookupRequest(backend, req, p, p.limit > 0 ? p.limit + 1 : 0);
  const answer = await backend.call(req.org, path, params, lookupOptions(req, "GET"));
  return listAnswer(stringList(answer.data), null, p.limit, answer.warnings);
}

interface WireMatrixSeries {
  readonly metric?: Record<string, string>;
  readonly values?: readonly (readonly [number, string])[];
}

/**
 * `GET /federate` from the backend: per selector, one instant query of its raw samples over the lookback delta
 * (`{selector}[5m]`, which every Prometheus-compatible backend answers), each series' newest sample kept.
 */
export async function backendFederate(backend: ReadBackend, req: OrgRequest): Promise<Answer> {
  const sets = federateSelectors(req);
  const label = backend.orgLabel(req.org);
  const window = formatDuration(FEDERATE_LOOKBACK_MS);
  const seen = new Set<string>();
  const found: FederatedSample[] = [];
  for (const set of sets) {
    const params: Params = [
      ["query", `${scopeMatcherSet(set, label)}[${window}]`],
      ["time", seconds(req.now)],
      ["timeout", `${req.limits.queryTimeoutMs}ms`],
    ];
    const answer = await backend.call(req.org, "/query", params, lookupOptions(req, "POST"));
    const data = answer.data as { resultType?: unknown; result?: unknown } | null;
    if (data?.resultType !== "matrix" || !Array.isArray(data.result)) {
      throw new ContrailError("unavailable", "storage backend answered a federation read without a matrix");
    }
    for (const s of data.result as WireMatrixSeries[]) {
      const labels = Labels.fromRecord(label === null ? (s.metric ?? {}) : withoutOrgLabel(s.metric ?? {}, label.name));
      const key = labels.toString();
      if (seen.has(key)) continue;
      seen.add(key);
      checkSeriesCount(seen.size, req.limits);
      const newest = s.values?.at(-1);
      const name = labels.metricName();
      if (name === "" || newest === undefined) continue;
      found.push({ name, labels, t: Math.round(newest[0] * 1000), v: parseSampleValue(newest[1]) });
    }
  }
  return federationAnswer(found, prefersProtobuf(req.accept));
}

/**
 * `GET /api/v1/status/tsdb` with remote storage: the statistics it gives are those of the embedded store's head
 * block, which this node does not have; the backend keeps its own (VictoriaMetrics' cardinality explorer).
 */
export function backendTsdbStatus(): Answer {
  throw new ContrailError(
    "not_found",
    "status/tsdb describes the embedded store, and this node keeps its samples in remote storage: " +
      "see the storage backend's own statistics",
  );
}

/** The org endpoints answered from `backend`, by path relative to `/prometheus/<org>`. */
export function backendHandlers(backend: ReadBackend): ReadonlyMap<string, OrgHandler> {
  return new Map<string, OrgHandler>([
    ["/api/v1/series", (req) => backendSeries(backend, req)],
    ["/api/v1/labels", (req) => backendLabelNames(backend, req)],
    ["/api/v1/label/:name/values", (req) => backendLabelValues(backend, req)],
    ["/federate", (req) => backendFederate(backend, req)],
    ["/api/v1/status/tsdb", backendTsdbStatus],
  ]);
}
