// The query seam over an in-process PromQL engine: what the metrics node's query workers do for rules, and what
// tests and single-process tools use. A scalar result becomes one unlabelled sample, as Prometheus's rules do;
// native histogram samples pass through with their histogram.

import { ContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import type { Engine } from "../promql/engine/index.ts";
import type { Queryable } from "../storage/interface.ts";
import type { InstantVector, RuleQueryFn } from "./types.ts";

/** A RuleQueryFn running `engine` over each org's Queryable; the engine's own limits apply. */
export function engineQueryFn(engine: Engine, queryableOf: (org: string) => Queryable): RuleQueryFn {
  return async (org, expr, evalTimeMs, signal): Promise<InstantVector> => {
    const { value } = await engine.instantQuery(queryableOf(org), expr, evalTimeMs, { signal });
    switch (value.type) {
      case "vector":
        return value.samples;
      case "scalar":
        return [{ labels: Labels.EMPTY, t: value.t, v: value.v }];
      case "string":
      case "matrix":
        throw new ContrailError("execution", `rule result is a ${value.type}, not an instant vector or scalar`);
    }
  };
}
