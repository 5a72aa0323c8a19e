// `POST /prometheus/<org>/otlp/v1/metrics`: the OTLP/HTTP metrics receiver (protobuf or JSON bodies, optionally
// gzip-compressed). Authorization, per-org limits, body reading and the ingestion rate are those of every write
// route (ingest-route.ts): a token granting `write` on the org, checked before the body is read. The answer follows
// the OTLP/HTTP spec (storage/otlp/receive.ts): 200 with an ExportMetricsServiceResponse (partial_success when points
// were refused), or 400/413/415/429/500/503 with a google.rpc.Status, in the request's encoding; 429 and 503 carry
// Retry-After. Authorization refusals (401, 403) use the API's JSON envelope, as on every route.
//
// Use: `await registerOtlp(app, deps)` before `listen`, with the same deps as `registerRemoteWrite`.

import type { FastifyInstance, FastifyReply } from "fastify";
import type { ContrailError } from "../model/errors.ts";
import { formatOfContentType, maxOtlpBodyBytes, type OtlpOutcome, receiveOtlp } from "../storage/otlp/receive.ts";
import { exportResponse, OTLP_CONTENT_TYPES, type OtlpFormat, RpcCode, statusBody } from "../storage/otlp/response.ts";
import { httpErrorOf } from "./error-status.ts";
import { registerIngestRoute } from "./ingest-route.ts";
import type { RemoteWriteDeps } from "./remote-write.ts";

/** The route, relative to the server root. */
export const OTLP_METRICS_ROUTE = "/prometheus/:org/otlp/v1/metrics";

/** What the OTLP route needs from the server: the same as remote write (minus its outcome hook). */
export type OtlpDeps = Omit<RemoteWriteDeps, "onWrite"> & {
  /** Told of every answered request (for self-metrics and logs). */
  readonly onOtlp?: (org: string, outcome: OtlpOutcome) => void;
};

function send(reply: FastifyReply, format: OtlpFormat, status: number, body: Uint8Array): FastifyReply {
  return reply.code(status).header("content-type", OTLP_CONTENT_TYPES[format]).send(Buffer.from(body));
}

function sendOutcome(reply: FastifyReply, o: OtlpOutcome): FastifyReply {
  if (o.kind === "accepted") return send(reply, o.format, 200, exportResponse(o.format, o.stats.rejected, o.message));
  if (o.retryAfterMs !== undefined) reply.header("retry-after", String(Math.ceil(o.retryAfterMs / 1000)));
  else if (o.status === 503) reply.header("retry-after", "1");
  return send(reply, o.format, o.status, statusBody(o.format, o.rpcCode, o.message));
}

// A request refused before the receiver saw it (body over the size limit, unreadable), as a Status.
function sendFailure(reply: FastifyReply, format: OtlpFormat, err: ContrailError): FastifyReply {
  const { status } = httpErrorOf(err.code);
  const rpc = status === 413 ? RpcCode.resourceExhausted : RpcCode.invalidArgument;
  return send(reply, format, status, statusBody(format, rpc, err.message));
}

/** Adds the OTLP metrics route to `app` in a context of its own. */
export async function registerOtlp(app: FastifyInstance, deps: OtlpDeps): Promise<void> {
  await registerIngestRoute(app, deps, {
    url: OTLP_METRICS_ROUTE,
    bodyLimit: (limits) => ({
      limit: maxOtlpBodyBytes(limits),
      what: `the request size allowed by the limit of ${limits.maxWriteBytes} decompressed bytes (max_write_bytes)`,
    }),
    fail: (request, reply, err) =>
      sendFailure(reply, formatOfContentType(request.headers["content-type"]) ?? "json", err),
    handle: (request, reply, { org, limits, body, admit }) => {
      const outcome = receiveOtlp(body, request.headers, () => deps.tenants.appender(org), {
        org,
        metadata: deps.metadata,
        limits,
        now: deps.now,
        admit,
      });
      deps.onOtlp?.(org, outcome);
      return sendOutcome(reply, outcome);
    },
  });
}
