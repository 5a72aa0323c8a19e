// What the write routes (remote write, OTLP) share: a POST route in a context of its own whose token must grant
// `write` on the org (checked before the body is read), the org's limits looked up once per request, the raw body
// (any Content-Type, so the receiver judges it) read up to a size the limits give, and one ingestion rate limiter
// per server, so an org's samples per second are counted across every write protocol.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Scope } from "../control/index.ts";
import type { ContrailError } from "../model/errors.ts";
import type { AccessResult } from "./auth.ts";
import { readBody } from "./body.ts";
import { toContrailError } from "./error-status.ts";
import { IngestRateLimiter } from "./ingest-rate.ts";
import { limitsResolver, type OrgLimits } from "./limits.ts";
import { JSON_TYPE } from "./respond.ts";

/** What a write route needs from the server. */
export interface IngestRouteDeps {
  /** Decides whether the request may use `scope` on `org`, e.g. `checkAccess(authenticate, {header, org, scope})`. */
  authorize(request: FastifyRequest, org: string, scope: Scope): AccessResult;
  /** Limits of every org (defaults: model/limits.ts). */
  readonly limits?: Partial<OrgLimits>;
  /** The limits of one org over those, e.g. from the control database's overrides. */
  readonly limitsFor?: (org: string) => Partial<OrgLimits> | undefined;
  /** The clock (ms since the epoch), for the rate limiter and future-timestamp limits. */
  readonly now?: () => number;
}

/** One write request as its handler gets it: the org, its limits, the raw body, and the org's rate admission. */
export interface IngestRequest {
  readonly org: string;
  readonly limits: OrgLimits;
  readonly body: Buffer;
  /** Takes `samples` from the org's ingestion rate: 0 when admitted, else the wait in ms (nothing taken). */
  readonly admit: (samples: number) => number;
}

/** A write route: its URL, how large a body may be, how it answers. */
export interface IngestRouteSpec {
  /** The route, relative to the server root, with an `:org` parameter. */
  readonly url: string;
  /** Most body bytes read under `limits`, and what that limit is (for the 413 message). */
  bodyLimit(limits: OrgLimits): { readonly limit: number; readonly what: string };
  /** Answers one authorized request. */
  handle(request: FastifyRequest, reply: FastifyReply, req: IngestRequest): Promise<FastifyReply> | FastifyReply;
  /** Answers a request whose body could not be read (over the size limit, client gone). */
  fail(request: FastifyRequest, reply: FastifyReply, err: ContrailError): FastifyReply;
}

// One rate limiter per server, whichever write route asks first creates it.
const limiters = new WeakMap<FastifyInstance, IngestRateLimiter>();

function rateLimiter(app: FastifyInstance, now: (() => number) | undefined): IngestRateLimiter {
  let l = limiters.get(app);
  if (l === undefined) {
    l = new IngestRateLimiter(now);
    limiters.set(app, l);
  }
  return l;
}

/** Adds the write route `spec` to `app` in a context of its own (its body parser and error handler stay there). */
export async function registerIngestRoute(
  app: FastifyInstance,
  deps: IngestRouteDeps,
  spec: IngestRouteSpec,
): Promise<void> {
  const limitsOf = limitsResolver(deps.limits, deps.limitsFor);
  // The org's limits as looked up for the request, so one request sees one set of limits from start to end.
  const requestLimits = new WeakMap<FastifyRequest, OrgLimits>();
  const rate = rateLimiter(app, deps.now);
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", async (request: FastifyRequest, payload: NodeJS.ReadableStream) => {
      return readBody(payload, request.headers["content-length"], spec.bodyLimit(requestLimits.get(request)!));
    });
    scope.setErrorHandler(async (err, request, reply) => spec.fail(request, reply, toContrailError(err)));
    scope.route({
      method: "POST",
      url: spec.url,
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
        const limits = requestLimits.get(request)!;
        return spec.handle(request, reply, {
          org,
          limits,
          body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
          admit: (samples) => rate.take(org, samples, limits.ingestionRate, limits.ingestionBurstSize),
        });
      },
    });
  });
}
