// Runs parsed test files against a fresh store (in memory unless the caller gives others) and an engine set up like the reference runner's
// (lookback 5m, at most 10000 samples per query, 100 s timeout, 1m default subquery step, delayed name removal).
// Every instant eval is also re-run with its selectors pinned by `@` at other evaluation times, and as a range
// query around its time; each of those runs must give the expected result too.

import { isContrailError } from "../../model/errors.ts";
import { rejectionError } from "../../storage/commit.ts";
import type { Appendable, Queryable } from "../../storage/interface.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { Engine, type EngineOptions, type QueryResult, type VectorSample } from "../engine/index.ts";
import type { Expr } from "../parser/ast.ts";
import { exprToString, type ParseOptions, parseExpr } from "../parser/index.ts";
import { atVariants } from "./at-variants.ts";
import { checkAnnotations, checkExpectedFailure, checkMatrixSorted, compareResult, compareVector } from "./compare.ts";
import { type EvalCommand, expectsFailure, expectsOrder, type LoadCommand, parseTestFile } from "./dsl.ts";
import { NhcbBuilder } from "./histograms.ts";
import { type EvalOutcome, type FileProblem, type FileResult, renderExpected, renderValue } from "./report.ts";

/** The parser features the reference runner turns on (Prometheus's TestParserOpts). */
export const TEST_PARSER_OPTIONS: ParseOptions = {
  experimentalFunctions: true,
  durationExpressions: true,
  extendedRangeSelectors: true,
  binopFillModifiers: true,
};

/** The engine settings of the reference runner (Prometheus's NewTestEngine). */
export const TEST_ENGINE_OPTIONS: EngineOptions = {
  lookbackDelta: 300_000,
  maxSamples: 10_000,
  timeout: 100_000,
  noStepSubqueryInterval: 60_000,
  enableDelayedNameRemoval: true,
  parserOptions: TEST_PARSER_OPTIONS,
};

// Queries whose value depends on the query's own range are not re-run in range mode.
const QUERY_CONTEXT_FUNCS = /(start|end|range|step)\(\)/;

const MINUTE = 60_000;

/** The part of the engine the runner uses. */
export type QueryEngine = Pick<Engine, "instantQuery" | "rangeQuery">;

/** A store a test file loads its data into and is queried over; `close` (if any) when the runner is done with it. */
export type TestStore = Queryable & Appendable & { close?(): void };

/** Runs test files; one runner may run many files (one after the other; each file gets its own store). */
export class TestRunner {
  private readonly engine: QueryEngine;
  private readonly newStore: () => TestStore;

  /**
   * Uses `engine` when given, else an engine with TEST_ENGINE_OPTIONS; a new store from `store` for every file and
   * every `clear`, else an in-memory one.
   */
  constructor(opts: { engine?: QueryEngine; store?: () => TestStore } = {}) {
    this.engine = opts.engine ?? new Engine(TEST_ENGINE_OPTIONS);
    this.newStore = opts.store ?? (() => new MemoryStore());
  }

  /** Parses and runs one file; `file` is the name used in reports. Never throws for problems in the file. */
  async runFile(file: string, text: string): Promise<FileResult> {
    const parsed = parseTestFile(text);
    const problems: FileProblem[] = parsed.errors.map((e) => ({
      line: e.line,
      kind: "syntax",
      message: `syntax error: ${e.message}`,
    }));
    const evals: EvalOutcome[] = [];
    const run = new FileRun(this.engine, this.newStore);
    try {
      for (const cmd of parsed.commands) {
        switch (cmd.kind) {
          case "clear":
            run.clear();
            break;
          case "load": {
            const err = run.load(cmd);
            if (err !== null) problems.push({ line: cmd.line, kind: "load", message: `load failed: ${err}` });
            break;
          }
          case "eval":
            evals.push(await run.eval(cmd));
            break;
        }
      }
    } finally {
      run.close();
    }
    problems.sort((a, b) => a.line - b.line);
    return { file, evals, problems };
  }
}

// A failed check: the reason, what the failing query returned (when it returned something), and for a crash the
// innermost stack frames.
interface Failure {
  readonly reason: string;
  readonly got: readonly string[] | null;
  readonly trace: readonly string[];
}

function failure(reason: string, got: readonly string[] | null = null, trace: readonly string[] = []): Failure {
  return { reason, got, trace };
}

// The first stack frames of the error that caused `err` (an engine crash), for the failure report.
function stackTop(err: unknown): string[] {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  if (!(cause instanceof Error) || cause.stack === undefined) return [];
  return cause.stack
    .split("\n")
    .filter((l) => l.trimStart().startsWith("at "))
    .slice(0, 3)
    .map((l) => l.trim());
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// The state of one file's run: its store.
class FileRun {
  private readonly engine: QueryEngine;
  private readonly newStore: () => TestStore;
  private store: TestStore;

  constructor(engine: QueryEngine, newStore: () => TestStore) {
    this.engine = engine;
    this.newStore = newStore;
    this.store = newStore();
  }

  clear(): void {
    this.store.close?.();
    this.store = this.newStore();
  }

  close(): void {
    this.store.close?.();
  }

  // Appends the block's samples (and for load_with_nhcb the histograms built from classic histogram series);
  // returns the storage error, if any. Rejected samples (out of order, duplicate) fail the load; the accepted rest
  // of the block stays loaded.
  load(cmd: LoadCommand): string | null {
    const app = this.store.appender();
    try {
      const nhcb = cmd.withNhcb ? new NhcbBuilder() : null;
      for (const s of cmd.series) {
        const floats: { t: number; v: number }[] = [];
        for (let i = 0; i < s.values.length; i++) {
          const v = s.values[i];
          const t = i * cmd.interval;
          if (v.kind === "float") {
            app.append(s.labels, t, v.value);
            floats.push({ t, v: v.value });
          } else if (v.kind === "histogram") {
            if (app.appendHistogram === undefined) throw new Error("the store keeps no native histograms");
            app.appendHistogram(s.labels, t, v.value);
          }
        }
        nhcb?.add(s.labels, floats);
      }
      for (const { labels, samples } of nhcb?.build() ?? []) {
        for (const { t, h } of samples) app.appendHistogram?.(labels, t, h);
      }
    } catch (err) {
      app.rollback();
      return errorMessage(err);
    }
    try {
      return rejectionError(app.commit())?.message ?? null;
    } catch (err) {
      return errorMessage(err);
    }
  }

  async eval(ev: EvalCommand): Promise<EvalOutcome> {
    const base = { line: ev.line, query: ev.query };
    if (ev.syntaxError !== null) return { ...base, status: "failed", detail: [`syntax error: ${ev.syntaxError}`] };
    let expr: Expr | null = null;
    let parseError: string | null = null;
    try {
      expr = parseExpr(ev.query, TEST_PARSER_OPTIONS);
    } catch (err) {
      parseError = errorMessage(err);
    }
    let f: Failure | null;
    try {
      f = ev.range !== null ? await this.rangeEval(ev) : await this.instantEval(ev, expr, parseError);
    } catch (err) {
      f = failure(`runner error: ${errorMessage(err)}`, null, stackTop(err));
    }
    if (f === null) return { ...base, status: "passed", detail: [] };
    const detail = [f.reason, ...f.trace, ...renderExpected(ev).map((l) => `expected: ${l}`)];
    if (f.got !== null) detail.push(...f.got.map((l) => `got:      ${l}`));
    return { ...base, status: "failed", detail };
  }

  // Runs a query; a ContrailError becomes `{ error }`, any other exception (an engine bug) propagates.
  private async query(run: () => Promise<QueryResult>): Promise<{ result: QueryResult } | { error: string }> {
    try {
      return { result: await run() };
    } catch (err) {
      if (isContrailError(err)) return { error: err.message };
      throw new Error(`engine threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, {
        cause: err,
      });
    }
  }

  // Shared handling of an eval's main query outcome: expected failures, annotations, the result itself.
  private checkOutcome(
    ev: EvalCommand,
    outcome: { result: QueryResult } | { error: string },
    label: string,
  ): Failure | null {
    if ("error" in outcome) {
      if (!expectsFailure(ev)) return failure(`${label}error evaluating query: ${outcome.error}`);
      const f = checkExpectedFailure(ev, outcome.error);
      return f === null ? null : failure(`${label}${f}`, [`error ${JSON.stringify(outcome.error)}`]);
    }
    const got = renderValue(outcome.result.value);
    if (expectsFailure(ev)) return failure(`${label}expected error evaluating query but got none`, got);
    const anno = checkAnnotations(ev, outcome.result);
    if (anno !== null) return failure(`${label}${anno}`, got);
    const diff = compareResult(ev, outcome.result.value);
    return diff === null ? null : failure(`${label}${diff}`, got);
  }

  private async rangeEval(ev: EvalCommand): Promise<Failure | null> {
    const r = ev.range!;
    const outcome = await this.query(() =>
      this.engine.rangeQuery(this.store, ev.query, { start: r.start, end: r.end, step: r.step }),
    );
    return this.checkOutcome(ev, outcome, "");
  }

  private async instantEval(ev: EvalCommand, expr: Expr | null, parseError: string | null): Promise<Failure | null> {
    const runs = [{ query: ev.query, time: ev.time, label: "" }];
    // Without a parse tree no @ variants can be built; the main query then reports the parse error itself.
    if (expr !== null) {
      for (const v of atVariants(expr, ev.time, exprToString)) {
        runs.push({ ...v, label: `[@ variant at ${v.time / 1000}s: ${v.query}] ` });
      }
    } else if (!expectsFailure(ev)) {
      return failure(`parse error: ${parseError}`);
    }
    for (const run of runs) {
      const f = await this.instantRun(ev, run.query, run.time, run.label);
      if (f !== null) return f;
    }
    return null;
  }

  private async instantRun(ev: EvalCommand, query: string, time: number, label: string): Promise<Failure | null> {
    const outcome = await this.query(() => this.engine.instantQuery(this.store, query, time));
    const f = this.checkOutcome(ev, outcome, label);
    if (f !== null || "error" in outcome) return f;
    if (ev.excludeFromRangeQuery || QUERY_CONTEXT_FUNCS.test(query)) return null;

    // Range mode: the middle step of t-1m..t+1m must equal the instant result.
    const rlabel = `${label}[range mode] `;
    const ranged = await this.query(() =>
      this.engine.rangeQuery(this.store, query, { start: time - MINUTE, end: time + MINUTE, step: MINUTE }),
    );
    if ("error" in ranged) return failure(`${rlabel}error evaluating query in range mode: ${ranged.error}`);
    if (expectsOrder(ev)) return null;
    const value = ranged.result.value;
    const got = renderValue(value);
    if (value.type !== "matrix") return failure(`${rlabel}range query returned a ${value.type}`, got);
    const unsorted = checkMatrixSorted(value.series);
    if (unsorted !== null) return failure(`${rlabel}${unsorted}`, got);
    const samples: VectorSample[] = [];
    for (const s of value.series) {
      for (let i = 0; i < s.t.length; i++) {
        if (s.t[i] === time) {
          const h = s.h?.[i];
          samples.push(
            h === undefined ? { labels: s.labels, t: time, v: s.v[i] } : { labels: s.labels, t: time, v: 0, h },
          );
          break;
        }
      }
    }
    let diff: string | null;
    if (outcome.result.value.type === "scalar") {
      if (samples.length === 0) return failure(`${rlabel}no point at the middle step for a scalar query`, got);
      diff = compareResult(ev, { type: "scalar", t: time, v: samples[0].v });
    } else {
      diff = compareVector(ev, samples);
    }
    return diff === null ? null : failure(`${rlabel}${diff}`, got);
  }
}
