// Who may call an org's endpoints when the caller is a browser: besides `Authorization` (auth.ts), the web
// console's session cookie, HttpOnly and SameSite=Strict, bound to one org and scopes like a token. A request with
// an Authorization header is judged by it alone; without one, by the cookie. A cookie never grants more than its
// session (one org, its scopes), and a cookie request that is not GET or HEAD must carry an `Origin` naming this
// server (the Host it was sent to), so another site cannot make a signed-in browser change anything even where
// SameSite is not enforced.

import type { IncomingHttpHeaders } from "node:http";
import type { FastifyReply } from "fastify";
import { type Authenticated, allows, type Scope } from "../control/index.ts";
import { type AccessResult, type Authenticator, checkAccess, REFUSALS, type Refusal } from "./auth.ts";
import { httpErrorOf } from "./error-status.ts";
import { errorJson } from "./json.ts";
import { JSON_TYPE, type Outgoing, sendOutgoing, textContentType } from "./respond.ts";

/** Checks a session secret (the cookie's value): its org and scopes, or null. Backed by control's `checkSession`. */
export type SessionAuthenticator = (session: string) => Authenticated | null;

/** How requests are authorized: tokens always, console sessions when the server has them. */
export interface Credentials {
  readonly authenticate: Authenticator;
  readonly session?: SessionAuthenticator;
}

/** What of a request the check reads. */
export interface RequestLike {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
}

/** The refusal of a cookie request that changes state without an Origin of this server. */
export const CROSS_SITE: Refusal = {
  status: httpErrorOf("forbidden").status as 403,
  body: errorJson(
    httpErrorOf("forbidden").errorType,
    "cross-site request refused: a request signed in by the console's cookie must come from the console's own page",
  ),
  headers: { "cache-control": "no-store" },
};

const COOKIE_BASE = "contrail_session";
/** Most cookies of the session's name considered in one request (a browser sends one; more is a crafted header). */
const MAX_SESSION_COOKIES = 4;
const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD"]);

/**
 * The session cookie's name for requests to `host` (the Host header): `contrail_session_<port>`. Browsers share
 * cookies between ports of one host, so the port in the name keeps two servers on one machine from signing each
 * other out.
 */
export function sessionCookieName(host: string | undefined): string {
  const port = /:([0-9]{1,5})$/.exec(host ?? "")?.[1];
  return port === undefined ? COOKIE_BASE : `${COOKIE_BASE}_${port}`;
}

/** The values of the cookies called `name` in a Cookie header, at most {@link MAX_SESSION_COOKIES}. */
export function cookieValues(header: string | undefined, name: string): string[] {
  const out: string[] = [];
  if (header === undefined) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    out.push(part.slice(eq + 1).trim());
    if (out.length === MAX_SESSION_COOKIES) break;
  }
  return out;
}

/** Whether the request's Origin header names the host it was sent to (scheme http or https). */
export function sameOrigin(headers: IncomingHttpHeaders): boolean {
  const origin = headers.origin;
  const host = headers.host;
  if (origin === undefined || host === undefined) return false;
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") && url.host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** The grant `check` gives the request's session cookie, or null when it carries none that is valid. */
export function sessionOf<G>(check: (session: string) => G | null, request: RequestLike): G | null {
  for (const value of cookieValues(request.headers.cookie, sessionCookieName(request.headers.host))) {
    const grant = check(value);
    if (grant !== null) return grant;
  }
  return null;
}

/**
 * Decides whether the request grants every scope of `scopes` on `org`: by its Authorization header when it has
 * one, else by its session cookie (with the Origin check for methods other than GET and HEAD). 401 and 403 as
 * `checkAccess` answers them.
 */
export function checkRequestAccess(
  creds: Credentials,
  request: RequestLike,
  want: { readonly org: string; readonly scopes: readonly Scope[] },
): AccessResult {
  const header = request.headers.authorization;
  let result: AccessResult;
  if (header !== undefined || creds.session === undefined) {
    result = checkAccess(creds.authenticate, { header, org: want.org, scope: want.scopes[0] });
  } else {
    const grant = sessionOf(creds.session, request);
    if (grant === null) return { ok: false, refusal: REFUSALS.unauthorized };
    if (!SAFE_METHODS.has(request.method) && !sameOrigin(request.headers)) return { ok: false, refusal: CROSS_SITE };
    result = allows(grant, { org: want.org, scope: want.scopes[0] })
      ? { ok: true, auth: grant }
      : { ok: false, refusal: REFUSALS.forbidden };
  }
  if (!result.ok) return result;
  const { auth } = result;
  return want.scopes.every((scope) => allows(auth, { org: want.org, scope }))
    ? result
    : { ok: false, refusal: REFUSALS.forbidden };
}

/** A refusal as a response: its status, its headers then the JSON content type, and its body. */
export function refusalOutgoing(r: Refusal): Outgoing {
  return { status: r.status, headers: { ...r.headers, "content-type": textContentType(JSON_TYPE) }, body: r.body };
}

/** Sends a refusal as it is: status, headers and the JSON body. */
export async function sendRefusal(reply: FastifyReply, r: Refusal): Promise<FastifyReply> {
  return sendOutgoing(reply, refusalOutgoing(r));
}
