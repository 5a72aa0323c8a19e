// The HTTP server (fastify): the Prometheus API of each org under `/prometheus/<org>/`, federation, remote read
// (remote-read/), and the public `/healthz`, `/metrics` and `/meta/regions.json`. Every request under
// `/prometheus/` is authorized (a token, or the web console's session cookie: session-auth.ts) before its body is
// read; handlers then receive an OrgRequest bound to that org, so no handler can reach another org's data. The web
// console's pages and its own routes are added by console-routes.ts. With remote storage (`backend`), the same
// checks run and the reads of stored samples go to the backend instead (backend-read/).

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { MetricFamily } from "../exposition/index.ts";
import { ContrailError } from "../model/errors.ts";
import { Engine, type EngineOptions } from "../promql/engine/index.ts";
import type { TenantStore } from "../storage/interface.ts";
import { type Authenticator, REFUSALS, type Refusal } from "./auth.ts";
import { backendHandlers } from "./backend-read/handlers.ts";
import type { ReadBackend } from "./backend-read/read-backend.ts";
import { type Answer, NO_TARGETS_OR_METADATA, type OrgHandler, type TargetsAndMetadata } from "./context.ts";
import { MAX_PARAM_LENGTH, METHOD_NOT_ALLOWED, toContrailError } from "./error-status.ts";
import { federate } from "./federate.ts";
import { connectionsWithoutRequest } from "./idle-connections.ts";
import { errorJson } from "./json.ts";
import { type LeanQueryDeps, type LeanQueryFront, leanQueryFront } from "./lean-query.ts";
import { ConcurrencyGate, limitsResolver, type OrgLimits } from "./limits.ts";
import { labelNames, labelValues, metadata, series } from "./metadata-handlers.ts";
import { Form } from "./params.ts";
import { formatQuery, instantQuery, parseQuery, queryExemplars, rangeQuery } from "./query-handlers.ts";
import { poolFamilies } from "./query-pool/metrics.ts";
import { QueryPool } from "./query-pool/pool.ts";
import type { QuerySpec } from "./query-pool/protocol.ts";
import { regionsJson } from "./regions.ts";
import { registerRemoteRead } from "./remote-read/route.ts";
import {
  answerClientError,
  answerOutgoing,
  JSON_TYPE,
  type Outgoing,
  sendError,
  sendOutgoing,
  sendPieces,
} from "./respond.ts";
import { alerts, NO_RULES, type RulesSource, rules } from "./rules-handlers.ts";
import { SelfMetrics } from "./self-metrics.ts";
import { checkRequestAccess, type SessionAuthenticator, sendRefusal } from "./session-auth.ts";
import { buildInfo, targets, tsdbStatus, VERSION } from "./status-handlers.ts";

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  /** Per-org storage; the server never closes it. */
  readonly store: TenantStore;
  /** Remote storage's reads (`--storage` other than embedded), owned by the caller: PromQL queries, series, labels
   * and federation are answered from it after the same checks, instead of from `store`. */
  readonly backend?: ReadBackend;
  /** Token check, usually `(t) => tokenCache.authenticate(t)` over the control database (control/token-cache.ts). */
  readonly authenticate: Authenticator;
  /** Web console session check (the cookie's value), usually control's `checkSession`; without it only tokens
   * authorize. */
  readonly session?: SessionAuthenticator;
  /** Settings of the PromQL engine (of every query worker, and of the checks made before queuing); defaults when
   * absent. Plain data: it is copied to the workers. */
  readonly engine?: Partial<EngineOptions>;
  /** The pool that evaluates queries, owned by the caller (shared by several servers, as tests do); when absent
   * the server starts its own with `queryWorkers` workers and stops it when it closes. */
  readonly queryPool?: QueryPool;
  /** Base workers of the server's own query pool (it adds spares when all are busy); default: the cores. */
  readonly queryWorkers?: number;
  /** Limits of every org (defaults: DEFAULT_LIMITS), and per-org overrides. */
  readonly limits?: Partial<OrgLimits>;
  readonly limitsFor?: (org: string) => Partial<OrgLimits> | undefined;
  /** Largest accepted request body in bytes; default 1 MiB. */
  readonly bodyLimit?: number;
  /** Scrape targets and metric metadata per org (`/api/v1/targets`, `/api/v1/metadata`); none when absent. */
  readonly status?: TargetsAndMetadata;
  /** Rule groups and alerts per org, usually the node's RuleManager; no rules when absent. */
  readonly rules?: RulesSource;
  /** The clock (ms since the epoch), for tests. */
  readonly now?: () => number;
  /** More families for `/metrics` (the notifiers'), asked for at each scrape; none when absent. */
  readonly extraMetrics?: () => readonly MetricFamily[];
  /** Told of every internal error (a bug or a storage failure answered 500), with the request's method and URL. */
  readonly onInternalError?: (err: unknown, request: { readonly method: string; readonly url: string }) => void;
  /** Whether plain query requests skip node:http and Fastify (lean-query.ts); default true. Tests turn it off to compare. */
  readonly leanQueries?: boolean;
}

/** A configured, not yet listening server and the parts its owner may need. */
export interface ApiServer {
  readonly app: FastifyInstance;
  /** Series, label and federation lookups in flight per org. */
  readonly gate: ConcurrencyGate;
  /** The pool evaluating queries. */
  readonly pool: QueryPool;
}

const GET = ["GET"] as const;
const GET_POST = ["GET", "POST"] as const;
const ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"] as const;

interface Endpoint {
  readonly path: string;
  readonly methods: readonly ("GET" | "POST")[];
  readonly handler: OrgHandler;
  /** Counted against the org's concurrent query limit on the main thread (PromQL queries are limited by the
   * query pool instead, which queues them). */
  readonly gated: boolean;
}

/** The org endpoints, relative to `/prometheus/<org>`. */
const ENDPOINTS: readonly Endpoint[] = [
  { path: "/api/v1/query", methods: GET_POST, handler: instantQuery, gated: false },
  { path: "/api/v1/query_range", methods: GET_POST, handler: rangeQuery, gated: false },
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

/** The endpoints by path. */
const ENDPOINT_OF: ReadonlyMap<string, Endpoint> = new Map(ENDPOINTS.map((e) => [e.path, e]));

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

// True when the request says it carries a body (a length above 0, or chunks).
function hasBody(request: FastifyRequest): boolean {
  const length = request.headers["content-length"];
  return request.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

function isFormRequest(request: FastifyRequest): boolean {
  return /^application\/x-www-form-urlencoded\b/i.test(request.headers["content-type"] ?? "");
}

/**
 * Node's HTTP server as Fastify would make it (its default timeouts), its connections taken by the lean query way
 * first (lean-query.ts), which `made` is told of.
 */
function serverWithFront(deps: Omit<LeanQueryDeps, "keepAliveMs">, made: (front: LeanQueryFront) => void) {
  return (handler: (request: IncomingMessage, res: ServerResponse) => void) => {
    const server = createServer(handler);
    server.keepAliveTimeout = FASTIFY_KEEP_ALIVE_TIMEOUT_MS;
    server.requestTimeout = 0;
    server.setTimeout(0);
    made(leanQueryFront(server, { ...deps, keepAliveMs: FASTIFY_KEEP_ALIVE_TIMEOUT_MS }));
    return server;
  };
}

/** Fastify's default keep-alive timeout of the servers it makes, kept for the server made here. */
const FASTIFY_KEEP_ALIVE_TIMEOUT_MS = 72_000;

function rawQuery(request: FastifyRequest): string {
  const url = request.raw.url ?? "";
  const i = url.indexOf("?");
  return i < 0 ? "" : url.slice(i + 1);
}

/** Each connection's signal for the queries asked over it (see {@link connectionSignal}). */
const connectionSignals = new WeakMap<Socket, AbortSignal>();

/**
 * The signal that tells the queries asked over `socket` that their client went away: one per connection, aborted
 * when the connection closes. Only a query still unanswered then is cut short (the pool removes a query's listener
 * when it ends), as with a signal per request aborted when its response closes unfinished; a new signal per request
 * cost a few µs (its first listener most: 4.5 µs against 0.5 on a signal that has had one, in a loop at load 13).
 * For the query pool only, which adds and removes its listener: remote storage's client composes the signal with a
 * timeout (`AbortSignal.any`), which files every composed signal under its sources until they abort, so it gets
 * {@link responseSignal} (or {@link socketRequestSignal} on the lean way).
 */
function connectionSignal(socket: Socket): AbortSignal {
  let signal = connectionSignals.get(socket);
  if (signal === undefined) {
    const controller = new AbortController();
    signal = controller.signal;
    if (socket.destroyed) controller.abort();
    else socket.once("close", () => controller.abort());
    connectionSignals.set(socket, signal);
  }
  return signal;
}

/** A signal of the request on `socket` alone, aborted if the socket closes before `finished` is called. */
function socketRequestSignal(socket: Socket): { readonly signal: AbortSignal; finished(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (socket.destroyed) controller.abort();
  else socket.once("close", abort);
  return { signal: controller.signal, finished: () => socket.off("close", abort) };
}

/** A signal of `res` alone, aborted when it closes before it is finished (the client went away). */
function responseSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * The engine settings of the API's queries, in process and on query workers: MetricsQL is read where PromQL has no
 * meaning, for dashboards written against VictoriaMetrics (valid PromQL keeps its meaning, so rules may share them).
 */
export const API_ENGINE_OPTIONS: Readonly<Partial<EngineOptions>> = { metricsql: true };

/** Builds the server: routes, hooks and error handling. Call `app.listen` to serve and `app.close` to stop. */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const engineOptions: Partial<EngineOptions> = { ...API_ENGINE_OPTIONS, ...opts.engine };
  const engine = new Engine(engineOptions);
  const backend = opts.backend;
  const backendRoutes = backend === undefined ? null : backendHandlers(backend);
  const ownPool = opts.queryPool === undefined;
  // With remote storage the pool evaluates nothing: one worker, for the same `/metrics` families.
  const workers = backend === undefined ? opts.queryWorkers : 1;
  const pool = opts.queryPool ?? new QueryPool({ workers, engine: engineOptions });
  const now = opts.now ?? Date.now;
  const status = opts.status ?? NO_TARGETS_OR_METADATA;
  const ruleSource = opts.rules ?? NO_RULES;
  const limitsOf = limitsResolver(opts.limits, opts.limitsFor);
  const gate = new ConcurrencyGate();
  const metrics = new SelfMetrics({ version: VERSION });
  const bodyLimit = opts.bodyLimit ?? 1024 * 1024;
  let closing = false;
  const credentials = { authenticate: opts.authenticate, session: opts.session };
  let front: LeanQueryFront | null = null;
  const lean: Omit<LeanQueryDeps, "keepAliveMs"> = {
    bodyLimit,
    closing: () => closing,
    refusal: (request, org) => {
      const access = checkRequestAccess(credentials, request, { org, scopes: ["read"] });
      if (access.ok) return null;
      metrics.observeAuthFailure(access.refusal.status === 401 ? "unauthorized" : "forbidden");
      return access.refusal;
    },
    serve: async (path, org, form, request, socket, send) => {
      if (backend === undefined) {
        return serve(ENDPOINT_OF.get(path)!, org, {}, form, request.headers, connectionSignal(socket), send);
      }
      const own = socketRequestSignal(socket);
      try {
        return await serve(ENDPOINT_OF.get(path)!, org, {}, form, request.headers, own.signal, send);
      } finally {
        own.finished();
      }
    },
    failure: (err, request) => failure(err, request),
    observe: (route, status, seconds) => metrics.observeRequest(route, status, seconds),
  };
  const app = Fastify({
    ...(opts.leanQueries === false ? {} : { serverFactory: serverWithFront(lean, (made) => (front = made)) }),
    logger: false,
    bodyLimit,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    return503OnClosing: true,
    // The router's refusals (bad percent-encoding, a path segment over the length limit) and the HTTP parser's
    // (malformed request, headers too large) in the API's envelope, like every other error.
    frameworkErrors: (err, _request, reply) => sendError(reply, toContrailError(err)),
    clientErrorHandler: answerClientError,
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
    await sendRefusal(reply, r);
  };
  app.addHook("onRequest", async (request, reply) => {
    const org = orgOfUrl(request.url);
    if (org === null) return;
    const declared = (request.routeOptions.config as { scope?: unknown } | undefined)?.scope;
    if (typeof declared === "string") return;
    const access = checkRequestAccess(credentials, request, { org, scopes: ["read"] });
    if (access.ok) granted.set(request, org);
    else await refuse(reply, access.refusal);
  });

  app.addHook("onResponse", async (request, reply) => {
    metrics.observeRequest(request.routeOptions.url ?? "unmatched", reply.statusCode, reply.elapsedTime / 1000);
  });

  // An error of a request as the API's error; internal ones are told to the owner.
  const failure = (err: unknown, request: { readonly method: string; readonly url: string }) => {
    const ce = toContrailError(err, { bodyLimit });
    if (ce.code === "internal") opts.onInternalError?.(err, request);
    return ce;
  };
  app.setErrorHandler(async (err, request, reply) => sendError(reply, failure(err, request)));
  // A stop ends the connections that carry no request at once (they held it for good), the others after their answer.
  const endUnused = connectionsWithoutRequest(app.server, (socket) => front?.owns(socket) ?? false);
  app.addHook("preClose", async () => {
    closing = true;
    front?.stop();
    endUnused();
  });

  app.setNotFoundHandler(async (request, reply) =>
    sendError(reply, new ContrailError("not_found", `no endpoint ${request.method} ${request.url.split("?")[0]}`)),
  );

  // Answers an authorized request to endpoint `e` of `org` and sends the answer with `send` (Fastify's reply, or
  // the connection itself on the lean way), its queries cut short when `signal` aborts; errors are thrown to the caller.
  async function serve<T>(
    e: Endpoint,
    org: string,
    params: Record<string, string>,
    form: Form,
    headers: IncomingHttpHeaders,
    signal: AbortSignal,
    send: (out: Outgoing) => T,
  ): Promise<T> {
    const limits = limitsOf(org);
    const leave = e.gated ? gate.enter(org, limits.maxConcurrentQueries) : () => {};
    const admission = { maxConcurrent: limits.maxConcurrentQueries, maxQueued: limits.maxQueuedQueries };
    const queries = async (spec: QuerySpec): Promise<Answer> => {
      if (backend !== undefined) return backend.query(org, spec, admission, signal);
      const body = await pool.run(spec, {
        org,
        maxConcurrent: admission.maxConcurrent,
        maxQueued: admission.maxQueued,
        queryable: opts.store.queryable(org),
        signal,
      });
      return { kind: "json", body };
    };
    try {
      const handler = backendRoutes?.get(e.path) ?? e.handler;
      const answer = await handler({
        org,
        form,
        params,
        limits,
        store: opts.store,
        engine,
        queries,
        status,
        rules: ruleSource,
        signal,
        now: now(),
        accept: headers.accept,
      });
      return send(await answerOutgoing(headers["accept-encoding"], answer));
    } finally {
      leave();
    }
  }

  for (const e of ENDPOINTS) {
    app.route({
      method: [...ALL_METHODS],
      url: `${ORG_PREFIX}:org${e.path}`,
      // Parameters come as a form or in the URL; any other body is refused before it is read or parsed.
      preParsing: async (request, _reply, payload) => {
        if (hasBody(request) && !isFormRequest(request)) {
          throw new ContrailError(
            "unsupported_media_type",
            `unsupported Content-Type ${JSON.stringify(request.headers["content-type"] ?? "")}: ` +
              "send parameters in the URL or as an application/x-www-form-urlencoded body",
          );
        }
        return payload;
      },
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
        const form = new Form(
          isFormRequest(request) && typeof request.body === "string" ? request.body : "",
          rawQuery(request),
        );
        const res = reply.raw;
        const signal = backend === undefined ? connectionSignal(res.req.socket) : responseSignal(res);
        return serve(e, org, params, form, request.headers, signal, (out) => sendOutgoing(reply, out));
      },
    });
  }

  registerRemoteRead(app, {
    store: opts.store,
    gate,
    limitsOf,
    grantedOrg: (request) => granted.get(request),
    forbid: (reply) => refuse(reply, REFUSALS.forbidden),
    remoteStorage: backend !== undefined,
  });

  app.get("/healthz", async (_request, reply) =>
    reply.header("content-type", "text/plain; charset=utf-8").send("ok\n"),
  );

  app.get("/metrics", async (_request, reply) =>
    reply
      .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
      .send(
        metrics.render(gate.total() + pool.figures().busy, [
          ...poolFamilies(pool.figures()),
          ...(opts.extraMetrics?.() ?? []),
        ]),
      ),
  );

  const regions = regionsJson();
  const cors = { "access-control-allow-origin": "*", "access-control-allow-methods": "GET, OPTIONS" };
  app.get("/meta/regions.json", async (request, reply) =>
    sendPieces(request, reply.headers(cors).header("cache-control", "public, max-age=3600"), [regions]),
  );
  app.options("/meta/regions.json", async (_request, reply) =>
    reply.code(204).headers(cors).header("access-control-max-age", "86400").send(),
  );

  app.addHook("onClose", async () => {
    metrics.close();
    if (ownPool) await pool.close();
  });
  return { app, gate, pool };
}
