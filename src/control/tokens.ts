// API tokens of an org. A token is 32 random bytes shown once as `ct_<base64url>`; the database keeps only its
// SHA-256 hash, so a copy of control.db (a backup, a leaked file) grants no access.
//
// Scopes: `read` (PromQL queries, series and label lookups, federation: what a Grafana data source needs) and
// `write` (remote write, deploys). `write` does NOT imply `read`: a write token sits on every pushing agent and
// CI runner, and one that leaks must not open the org's metrics to whoever found it. A token may carry both.

// The default import (not named imports) so `crypto.timingSafeEqual` is looked up at call time and tests can
// observe that authentication goes through the constant-time comparison.
import crypto from "node:crypto";
import { ContrailError } from "../model/errors.ts";
import { type ControlDb, isUniqueViolation } from "./connection.ts";
import { requireOrg } from "./orgs.ts";
import { checkTokenNote } from "./validate.ts";

/** What a token may do: `read` queries, `write` samples and deploys. Neither implies the other. */
export type Scope = "read" | "write";

/** Every scope, in canonical order. */
export const SCOPES: readonly Scope[] = ["read", "write"];

/** The recognisable prefix of every token, so secret scanners and people can tell a Contrail token apart. */
export const TOKEN_PREFIX = "ct_";

const SECRET_BYTES = 32;
const TOKEN_SYNTAX = /^ct_[A-Za-z0-9_-]{43}$/;
const TOKEN_ID = /^[0-9a-f]{12}$/;
/** `lastUsedAt` is refreshed at most this often per token, so authenticating is not a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;
/** The longest time-to-live a token may have: ten years, in milliseconds. */
const MAX_TTL_MS = 10 * 365 * 86_400_000;

/** A token as listed: never the secret. Times in milliseconds since the epoch; null when not set. */
export interface TokenInfo {
  /** 12 hex digits: the first 6 bytes of the token's SHA-256 hash. Non-secret, shown in listings. */
  readonly id: string;
  readonly orgId: string;
  readonly scopes: readonly Scope[];
  readonly note: string | null;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

/** A successfully authenticated token: the org it belongs to and what it may do there. */
export interface Authenticated {
  readonly tokenId: string;
  readonly orgId: string;
  readonly scopes: readonly Scope[];
}

interface TokenRow {
  id: string;
  org_id: string;
  hash: Buffer;
  scopes: string;
  note: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

const COLUMNS = "id, org_id, hash, scopes, note, created_at, expires_at, last_used_at, revoked_at";

function toInfo(r: TokenRow): TokenInfo {
  return {
    id: r.id,
    orgId: r.org_id,
    scopes: r.scopes.split(",") as Scope[],
    note: r.note,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

/** The SHA-256 hash of `token` (32 bytes): what the database stores and what lookups and caches are keyed by. */
export function hashToken(token: string): Buffer {
  return crypto.hash("sha256", token, "buffer");
}

/** Whether `token` has the shape of a token (`ct_` and 43 base64url characters); anything else is refused unread. */
export function isWellFormedToken(token: string): boolean {
  return TOKEN_SYNTAX.test(token);
}

/** The listing id of `token` (12 hex digits), computable by whoever holds the token. */
export function tokenIdOf(token: string): string {
  return hashToken(token).subarray(0, 6).toString("hex");
}

/** Parses scopes written as `read`, `write` or `read,write`; throws `bad_data`. Returns them in canonical order. */
export function parseScopes(text: string): Scope[] {
  const names = text.split(",").map((s) => s.trim());
  for (const n of names) {
    if (n !== "read" && n !== "write") {
      throw new ContrailError("bad_data", `scope: expected "read", "write" or "read,write", got ${JSON.stringify(n)}`);
    }
  }
  return SCOPES.filter((s) => names.includes(s));
}

const TTL_UNIT_MS: Readonly<Record<string, number>> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Parses a time-to-live like `30d`, `12h`, `90m`, `2w`, `1y` into milliseconds; throws `bad_data`. */
export function parseTokenTtl(text: string): number {
  const m = /^([0-9]{1,6})([mhdwy])$/.exec(text);
  const ms = m === null ? 0 : Number(m[1]) * TTL_UNIT_MS[m[2]];
  if (ms <= 0 || ms > MAX_TTL_MS) {
    throw new ContrailError(
      "bad_data",
      `expires: expected a duration like 90m, 12h, 30d, 2w or 1y (at most 10y), got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

/** Options of {@link createToken}. */
export interface CreateTokenOptions {
  /** Slug of the org the token acts for. */
  readonly org: string;
  /** Defaults to `["read"]`. */
  readonly scopes?: readonly Scope[];
  /** Time to live in milliseconds; no expiry when absent. */
  readonly ttlMs?: number;
  /** A reminder of what the token is for, at most 200 characters. */
  readonly note?: string;
}

/**
 * Creates a token for an org. The returned `token` is the only copy of the secret: it is not stored and cannot be
 * shown again. Throws `not_found` (org) or `bad_data`.
 */
export function createToken(db: ControlDb, options: CreateTokenOptions): { token: string; info: TokenInfo } {
  const scopes = SCOPES.filter((s) => (options.scopes ?? ["read"]).includes(s));
  if (scopes.length === 0 || (options.scopes ?? []).some((s) => !SCOPES.includes(s))) {
    throw new ContrailError(
      "bad_data",
      `scope: expected "read", "write" or both, got ${JSON.stringify(options.scopes)}`,
    );
  }
  if (
    options.ttlMs !== undefined &&
    !(Number.isInteger(options.ttlMs) && options.ttlMs > 0 && options.ttlMs <= MAX_TTL_MS)
  ) {
    throw new ContrailError("bad_data", `expires: time to live must be 1 ms to 10 years, got ${options.ttlMs}`);
  }
  const note = options.note === undefined || options.note === "" ? null : checkTokenNote(options.note);
  return db.transaction(() => {
    requireOrg(db, options.org);
    const now = db.now();
    // Ids are 48 bits: among 16 million tokens two share one with even odds. On a clash, draw a new secret.
    for (let attempt = 0; ; attempt++) {
      const token = TOKEN_PREFIX + crypto.randomBytes(SECRET_BYTES).toString("base64url");
      const hash = hashToken(token);
      try {
        const row = db
          .stmt<[string, string, Buffer, string, string | null, number, number | null], TokenRow>(
            `INSERT INTO tokens (id, org_id, hash, scopes, note, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             RETURNING ${COLUMNS}`,
          )
          .get(
            hash.subarray(0, 6).toString("hex"),
            options.org,
            hash,
            scopes.join(","),
            note,
            now,
            options.ttlMs === undefined ? null : now + options.ttlMs,
          );
        return { token, info: toInfo(row!) };
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= 3) throw err;
      }
    }
  });
}

/**
 * What deciding on a presented token needs of its stored row. Owned by whoever looked it up; a cache may keep it
 * until the token changes, so only `lastUsedAt` changes in place (see {@link verifyCredential}).
 */
export interface TokenCredential {
  /** The stored SHA-256 hash, 32 bytes. */
  readonly hash: Buffer;
  /** What the token grants when it is neither revoked nor expired. */
  readonly grant: Authenticated;
  /** Expiry in milliseconds since the epoch (refused from this instant on), or null for none. */
  readonly expiresAt: number | null;
  /** When it was revoked (ms since the epoch), or null. */
  readonly revokedAt: number | null;
  /** The last recorded use (ms since the epoch), or null. */
  lastUsedAt: number | null;
}

/** The stored credential whose hash is `hash` (from {@link hashToken}), or null when no token has it. */
export function findCredential(db: ControlDb, hash: Buffer): TokenCredential | null {
  const row = db.stmt<[Buffer], TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE hash = ?`).get(hash);
  if (row === undefined) return null;
  return {
    hash: row.hash,
    grant: { tokenId: row.id, orgId: row.org_id, scopes: row.scopes.split(",") as Scope[] },
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

/**
 * The accept decision for a presented token whose hash is `hash`, against the credential stored under that hash:
 * its grant, or null when there is none or it is revoked or expired at `db.now()`. Records the use in the database
 * (and in `credential.lastUsedAt`) at most once per {@link LAST_USED_RESOLUTION_MS}.
 *
 * Why a lookup by hash plus a constant-time comparison is safe: the secret itself never meets a data-dependent
 * comparison, only its SHA-256 does. SQLite's index search (or a cache's map) compares bytes and stops early, so its
 * timing may tell how many leading bytes of SHA-256(guess) agree with some stored hash. That does not help an
 * attacker: it reveals bytes of a hash, not of a token, and making a guess whose hash agrees on k more bytes costs
 * about 2^(8k) tries, so a full match stays a 2^256 preimage search. `timingSafeEqual` over the two 32-byte hashes
 * then makes the accept decision itself constant-time, and keeps it so should the lookup ever narrow by the id
 * prefix instead.
 */
export function verifyCredential(
  db: ControlDb,
  credential: TokenCredential | null,
  hash: Buffer,
): Authenticated | null {
  if (credential === null || credential.hash.length !== hash.length) return null;
  if (!crypto.timingSafeEqual(credential.hash, hash)) return null;
  const now = db.now();
  if (credential.revokedAt !== null) return null;
  if (credential.expiresAt !== null && now >= credential.expiresAt) return null;
  const last = credential.lastUsedAt;
  if (last === null || now - last >= LAST_USED_RESOLUTION_MS) {
    touch(db, credential.grant.tokenId, now);
    credential.lastUsedAt = now;
  }
  return credential.grant;
}

/**
 * Checks a bearer token against the database: returns its org and scopes, or null when it is malformed, unknown,
 * revoked or expired (the API answers 401 to null, and 403 when the org or scope does not fit the request). One
 * hash and one read per call; `TokenCache` (token-cache.ts) answers repeated calls from memory.
 */
export function authenticate(db: ControlDb, token: string): Authenticated | null {
  if (!isWellFormedToken(token)) return null;
  const hash = hashToken(token);
  return verifyCredential(db, findCredential(db, hash), hash);
}

/** Records a use of the token; best effort: a busy or read-only database must not fail the request. */
function touch(db: ControlDb, id: string, now: number): void {
  try {
    db.stmt("UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)").run(
      now,
      id,
      now - LAST_USED_RESOLUTION_MS + 1,
    );
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? "");
    if (!code.startsWith("SQLITE_BUSY") && !code.startsWith("SQLITE_READONLY")) throw err;
  }
}

/** Whether `auth` may act on org `org` with `scope`: the API's 403 check after {@link authenticate}. */
export function allows(auth: Authenticated, options: { readonly org: string; readonly scope: Scope }): boolean {
  return auth.orgId === options.org && auth.scopes.includes(options.scope);
}

/** Tokens of every org, or only of `org`, newest first. */
export function listTokens(db: ControlDb, options: { readonly org?: string } = {}): TokenInfo[] {
  const rows =
    options.org === undefined
      ? db.stmt<[], TokenRow>(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at DESC, id`).all()
      : db
          .stmt<[string], TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE org_id = ? ORDER BY created_at DESC, id`)
          .all(options.org);
  return rows.map(toInfo);
}

/**
 * Revokes a token given by id (12 hex digits) or as the full `ct_` token; revoking twice keeps the first time.
 * With `org`, a token of another org counts as not found. Throws `bad_data` or `not_found`.
 */
export function revokeToken(db: ControlDb, idOrToken: string, options: { readonly org?: string } = {}): TokenInfo {
  const id = TOKEN_SYNTAX.test(idOrToken) ? tokenIdOf(idOrToken) : idOrToken;
  if (!TOKEN_ID.test(id)) {
    throw new ContrailError(
      "bad_data",
      `token id: expected 12 hex digits (as listed by "contrail tokens list") or a full ${TOKEN_PREFIX} token`,
    );
  }
  const row = db
    .stmt<[number, string, string | null], TokenRow>(
      `UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? AND org_id = coalesce(?, org_id)
       RETURNING ${COLUMNS}`,
    )
    .get(db.now(), id, options.org ?? null);
  if (row === undefined) throw new ContrailError("not_found", `no token ${id}`);
  return toInfo(row);
}

/**
 * Deletes a token row for good (by id). Meant for tokens a command made for its own short use, such as
 * `contrail query`'s temporary read token, so they do not pile up in `tokens list`; user tokens are revoked instead,
 * which keeps their history. Returns false when no such token exists.
 */
export function deleteToken(db: ControlDb, id: string): boolean {
  if (!TOKEN_ID.test(id)) throw new ContrailError("bad_data", "token id: expected 12 hex digits");
  return db.stmt<[string], unknown>("DELETE FROM tokens WHERE id = ?").run(id).changes > 0;
}
