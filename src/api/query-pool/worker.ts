// What a query worker does: takes one job at a time from its parent port, evaluates it with its own engine over
// data the main thread serves page by page, renders the whole answer (the API's JSON, or the rules' samples), and
// posts it back in chunks.
// Cancellation arrives as a shared flag, read by the engine at each check, between pages and between answer pieces.

import { setPriority } from "node:os";
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { ContrailError, isContrailError } from "../../model/errors.ts";
import { Engine, type EngineOptions } from "../../promql/engine/index.ts";
import { MAIN_MERGE_MAX_POINTS } from "./merge-here.ts";
import { PagesQueryable } from "./paged-set.ts";
import type { AssistMessage, DataResponse, JobMessage, SeriesPage, WorkerMessage } from "./protocol.ts";
import { DataChannel, type PageSplit, RemoteQueryable } from "./remote-querier.ts";
import { evaluateSpec, renderResult } from "./run-query.ts";
import { SampleBudget } from "./sample-budget.ts";
import { cutPages, matrixPoints, mergePartial, type PartialResult, shardOp, splitPoint, toPartial } from "./shard.ts";

/** What a worker is started with (`workerData`). */
export interface WorkerInit {
  /** The data port (requests to the main thread); transferred. */
  readonly port: MessagePort;
  /** The shared flags: FLAG_SLOTS Int32 slots (protocol.ts). */
  readonly flags: SharedArrayBuffer;
  /** Settings of the worker's engine. */
  readonly engine: Partial<EngineOptions>;
}

/** Ways into a worker's evaluation, for tests of what the pool does with misbehaving queries. */
export interface WorkerHooks {
  /** Called with the query text, and the job's cancel flag as a function, before the query is evaluated. */
  readonly beforeEvaluate?: (query: string, cancelled: () => boolean) => void;
}

/**
 * Nice value of a query worker's thread (Linux keeps one per thread): queries yield the cores to the threads that
 * accept writes, run scrapes and proxy requests, and share what is left among themselves.
 */
const QUERY_WORKER_NICE = 10;

/** Serves jobs on this worker's parent port until the worker is terminated. Call once, in the worker's entry. */
export function serveQueries(hooks: WorkerHooks = {}): void {
  const parent = parentPort;
  if (parent === null) throw new Error("serveQueries runs in a worker thread only");
  const init = workerData as WorkerInit;
  // Only where the nice value belongs to the thread: elsewhere it would lower the whole process.
  if (process.platform === "linux") setPriority(QUERY_WORKER_NICE);
  const channel = new DataChannel(init.port, new Int32Array(init.flags));
  const engine = new Engine(init.engine);
  // Posted without a transfer list, so this thread never detaches a buffer (docs/architecture.md, "Query threads
  // never detach a buffer").
  const post = (m: WorkerMessage) => parent.postMessage(m);
  const fail = (id: number, err: unknown) => {
    const e = isContrailError(err) ? err : new ContrailError("internal", `unexpected error: ${String(err)}`);
    post({ kind: "failed", id, code: e.code, message: e.message });
  };
  parent.on("message", (job: JobMessage | AssistMessage) => {
    if (job.kind === "assist") {
      void runAssist(job, { engine, channel }).then(
        (partial) => post({ kind: "partial", id: job.id, partial }),
        (err: unknown) => fail(job.id, err),
      );
      return;
    }
    // A null body: the main thread answered the job itself from this worker's result and its assist's.
    void runJob(job, { engine, channel, hooks }).then(
      (body) => {
        if (body !== null) post({ kind: "done", id: job.id, body });
      },
      (err: unknown) => fail(job.id, err),
    );
  });
  post({ kind: "ready" });
}

async function runJob(
  job: JobMessage,
  ctx: { engine: Engine; channel: DataChannel; hooks: WorkerHooks },
): Promise<Uint8Array[] | null> {
  const { engine, channel } = ctx;
  const { spec } = job;
  channel.begin(job.id);
  const started = performance.now();
  ctx.hooks.beforeEvaluate?.(spec.query, () => channel.cancelled());
  const op = spec.at.kind === "range" ? shardOp(engine.syntaxTree(spec.query)) : null;
  // Split by the main thread: its pages are this worker's half, and the other half's assist is named.
  const presplit = job.presplit;
  let assist = presplit?.assist ?? 0;
  const split: PageSplit = (pages) => {
    const cut = splitPoint(pages);
    if (cut === null) return pages;
    const { first, second } = cutPages(pages, cut);
    const res = channel.call({ op: "assist", pages: second });
    if (!res.ok || !("assist" in res)) throw new ContrailError("internal", "an assist answer was expected");
    assist = res.assist;
    return assist === 0 ? [...first, ...res.pages] : first;
  };
  // A dealt half reads its pages as the main thread deals them: it keeps none and splits nothing.
  const queryable = new RemoteQueryable(
    channel,
    new SampleBudget(spec.maxSamples),
    op === null || presplit?.dealt === true ? null : split,
    job.prefetched,
    presplit !== undefined,
  );
  let result = await evaluateSpec(engine, queryable, spec, job.remainingMs, channel);
  if (op !== null && assist !== 0) {
    // A small result is offered to the main thread, which then merges and answers the job itself (merge-here.ts).
    const mine = result.value.type === "matrix" && matrixPoints(result.value.series) <= MAIN_MERGE_MAX_POINTS;
    const offer = mine ? toPartial(result) : null;
    const res = channel.call({ op: "assistResult", assist, partial: offer ?? undefined });
    if (res.ok && "answered" in res) return null;
    result = mergePartial(op, result, partialOf(res));
  }
  return renderResult(result, spec, {
    queueSeconds: job.queueSeconds,
    evalSeconds: (performance.now() - started) / 1000,
    watch: channel,
  });
}

// Evaluates an assist: the job's query over the pages another worker gave away.
async function runAssist(msg: AssistMessage, ctx: { engine: Engine; channel: DataChannel }): Promise<PartialResult> {
  ctx.channel.begin(msg.id);
  const source =
    msg.cursor === undefined
      ? { kept: msg.pages as SeriesPage[] }
      : { first: msg.cursor, channel: ctx.channel, keep: true };
  const queryable = new PagesQueryable(source, new SampleBudget(msg.spec.maxSamples));
  return toPartial(await evaluateSpec(ctx.engine, queryable, msg.spec, msg.remainingMs, ctx.channel));
}

function partialOf(res: DataResponse): PartialResult {
  if (res.ok && "partial" in res) return res.partial;
  throw new ContrailError("internal", "a partial result was expected from the main thread");
}
