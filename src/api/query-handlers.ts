// PromQL endpoints: `query`, `query_range`, `query_exemplars`, `format_query`, `parse_query`. Parameters, checks and
// error texts follow Prometheus's API; the org's limits bound the query's time, samples, length and series.

import { ContrailError, isContrailError } from "../model/errors.ts";
import { evalTimeProblem } from "../promql/engine/index.ts";
import { parseExpr, prettyPrint } from "../promql/parser/index.ts";
import { type Answer, dataAnswer, type OrgRequest } from "./context.ts";
import { checkQueryLength } from "./limits.ts";
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
import type { JsonRender, QueryAt, QuerySpec } from "./query-pool/protocol.ts";

/** Most points a range query may return per series, as in Prometheus. */
const MAX_POINTS = 11_000;

/** The engine settings of one query. */
type EngineLimits = Pick<QuerySpec, "timeoutMs" | "lookbackDelta" | "maxSamples">;

// The engine options of one query: the org's limits, narrowed by the `timeout` and `lookback_delta` parameters.
function queryOptions(req: OrgRequest): EngineLimits {
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
  return { timeoutMs: timeout, lookbackDelta, maxSamples: limits.maxSamples };
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

// Checks the query text, then evaluates it on the query pool; errors of the text are the parameter's fault.
async function evaluate(req: OrgRequest, at: QueryAt, opts: EngineLimits & { limit: number }): Promise<Answer> {
  const query = req.form.get("query");
  checkQueryLength(query, req.limits);
  try {
    req.engine.validate(query, { range: at.kind === "range" });
    const { limit, ...engine } = opts;
    const render: JsonRender = { kind: "json", limit, maxSeries: req.limits.maxSeries, stats: req.form.get("stats") };
    return await req.queries({ query, at, ...engine, render });
  } catch (err) {
    throw queryError(err);
  }
}

// Throws bad_data naming parameter `name` when `t` (ms) is a time the engine cannot evaluate at.
function checkEvalParam(name: string, t: number): void {
  const problem = evalTimeProblem(t);
  if (problem !== null) throw invalidParam(name, problem);
}

/** `GET|POST /api/v1/query`: an instant query at `time` (default: now). */
export async function instantQuery(req: OrgRequest): Promise<Answer> {
  const { form } = req;
  const limit = limitParam(form);
  const time = timeParam(form, "time", req.now);
  checkEvalParam("time", time);
  return evaluate(req, { kind: "instant", time }, { ...queryOptions(req), limit });
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
  const { form } = req;
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
  return evaluate(req, { kind: "range", start, end, step }, { ...queryOptions(req), limit });
}

/** `GET|POST /api/v1/query_exemplars`: exemplars are not stored yet, so a valid query finds none. */
export function queryExemplars(req: OrgRequest): Answer {
  const { form } = req;
  const start = timeParam(form, "start", MIN_TIME_MS);
  const end = timeParam(form, "end", MAX_TIME_MS);
  if (end < start) throw new ContrailError("bad_data", "end timestamp must not be before start timestamp");
  const query = form.get("query");
  checkQueryLength(query, req.limits);
  parseExpr(query, API_PARSE_OPTIONS);
  return dataAnswer("[]");
}

/** The query API reads MetricsQL where PromQL has no meaning, as its engine does. */
const API_PARSE_OPTIONS = { metricsql: true } as const;

function parsedQuery(req: OrgRequest) {
  const query = req.form.get("query");
  checkQueryLength(query, req.limits);
  try {
    return parseExpr(query, API_PARSE_OPTIONS);
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
