// What a job's evaluation is, wherever it runs (a query worker, or the main thread for a job small enough to
// evaluate there, inline.ts): the spec evaluated over a Queryable by an engine, and the finished result rendered
// as the spec asks. One code path for both, so an answer, its stats, warnings and errors do not depend on where
// the job ran.

import type { Engine, QueryResult } from "../../promql/engine/index.ts";
import type { Queryable } from "../../storage/interface.ts";
import { queryAnswerBytes } from "../query-answer.ts";
import type { JsonRender, QuerySpec } from "./protocol.ts";
import { encodeSampleAnswer } from "./sample-answer.ts";

/** How a running job is watched: its stop flag, and what to throw once it is raised. */
export interface JobWatch {
  /** True once the job must stop. */
  readonly cancelled: () => boolean;
  /** Throws the error of the stop (query_canceled or query_timeout). */
  readonly throwCancelled: () => never;
}

/** Evaluates `spec` over `queryable` within `remainingMs` (ms), stopping when `watch` says so. */
export function evaluateSpec(
  engine: Engine,
  queryable: Queryable,
  spec: QuerySpec,
  remainingMs: number,
  watch: JobWatch,
): Promise<QueryResult> {
  const opts = {
    timeout: remainingMs,
    lookbackDelta: spec.lookbackDelta,
    maxSamples: spec.maxSamples,
    cancelled: () => watch.cancelled(),
  };
  const at = spec.at;
  if (at.kind === "instant") return engine.instantQuery(queryable, spec.query, at.time, opts);
  return engine.rangeQuery(queryable, spec.query, { start: at.start, end: at.end, step: at.step }, opts);
}

/**
 * The answer of a finished job as `spec.render` asks, in chunks the caller owns: the rules' samples, or the API's
 * JSON in UTF-8 with the job's queue and evaluation times (seconds) for `stats`.
 */
export function renderResult(
  result: QueryResult,
  spec: QuerySpec,
  ctx: { readonly queueSeconds: number; readonly evalSeconds: number; readonly watch: JobWatch },
): Uint8Array[] {
  const render = spec.render;
  switch (render.kind) {
    case "samples":
      return [encodeSampleAnswer(result.value, render.maxSeries)];
    case "json":
      return jsonBody(result, render, ctx);
  }
}

// The API's JSON answer of `result`, UTF-8 in chunks; stops when the job's stop flag is raised.
function jsonBody(
  result: QueryResult,
  render: JsonRender,
  ctx: { readonly queueSeconds: number; readonly evalSeconds: number; readonly watch: JobWatch },
): Uint8Array[] {
  const { watch } = ctx;
  const opts = {
    limit: render.limit,
    maxSeries: render.maxSeries,
    stats: render.stats,
    queueSeconds: ctx.queueSeconds,
    evalSeconds: ctx.evalSeconds,
  };
  return queryAnswerBytes(result, opts, () => {
    if (watch.cancelled()) watch.throwCancelled();
  });
}
