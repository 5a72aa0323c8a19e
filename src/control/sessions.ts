// Web console sessions and the one-time links that start them. A link (`cl_…`) is made by whoever can open the
// control database (`contrail up --demo`, `contrail console`) and redeemed over HTTP by the metrics node; a session
// (`cs_…`) is what the browser then holds in an HttpOnly cookie. Both are 32 random bytes shown once; the database
// keeps only their SHA-256 hashes, so a copy of control.db opens no session. A link works once: marking it used
// and creating the session happen in one write transaction, so two redemptions racing in two processes cannot both
// succeed. A session grants one org and the scopes it was made with, never more; one started by pasting a token
// ends when that token is revoked, expires or is deleted.

import crypto from "node:crypto";
import { ContrailError } from "../model/errors.ts";
import type { ControlDb } from "./connection.ts";
import { requireOrg } from "./orgs.ts";
import { type Authenticated, authenticate, hashToken, SCOPES, type Scope } from "./tokens.ts";

/** Prefix of one-time sign-in link secrets. */
export const LINK_PREFIX = "cl_";
/** Prefix of session secrets (the cookie's value). */
export const SESSION_PREFIX = "cs_";
/** How long a sign-in link may wait for its use, ms: a day, so the link `up` printed works after a break. */
export const LINK_TTL_MS = 24 * 3_600_000;
/** How long a session lasts from sign-in, ms (7 days); sign-out ends it sooner. */
export const SESSION_TTL_MS = 7 * 86_400_000;
/** Most live sessions per org; starting one more ends the oldest. Bounds what pasted tokens can pile up. */
export const MAX_SESSIONS_PER_ORG = 1_000;
/** Most unexpired links per org; making one more drops the oldest. */
export const MAX_LINKS_PER_ORG = 1_000;

const SECRET_BYTES = 32;
const LINK_SYNTAX = /^cl_[A-Za-z0-9_-]{43}$/;
const SESSION_SYNTAX = /^cs_[A-Za-z0-9_-]{43}$/;

/** What a session grants, and until when (ms since the epoch). */
export interface SessionGrant extends Authenticated {
  readonly expiresAt: number;
}

/** Why a link did not start a session: unknown (never made, mistyped, or its org deleted), used, or expired. */
export type LinkRefusal = "invalid" | "used" | "expired";

/** The outcome of {@link redeemSignInLink}: the new session's secret and grant, or why there is none. */
export type RedeemResult =
  | { readonly ok: true; readonly session: string; readonly grant: SessionGrant }
  | { readonly ok: false; readonly reason: LinkRefusal };

function newSecret(prefix: string): { secret: string; hash: Buffer } {
  const secret = prefix + crypto.randomBytes(SECRET_BYTES).toString("base64url");
  return { secret, hash: hashToken(secret) };
}

function checkScopes(scopes: readonly Scope[]): Scope[] {
  const canonical = SCOPES.filter((s) => scopes.includes(s));
  if (canonical.length === 0 || scopes.some((s) => !SCOPES.includes(s))) {
    throw new ContrailError("bad_data", `scope: expected "read", "write" or both, got ${JSON.stringify(scopes)}`);
  }
  return canonical;
}

/**
 * Makes a one-time sign-in link secret for `org` with `scopes` (default `read`), valid for {@link LINK_TTL_MS}.
 * The returned secret is the only copy. Throws `not_found` (org) or `bad_data` (scopes).
 */
export function createSignInLink(
  db: ControlDb,
  options: { readonly org: string; readonly scopes?: readonly Scope[] },
): { link: string; expiresAt: number } {
  const scopes = checkScopes(options.scopes ?? ["read"]);
  return db.transaction(() => {
    requireOrg(db, options.org);
    const now = db.now();
    db.stmt("DELETE FROM console_links WHERE expires_at <= ?").run(now);
    db.stmt(
      `DELETE FROM console_links WHERE org_id = @org AND hash IN
       (SELECT hash FROM console_links WHERE org_id = @org ORDER BY created_at DESC LIMIT -1 OFFSET @keep)`,
    ).run({ org: options.org, keep: MAX_LINKS_PER_ORG - 1 });
    const { secret, hash } = newSecret(LINK_PREFIX);
    const expiresAt = now + LINK_TTL_MS;
    db.stmt("INSERT INTO console_links (hash, org_id, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?)").run(
      hash,
      options.org,
      scopes.join(","),
      now,
      expiresAt,
    );
    return { link: secret, expiresAt };
  });
}

/** Inserts a session row (in the caller's transaction), ending the org's oldest ones past the bound. */
function insertSession(
  db: ControlDb,
  grant: { readonly orgId: string; readonly scopes: readonly Scope[]; readonly tokenId: string | null },
): { session: string; grant: SessionGrant } {
  const now = db.now();
  db.stmt("DELETE FROM console_sessions WHERE expires_at <= ?").run(now);
  db.stmt(
    `DELETE FROM console_sessions WHERE org_id = @org AND hash IN
     (SELECT hash FROM console_sessions WHERE org_id = @org ORDER BY created_at DESC LIMIT -1 OFFSET @keep)`,
  ).run({ org: grant.orgId, keep: MAX_SESSIONS_PER_ORG - 1 });
  const { secret, hash } = newSecret(SESSION_PREFIX);
  const expiresAt = now + SESSION_TTL_MS;
  db.stmt(
    "INSERT INTO console_sessions (hash, org_id, scopes, token_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
  ).run(hash, grant.orgId, grant.scopes.join(","), grant.tokenId, now, expiresAt);
  return {
    session: secret,
    grant: { tokenId: grant.tokenId ?? "", orgId: grant.orgId, scopes: [...grant.scopes], expiresAt },
  };
}

interface LinkRow {
  hash: Buffer;
  org_id: string;
  scopes: string;
  expires_at: number;
  used_at: number | null;
}

/**
 * Redeems a sign-in link: marks it used and starts a session with its org and scopes, in one write transaction,
 * so a link starts at most one session whichever process redeems it. Anything not shaped like a link is `invalid`.
 */
export function redeemSignInLink(db: ControlDb, link: string): RedeemResult {
  if (!LINK_SYNTAX.test(link)) return { ok: false, reason: "invalid" };
  const hash = hashToken(link);
  return db.transaction((): RedeemResult => {
    const row = db
      .stmt<[Buffer], LinkRow>("SELECT hash, org_id, scopes, expires_at, used_at FROM console_links WHERE hash = ?")
      .get(hash);
    if (row === undefined || !crypto.timingSafeEqual(row.hash, hash)) return { ok: false, reason: "invalid" };
    if (row.used_at !== null) return { ok: false, reason: "used" };
    const now = db.now();
    if (now >= row.expires_at) return { ok: false, reason: "expired" };
    db.stmt("UPDATE console_links SET used_at = ? WHERE hash = ?").run(now, hash);
    const started = insertSession(db, { orgId: row.org_id, scopes: row.scopes.split(",") as Scope[], tokenId: null });
    return { ok: true, ...started };
  });
}

/**
 * Starts a session from a pasted API token: the token's org and scopes, for as long as the token stays valid
 * (at most {@link SESSION_TTL_MS}). Null when the token is not valid.
 */
export function startSessionWithToken(db: ControlDb, token: string): { session: string; grant: SessionGrant } | null {
  const auth = authenticate(db, token);
  if (auth === null) return null;
  return db.transaction(() => insertSession(db, { orgId: auth.orgId, scopes: auth.scopes, tokenId: auth.tokenId }));
}

interface SessionRow {
  hash: Buffer;
  org_id: string;
  scopes: string;
  token_id: string | null;
  expires_at: number;
  token_revoked_at: number | null;
  token_expires_at: number | null;
  token_present: number | null;
}

/**
 * What the session secret grants now, or null when it is malformed, unknown, ended, expired, or started with a
 * token that is no longer valid. One indexed read; the decision is made per call, to the millisecond.
 */
export function checkSession(db: ControlDb, session: string): SessionGrant | null {
  if (!SESSION_SYNTAX.test(session)) return null;
  const hash = hashToken(session);
  const row = db
    .stmt<[Buffer], SessionRow>(
      `SELECT s.hash, s.org_id, s.scopes, s.token_id, s.expires_at,
              t.revoked_at AS token_revoked_at, t.expires_at AS token_expires_at, t.id IS NOT NULL AS token_present
       FROM console_sessions s LEFT JOIN tokens t ON t.id = s.token_id WHERE s.hash = ?`,
    )
    .get(hash);
  if (row === undefined || !crypto.timingSafeEqual(row.hash, hash)) return null;
  const now = db.now();
  if (now >= row.expires_at) return null;
  if (row.token_id !== null) {
    if (row.token_present !== 1 || row.token_revoked_at !== null) return null;
    if (row.token_expires_at !== null && now >= row.token_expires_at) return null;
  }
  return {
    tokenId: row.token_id ?? "",
    orgId: row.org_id,
    scopes: row.scopes.split(",") as Scope[],
    expiresAt: row.expires_at,
  };
}

/** Ends a session (sign-out): it is refused from now on, in every process. False when there was none. */
export function endSession(db: ControlDb, session: string): boolean {
  if (!SESSION_SYNTAX.test(session)) return false;
  return db.stmt<[Buffer], unknown>("DELETE FROM console_sessions WHERE hash = ?").run(hashToken(session)).changes > 0;
}
