// The web console's JSON routes, beside the Prometheus API it queries:
//   POST   /console/v1/session  {"link":"cl_…"} or {"token":"ct_…"}   signs in: sets the session cookie
//   GET    /console/v1/session                                        whether signed in, and as which org and scopes
//   DELETE /console/v1/session                                        signs out: ends the session server-side
//   GET    /control/v1/orgs/<org>/apps                  (read)         apps with deployment and instances
//   GET    /control/v1/orgs/<org>/tokens                (read, write)  the org's tokens, never their secrets
//   POST   /control/v1/orgs/<org>/tokens {note, expires} (read, write) a new read token, shown once: 201
//   DELETE /control/v1/orgs/<org>/tokens/<id>           (read, write)  revokes one
// The org routes take a token or the session cookie, with the rules of session-auth.ts: one org, its scopes, and
// an Origin check for cookie requests that change state. Managing tokens needs both scopes, so a leaked write-only
// token cannot mint itself read access. Signing in checks the Origin too, so no other site can sign a browser in.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  type ControlDb,
  checkSession,
  createToken,
  endSession,
  getDeployment,
  type LinkRefusal,
  listApps,
  listInstancesWithRuntime,
  listTokens,
  parseTokenTtl,
  redeemSignInLink,
  revokeToken,
  type Scope,
  type SessionGrant,
  startSessionWithToken,
} from "../control/index.ts";
import { ContrailError } from "../model/errors.ts";
import type { Authenticator } from "./auth.ts";
import { instanceJson } from "./control-routes.ts";
import { JSON_TYPE } from "./respond.ts";
import {
  CROSS_SITE,
  checkRequestAccess,
  cookieValues,
  sameOrigin,
  sendRefusal,
  sessionCookieName,
  sessionOf,
} from "./session-auth.ts";

/** What the console routes need. */
export interface ConsoleRouteDeps {
  readonly control: ControlDb;
  readonly authenticate: Authenticator;
}

/** Largest body of the console's JSON requests, bytes: a link, a token or a note fit many times over. */
const CONSOLE_BODY_LIMIT = 4096;
/** Longest secret considered in a sign-in request, characters (links and tokens are 46). */
const MAX_SECRET_LENGTH = 128;

const LINK_MESSAGES: Readonly<Record<LinkRefusal, string>> = {
  invalid:
    "this sign-in link is not valid: check that it was copied whole, or get a new one with: npx contrail console",
  used: "this sign-in link was already used: each link works once; get a new one with: npx contrail console",
  expired: "this sign-in link has expired; get a new one with: npx contrail console",
};

function sessionJson(grant: { readonly orgId: string; readonly scopes: readonly Scope[]; readonly expiresAt: number }) {
  return { org: grant.orgId, scopes: grant.scopes, expiresAt: grant.expiresAt };
}

/** The Set-Cookie value that stores `session` until `expiresAt` (ms since the epoch), or clears it. */
function cookieHeader(request: FastifyRequest, session: string | null, expiresAt: number, now: number): string {
  const name = sessionCookieName(request.headers.host);
  const maxAge = session === null ? 0 : Math.max(0, Math.floor((expiresAt - now) / 1000));
  return `${name}=${session ?? ""}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply
    .code(status)
    .header("content-type", JSON_TYPE)
    .header("cache-control", "no-store")
    .send(JSON.stringify(body));
}

/** The string field `name` of a JSON object body, bounded; undefined when absent. Throws `bad_data`. */
function stringField(body: unknown, name: string, max: number): string | undefined {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ContrailError("bad_data", "expected a JSON object as the request body");
  }
  const v = (body as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new ContrailError("bad_data", `${name}: expected a string`);
  if (v.length > max) throw new ContrailError("bad_data", `${name}: at most ${max} characters, got ${v.length}`);
  return v;
}

/** Adds the console's session and org routes to `app` (errors go through the server's error handler). */
export function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): void {
  const { control } = deps;
  const check = (s: string) => checkSession(control, s);
  const credentials = { authenticate: deps.authenticate, session: check };

  app.post("/console/v1/session", { bodyLimit: CONSOLE_BODY_LIMIT }, async (request, reply) => {
    if (!sameOrigin(request.headers)) return sendRefusal(reply, CROSS_SITE);
    const link = stringField(request.body, "link", MAX_SECRET_LENGTH);
    const token = stringField(request.body, "token", MAX_SECRET_LENGTH);
    if ((link === undefined) === (token === undefined)) {
      throw new ContrailError("bad_data", 'expected {"link":"cl_…"} or {"token":"ct_…"}');
    }
    let started: { session: string; grant: SessionGrant };
    if (link !== undefined) {
      const r = redeemSignInLink(control, link.trim());
      if (!r.ok) throw new ContrailError("unauthorized", LINK_MESSAGES[r.reason]);
      started = r;
    } else {
      const s = startSessionWithToken(control, token!.trim());
      if (s === null) {
        throw new ContrailError("unauthorized", "this token is not valid: it may be mistyped, revoked or expired");
      }
      started = s;
    }
    reply.header("set-cookie", cookieHeader(request, started.session, started.grant.expiresAt, control.now()));
    return sendJson(reply, 200, sessionJson(started.grant));
  });

  app.get("/console/v1/session", async (request, reply) => {
    // Not signed in is an answer, not an error: the page asks this on every load.
    const grant = sessionOf(check, request);
    return sendJson(reply, 200, grant === null ? { signedIn: false } : { signedIn: true, ...sessionJson(grant) });
  });

  app.delete("/console/v1/session", async (request, reply) => {
    if (!sameOrigin(request.headers)) return sendRefusal(reply, CROSS_SITE);
    for (const value of cookieValues(request.headers.cookie, sessionCookieName(request.headers.host))) {
      endSession(control, value);
    }
    reply.header("set-cookie", cookieHeader(request, null, 0, control.now()));
    return reply.code(204).header("cache-control", "no-store").send();
  });

  /** Refuses unless the request grants `scopes` on the URL's org; returns the org when it does. */
  const authorize = async (request: FastifyRequest, reply: FastifyReply, scopes: readonly Scope[]) => {
    const { org } = request.params as { org: string };
    const access = checkRequestAccess(credentials, request, { org, scopes });
    if (access.ok) return org;
    await sendRefusal(reply, access.refusal);
    return null;
  };

  app.get("/control/v1/orgs/:org/apps", async (request, reply) => {
    const org = await authorize(request, reply, ["read"]);
    if (org === null) return reply;
    const apps = listApps(control, { org }).map((a) => {
      const d = getDeployment(control, a.name);
      return {
        name: a.name,
        createdAt: a.createdAt,
        updatedAt: a.updatedAt,
        primaryRegion: a.config?.primaryRegion ?? null,
        customMetrics: (a.config?.metrics.length ?? 0) > 0,
        deployment:
          d === undefined
            ? null
            : { version: d.version, deployedAt: d.deployedAt, appliedVersion: d.appliedVersion, error: d.error },
        instances: listInstancesWithRuntime(control, { app: a.name }).map(instanceJson),
      };
    });
    return sendJson(reply, 200, { apps });
  });

  app.get("/control/v1/orgs/:org/tokens", async (request, reply) => {
    const org = await authorize(request, reply, ["read", "write"]);
    if (org === null) return reply;
    return sendJson(reply, 200, { tokens: listTokens(control, { org }) });
  });

  app.post("/control/v1/orgs/:org/tokens", { bodyLimit: CONSOLE_BODY_LIMIT }, async (request, reply) => {
    const org = await authorize(request, reply, ["read", "write"]);
    if (org === null) return reply;
    const note = stringField(request.body ?? {}, "note", MAX_SECRET_LENGTH * 2);
    const expires = stringField(request.body ?? {}, "expires", 16);
    const created = createToken(control, {
      org,
      scopes: ["read"],
      note,
      ttlMs: expires === undefined || expires === "" ? undefined : parseTokenTtl(expires),
    });
    return sendJson(reply, 201, { token: created.token, info: created.info });
  });

  app.delete("/control/v1/orgs/:org/tokens/:id", async (request, reply) => {
    const org = await authorize(request, reply, ["read", "write"]);
    if (org === null) return reply;
    const { id } = request.params as { id: string };
    return sendJson(reply, 200, { token: revokeToken(control, id, { org }) });
  });
}
