// Reads of the per-org Prometheus API from a remote backend (`--storage victoriametrics|vmcluster|mimir`). The API's
// handlers check a request exactly as with the embedded store (auth, limits, parameters); only the evaluation comes
// here, and goes to `backendEndpoints(spec, org, accountId).readBase` with that org's headers. On a single-tenant
// backend the read is confined twice: every selector gets ORG_LABEL="<org>" (storage/remote/org-scope.ts) and the
// request carries VictoriaMetrics' `extra_label`, which the backend applies to every selector itself. What comes
// back is bounded (storage/remote/read-client.ts) and has the org label removed before anyone sees it.

import { ContrailError } from "../../model/errors.ts";
import { type BackendEndpoints, backendEndpoints, type StorageSpec } from "../../storage/remote/backend-spec.ts";
import { extraLabelParam, type OrgLabel, scopeQuery, withoutOrgLabel } from "../../storage/remote/org-scope.ts";
import { type BackendAnswer, type ReadClientOptions, RemoteReadClient } from "../../storage/remote/read-client.ts";
import { type Answer, capNotes } from "../context.ts";
import { checkSeriesCount } from "../limits.ts";
import { TRUNCATED } from "../metadata-handlers.ts";
import type { QuerySpec } from "../query-pool/protocol.ts";
import { type Admission, OrgQueue } from "./org-queue.ts";

/** A `--storage` choice other than the embedded store. */
export type RemoteStorageSpec = Exclude<StorageSpec, { kind: "embedded" }>;

/** Options of {@link ReadBackend}. */
export interface ReadBackendOptions extends ReadClientOptions {
  readonly spec: RemoteStorageSpec;
  /** The org's VictoriaMetrics cluster accountID (the control plane's table); only `vmcluster` asks for it. */
  readonly accountIdOf?: (org: string) => number;
}

/** Parameter pairs of one backend request. */
export type Params = [string, string][];

/** One series of a query answer as the backend's JSON gives it; only its labels are read. */
interface WireSeries {
  metric?: Record<string, string>;
}

/** The `data` of a query answer. */
export interface QueryData {
  readonly resultType: "vector" | "matrix" | "scalar" | "string";
  readonly result: unknown;
}

/** Seconds as the backend's `time`, `start`, `end` and `step` take them, from ms. */
export function seconds(ms: number): string {
  return String(ms / 1000);
}

function isQueryData(d: unknown): d is QueryData {
  const t = (d as { resultType?: unknown } | null)?.resultType;
  return t === "vector" || t === "matrix" || t === "scalar" || t === "string";
}

/** The remote backend of a node's reads: one per node, shared by the API server and the rules. */
export class ReadBackend {
  private readonly client: RemoteReadClient;
  private readonly spec: RemoteStorageSpec;
  private readonly accountIdOf: (org: string) => number;
  /** Each org's PromQL queries running and waiting. */
  private readonly queue = new OrgQueue();

  constructor(opts: ReadBackendOptions) {
    this.spec = opts.spec;
    // Without a table every org is "no accountID", which backendEndpoints refuses for vmcluster with a clear error.
    this.accountIdOf = opts.accountIdOf ?? (() => 0);
    this.client = new RemoteReadClient(opts);
  }

  /** Where `org`'s reads go. */
  endpoints(org: string): BackendEndpoints {
    return backendEndpoints(this.spec, org, this.spec.kind === "vmcluster" ? this.accountIdOf(org) : 0);
  }

  /** The label confining `org`'s reads on a single-tenant backend, or null where the tenant is in the request. */
  orgLabel(org: string): OrgLabel | null {
    return this.endpoints(org).orgLabel;
  }

  /**
   * Sends one read of `org`: `path` below the read base, with `extra_label` added on a single-tenant backend.
   * `params` must already be confined (selectors scoped); the backend's enforcement is the second wall.
   */
  call(
    org: string,
    path: string,
    params: Params,
    opts: { readonly method: "GET" | "POST"; readonly timeoutMs: number; readonly signal?: AbortSignal },
  ): Promise<BackendAnswer> {
    const e = this.endpoints(org);
    const all =
      e.orgLabel === null ? params : [...params, ["extra_label", extraLabelParam(e.orgLabel)] as [string, string]];
    return this.client.json({ base: e.readBase, path, params: all, headers: e.headers, ...opts });
  }

  // The query text `org` may send: confined to the org on a single-tenant backend, as written otherwise.
  private scopedQuery(org: string, query: string): string {
    const label = this.orgLabel(org);
    // The API reads MetricsQL where PromQL has no meaning, as its own engine does.
    return label === null ? query : scopeQuery(query, label, { metricsql: true });
  }

  /**
   * Evaluates a checked query of `org` on the backend, once admitted under `admission` (the wait counts against
   * the query's timeout): its data with the org label removed from every series.
   */
  async queryData(
    org: string,
    spec: QuerySpec,
    admission: Admission,
    signal?: AbortSignal,
  ): Promise<BackendAnswer & { data: QueryData }> {
    const query = this.scopedQuery(org, spec.query);
    const queued = performance.now();
    const leave = await this.queue.enter(org, admission, spec.timeoutMs, signal);
    try {
      const timeoutMs = Math.max(1, Math.ceil(spec.timeoutMs - (performance.now() - queued)));
      return await this.evaluate(org, query, { ...spec, timeoutMs }, signal);
    } finally {
      leave();
    }
  }

  // Sends a confined query and reads its answer.
  private async evaluate(
    org: string,
    query: string,
    spec: QuerySpec,
    signal?: AbortSignal,
  ): Promise<BackendAnswer & { data: QueryData }> {
    const params: Params = [["query", query]];
    if (spec.at.kind === "instant") params.push(["time", seconds(spec.at.time)]);
    else {
      params.push(["start", seconds(spec.at.start)], ["end", seconds(spec.at.end)], ["step", seconds(spec.at.step)]);
    }
    params.push(["timeout", `${spec.timeoutMs}ms`]);
    if (spec.lookbackDelta !== undefined) params.push(["lookback_delta", `${spec.lookbackDelta}ms`]);
    const path = spec.at.kind === "instant" ? "/query" : "/query_range";
    const answer = await this.call(org, path, params, { method: "POST", timeoutMs: spec.timeoutMs, signal });
    if (!isQueryData(answer.data)) {
      throw new ContrailError("unavailable", "storage backend answered a query without a resultType");
    }
    const label = this.orgLabel(org);
    const data = answer.data;
    if (
      label !== null &&
      (data.resultType === "vector" || data.resultType === "matrix") &&
      Array.isArray(data.result)
    ) {
      for (const s of data.result as WireSeries[]) {
        if (s.metric !== undefined) s.metric = withoutOrgLabel(s.metric, label.name);
      }
    }
    return { ...answer, data };
  }

  /** The API's answer to a checked query of `org`: truncated to `limit`, checked against the series limit. */
  async query(org: string, spec: QuerySpec, admission: Admission, signal?: AbortSignal): Promise<Answer> {
    const render = spec.render;
    if (render.kind !== "json") throw new ContrailError("internal", "a backend's answer is rendered as JSON only");
    const answer = await this.queryData(org, spec, admission, signal);
    const data = answer.data;
    const warnings = capNotes(answer.warnings, "warning");
    let result = data.result;
    if (Array.isArray(result) && (data.resultType === "vector" || data.resultType === "matrix")) {
      if (render.limit > 0 && result.length > render.limit) {
        result = (result as unknown[]).slice(0, render.limit);
        warnings.push(TRUNCATED);
      }
      checkSeriesCount((result as unknown[]).length, render);
    }
    const json = JSON.stringify({ resultType: data.resultType, result });
    return { kind: "data", data: [json], warnings, infos: capNotes(answer.infos, "info") };
  }
}
