// PromQL endpoints: `query`, `query_range`, `query_exemplars`, `format_query`, `parse_query`. Parameters, checks and
// error texts follow Prometheus's API; the org's limits bound the query's time, samples, length and series.

import { ContrailError, isContrailError } from "../model/errors.ts";
import { evalTimeProblem, type QueryOptions, type QueryResult, type QueryValue } from "../promql/engine/index.ts";
import { parseExpr, prettyPrint } from "../promql/parser/index.ts";
import { type Answer, capNotes, dataAnswer, type OrgRequest } from "./context.ts";
import { type QueryStatsJson, queryDataJson } from "./json.ts";
import { checkQueryLength, checkSeriesCount, type OrgLimits } from "./limits.ts";
import {
  type Form,
  invalidParam,
  limitParam,
  MAX_TIME_MS,
  MIN_TIME_MS,
  parseDurationParam,
  parseTime,
  timeParam,
} from "./params.ts";
import { astJson } from "./parse-query.ts";

/** Most points a range query may return per series, as in Prometheus. */
const MAX_POINTS = 11_000;

// The engine options of one query: the org's limits, narrowed by the `timeout` and `lookback_delta` parameters.
function queryOptions(req: OrgRequest): QueryOptions {
  const { form, limits } = req;
  let timeout = limits.queryTimeoutMs;
  const t = form.get("timeout");
  if (t !== "") {
    let ms: number;
    try {
      ms = parseDurationParam(t);
    } catch (err) {
      throw invalidParam("timeout", err);
    }
    if (ms > 0) timeout = Math.min(timeout, ms);
  }
  let lookbackDelta: number | undefined;
  const lb = form.get("lookback_delta");
  if (lb !== "") {
    try {
      lookbackDelta = parseDurationParam(lb);
    } catch (err) {
      throw new ContrailError("bad_data", `error parsing lookback delta duration: ${(err as Error).message}`);
    }
  }
  return { timeout, lookbackDelta, maxSamples: limits.maxSamples, signal: req.signal };
}

// Errors found before evaluation (syntax, types, bad steps) are the query parameter's fault: 400 with Prometheus's
// prefix. Evaluation errors keep their own code.
function queryError(err: unknown): unknown {
  if (
    isContrailError(err, "parse_error") ||
    isContrailError(err, "bad_data") ||
    isContrailError(err, "invalid_regex")
  ) {
    return invalidParam("query", err);
  }
  return err;
}

function resultSeries(v: QueryValue): number {
  switch (v.type) {
    case "vector":
      return v.samples.length;
    case "matrix":
      return v.series.length;
    case "scalar":
    case "string":
      return 0;
  }
}

function truncate(v: QueryValue, limit: number): QueryValue {
  switch (v.type) {
    case "vector":
      return { type: "vector", samples: v.samples.slice(0, limit) };
    case "matrix":
      return { type: "matrix", series: v.series.slice(0, limit) };
    case "scalar":
    case "string":
      return v;
  }
}

function statsParamWarning(stats: string): string | null {
  if (stats === "" || stats === "true" || stats === "all") return null;
  return `value ${JSON.stringify(stats)} for parameter "stats" is deprecated and will be rejected in the next major release, use "true" or "all"`;
}

// The answer of a finished query: truncated to `limit`, checked against the series limit, with stats if asked.
function queryAnswer(
  result: QueryResult,
  opts: { form: Form; limits: OrgLimits; limit: number; startedAt: number },
): Answer {
  const warnings = capNotes(result.warnings, "warning");
  let value = result.value;
  if (opts.limit > 0 && resultSeries(value) > opts.limit) {
    value = truncate(value, opts.limit);
    warnings.push("results truncated due to limit");
  }
  checkSeriesCount(resultSeries(value), opts.limits);
  const statsParam = opts.form.get("stats");
  const warn = statsParamWarning(statsParam);
  if (warn !== null) warnings.push(warn);
  let stats: QueryStatsJson | null = null;
  if (statsParam !== "") {
    const seconds = (performance.now() - opts.startedAt) / 1000;
    stats = {
      timings: {
        evalTotalTime: seconds,
        resultSortTime: 0,
        queryPreparationTime: 0,
        innerEvalTime: seconds,
        execQueueTime: 0,
        execTotalTime: seconds,
      },
      samples: { totalQueryableSamples: result.stats.samplesLoaded, peakSamples: result.stats.peakSamples },
    };
  }
  return { kind: "data", data: queryDataJson(value, stats), warnings, infos: capNotes(result.infos, "info") };
}

// Throws bad_data naming parameter `name` when `t` (ms) is a time the engine cannot evaluate at.
function checkEvalParam(name: string, t: number): void {
  const problem = evalTimeProblem(t);
  if (problem !== null) throw invalidParam(name, problem);
}

/** `GET|POST /api/v1/query`: an instant query at `time` (default: now). */
export async function instantQuery(req: OrgRequest): Promise<Answer> {
  const { form, limits } = req;
  const limit = limitParam(form);
  const time = timeParam(form, "time", req.now);
  checkEvalParam("time", time);
  const opts = queryOptions(req);
  const query = form.get("query");
  checkQueryLength(query, limits);
  const startedAt = performance.now();
  let result: QueryResult;
  try {
    result = await req.engine.instantQuery(req.store.queryable(req.org), query, time, opts);
  } catch (err) {
    throw queryError(err);
  }
  return queryAnswer(result, { form, limits, limit, startedAt });
}

function rangeTime(form: Form, name: string): number {
  try {
    return parseTime(form.get(name));
  } catch (err) {
    throw invalidParam(name, err);
  }
}

/** `GET|POST /api/v1/query_range`: a range query over [start, end] at `step`. */
export async function rangeQuery(req: OrgRequest): Promise<Answer> {
  const { form, limits } = req;
  const limit = limitParam(form);
  const start = rangeTime(form, "start");
  const end = rangeTime(form, "end");
  if (end < start) throw invalidParam("end", "end timestamp must not be before start time");
  checkEvalParam("start", start);
  checkEvalParam("end", end);
  let step: number;
  try {
    step = parseDurationParam(form.get("step"));
  } catch (err) {
    throw invalidParam("step", err);
  }
  if (step <= 0) {
    throw invalidParam(
      "step",
      "zero or negative query resolution step widths are not accepted. Try a positive integer",
    );
  }
  if (Math.floor((end - start) / step) > MAX_POINTS) {
    throw new ContrailError(
      "bad_data",
      "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
    );
  }
  const opts = queryOptions(req);
  const query = form.get("query");
  checkQueryLength(query, limits);
  const startedAt = performance.now();
  let result: QueryResult;
  try {
    result = await req.engine.rangeQuery(req.store.queryable(req.org), query, { start, end, step }, opts);
  } catch (err) {
    throw queryError(err);
  }
  return queryAnswer(result, { form, limits, limit, startedAt });
}

/** `GET|POST /api/v1/query_exemplars`: exemplars are not stored yet, so a valid query finds none. */
export function queryExemplars(req: OrgRequest): Answer {
  const { form } = req;
  const start = timeParam(form, "start", MIN_TIME_MS);
  const end = timeParam(form, "end", MAX_TIME_MS);
  if (end < start) throw new ContrailError("bad_data", "end timestamp must not be before start timestamp");
  const query = form.get("query");
  checkQueryLength(query, req.limits);
  parseExpr(query);
  return dataAnswer("[]");
}

function parsedQuery(req: OrgRequest) {
  const query = req.form.get("query");
  checkQueryLength(query, req.limits);
  try {
    return parseExpr(query);
  } catch (err) {
    throw invalidParam("query", err);
  }
}

/** Longest `format_query` answer in characters: deep nesting indents quadratically, so the output is bounded. */
const MAX_FORMATTED_LENGTH = 8 * 1024 * 1024;

/** `GET|POST /api/v1/format_query`: the query prettified over lines, as Prometheus's `Pretty(0)`. */
export function formatQuery(req: OrgRequest): Answer {
  return dataAnswer(JSON.stringify(prettyPrint(parsedQuery(req), { maxOutputLength: MAX_FORMATTED_LENGTH })));
}

/** `GET|POST /api/v1/parse_query`: the query's syntax tree as JSON. */
export function parseQuery(req: OrgRequest): Answer {
  return dataAnswer(JSON.stringify(astJson(parsedQuery(req))));
}
