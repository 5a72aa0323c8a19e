// The HTTP server (fastify): the Prometheus API of each org under `/prometheus/<org>/`, federation, and the public
// `/healthz`, `/metrics` and `/meta/regions.json`. Every request under `/prometheus/` is authorized before its body
// is read; handlers then receive an OrgRequest bound to that org, so no handler can reach another org's data.

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { ContrailError } from "../model/errors.ts";
import { Engine } from "../promql/engine/index.ts";
import type { TenantStore } from "../storage/interface.ts";
import { type Authenticator, checkAccess, REFUSALS, type Refusal } from "./auth.ts";
import { type Answer, NO_TARGETS_OR_METADATA, type OrgHandler, type TargetsAndMetadata } from "./context.ts";
import { METHOD_NOT_ALLOWED, toContrailError } from "./error-status.ts";
import { federate } from "./federate.ts";
import { errorJson, successJson } from "./json.ts";
import { ConcurrencyGate, limitsResolver, type OrgLimits } from "./limits.ts";
import { labelNames, labelValues, metadata, series } from "./metadata-handlers.ts";
import { Form } from "./params.ts";
import { formatQuery, instantQuery, parseQuery, queryExemplars, rangeQuery } from "./query-handlers.ts";
import { regionsJson } from "./regions.ts";
import { JSON_TYPE, sendError, sendPieces } from "./respond.ts";
import { SelfMetrics } from "./self-metrics.ts";
import { alerts, buildInfo, rules, targets, tsdbStatus, VERSION } from "./status-handlers.ts";

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  /** Per-org storage; the server never closes it. */
  readonly store: TenantStore;
  /** Token check, usually `(t) => tokenCache.authenticate(t)` over the control database (control/token-cache.ts). */
  readonly authenticate: Authenticator;
  /** The PromQL engine; a default one when absent. */
  readonly engine?: Engine;
  /** Limits of every org (defaults: DEFAULT_LIMITS), and per-org overrides. */
  readonly limits?: Partial<OrgLimits>;
  readonly limitsFor?: (org: string) => Partial<OrgLimits> | undefined;
  /** Largest accepted request body in bytes; default 1 MiB. */
  readonly bodyLimit?: number;
  /** Scrape targets and metric metadata per org (`/api/v1/targets`, `/api/v1/metadata`); none when absent. */
  readonly status?: TargetsAndMetadata;
  /** The clock (ms since the epoch), for tests. */
  readonly now?: () => number;
  /** Told of every internal error (a bug or a storage failure answered 500), with the request's method and URL. */
  readonly onInternalError?: (err: unknown, request: { readonly method: string; readonly url: string }) => void;
}

/** A configured, not yet listening server and the parts its owner may need. */
export interface ApiServer {
  readonly app: FastifyInstance;
  /** Queries in flight per org. */
  readonly gate: ConcurrencyGate;
}

const GET = ["GET"] as const;
const GET_POST = ["GET", "POST"] as const;
const ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"] as const;

interface Endpoint {
  readonly path: string;
  readonly methods: readonly ("GET" | "POST")[];
  readonly handler: OrgHandler;
  /** Counted against the org's concurrent query limit. */
  readonly gated: boolean;
}

/** The org endpoints, relative to `/prometheus/<org>`. */
const ENDPOINTS: readonly Endpoint[] = [
  { path: "/api/v1/query", methods: GET_POST, handler: instantQuery, gated: true },
  { path: "/api/v1/query_range", methods: GET_POST, handler: rangeQuery, gated: true },
  { path: "/api/v1/query_exemplars", methods: GET_POST, handler: queryExemplars, gated: false },
  { path: "/api/v1/format_query", methods: GET_POST, handler: formatQuery, gated: false },
  { path: "/api/v1/parse_query", methods: GET_POST, handler: parseQuery, gated: false },
  { path: "/api/v1/series", methods: GET_POST, handler: series, gated: true },
  { path: "/api/v1/labels", methods: GET_POST, handler: labelNames, gated: true },
  { path: "/api/v1/label/:name/values", methods: GET, handler: labelValues, gated: true },
  { path: "/api/v1/metadata", methods: GET, handler: metadata, gated: false },
  { path: "/api/v1/status/buildinfo", methods: GET, handler: buildInfo, gated: false },
  { path: "/api/v1/status/tsdb", methods: GET, handler: tsdbStatus, gated: true },
  { path: "/api/v1/targets", methods: GET, handler: targets, gated: false },
  { path: "/api/v1/rules", methods: GET, handler: rules, gated: false },
  { path: "/api/v1/alerts", methods: GET, handler: alerts, gated: false },
  { path: "/federate", methods: GET, handler: federate, gated: true },
];

const ORG_PREFIX = "/prometheus/";

// The org named by a `/prometheus/<org>/…` URL, decoded; null when the URL is not under /prometheus/.
function orgOfUrl(url: string): string | null {
  if (!url.startsWith(ORG_PREFIX)) return null;
  const rest = url.slice(ORG_PREFIX.length);
  const end = rest.search(/[/?]/);
  const segment = end < 0 ? rest : rest.slice(0, end);
  try {
    return decodeURIComponent(segment);
  } catch {
    return "";
  }
}

function rawQuery(request: FastifyRequest): string {
  const url = request.raw.url ?? "";
  const i = url.indexOf("?");
  return i < 0 ? "" : url.slice(i + 1);
}

/** Builds the server: routes, hooks and error handling. Call `app.listen` to serve and `app.close` to stop. */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const engine = opts.engine ?? new Engine();
  const now = opts.now ?? Date.now;
  const status = opts.status ?? NO_TARGETS_OR_METADATA;
  const limitsOf = limitsResolver(opts.limits, opts.limitsFor);
  const gate = new ConcurrencyGate();
  const metrics = new SelfMetrics({ version: VERSION });
  const bodyLimit = opts.bodyLimit ?? 1024 * 1024;
  const app = Fastify({
    logger: false,
    bodyLimit,
    routerOptions: { maxParamLength: 1024 },
    return503OnClosing: true,
  });

  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit }, (_req, body, done) =>
    done(null, body),
  );

  // Authorization of everything under /prometheus/, before the body is read: refusals cost no parsing, and
  // unknown paths are refused exactly like known ones. The org granted here is remembered, and a handler serves
  // only that org, whatever the router made of the path. A route that declares the scope it needs in its config
  // (remote write: `config.scope = "write"`) authorizes itself in its own onRequest hook.
  const granted = new WeakMap<FastifyRequest, string>();
  const refuse = async (reply: FastifyReply, r: Refusal) => {
    metrics.observeAuthFailure(r.status === 401 ? "unauthorized" : "forbidden");
    await reply.code(r.status).headers(r.headers).header("content-type", JSON_TYPE).send(r.body);
  };
  app.addHook("onRequest", async (request, reply) => {
    const org = orgOfUrl(request.url);
    if (org === null) return;
    const declared = (request.routeOptions.config as { scope?: unknown } | undefined)?.scope;
    if (typeof declared === "string") return;
    const access = checkAccess(opts.authenticate, { header: request.headers.authorization, org, scope: "read" });
    if (access.ok) granted.set(request, org);
    else await refuse(reply, access.refusal);
  });

  app.addHook("onResponse", async (request, reply) => {
    metrics.observeRequest(request.routeOptions.url ?? "unmatched", reply.statusCode, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(async (err, request, reply) => {
    const ce = toContrailError(err);
    if (ce.code === "internal") opts.onInternalError?.(err, { method: request.method, url: request.url });
    return sendError(reply, ce);
  });

  app.setNotFoundHandler(async (request, reply) =>
    sendError(reply, new ContrailError("not_found", `no endpoint ${request.method} ${request.url.split("?")[0]}`)),
  );

  const send = async (request: FastifyRequest, reply: FastifyReply, answer: Answer): Promise<FastifyReply> => {
    switch (answer.kind) {
      case "data":
        return sendPieces(request, reply, successJson(answer.data, answer));
      case "text":
        return sendPieces(request, reply, [answer.body], { contentType: answer.contentType });
    }
  };

  for (const e of ENDPOINTS) {
    app.route({
      method: [...ALL_METHODS],
      url: `${ORG_PREFIX}:org${e.path}`,
      handler: async (request, reply) => {
        const method = request.method === "HEAD" ? "GET" : request.method;
        if (!(e.methods as readonly string[]).includes(method)) {
          const { status, errorType } = METHOD_NOT_ALLOWED;
          return reply
            .code(status)
            .header("allow", e.methods.join(", "))
            .header("content-type", JSON_TYPE)
            .send(errorJson(errorType, `method ${request.method} not allowed; use ${e.methods.join(" or ")}`));
        }
        const { org, ...params } = request.params as Record<string, string>;
        if (granted.get(request) !== org) return refuse(reply, REFUSALS.forbidden);
        const limits = limitsOf(org);
        const isForm = /^application\/x-www-form-urlencoded\b/i.test(request.headers["content-type"] ?? "");
        const form = new Form(isForm && typeof request.body === "string" ? request.body : "", rawQuery(request));
        const controller = new AbortController();
        reply.raw.once("close", () => {
          if (!reply.raw.writableFinished) controller.abort();
        });
        const leave = e.gated ? gate.enter(org, limits.maxConcurrentQueries) : () => {};
        try {
          const answer = await e.handler({
            org,
            form,
            params,
            limits,
            store: opts.store,
            engine,
            status,
            signal: controller.signal,
            now: now(),
          });
          return await send(request, reply, answer);
        } finally {
          leave();
        }
      },
    });
  }

  app.get("/healthz", async (_request, reply) =>
    reply.header("content-type", "text/plain; charset=utf-8").send("ok\n"),
  );

  app.get("/metrics", async (_request, reply) =>
    reply.header("content-type", "text/plain; version=0.0.4; charset=utf-8").send(metrics.render(gate.total())),
  );

  const regions = regionsJson();
  const cors = { "access-control-allow-origin": "*", "access-control-allow-methods": "GET, OPTIONS" };
  app.get("/meta/regions.json", async (request, reply) =>
    sendPieces(request, reply.headers(cors).header("cache-control", "public, max-age=3600"), [regions]),
  );
  app.options("/meta/regions.json", async (_request, reply) =>
    reply.code(204).headers(cors).header("access-control-max-age", "86400").send(),
  );

  app.addHook("onClose", async () => metrics.close());
  return { app, gate };
}
