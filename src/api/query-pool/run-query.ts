// What a job's evaluation is, wherever it runs (a query worker, or the main thread for a job small enough to
// evaluate there, inline.ts): the spec evaluated over a Queryable by an engine, and the finished result rendered
// as the spec asks. One code path for both, so an answer, its stats, warnings and errors do not depend on where
// the job ran.

import { ContrailError } from "../../model/errors.ts";
import type { Engine, QueryResult } from "../../promql/engine/index.ts";
import type { Queryable } from "../../storage/interface.ts";
import { successJson } from "../json.ts";
import { queryAnswer } from "../query-answer.ts";
import type { JsonRender, QuerySpec } from "./protocol.ts";
import { encodeSampleAnswer } from "./sample-answer.ts";

/** Answer bodies are cut into chunks of about this many UTF-16 units before they are encoded. */
const BODY_CHUNK = 1024 * 1024;
/**
 * Bytes of the scratch a chunk of an answer is encoded into before it is copied out at its size: TextEncoder's
 * `encode` measured the text, allocated its result and wrote it in C++ at several times the cost of `encodeInto` a
 * buffer already there plus one copy (a 10-series hour at 15 s, 53 KB: 150 µs of 1.3 ms of evaluation and rendering).
 */
const SCRATCH_BYTES = 256 * 1024;
const encoder = new TextEncoder();
let scratch: Uint8Array | null = null;

/** `text` in UTF-8, in a new array the caller owns. */
function utf8(text: string): Uint8Array {
  if (text.length > SCRATCH_BYTES) return encoder.encode(text);
  scratch ??= new Uint8Array(SCRATCH_BYTES);
  const done = encoder.encodeInto(text, scratch);
  // Text that does not fit (characters of several bytes) is encoded again on its own.
  return done.read === text.length ? scratch.slice(0, done.written) : encoder.encode(text);
}

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
  const answer = queryAnswer(result, {
    limit: render.limit,
    maxSeries: render.maxSeries,
    stats: render.stats,
    queueSeconds: ctx.queueSeconds,
    evalSeconds: ctx.evalSeconds,
  });
  if (answer.kind !== "data") throw new ContrailError("internal", "a query answer must be JSON data");
  const body: Uint8Array[] = [];
  let pending = "";
  // JSON.stringify escapes lone surrogates, so the text is well-formed and its UTF-8 encoding loses nothing.
  for (const piece of successJson(answer.data, answer)) {
    if (ctx.watch.cancelled()) ctx.watch.throwCancelled();
    pending += piece;
    if (pending.length >= BODY_CHUNK) {
      body.push(utf8(pending));
      pending = "";
    }
  }
  if (pending !== "") body.push(utf8(pending));
  return body;
}
