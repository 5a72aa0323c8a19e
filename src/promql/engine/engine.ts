// The engine's public surface: instant and range queries against a Queryable, with per-query limits (samples,
// timeout, cancellation), annotations and statistics. Evaluation itself is synchronous.

import { ContrailError, isContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import type { Queryable } from "../../storage/interface.ts";
import type { Expr } from "../parser/ast.ts";
import { exprType } from "../parser/ast.ts";
import { type ParseOptions, parseExpr } from "../parser/index.ts";
import { gridSteps } from "./bounds.ts";
import { QueryContext } from "./context.ts";
import { Evaluator } from "./evaluator.ts";
import { dropMetadata, mergeSameLabelset } from "./labelsets.ts";
import { checkRangeQueryType, type PlanNode, prepare } from "./plan.ts";
import { type PlannedReads, plannedReads } from "./reads.ts";
import type { Matrix } from "./value.ts";

/** Engine-wide settings; all durations in ms. */
export interface EngineOptions {
  /** How far back an instant selector looks for a sample; default 300_000 (5m). */
  lookbackDelta: number;
  /** Max samples held in memory at once by one query; default 50_000_000. */
  maxSamples: number;
  /** Default 120_000. */
  timeout: number;
  /** Step of `[r:]` subqueries; default 60_000. */
  noStepSubqueryInterval: number;
  /** Drop `__name__` only at the end of evaluation (Prometheus 3); default true. */
  enableDelayedNameRemoval: boolean;
  /** Parser features; by default every experimental feature of Prometheus 3 is on. */
  parserOptions?: ParseOptions;
  /** Read queries PromQL rejects as MetricsQL (parser/metricsql.ts); default false. The query API turns it on. */
  metricsql?: boolean;
}

/** Per-query overrides. */
export interface QueryOptions {
  lookbackDelta?: number;
  timeout?: number;
  maxSamples?: number;
  signal?: AbortSignal;
  /** Polled wherever the engine checks its deadline; returning true cancels the query (for callers that cannot
   * use an AbortSignal, such as a worker thread blocked in evaluation). */
  cancelled?: () => boolean;
}

/** A result value: what the expression evaluated to. */
export type QueryValue =
  | { type: "scalar"; t: number; v: number }
  | { type: "string"; t: number; v: string }
  | { type: "vector"; samples: readonly VectorSample[] }
  | { type: "matrix"; series: readonly MatrixSeries[] };

/** One sample of an instant vector (t in ms): a float `v`, or a native histogram `h` (then `v` is 0). */
export interface VectorSample {
  labels: Labels;
  t: number;
  v: number;
  h?: Histogram;
}

/**
 * One series of a matrix: parallel arrays of timestamps (ms) and values, same length. When some points are native
 * histograms, `h` holds them at their index (their `v` is 0); absent when every point is a float.
 */
export interface MatrixSeries {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
  h?: readonly (Histogram | undefined)[];
}

/** A query's value, its annotations rendered as Prometheus renders them, and sample statistics. */
export interface QueryResult {
  value: QueryValue;
  warnings: string[];
  infos: string[];
  stats: { samplesLoaded: number; peakSamples: number };
}

const DEFAULTS: EngineOptions = {
  lookbackDelta: 300_000,
  maxSamples: 50_000_000,
  timeout: 120_000,
  noStepSubqueryInterval: 60_000,
  enableDelayedNameRemoval: true,
  metricsql: false,
  parserOptions: {
    experimentalFunctions: true,
    durationExpressions: true,
    extendedRangeSelectors: true,
    binopFillModifiers: true,
  },
};

/** Where a query is evaluated: [start, end] by step, ms; step 0 for an instant query (start = end). */
export interface Grid {
  start: number;
  end: number;
  step: number;
}

/** Parsed queries kept by an engine: dashboards send the same texts again and again. */
const PARSE_CACHE_SIZE = 512;

/** Evaluates PromQL queries. Keeps no state between queries but a cache of parsed query texts (syntax trees are
 * immutable); one engine serves any number of callers. */
export class Engine {
  private readonly opts: EngineOptions;
  /** Query text to its syntax tree, least recently used first. */
  private readonly parsed = new Map<string, Expr>();

  constructor(opts: Partial<EngineOptions> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  // The syntax tree of `query`, parsed once while it stays in the cache. Errors are not cached.
  private parse(query: string): Expr {
    let expr = this.parsed.get(query);
    if (expr !== undefined) {
      this.parsed.delete(query);
    } else {
      expr = parseExpr(query, { ...this.opts.parserOptions, metricsql: this.opts.metricsql === true });
      if (this.parsed.size >= PARSE_CACHE_SIZE) this.parsed.delete(this.parsed.keys().next().value as string);
    }
    this.parsed.set(query, expr);
    return expr;
  }

  /** The syntax tree of `query` (immutable; kept in the engine's cache of parsed texts). Throws parse_error. */
  syntaxTree(query: string): Expr {
    return this.parse(query);
  }

  /** Throws what `instantQuery` (`range` false) or `rangeQuery` would throw before reading any data: parse_error,
   *  bad_data for a range query of the wrong type. Lets a caller refuse a bad query before queuing it. */
  validate(query: string, opts: { readonly range: boolean }): void {
    const expr = this.parse(query);
    if (opts.range) checkRangeQueryType(exprType(expr));
  }

  /**
   * The storage reads `query` makes when evaluated at `time` (ms, `step` 0) or over [time, end] by `step` with these
   * options (reads.ts); null when it would read nothing or fail first. Throws parse_error.
   */
  plannedReads(
    query: string,
    grid: Grid,
    opts: Pick<QueryOptions, "lookbackDelta" | "maxSamples"> = {},
  ): PlannedReads | null {
    const lookback =
      opts.lookbackDelta !== undefined && opts.lookbackDelta > 0 ? opts.lookbackDelta : this.opts.lookbackDelta;
    return plannedReads(this.parse(query), grid, lookback, opts.maxSamples ?? this.opts.maxSamples);
  }

  /** Evaluates `query` at `time` (ms). Rejects with ContrailError: parse_error, bad_data, execution,
   *  query_timeout, query_canceled, too_many_samples. */
  async instantQuery(queryable: Queryable, query: string, time: number, opts: QueryOptions = {}): Promise<QueryResult> {
    const expr = this.parse(query);
    return this.run(queryable, query, expr, { start: time, end: time, step: 0 }, opts);
  }

  /** Evaluates `query` at start, start+step, ... <= end (ms); the result is always a matrix sorted by labels. */
  async rangeQuery(
    queryable: Queryable,
    query: string,
    range: { start: number; end: number; step: number },
    opts: QueryOptions = {},
  ): Promise<QueryResult> {
    const expr = this.parse(query);
    if (range.step <= 0) {
      throw new ContrailError("bad_data", "zero or negative query resolution step widths are not accepted");
    }
    if (range.end < range.start) throw new ContrailError("bad_data", "end timestamp must not be before start time");
    checkRangeQueryType(exprType(expr));
    return this.run(queryable, query, expr, range, opts);
  }

  private run(queryable: Queryable, query: string, expr: Expr, grid: Grid, opts: QueryOptions): QueryResult {
    const lookback =
      opts.lookbackDelta !== undefined && opts.lookbackDelta > 0 ? opts.lookbackDelta : this.opts.lookbackDelta;
    const timeout = opts.timeout ?? this.opts.timeout;
    const settings = {
      lookbackDelta: lookback,
      maxSamples: opts.maxSamples ?? this.opts.maxSamples,
      deadline: Date.now() + timeout,
      signal: opts.signal,
      cancelled: opts.cancelled,
      noStepSubqueryInterval: this.opts.noStepSubqueryInterval,
      enableDelayedNameRemoval: this.opts.enableDelayedNameRemoval,
    };
    if (opts.signal?.aborted || opts.cancelled?.()) {
      throw new ContrailError("query_canceled", "query was canceled in query execution");
    }
    // Times out of range and grids of more steps than samples are refused before anything is prepared.
    gridSteps(grid.start, grid.end, grid.step === 0 ? 1 : grid.step, settings.maxSamples);
    const prepared = prepare(expr, { start: grid.start, end: grid.end, step: grid.step, lookback });
    const querier = queryable.querier(prepared.mint, prepared.maxt);
    try {
      const q = new QueryContext(querier, settings);
      const value = evaluate(q, prepared.root, grid, exprType(expr));
      const { warnings, infos } = q.annotations.render(query);
      return { value, warnings, infos, stats: { samplesLoaded: q.loaded, peakSamples: q.peak } };
    } catch (err) {
      if (isContrailError(err)) throw err;
      if (err instanceof RangeError && /allocation|array length/i.test(err.message)) {
        throw new ContrailError(
          "too_many_samples",
          "query processing would load too many samples into memory in query execution",
          { cause: err },
        );
      }
      throw new ContrailError("internal", `unexpected error: ${(err as Error).message}`, { cause: err });
    } finally {
      querier.close();
    }
  }
}

// The string a string-typed expression stands for.
function stringValue(n: PlanNode): string {
  if (n.kind === "string") return n.value;
  if (n.kind === "stepInvariant") return stringValue(n.expr);
  throw new ContrailError("internal", "string expression expected");
}

function cleanup(q: QueryContext, m: Matrix): Matrix {
  if (!q.settings.enableDelayedNameRemoval) return m;
  for (const s of m) if (s.dropName) s.labels = dropMetadata(s.labels);
  return mergeSameLabelset(m);
}

function evaluate(q: QueryContext, root: PlanNode, grid: Grid, type: string): QueryValue {
  if (type === "string") return { type: "string", t: grid.start, v: stringValue(root) };
  const instant = grid.step === 0;
  const ev = new Evaluator(q, grid.start, grid.end, instant ? 1 : grid.step);
  const m = cleanup(q, ev.eval(root));
  if (instant) {
    if (type === "scalar")
      return { type: "scalar", t: grid.start, v: m.length > 0 && m[0].n > 0 ? m[0].v[0] : Number.NaN };
    if (type === "vector") {
      return {
        type: "vector",
        samples: m.map((s) => {
          const h = s.h?.[0];
          return h === undefined
            ? { labels: s.labels, t: grid.start, v: s.v[0] }
            : { labels: s.labels, t: grid.start, v: 0, h };
        }),
      };
    }
  }
  q.check();
  const series = m.map((s): MatrixSeries => {
    const out: MatrixSeries = { labels: s.labels, t: s.t.subarray(0, s.n), v: s.v.subarray(0, s.n) };
    if (s.h !== null) {
      s.h.length = s.n;
      out.h = s.h;
    }
    return out;
  });
  series.sort((a, b) => a.labels.compare(b.labels));
  return { type: "matrix", series };
}
