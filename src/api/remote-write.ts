// `POST /prometheus/<org>/api/v1/write`: the Prometheus remote-write receiver (1.0 and 2.0 messages). The token
// must grant `write` on the org (a read-only token is refused 403); authorization happens before the body is read.
// The body is taken raw (whatever its Content-Type, so the receiver can answer 415 itself) up to the compressed size
// the org's limits allow, and handed to storage/remote's receiver, whose outcome becomes the status: 204, 400 (also
// for partial writes), 413, 415, 429 (ingestion rate, or a full remote-storage queue: with Retry-After), 500 or 503
// (also for a full decode pool or a failed decode worker, with Retry-After), errors in the API's JSON envelope, and
// on 2.0 requests the X-Prometheus-Remote-Write-*-Written headers. The limits are the org's (model/limits.ts,
// overridden per org in the control database), looked up once per request. Large bodies are decompressed on an
// ingest decode worker (storage/remote/decode-pool.ts) while the main thread serves other requests; the decoding
// into the org's storage, the commit and the answer stay on the main thread, so an acknowledged write is as durable
// as before.
//
// Use: `await registerRemoteWrite(app, deps)` before `listen`; its answer's `families()` go on the server's
// `/metrics` (the ingest decode pool's figures). Its route lives in an encapsulated context, so the
// content-type parser and error handler here touch no other route. The route's `config.scope` is "write", for a
// server-wide authorization hook that must not demand `read` from it.

import { availableParallelism } from "node:os";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { MetricFamily } from "../exposition/index.ts";
import type { TenantStore } from "../storage/interface.ts";
import { DecodePool, type DecodePoolOptions } from "../storage/remote/decode-pool.ts";
import { decodePoolFamilies } from "../storage/remote/decode-pool-metrics.ts";
import type { MetadataStore } from "../storage/remote/metadata.ts";
import { maxCompressedBytes, outcomeHeaders, ReceiverState, type WriteOutcome } from "../storage/remote/receive.ts";
import { receiveWriteOffloaded } from "../storage/remote/receive-offload.ts";
import { httpErrorOf } from "./error-status.ts";
import { type IngestRouteDeps, registerIngestRoute } from "./ingest-route.ts";
import { errorJson } from "./json.ts";
import { JSON_TYPE, sendError } from "./respond.ts";

/** The route, relative to the server root. */
export const REMOTE_WRITE_ROUTE = "/prometheus/:org/api/v1/write";

/** What the remote-write route needs from the server (authorization, limits and clock: ingest-route.ts). */
export interface RemoteWriteDeps extends IngestRouteDeps {
  /** Where samples go: `tenants.appender(org)` per request. */
  readonly tenants: TenantStore;
  /** Where received metadata goes (served by /api/v1/metadata). */
  readonly metadata: MetadataStore;
  /** Told of every answered write (for self-metrics and logs). */
  readonly onWrite?: (org: string, outcome: WriteOutcome) => void;
  /**
   * The ingest decode pool's settings, or false to decompress every body on the main thread. Default: a pool when
   * the machine has more than one core, none otherwise.
   */
  readonly decodePool?: DecodePoolOptions | false;
  /** Bodies under this many compressed bytes are decompressed on the main thread (receive-offload.ts's default). */
  readonly inlineBelowBytes?: number;
}

/** The registered route, for its server: its self-metrics. */
export interface RemoteWriteRoute {
  /** The ingest decode pool's metric families, read at each scrape of `/metrics`; none when there is no pool. */
  families(): MetricFamily[];
}

// The route's decode pool under `deps`, or null for none.
function decodePoolOf(deps: RemoteWriteDeps): DecodePool | null {
  if (deps.decodePool === false) return null;
  if (deps.decodePool === undefined && availableParallelism() < 2) return null;
  return new DecodePool(deps.decodePool ?? {});
}

function sendOutcome(reply: FastifyReply, outcome: WriteOutcome): FastifyReply {
  reply.headers(outcomeHeaders(outcome));
  switch (outcome.kind) {
    case "written":
      return reply.code(204).send();
    case "partial":
    case "refused": {
      if (outcome.status === 503) reply.header("retry-after", "1");
      if (outcome.kind === "refused" && outcome.retryAfterMs !== undefined) {
        reply.header("retry-after", String(Math.ceil(outcome.retryAfterMs / 1000)));
      }
      const { errorType } = httpErrorOf(outcome.code);
      return reply.code(outcome.status).header("content-type", JSON_TYPE).send(errorJson(errorType, outcome.message));
    }
  }
}

/** Adds the remote-write route to `app` in a context of its own. */
export async function registerRemoteWrite(app: FastifyInstance, deps: RemoteWriteDeps): Promise<RemoteWriteRoute> {
  const state = new ReceiverState();
  const pool = decodePoolOf(deps);
  if (pool !== null) app.addHook("onClose", () => pool.close());
  await registerIngestRoute(app, deps, {
    url: REMOTE_WRITE_ROUTE,
    // Every body raw, up to the compressed limit of the org: the receiver judges Content-Type and Content-Encoding.
    bodyLimit: (limits) => ({
      limit: maxCompressedBytes(limits),
      what: `the compressed size allowed by the limit of ${limits.maxWriteBytes} decompressed bytes (max_write_bytes)`,
    }),
    // Fastify's own refusals (unreadable body) in the API's envelope.
    fail: (_request, reply, err) => sendError(reply, err),
    handle: async (request, reply, { org, limits, body, admit }) => {
      const outcome = await receiveWriteOffloaded(body, request.headers, () => deps.tenants.appender(org), {
        org,
        state,
        metadata: deps.metadata,
        limits,
        now: deps.now,
        admit,
        pool,
        inlineBelowBytes: deps.inlineBelowBytes,
      });
      deps.onWrite?.(org, outcome);
      return sendOutcome(reply, outcome);
    },
  });
  return { families: () => (pool === null ? [] : decodePoolFamilies(pool.figures())) };
}
