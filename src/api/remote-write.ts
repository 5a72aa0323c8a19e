// `POST /prometheus/<org>/api/v1/write`: the Prometheus remote-write receiver (1.0 and 2.0 messages). The token
// must grant `write` on the org (a read-only token is refused 403); authorization happens before the body is read.
// The body is taken raw (whatever its Content-Type, so the receiver can answer 415 itself) up to the compressed size
// the org's limits allow, and handed to storage/remote's receiver, whose outcome becomes the status: 204, 400 (also
// for partial writes), 413, 415, 429 (ingestion rate, or a full remote-storage queue: with Retry-After), 500 or 503, errors in the API's JSON envelope, and on 2.0 requests the
// X-Prometheus-Remote-Write-*-Written headers. The limits are the org's (model/limits.ts, overridden per org in
// the control database), looked up once per request.
//
// Use: `await registerRemoteWrite(app, deps)` before `listen`. Its route lives in an encapsulated context, so the
// content-type parser and error handler here touch no other route. The route's `config.scope` is "write", for a
// server-wide authorization hook that must not demand `read` from it.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Scope } from "../control/index.ts";
import type { TenantStore } from "../storage/interface.ts";
import type { MetadataStore } from "../storage/remote/metadata.ts";
import {
  maxCompressedBytes,
  outcomeHeaders,
  ReceiverState,
  receiveWrite,
  type WriteOutcome,
} from "../storage/remote/receive.ts";
import type { AccessResult } from "./auth.ts";
import { readBody } from "./body.ts";
import { httpErrorOf, toContrailError } from "./error-status.ts";
import { IngestRateLimiter } from "./ingest-rate.ts";
import { errorJson } from "./json.ts";
import { limitsResolver, type OrgLimits } from "./limits.ts";
import { JSON_TYPE, sendError } from "./respond.ts";

/** The route, relative to the server root. */
export const REMOTE_WRITE_ROUTE = "/prometheus/:org/api/v1/write";

/** What the remote-write route needs from the server. */
export interface RemoteWriteDeps {
  /** Decides whether the request may use `scope` on `org`, e.g. `checkAccess(authenticate, {header, org, scope})`. */
  authorize(request: FastifyRequest, org: string, scope: Scope): AccessResult;
  /** Where samples go: `tenants.appender(org)` per request. */
  readonly tenants: TenantStore;
  /** Where received metadata goes (served by /api/v1/metadata). */
  readonly metadata: MetadataStore;
  /** Limits of every org (defaults: model/limits.ts). */
  readonly limits?: Partial<OrgLimits>;
  /** The limits of one org over those, e.g. from the control database's overrides. */
  readonly limitsFor?: (org: string) => Partial<OrgLimits> | undefined;
  /** The clock (ms since the epoch), for the future-timestamp limit. */
  readonly now?: () => number;
  /** Told of every answered write (for self-metrics and logs). */
  readonly onWrite?: (org: string, outcome: WriteOutcome) => void;
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
export async function registerRemoteWrite(app: FastifyInstance, deps: RemoteWriteDeps): Promise<void> {
  const limitsOf = limitsResolver(deps.limits, deps.limitsFor);
  // The org's limits as looked up for the request, so one request sees one set of limits from start to end.
  const requestLimits = new WeakMap<FastifyRequest, OrgLimits>();
  const state = new ReceiverState();
  const rate = new IngestRateLimiter(deps.now);
  await app.register(async (scope) => {
    // Every body raw, up to the compressed limit of the org: the receiver judges Content-Type and Content-Encoding.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", async (request: FastifyRequest, payload: NodeJS.ReadableStream) => {
      const limits = requestLimits.get(request)!;
      return readBody(payload, request.headers["content-length"], {
        limit: maxCompressedBytes(limits),
        what: `the compressed size allowed by the limit of ${limits.maxWriteBytes} decompressed bytes (max_write_bytes)`,
      });
    });
    // Fastify's own refusals (unreadable body) in the API's envelope.
    scope.setErrorHandler(async (err, _request, reply) => sendError(reply, toContrailError(err)));
    scope.route({
      method: "POST",
      url: REMOTE_WRITE_ROUTE,
      config: { scope: "write" },
      onRequest: async (request, reply) => {
        const { org } = request.params as { org: string };
        const access = deps.authorize(request, org, "write");
        if (access.ok) {
          requestLimits.set(request, limitsOf(org));
          return;
        }
        const r = access.refusal;
        return reply.code(r.status).headers(r.headers).header("content-type", JSON_TYPE).send(r.body);
      },
      handler: async (request, reply) => {
        const { org } = request.params as { org: string };
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const limits = requestLimits.get(request)!;
        const outcome = receiveWrite(body, request.headers, () => deps.tenants.appender(org), {
          org,
          state,
          metadata: deps.metadata,
          limits,
          now: deps.now,
          admit: (samples) => rate.take(org, samples, limits.ingestionRate, limits.ingestionBurstSize),
        });
        deps.onWrite?.(org, outcome);
        return sendOutcome(reply, outcome);
      },
    });
  });
}
