// The rule evaluator's query seam on a metrics node: each instant query of a rule runs on the API's query pool, in
// the org's fair queue beside its dashboard queries and under its limits, never on the event loop that accepts
// writes and runs scrapes. The pool answers with whole samples (query-pool/sample-answer.ts): native histograms
// with every field and floats with their bits, so a rule records exactly what the engine computed.
// With remote storage the queries go to the backend instead (`backendRuleQuery`), confined to the org as the API's;
// backends answer JSON, which has no room for a histogram's schema, spans and reset hint, so histogram results are
// refused there by name.

import { ContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import type { OrgLimits } from "../model/limits.ts";
import type { InstantSample, InstantVector, RuleQueryFn } from "../rules/types.ts";
import type { TenantStore } from "../storage/interface.ts";
import type { ReadBackend } from "./backend-read/read-backend.ts";
import { parseSampleValue } from "./json.ts";
import { checkSeriesCount } from "./limits.ts";
import type { QueryPool } from "./query-pool/pool.ts";
import type { QuerySpec, RenderOptions } from "./query-pool/protocol.ts";
import { decodeSampleAnswer } from "./query-pool/sample-answer.ts";

/** What {@link poolRuleQuery} runs queries with; all owned by the caller. */
export interface RuleQueryDeps {
  readonly pool: QueryPool;
  readonly store: TenantStore;
  readonly limitsFor: (org: string) => OrgLimits;
}

type WireValue = readonly [number, string];
/** The `data` of a backend's JSON answer to an instant query. */
export type WireData =
  | { resultType: "vector"; result: { metric: Record<string, string>; value?: WireValue; histogram?: unknown }[] }
  | { resultType: "scalar"; result: WireValue }
  | { resultType: "string" | "matrix" };

function sampleOf(metric: Record<string, string>, [t, v]: WireValue): InstantSample {
  return { labels: Labels.fromRecord(metric), t: Math.round(t * 1000), v: parseSampleValue(v) };
}

/**
 * The instant vector of a backend's JSON answer `data`; throws `execution` for a string or matrix result and for a
 * native histogram, which that JSON cannot carry whole.
 */
export function backendVectorOf(data: WireData): InstantVector {
  switch (data.resultType) {
    case "vector":
      return data.result.map((s) => {
        if (s.value === undefined) {
          throw new ContrailError(
            "execution",
            `rule expression gave a native histogram for ${Labels.fromRecord(s.metric).toString()}: with remote ` +
              "storage the backend answers in JSON, which has no histogram schema, bucket spans or counter reset " +
              "hint, so the histogram can be neither recorded nor alerted on; wrap it in a function that gives " +
              "floats (histogram_count, histogram_sum, histogram_quantile...)",
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
    const render: RenderOptions = { kind: "samples", maxSeries: limits.maxSeries };
    const body = await deps.pool.run(ruleQuerySpec(expr, evalTimeMs, limits, render), {
      org,
      maxConcurrent: limits.maxConcurrentQueries,
      maxQueued: limits.maxQueuedQueries,
      queryable: deps.store.queryable(org),
      signal,
    });
    return decodeSampleAnswer(body);
  };
}

/** The instant query of a rule, with an org's limits: the same budget and series limit on the pool and a backend. */
function ruleQuerySpec(expr: string, evalTimeMs: number, limits: OrgLimits, render: RenderOptions): QuerySpec {
  return {
    query: expr,
    at: { kind: "instant", time: evalTimeMs },
    timeoutMs: Math.min(limits.queryTimeoutMs, limits.maxRuleGroupEvaluationMs),
    maxSamples: limits.maxSamples,
    render,
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
    const render: RenderOptions = { kind: "json", limit: 0, maxSeries: limits.maxSeries, stats: "" };
    const spec = ruleQuerySpec(expr, evalTimeMs, limits, render);
    const { data } = await backend.queryData(org, spec, admission, signal);
    const vector = backendVectorOf(data as WireData);
    checkSeriesCount(vector.length, limits);
    return vector;
  };
}
