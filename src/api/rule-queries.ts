// The rule evaluator's query seam on a metrics node: each instant query of a rule runs on the API's query pool, in
// the org's fair queue beside its dashboard queries and under its limits, never on the event loop that accepts
// writes and runs scrapes. The pool answers with the API's JSON body; it is decoded back into an instant vector.
// With remote storage the queries go to the backend instead (`backendRuleQuery`), confined to the org as the API's.

import { ContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import type { OrgLimits } from "../model/limits.ts";
import type { InstantSample, InstantVector, RuleQueryFn } from "../rules/types.ts";
import type { TenantStore } from "../storage/interface.ts";
import type { ReadBackend } from "./backend-read/read-backend.ts";
import { parseSampleValue } from "./json.ts";
import { checkSeriesCount } from "./limits.ts";
import type { QueryPool } from "./query-pool/pool.ts";

/** What {@link poolRuleQuery} runs queries with; all owned by the caller. */
export interface RuleQueryDeps {
  readonly pool: QueryPool;
  readonly store: TenantStore;
  readonly limitsFor: (org: string) => OrgLimits;
}

type WireValue = readonly [number, string];
type WireData =
  | { resultType: "vector"; result: { metric: Record<string, string>; value?: WireValue; histogram?: unknown }[] }
  | { resultType: "scalar"; result: WireValue }
  | { resultType: "string" | "matrix" };
type WireBody = { status: "success"; data: WireData } | { status: "error"; errorType: string; error: string };

function sampleOf(metric: Record<string, string>, [t, v]: WireValue): InstantSample {
  return { labels: Labels.fromRecord(metric), t: Math.round(t * 1000), v: parseSampleValue(v) };
}

/** Decodes the API's JSON answer of an instant query; throws `execution` for a string or matrix result. */
export function decodeInstantAnswer(body: readonly Uint8Array[]): InstantVector {
  const parsed = JSON.parse(Buffer.concat(body).toString("utf8")) as WireBody;
  if (parsed.status === "error") throw new ContrailError("execution", parsed.error);
  return instantVectorOf(parsed.data);
}

// The instant vector of a query answer's `data`; throws `execution` for a string or matrix result.
function instantVectorOf(data: WireData): InstantVector {
  switch (data.resultType) {
    case "vector":
      return data.result.map((s) => {
        if (s.value === undefined) {
          throw new ContrailError(
            "execution",
            `rule expression gave a native histogram for ${JSON.stringify(s.metric)}: rules evaluate to floats only`,
          );
        }
        return sampleOf(s.metric, s.value);
      });
    case "scalar":
      return [sampleOf({}, data.result)];
    case "string":
    case "matrix":
      throw new ContrailError(
        "execution",
        `rule expression must give an instant vector or a scalar, got a ${data.resultType}`,
      );
  }
}

/** The query seam of the rule evaluator: instant queries of `org` at `evalTimeMs` on the query pool. */
export function poolRuleQuery(deps: RuleQueryDeps): RuleQueryFn {
  return async (org, expr, evalTimeMs, signal) => {
    const limits = deps.limitsFor(org);
    const body = await deps.pool.run(ruleQuerySpec(expr, evalTimeMs, limits), {
      org,
      maxConcurrent: limits.maxConcurrentQueries,
      maxQueued: limits.maxQueuedQueries,
      queryable: deps.store.queryable(org),
      signal,
    });
    return decodeInstantAnswer(body);
  };
}

/** The instant query of a rule, with an org's limits: the same budget and series limit on the pool and a backend. */
function ruleQuerySpec(expr: string, evalTimeMs: number, limits: OrgLimits) {
  return {
    query: expr,
    at: { kind: "instant", time: evalTimeMs } as const,
    timeoutMs: Math.min(limits.queryTimeoutMs, limits.maxRuleGroupEvaluationMs),
    maxSamples: limits.maxSamples,
    render: { limit: 0, maxSeries: limits.maxSeries, stats: "" },
  };
}

/**
 * The query seam of the rule evaluator with remote storage: instant queries of `org` at `evalTimeMs` on `backend`
 * (owned by the caller), confined to the org and with the org label removed from the results, as the API's.
 */
export function backendRuleQuery(backend: ReadBackend, limitsFor: (org: string) => OrgLimits): RuleQueryFn {
  return async (org, expr, evalTimeMs, signal) => {
    const limits = limitsFor(org);
    const admission = { maxConcurrent: limits.maxConcurrentQueries, maxQueued: limits.maxQueuedQueries };
    const { data } = await backend.queryData(org, ruleQuerySpec(expr, evalTimeMs, limits), admission, signal);
    const vector = instantVectorOf(data as WireData);
    checkSeriesCount(vector.length, limits);
    return vector;
  };
}
