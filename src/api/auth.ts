// Who may call `/prometheus/<org>/…`: the token comes from `Authorization: Bearer <token>`, or as the password of
// HTTP Basic auth (any user name) for clients that can only put credentials in a URL. No token, a malformed one or
// an unknown one answers 401; a valid token of another org, of an org that does not exist, or without the needed
// scope answers 403. The org is never looked up before the token is checked, and the two refusals have bodies of
// the same length and the same headers, so a caller cannot tell existing orgs from missing ones.

import { type Authenticated, allows, type Scope } from "../control/index.ts";
import { httpErrorOf } from "./error-status.ts";
import { errorJson } from "./json.ts";

/** Checks a token: its org and scopes, or null when it is not valid. Backed by control's `TokenCache`. */
export type Authenticator = (token: string) => Authenticated | null;

/** The outcome of an access check: the caller's identity, or the refusal to send. */
export type AccessResult =
  | { readonly ok: true; readonly auth: Authenticated }
  | { readonly ok: false; readonly refusal: Refusal };

/** A refusal: status, JSON body and headers, identical in size for 401 and 403. */
export interface Refusal {
  readonly status: 401 | 403;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

// Both messages are chosen so the two bodies have the same length (a test checks it).
const UNAUTHORIZED: Refusal = {
  status: httpErrorOf("unauthorized").status as 401,
  body: errorJson(httpErrorOf("unauthorized").errorType, "a valid token is required: Authorization: Bearer <token>"),
  headers: { "www-authenticate": 'Bearer realm="contrail"', "cache-control": "no-store" },
};
const FORBIDDEN: Refusal = {
  status: httpErrorOf("forbidden").status as 403,
  body: errorJson(httpErrorOf("forbidden").errorType, "the token does not grant this access to the org in this URL"),
  headers: { "www-authenticate": 'Bearer realm="contrail"', "cache-control": "no-store" },
};

/** The refusals, for tests and for routes that refuse without a check. */
export const REFUSALS = { unauthorized: UNAUTHORIZED, forbidden: FORBIDDEN } as const;

// Longest Authorization header considered: a token is 46 characters, a Basic header with a long user name a few
// hundred; anything longer is refused without decoding.
const MAX_HEADER = 4096;

/** The token carried by an Authorization header (Bearer, or the password of Basic), or null. */
export function tokenFromHeader(header: string | undefined): string | null {
  if (header === undefined || header.length > MAX_HEADER) return null;
  const space = header.indexOf(" ");
  if (space <= 0) return null;
  const scheme = header.slice(0, space).toLowerCase();
  const rest = header.slice(space + 1).trim();
  if (scheme === "bearer") return rest === "" ? null : rest;
  if (scheme === "basic") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(rest)) return null;
    const decoded = Buffer.from(rest, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return null;
    const password = decoded.slice(colon + 1);
    return password === "" ? null : password;
  }
  return null;
}

/** Decides whether the request's Authorization header grants `scope` on `org`. */
export function checkAccess(
  authenticate: Authenticator,
  request: { readonly header: string | undefined; readonly org: string; readonly scope: Scope },
): AccessResult {
  const token = tokenFromHeader(request.header);
  const auth = token === null ? null : authenticate(token);
  if (auth === null) return { ok: false, refusal: UNAUTHORIZED };
  if (!allows(auth, { org: request.org, scope: request.scope })) return { ok: false, refusal: FORBIDDEN };
  return { ok: true, auth };
}
