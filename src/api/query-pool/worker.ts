// What a query worker does: takes one job at a time from its parent port, evaluates it with its own engine over
// data the main thread serves page by page, renders the whole JSON answer, and posts it back as UTF-8 chunks.
// Cancellation arrives as a shared flag, read by the engine at each check, between pages and between answer pieces.

import { setPriority } from "node:os";
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { ContrailError, isContrailError } from "../../model/errors.ts";
import { Engine, type EngineOptions, type QueryResult } from "../../promql/engine/index.ts";
import { successJson } from "../json.ts";
import { queryAnswer } from "../query-answer.ts";
import type { JobMessage, WorkerMessage } from "./protocol.ts";
import { DataChannel, RemoteQueryable } from "./remote-querier.ts";
import { SampleBudget } from "./sample-budget.ts";

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

/** Answer bodies are cut into chunks of about this many UTF-16 units before they are encoded and posted. */
const BODY_CHUNK = 1024 * 1024;

/** Serves jobs on this worker's parent port until the worker is terminated. Call once, in the worker's entry. */
export function serveQueries(hooks: WorkerHooks = {}): void {
  const parent = parentPort;
  if (parent === null) throw new Error("serveQueries runs in a worker thread only");
  const init = workerData as WorkerInit;
  // Only where the nice value belongs to the thread: elsewhere it would lower the whole process.
  if (process.platform === "linux") setPriority(QUERY_WORKER_NICE);
  const channel = new DataChannel(init.port, new Int32Array(init.flags));
  const engine = new Engine(init.engine);
  const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => parent.postMessage(m, transfer);
  parent.on("message", (job: JobMessage) => {
    void runJob(job, { engine, channel, hooks }).then(
      (body) =>
        post(
          { kind: "done", id: job.id, body },
          body.map((b) => b.buffer as ArrayBuffer),
        ),
      (err: unknown) => {
        const e = isContrailError(err) ? err : new ContrailError("internal", `unexpected error: ${String(err)}`);
        post({ kind: "failed", id: job.id, code: e.code, message: e.message });
      },
    );
  });
  post({ kind: "ready" });
}

async function runJob(
  job: JobMessage,
  ctx: { engine: Engine; channel: DataChannel; hooks: WorkerHooks },
): Promise<Uint8Array[]> {
  const { engine, channel } = ctx;
  const { spec } = job;
  channel.begin(job.id);
  const started = performance.now();
  ctx.hooks.beforeEvaluate?.(spec.query, () => channel.cancelled());
  const queryable = new RemoteQueryable(channel, new SampleBudget(spec.maxSamples));
  const opts = {
    timeout: job.remainingMs,
    lookbackDelta: spec.lookbackDelta,
    maxSamples: spec.maxSamples,
    cancelled: () => channel.cancelled(),
  };
  const at = spec.at;
  let result: QueryResult;
  if (at.kind === "instant") {
    result = await engine.instantQuery(queryable, spec.query, at.time, opts);
  } else {
    result = await engine.rangeQuery(queryable, spec.query, { start: at.start, end: at.end, step: at.step }, opts);
  }
  const answer = queryAnswer(result, {
    ...spec.render,
    queueSeconds: job.queueSeconds,
    evalSeconds: (performance.now() - started) / 1000,
  });
  if (answer.kind !== "data") throw new ContrailError("internal", "a query answer must be JSON data");
  const body: Uint8Array[] = [];
  const encoder = new TextEncoder();
  let pending = "";
  // JSON.stringify escapes lone surrogates, so the text is well-formed and its UTF-8 encoding loses nothing.
  for (const piece of successJson(answer.data, answer)) {
    if (channel.cancelled()) channel.throwCancelled();
    pending += piece;
    if (pending.length >= BODY_CHUNK) {
      body.push(encoder.encode(pending));
      pending = "";
    }
  }
  if (pending !== "") body.push(encoder.encode(pending));
  return body;
}
