import assert from "node:assert/strict";
import crypto from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, mock, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import type { ControlDb } from "./connection.ts";
import { openControlDb } from "./db.ts";
import { createOrg, deleteOrg } from "./orgs.ts";
import { DEFAULT_MAX_REFUSED_ENTRIES, TokenCache } from "./token-cache.ts";
import { authenticate, createToken, deleteToken, listTokens, revokeToken } from "./tokens.ts";
import { localUser } from "./users.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-token-cache-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

const T0 = 1_700_000_000_000;

/** A fresh control database with an org `acme`, a fake clock, and a second connection opened as another process would. */
function fresh(): { db: ControlDb; other: ControlDb; tick: (ms: number) => void; close: () => void } {
  let t = T0;
  const dir = join(root, `d${dirs++}`);
  const db = openControlDb({ dataDir: dir, now: () => t });
  createOrg(db, { slug: "acme", admin: localUser(db)!.id });
  const other = openControlDb({ dataDir: dir, now: () => t });
  return {
    db,
    other,
    tick: (ms) => (t += ms),
    close: () => {
      other.close();
      db.close();
    },
  };
}

const madeUp = () => `ct_${crypto.randomBytes(32).toString("base64url")}`;

function generation(db: ControlDb): number {
  return db.sql.prepare("SELECT generation FROM token_changes").pluck().get() as number;
}

/** The cache's stats but for its counter reads, which follow whatever committed (uses recorded included). */
function withoutReads(cache: TokenCache): Omit<ReturnType<TokenCache["stats"]>, "counterReads"> {
  const { counterReads: _, ...rest } = cache.stats();
  return rest;
}

describe("TokenCache", () => {
  test("answers as authenticate does, from memory after the first check of a token", () => {
    const { db, close } = fresh();
    const { token, info } = createToken(db, { org: "acme", scopes: ["read", "write"] });
    const cache = new TokenCache(db);
    const unknown = madeUp();
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(cache.authenticate(token), authenticate(db, token));
      assert.deepEqual(cache.authenticate(token), { tokenId: info.id, orgId: "acme", scopes: ["read", "write"] });
      assert.equal(cache.authenticate(unknown), null);
      assert.equal(cache.authenticate("ct_short"), null);
    }
    // Malformed tokens are refused unread and never cached.
    const { counterReads, ...stats } = cache.stats();
    assert.deepEqual(stats, { valid: 1, refused: 1, hits: 7, lookups: 2 });
    assert.ok(counterReads >= 1, "the counter is read at the first check");
    close();
  });

  test("a revoke from another connection takes effect on the very next request", () => {
    const { db, other, close } = fresh();
    const { token, info } = createToken(db, { org: "acme" });
    const cache = new TokenCache(db);
    assert.notEqual(cache.authenticate(token), null);
    assert.notEqual(cache.authenticate(token), null);
    revokeToken(other, info.id);
    assert.equal(cache.authenticate(token), null);
    assert.equal(cache.authenticate(token), null);
    close();
  });

  test("a delete from another connection, and tokens deleted with their org, take effect on the next request", () => {
    const { db, other, close } = fresh();
    const a = createToken(db, { org: "acme" });
    createOrg(db, { slug: "beta", admin: localUser(db)!.id });
    const b = createToken(db, { org: "beta" });
    const cache = new TokenCache(db);
    assert.notEqual(cache.authenticate(a.token), null);
    assert.notEqual(cache.authenticate(b.token), null);
    assert.equal(deleteToken(other, a.info.id), true);
    assert.equal(cache.authenticate(a.token), null);
    assert.notEqual(cache.authenticate(b.token), null);
    deleteOrg(other, "beta");
    assert.equal(cache.authenticate(b.token), null);
    close();
  });

  test("reads the token-change counter only after something committed, from any connection", () => {
    const { db, other, close } = fresh();
    const { token } = createToken(db, { org: "acme" });
    const cache = new TokenCache(db);
    // The first check records the token's use (a commit), so the second reads the counter again; then none do.
    cache.authenticate(token);
    cache.authenticate(token);
    const reads = cache.stats().counterReads;
    for (let i = 0; i < 50; i++) assert.notEqual(cache.authenticate(token), null);
    assert.equal(cache.stats().counterReads, reads, "no commit, no counter read");
    createOrg(other, { slug: "unrelated", admin: localUser(other)!.id });
    assert.notEqual(cache.authenticate(token), null);
    assert.equal(cache.stats().counterReads, reads + 1, "a commit elsewhere: one read");
    assert.notEqual(cache.authenticate(token), null);
    assert.equal(cache.stats().counterReads, reads + 1);
    close();
  });

  test("a revoke on the cache's own connection takes effect on the next request", () => {
    const { db, close } = fresh();
    const { token, info } = createToken(db, { org: "acme" });
    const cache = new TokenCache(db);
    assert.notEqual(cache.authenticate(token), null);
    revokeToken(db, info.id);
    assert.equal(cache.authenticate(token), null);
    close();
  });

  test("an expired token is refused from its expiry instant on, while served from memory", () => {
    const { db, tick, close } = fresh();
    const { token } = createToken(db, { org: "acme", ttlMs: 3_600_000 });
    const cache = new TokenCache(db);
    assert.notEqual(cache.authenticate(token), null);
    tick(3_600_000 - 1);
    assert.notEqual(cache.authenticate(token), null);
    tick(1);
    assert.equal(cache.authenticate(token), null);
    assert.deepEqual(withoutReads(cache), { valid: 1, refused: 0, hits: 2, lookups: 1 });
    close();
  });

  test("only changes to what tokens grant drop the cache: uses (last_used_at) do not, and are still recorded", () => {
    const { db, other, tick, close } = fresh();
    const { token, info } = createToken(db, { org: "acme" });
    const cache = new TokenCache(db);
    const g0 = generation(db);
    cache.authenticate(token);
    assert.equal(listTokens(db)[0].lastUsedAt, T0);
    tick(60_000);
    cache.authenticate(token);
    cache.authenticate(token);
    assert.equal(listTokens(other)[0].lastUsedAt, T0 + 60_000, "the use a minute later is recorded");
    assert.equal(generation(db), g0);
    assert.deepEqual(withoutReads(cache), { valid: 1, refused: 0, hits: 2, lookups: 1 });

    createToken(other, { org: "acme" });
    assert.equal(generation(db), g0 + 1);
    revokeToken(other, info.id);
    assert.equal(generation(db), g0 + 2);
    cache.authenticate(token);
    assert.equal(cache.stats().lookups, 2, "looked up again after the changes");
    close();
  });

  test("a cached check still decides through the constant-time comparison of the hashes", () => {
    const { db, close } = fresh();
    const { token } = createToken(db, { org: "acme" });
    const cache = new TokenCache(db);
    cache.authenticate(token);
    const spy = mock.method(crypto, "timingSafeEqual");
    try {
      assert.notEqual(cache.authenticate(token), null);
      assert.equal(cache.stats().hits, 1);
      assert.equal(spy.mock.callCount(), 1);
      const [a, b] = spy.mock.calls[0].arguments as [Buffer, Buffer];
      assert.deepEqual([a.length, b.length], [32, 32]);
    } finally {
      spy.mock.restore();
    }
    close();
  });

  test("many distinct made-up tokens stay within the refused bound and evict no valid entry", () => {
    const { db, close } = fresh();
    const { token } = createToken(db, { org: "acme" });
    const cache = new TokenCache(db);
    assert.notEqual(cache.authenticate(token), null);
    for (let i = 0; i < 3 * DEFAULT_MAX_REFUSED_ENTRIES; i++) assert.equal(cache.authenticate(madeUp()), null);
    const stats = cache.stats();
    assert.equal(stats.refused, DEFAULT_MAX_REFUSED_ENTRIES);
    assert.equal(stats.valid, 1);
    assert.notEqual(cache.authenticate(token), null);
    assert.equal(cache.stats().hits, stats.hits + 1, "the valid token is still answered from memory");
    close();
  });

  test("the valid bound holds too, oldest entry first out", () => {
    const { db, close } = fresh();
    const tokens = [0, 1, 2].map(() => createToken(db, { org: "acme" }).token);
    const cache = new TokenCache(db, { maxValid: 2, maxRefused: 1 });
    for (const t of tokens) assert.notEqual(cache.authenticate(t), null);
    assert.equal(cache.stats().valid, 2);
    assert.notEqual(cache.authenticate(tokens[2]), null);
    assert.equal(cache.stats().hits, 1);
    assert.notEqual(cache.authenticate(tokens[0]), null);
    assert.equal(cache.stats().lookups, 4, "the oldest was evicted");
    cache.authenticate(madeUp());
    cache.authenticate(madeUp());
    assert.equal(cache.stats().refused, 1);
    close();
  });

  test("bounds must be positive integers", () => {
    const { db, close } = fresh();
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => new TokenCache(db, { maxRefused: bad }),
        (err: unknown) => isContrailError(err, "bad_data") && err.message.includes("maxRefused"),
      );
    }
    close();
  });
});
