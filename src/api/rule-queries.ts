// The rule evaluator's query seam on a metrics node: each instant query of a rule runs on the API's query pool, in
// the org's fair queue beside its dashboard queries and under its limits, never on the event loop that accepts
// writes and runs scrapes. The pool answers with the API's JSON body; it is decoded back into an instant vector.

import { ContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import type { OrgLimits } from "../model/limits.ts";
import type { InstantSample, InstantVector, RuleQueryFn } from "../rules/types.ts";
import type { TenantStore } from "../storage/interface.ts";
import type { QueryPool } from "./query-pool/pool.ts";

/** What {@link poolRuleQuery} runs queries with; all owned by the caller. */
export interface RuleQueryDeps {
  readonly pool: QueryPool;
  readonly store: TenantStore;
  readonly limitsFor: (org: string) => OrgLimits;
}

type WireValue = readonly [number, string];
type WireBody =
  | {
      status: "success";
      data: { resultType: "vector"; result: { metric: Record<string, string>; value: WireValue }[] };
    }
  | { status: "success"; data: { resultType: "scalar"; result: WireValue } }
  | { status: "success"; data: { resultType: "string" | "matrix" } }
  | { status: "error"; errorType: string; error: string };

// A sample value as the API writes it: Go's float formatting, with "+Inf", "-Inf" and "NaN" spelled out.
function sampleValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}

function sampleOf(metric: Record<string, string>, [t, v]: WireValue): InstantSample {
  return { labels: Labels.fromRecord(metric), t: Math.round(t * 1000), v: sampleValue(v) };
}

/** Decodes the API's JSON answer of an instant query; throws `execution` for a string or matrix result. */
export function decodeInstantAnswer(body: readonly Uint8Array[]): InstantVector {
  const parsed = JSON.parse(Buffer.concat(body).toString("utf8")) as WireBody;
  if (parsed.status === "error") throw new ContrailError("execution", parsed.error);
  const data = parsed.data;
  switch (data.resultType) {
    case "vector":
      return data.result.map((s) => sampleOf(s.metric, s.value));
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
    const body = await deps.pool.run(
      {
        query: expr,
        at: { kind: "instant", time: evalTimeMs },
        timeoutMs: Math.min(limits.queryTimeoutMs, limits.maxRuleGroupEvaluationMs),
        maxSamples: limits.maxSamples,
        render: { limit: 0, maxSeries: limits.maxSeries, stats: "" },
      },
      {
        org,
        maxConcurrent: limits.maxConcurrentQueries,
        maxQueued: limits.maxQueuedQueries,
        queryable: deps.store.queryable(org),
        signal,
      },
    );
    return decodeInstantAnswer(body);
  };
}
