import assert from "node:assert/strict";
import crypto from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { ControlDb } from "./connection.ts";
import { openControlDb } from "./db.ts";
import { createOrg, deleteOrg } from "./orgs.ts";
import {
  checkSession,
  createSignInLink,
  endSession,
  LINK_TTL_MS,
  MAX_SESSIONS_PER_ORG,
  redeemSignInLink,
  SESSION_TTL_MS,
  startSessionWithToken,
} from "./sessions.ts";
import { createToken, revokeToken } from "./tokens.ts";
import { localUser } from "./users.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-control-sessions-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const T0 = 1_700_000_000_000;

function fresh(): { db: ControlDb; dir: string; tick: (ms: number) => void } {
  let t = T0;
  const dir = join(root, `d${dirs++}`);
  const db = openControlDb({ dataDir: dir, now: () => t });
  createOrg(db, { slug: "acme", admin: localUser(db)!.id });
  return { db, dir, tick: (ms) => (t += ms) };
}

function redeemed(db: ControlDb, link: string): string {
  const r = redeemSignInLink(db, link);
  assert.ok(r.ok, `expected the link to start a session, got ${JSON.stringify(r)}`);
  return r.session;
}

describe("console sign-in links and sessions", () => {
  test("a link starts one session with its org and scopes; only hashes are stored", () => {
    const { db, dir } = fresh();
    const { link, expiresAt } = createSignInLink(db, { org: "acme", scopes: ["write", "read"] });
    assert.match(link, /^cl_[A-Za-z0-9_-]{43}$/);
    assert.equal(expiresAt, T0 + LINK_TTL_MS);
    const r = redeemSignInLink(db, link);
    assert.ok(r.ok);
    assert.match(r.session, /^cs_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(r.grant, {
      tokenId: "",
      orgId: "acme",
      scopes: ["read", "write"],
      expiresAt: T0 + SESSION_TTL_MS,
    });
    assert.deepEqual(checkSession(db, r.session), r.grant);
    db.close();
    const file = readFileSync(join(dir, "control.db"));
    for (const secret of [link, r.session]) {
      assert.equal(file.includes(Buffer.from(secret)), false, "the secret is not stored");
      assert.equal(file.includes(Buffer.from(secret.slice(3))), false);
    }
    const reopened = openControlDb({ dataDir: dir, now: () => T0 });
    assert.equal(checkSession(reopened, r.session)?.orgId, "acme", "a session survives a reopen");
    reopened.close();
  });

  test("a link works once, however many connections race to redeem it", () => {
    const { db, dir } = fresh();
    const other = openControlDb({ dataDir: dir, now: () => T0 });
    const { link } = createSignInLink(db, { org: "acme" });
    const results = [redeemSignInLink(db, link), redeemSignInLink(other, link), redeemSignInLink(db, link)];
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.deepEqual(results.slice(1), [
      { ok: false, reason: "used" },
      { ok: false, reason: "used" },
    ]);
    other.close();
    db.close();
  });

  test("unknown, malformed and expired links are refused with their reason", () => {
    const { db, tick } = fresh();
    const { link } = createSignInLink(db, { org: "acme" });
    const unknown = `cl_${crypto.randomBytes(32).toString("base64url")}`;
    for (const bad of [unknown, "", "cl_short", `${link}x`, link.replace("cl_", "cs_")]) {
      assert.deepEqual(redeemSignInLink(db, bad), { ok: false, reason: "invalid" }, bad);
    }
    tick(LINK_TTL_MS);
    assert.deepEqual(redeemSignInLink(db, link), { ok: false, reason: "expired" });
    db.close();
  });

  test("a session ends at sign-out and at its expiry, to the millisecond", () => {
    const { db, tick } = fresh();
    const a = redeemed(db, createSignInLink(db, { org: "acme" }).link);
    const b = redeemed(db, createSignInLink(db, { org: "acme" }).link);
    assert.equal(endSession(db, a), true);
    assert.equal(checkSession(db, a), null);
    assert.equal(endSession(db, a), false);
    tick(SESSION_TTL_MS - 1);
    assert.notEqual(checkSession(db, b), null);
    tick(1);
    assert.equal(checkSession(db, b), null);
    for (const bad of ["", "cs_x", `ct_${"a".repeat(43)}`]) assert.equal(checkSession(db, bad), null);
    db.close();
  });

  test("a session started with a token has the token's grant and ends with it", () => {
    const { db, tick } = fresh();
    const { token, info } = createToken(db, { org: "acme", scopes: ["read"], ttlMs: 60_000 });
    assert.equal(startSessionWithToken(db, "ct_nope"), null);
    const s1 = startSessionWithToken(db, token)!;
    assert.deepEqual(checkSession(db, s1.session), {
      tokenId: info.id,
      orgId: "acme",
      scopes: ["read"],
      expiresAt: T0 + SESSION_TTL_MS,
    });
    tick(60_000);
    assert.equal(checkSession(db, s1.session), null, "the token expired");

    const long = createToken(db, { org: "acme", scopes: ["read", "write"] });
    const s2 = startSessionWithToken(db, long.token)!;
    assert.equal(checkSession(db, s2.session)?.orgId, "acme");
    revokeToken(db, long.info.id);
    assert.equal(checkSession(db, s2.session), null, "the token was revoked");
    assert.equal(startSessionWithToken(db, long.token), null);
    db.close();
  });

  test("deleting an org ends its sessions and links; scopes and orgs are checked", () => {
    const { db } = fresh();
    createOrg(db, { slug: "gone", admin: localUser(db)!.id });
    const link = createSignInLink(db, { org: "gone" }).link;
    const session = redeemed(db, createSignInLink(db, { org: "gone" }).link);
    deleteOrg(db, "gone");
    assert.equal(checkSession(db, session), null);
    assert.deepEqual(redeemSignInLink(db, link), { ok: false, reason: "invalid" });
    assert.throws(() => createSignInLink(db, { org: "nope" }), /nope/);
    assert.throws(() => createSignInLink(db, { org: "acme", scopes: [] }), /scope/);
    db.close();
  });

  test("an org keeps at most MAX_SESSIONS_PER_ORG sessions: the oldest ends first", () => {
    const { db, tick } = fresh();
    const { token } = createToken(db, { org: "acme" });
    const first = startSessionWithToken(db, token)!.session;
    tick(1);
    const second = startSessionWithToken(db, token)!.session;
    for (let i = 0; i < MAX_SESSIONS_PER_ORG - 1; i++) {
      tick(1);
      startSessionWithToken(db, token);
    }
    assert.equal(checkSession(db, first), null);
    assert.notEqual(checkSession(db, second), null);
    const n = db.sql.prepare("SELECT count(*) FROM console_sessions").pluck().get();
    assert.equal(n, MAX_SESSIONS_PER_ORG);
    db.close();
  });
});
