// The PromQL query routes (`/prometheus/<org>/api/v1/query` and `query_range`) answered straight from node:http's
// `request` event, without Fastify's per-request machinery (routing, hooks, the body parser's stream events, the
// reply object, the response hook). Only plain requests take this way: GET without a body, or POST with a
// url-encoded form of declared length within the body limit, to an org of plain characters, while the server is
// open. Everything else (HEAD, other methods, other content types, chunked or oversized bodies, percent-encoded or
// unusual paths, a closing server) goes to Fastify untouched, which answers it as it always has. Both ways share
// the access check, the handlers, the senders and the request metrics, so their answers are the same bytes
// (lean-query.test.ts compares them). Any hook added to the Fastify app does not see these requests.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { ContrailError } from "../model/errors.ts";
import type { Refusal } from "./auth.ts";
import { Form } from "./params.ts";
import { errorOutgoing, type Outgoing, writeOutgoing } from "./respond.ts";
import { refusalOutgoing } from "./session-auth.ts";

/** What the lean routes need of the server; every part is shared with the Fastify routes. */
export interface LeanQueryDeps {
  /** Largest accepted request body in bytes; a longer declared body goes to Fastify (which answers 413). */
  readonly bodyLimit: number;
  /** True once the server is closing: Fastify then answers 503. */
  readonly closing: () => boolean;
  /** The refusal of a request to `org` whose credentials do not grant reading it (counted), or null. */
  readonly refusal: (request: IncomingMessage, org: string) => Refusal | null;
  /** Answers the query endpoint `path` (`/api/v1/query` or `/api/v1/query_range`) of an authorized request. */
  readonly serve: (
    path: string,
    org: string,
    form: Form,
    request: IncomingMessage,
    res: ServerResponse,
    send: (out: Outgoing) => void,
  ) => Promise<void>;
  /** An error thrown while answering, as the API's error (told to the server's internal-error hook when it is one). */
  readonly failure: (err: unknown, request: IncomingMessage) => ContrailError;
  /** Counts a finished request of `route` (the Fastify route's URL pattern) with its status and duration. */
  readonly observe: (route: string, status: number, seconds: number) => void;
}

/** The query routes' URLs this way takes: org of plain characters, the endpoint, then the end or a query string. */
const QUERY_URL = /^\/prometheus\/([A-Za-z0-9_-]{1,100})\/api\/v1\/(query|query_range)(?:\?|$)/;
/** The form content type, with parameters or without, as Fastify's parser for it matches. */
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;
const MS_PER_SECOND = 1000;

/** The route patterns the request metrics count the endpoints under, as Fastify names them. */
const ROUTES: Readonly<Record<string, string>> = {
  query: "/prometheus/:org/api/v1/query",
  query_range: "/prometheus/:org/api/v1/query_range",
};

/**
 * The `request` listener's first step: answers a plain request to a query route and returns true, or returns false
 * without touching the request, which is then Fastify's.
 */
export function leanQueryRoutes(deps: LeanQueryDeps): (request: IncomingMessage, res: ServerResponse) => boolean {
  return (request, res) => {
    const method = request.method;
    if ((method !== "GET" && method !== "POST") || deps.closing()) return false;
    const url = request.url ?? "";
    const match = QUERY_URL.exec(url);
    if (match === null) return false;
    const headers = request.headers;
    if (headers["transfer-encoding"] !== undefined) return false;
    const length = headers["content-length"];
    let declared = 0;
    if (method === "GET") {
      if (length !== undefined && length !== "0") return false;
    } else {
      if (length === undefined || !FORM_TYPE.test(headers["content-type"] ?? "")) return false;
      declared = Number(length);
      if (!Number.isInteger(declared) || declared <= 0 || declared > deps.bodyLimit) return false;
    }
    answer(deps, request, res, match[1], match[2], declared);
    return true;
  };
}

// Answers a request the lean way took: access, body, handler, response, and the request's metrics when it is sent.
function answer(
  deps: LeanQueryDeps,
  request: IncomingMessage,
  res: ServerResponse,
  org: string,
  endpoint: string,
  declared: number,
): void {
  const start = performance.now();
  const route = ROUTES[endpoint];
  res.once("finish", () => deps.observe(route, res.statusCode, (performance.now() - start) / MS_PER_SECOND));
  const refusal = deps.refusal(request, org);
  if (refusal !== null) {
    writeOutgoing(res, refusalOutgoing(refusal));
    return;
  }
  const url = request.url ?? "";
  const q = url.indexOf("?");
  const query = q < 0 ? "" : url.slice(q + 1);
  const run = (body: string) =>
    deps
      .serve(`/api/v1/${endpoint}`, org, new Form(body, query), request, res, (out) => writeOutgoing(res, out))
      .catch((err: unknown) => {
        const error = errorOutgoing(deps.failure(err, request));
        // An answer already under way cannot become an error any more: the connection is dropped, as Fastify does.
        if (res.headersSent) res.destroy();
        else writeOutgoing(res, error);
      });
  if (declared === 0) {
    void run("");
    return;
  }
  // node:http delivers exactly the declared length, or an error: the client went away, and the response closes with
  // its socket, so there is nobody to answer.
  const chunks: Buffer[] = [];
  request.on("error", () => {});
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.once("end", () => {
    void run(chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8"));
  });
}
