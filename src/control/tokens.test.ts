import assert from "node:assert/strict";
import crypto from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, mock, test } from "node:test";
import Database from "better-sqlite3";
import { type ErrorCode, isContrailError } from "../model/errors.ts";
import type { ControlDb } from "./connection.ts";
import { openControlDb } from "./db.ts";
import { createOrg } from "./orgs.ts";
import {
  allows,
  authenticate,
  createToken,
  deleteToken,
  listTokens,
  parseScopes,
  parseTokenTtl,
  revokeToken,
  tokenIdOf,
} from "./tokens.ts";
import { localUser } from "./users.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-control-tokens-"));
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

function rejects(fn: () => unknown, code: ErrorCode, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isContrailError(err), `expected a ContrailError, got ${err}`);
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}

const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest();

describe("tokens", () => {
  test("a token is ct_ plus 32 random bytes in base64url, and only its SHA-256 hash is stored", () => {
    const { db, dir } = fresh();
    const { token, info } = createToken(db, { org: "acme", note: "grafana" });
    assert.match(token, /^ct_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token.slice(3), "base64url").length, 32);
    assert.equal(info.id, tokenIdOf(token));
    assert.equal(info.id, sha256(token).subarray(0, 6).toString("hex"));
    assert.deepEqual(info, {
      id: info.id,
      orgId: "acme",
      scopes: ["read"],
      note: "grafana",
      createdAt: T0,
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });
    db.close();

    const raw = new Database(join(dir, "control.db"), { readonly: true });
    const rows = raw.prepare("SELECT * FROM tokens").all() as Record<string, unknown>[];
    raw.close();
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0].hash, sha256(token));
    const secret = token.slice(3);
    for (const [column, value] of Object.entries(rows[0])) {
      assert.ok(!String(value).includes(secret), `column ${column} holds the secret`);
    }
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f));
      assert.equal(bytes.indexOf(secret), -1, `${f} holds the secret`);
      assert.equal(bytes.indexOf(Buffer.from(secret, "base64url")), -1, `${f} holds the secret's bytes`);
    }
  });

  test("authenticate maps a token to its org and scopes, through the constant-time comparison", () => {
    const { db } = fresh();
    const { token, info } = createToken(db, { org: "acme", scopes: ["write", "read"] });
    const spy = mock.method(crypto, "timingSafeEqual");
    try {
      assert.deepEqual(authenticate(db, token), { tokenId: info.id, orgId: "acme", scopes: ["read", "write"] });
      assert.equal(spy.mock.callCount(), 1);
      const [a, b] = spy.mock.calls[0].arguments as [Buffer, Buffer];
      assert.deepEqual([a.length, b.length], [32, 32]);
      assert.deepEqual(b, sha256(token));
    } finally {
      spy.mock.restore();
    }
    db.close();
  });

  test("wrong, altered and malformed tokens are refused", () => {
    const { db } = fresh();
    const { token } = createToken(db, { org: "acme" });
    const flip = token.at(-1) === "A" ? "B" : "A";
    const wrong = [
      `ct_${crypto.randomBytes(32).toString("base64url")}`,
      token.slice(0, -1) + flip,
      token.slice(3),
      `${token}x`,
      `Bearer ${token}`,
      "",
      "ct_",
      `xx_${token.slice(3)}`,
    ];
    for (const w of wrong) assert.equal(authenticate(db, w), null, w);
    assert.notEqual(authenticate(db, token), null);
    db.close();
  });

  test("an expired token is refused from its expiry instant on", () => {
    const { db, tick } = fresh();
    const { token, info } = createToken(db, { org: "acme", ttlMs: parseTokenTtl("1h") });
    assert.equal(info.expiresAt, T0 + 3_600_000);
    tick(3_600_000 - 1);
    assert.notEqual(authenticate(db, token), null);
    tick(1);
    assert.equal(authenticate(db, token), null);
    db.close();
  });

  test("a revoked token is refused; revoking is by id or by token, idempotent, and scoped by org", () => {
    const { db, tick } = fresh();
    const a = createToken(db, { org: "acme" });
    const b = createToken(db, { org: "personal" });
    rejects(() => revokeToken(db, a.info.id, { org: "personal" }), "not_found", `no token ${a.info.id}`);
    assert.equal(revokeToken(db, a.info.id).revokedAt, T0);
    tick(5);
    assert.equal(revokeToken(db, a.token).revokedAt, T0, "the first revocation time stays");
    assert.equal(authenticate(db, a.token), null);
    assert.notEqual(authenticate(db, b.token), null);
    rejects(() => revokeToken(db, "000000000000"), "not_found", "no token 000000000000");
    rejects(
      () => revokeToken(db, "nope"),
      "bad_data",
      'token id: expected 12 hex digits (as listed by "contrail tokens list") or a full ct_ token',
    );
    db.close();
  });

  test("deleteToken removes a token row for good; the token stops working", () => {
    const { db } = fresh();
    const a = createToken(db, { org: "acme" });
    const b = createToken(db, { org: "acme" });
    assert.equal(deleteToken(db, a.info.id), true);
    assert.equal(authenticate(db, a.token), null);
    assert.deepEqual(
      listTokens(db, { org: "acme" }).map((t) => t.id),
      [b.info.id],
    );
    assert.equal(deleteToken(db, a.info.id), false, "a second delete finds nothing");
    rejects(() => deleteToken(db, "nope"), "bad_data", "token id: expected 12 hex digits");
    db.close();
  });

  test("lastUsedAt is written on first use and then at most once a minute", () => {
    const { db, tick } = fresh();
    const { token, info } = createToken(db, { org: "acme" });
    const lastUsed = () => listTokens(db).find((t) => t.id === info.id)!.lastUsedAt;
    const changes = () => db.sql.prepare("SELECT total_changes()").pluck().get() as number;
    authenticate(db, token);
    assert.equal(lastUsed(), T0);
    const before = changes();
    tick(30_000);
    authenticate(db, token);
    tick(29_999);
    authenticate(db, token);
    assert.equal(lastUsed(), T0);
    assert.equal(changes(), before, "no write inside the minute");
    tick(1);
    authenticate(db, token);
    assert.equal(lastUsed(), T0 + 60_000);
    db.close();
  });

  test("write does not imply read", () => {
    const { db } = fresh();
    const w = authenticate(db, createToken(db, { org: "acme", scopes: ["write"] }).token)!;
    const r = authenticate(db, createToken(db, { org: "acme" }).token)!;
    assert.deepEqual(w.scopes, ["write"]);
    assert.equal(allows(w, { org: "acme", scope: "write" }), true);
    assert.equal(allows(w, { org: "acme", scope: "read" }), false);
    assert.equal(allows(r, { org: "acme", scope: "read" }), true);
    assert.equal(allows(r, { org: "acme", scope: "write" }), false);
    assert.equal(allows(r, { org: "personal", scope: "read" }), false, "another org is forbidden");
    db.close();
  });

  test("listTokens shows metadata only, newest first, optionally per org", () => {
    const { db, tick } = fresh();
    const a = createToken(db, { org: "acme" });
    tick(1);
    const b = createToken(db, { org: "personal", scopes: ["write"] });
    tick(1);
    const c = createToken(db, { org: "acme", scopes: ["read", "write"] });
    assert.deepEqual(
      listTokens(db).map((t) => t.id),
      [c.info.id, b.info.id, a.info.id],
    );
    assert.deepEqual(
      listTokens(db, { org: "acme" }).map((t) => t.id),
      [c.info.id, a.info.id],
    );
    for (const t of listTokens(db)) {
      assert.deepEqual(Object.keys(t).sort(), [
        "createdAt",
        "expiresAt",
        "id",
        "lastUsedAt",
        "note",
        "orgId",
        "revokedAt",
        "scopes",
      ]);
    }
    db.close();
  });

  test("creation checks its inputs", () => {
    const { db } = fresh();
    const cases: [() => unknown, ErrorCode, string][] = [
      [() => createToken(db, { org: "ghost" }), "not_found", 'no org "ghost"'],
      [
        () => createToken(db, { org: "acme", note: "n".repeat(201) }),
        "bad_data",
        "token note: at most 200 characters, got 201",
      ],
      [
        () => createToken(db, { org: "acme", note: "a\u0007" }),
        "bad_data",
        "token note: control characters not allowed",
      ],
      [
        () => createToken(db, { org: "acme", scopes: [] }),
        "bad_data",
        'scope: expected "read", "write" or both, got []',
      ],
      [
        () => createToken(db, { org: "acme", scopes: ["admin" as "read"] }),
        "bad_data",
        'scope: expected "read", "write" or both, got ["admin"]',
      ],
      [
        () => createToken(db, { org: "acme", ttlMs: 0 }),
        "bad_data",
        "expires: time to live must be 1 ms to 10 years, got 0",
      ],
    ];
    for (const [fn, code, message] of cases) rejects(fn, code, message);
    assert.equal(listTokens(db).length, 0);
    assert.equal(createToken(db, { org: "acme", note: "n".repeat(200) }).info.note?.length, 200);
    db.close();
  });
});

describe("parseTokenTtl and parseScopes", () => {
  const ttls: [string, number][] = [
    ["90m", 90 * 60_000],
    ["12h", 12 * 3_600_000],
    ["30d", 30 * 86_400_000],
    ["2w", 14 * 86_400_000],
    ["1y", 365 * 86_400_000],
    ["10y", 3650 * 86_400_000],
  ];
  for (const [text, ms] of ttls) test(`ttl ${text}`, () => assert.equal(parseTokenTtl(text), ms));
  for (const bad of ["", "30", "0d", "11y", "1.5d", "-1d", "30 d", "1s"]) {
    test(`ttl ${JSON.stringify(bad)} is refused`, () =>
      rejects(
        () => parseTokenTtl(bad),
        "bad_data",
        `expires: expected a duration like 90m, 12h, 30d, 2w or 1y (at most 10y), got ${JSON.stringify(bad)}`,
      ));
  }
  test("scopes", () => {
    assert.deepEqual(parseScopes("read"), ["read"]);
    assert.deepEqual(parseScopes("write"), ["write"]);
    assert.deepEqual(parseScopes("write,read"), ["read", "write"]);
    rejects(() => parseScopes("admin"), "bad_data", 'scope: expected "read", "write" or "read,write", got "admin"');
  });
});
