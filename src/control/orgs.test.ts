import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type ErrorCode, isContrailError } from "../model/errors.ts";
import { createApp } from "./apps.ts";
import type { ControlDb } from "./connection.ts";
import { openControlDb } from "./db.ts";
import { addMember, listMembers, membershipsOf, removeMember, roleOf, setRole } from "./memberships.ts";
import { createOrg, deleteOrg, getOrg, listOrgs, renameOrg, requireOrg } from "./orgs.ts";
import { createToken, listTokens } from "./tokens.ts";
import { createUser, deleteUser, findUserByEmail, getUser, listUsers, localUser, renameUser } from "./users.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-control-orgs-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

/** Opens a fresh database whose clock starts at 1000 ms and advances 1 ms per reading. */
function fresh(): ControlDb {
  let t = 1000;
  return openControlDb({ dataDir: join(root, `d${dirs++}`), now: () => t++ });
}

function rejects(fn: () => unknown, code: ErrorCode, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isContrailError(err), `expected a ContrailError, got ${err}`);
    assert.equal(err.code, code);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe("orgs", () => {
  test("create, get, list, rename, delete", () => {
    const db = fresh();
    const me = localUser(db)!.id;
    const org = createOrg(db, { slug: "acme", name: "Acme Corp", admin: me });
    assert.equal(org.id, "acme");
    assert.equal(org.name, "Acme Corp");
    assert.equal(org.personalUserId, null);
    assert.equal(typeof org.createdAt, "number");
    assert.deepEqual(getOrg(db, "acme"), org);
    assert.equal(roleOf(db, { org: "acme", user: me }), "admin");
    assert.equal(createOrg(db, { slug: "b0", admin: me }).name, "b0");
    assert.deepEqual(
      listOrgs(db).map((o) => o.id),
      ["acme", "b0", "personal"],
    );
    assert.equal(renameOrg(db, "acme", "ACME").name, "ACME");
    deleteOrg(db, "b0");
    assert.equal(getOrg(db, "b0"), undefined);
    rejects(() => requireOrg(db, "b0"), "not_found", 'no org "b0"');
    db.close();
  });

  const badSlugs: [string, string][] = [
    ["", "org slug: must not be empty"],
    ["Acme", 'org slug: "Acme" is invalid: use lower-case letters, digits and "-", starting with a letter or digit'],
    ["-acme", 'org slug: "-acme" is invalid: use lower-case letters, digits and "-", starting with a letter or digit'],
    ["a_b", 'org slug: "a_b" is invalid: use lower-case letters, digits and "-", starting with a letter or digit'],
    ["a".repeat(64), "org slug: at most 63 characters, got 64"],
  ];
  for (const [slug, message] of badSlugs) {
    test(`rejects slug ${JSON.stringify(slug.slice(0, 10))}`, () => {
      const db = fresh();
      rejects(() => createOrg(db, { slug, admin: localUser(db)!.id }), "bad_data", message);
      db.close();
    });
  }

  test("63-character slug and single-character slug are fine", () => {
    const db = fresh();
    const me = localUser(db)!.id;
    assert.equal(createOrg(db, { slug: "a".repeat(63), admin: me }).id.length, 63);
    assert.equal(createOrg(db, { slug: "7", admin: me }).id, "7");
    db.close();
  });

  test("constraints: taken slug, unknown admin, long name, personal org, org with apps", () => {
    const db = fresh();
    const me = localUser(db)!.id;
    createOrg(db, { slug: "acme", admin: me });
    rejects(() => createOrg(db, { slug: "acme", admin: me }), "conflict", 'org "acme" already exists');
    rejects(() => createOrg(db, { slug: "ghost", admin: 999 }), "not_found", 'no org "ghost" or no user 999');
    assert.equal(getOrg(db, "ghost"), undefined, "the org row is rolled back with its failed membership");
    rejects(
      () => createOrg(db, { slug: "long", name: "n".repeat(101), admin: me }),
      "bad_data",
      "org name: at most 100 characters, got 101",
    );
    rejects(() => renameOrg(db, "acme", "a\nb"), "bad_data", "org name: control characters not allowed");
    rejects(() => deleteOrg(db, "personal"), "conflict", `org "personal" is the personal org of user ${me}`);
    createApp(db, { name: "web", org: "acme" });
    rejects(() => deleteOrg(db, "acme"), "conflict", 'org "acme" still has 1 app(s)');
    rejects(() => deleteOrg(db, "nope"), "not_found", 'no org "nope"');
    db.close();
  });

  test("deleting an org deletes its tokens and memberships", () => {
    const db = fresh();
    const me = localUser(db)!.id;
    createOrg(db, { slug: "tmp", admin: me });
    createToken(db, { org: "tmp" });
    assert.equal(listTokens(db, { org: "tmp" }).length, 1);
    deleteOrg(db, "tmp");
    assert.equal(listTokens(db, { org: "tmp" }).length, 0);
    assert.deepEqual(
      membershipsOf(db, me).map((m) => m.orgId),
      ["personal"],
    );
    db.close();
  });
});

describe("users", () => {
  test("a new user gets a personal org named after the e-mail, numbered when taken", () => {
    const db = fresh();
    const a = createUser(db, { email: "Alice.Smith@Example.com", name: "Alice" });
    assert.equal(a.user.email, "alice.smith@example.com");
    assert.equal(a.personalOrg, "personal-alice-smith");
    assert.equal(getOrg(db, a.personalOrg)?.personalUserId, a.user.id);
    assert.equal(roleOf(db, { org: a.personalOrg, user: a.user.id }), "admin");
    const b = createUser(db, { email: "alice.smith@other.org", name: "Alice 2" });
    assert.equal(b.personalOrg, "personal-alice-smith-2");
    const c = createUser(db, { email: "bob@example.com", name: "Bob", personalOrg: "bobs" });
    assert.equal(c.personalOrg, "bobs");
    assert.deepEqual(findUserByEmail(db, "ALICE.smith@example.com"), a.user);
    assert.deepEqual(getUser(db, c.user.id), c.user);
    assert.deepEqual(
      listUsers(db).map((u) => u.email),
      ["local@localhost", "alice.smith@example.com", "alice.smith@other.org", "bob@example.com"],
    );
    assert.equal(renameUser(db, c.user.id, "Robert").name, "Robert");
    db.close();
  });

  test("constraints", () => {
    const db = fresh();
    createUser(db, { email: "a@x.io", name: "A" });
    rejects(() => createUser(db, { email: "A@x.io", name: "A again" }), "conflict", "user a@x.io already exists");
    rejects(
      () => createUser(db, { email: "no-at-sign", name: "N" }),
      "bad_data",
      'email: "no-at-sign" is invalid: expected an address like name@example.com',
    );
    rejects(() => createUser(db, { email: "b@x.io", name: "" }), "bad_data", "user name: must not be empty");
    rejects(
      () => createUser(db, { email: "c@x.io", name: "C", personalOrg: "personal" }),
      "conflict",
      'org "personal" already exists',
    );
    assert.equal(findUserByEmail(db, "c@x.io"), undefined, "user row rolled back with its org");
    rejects(() => deleteUser(db, localUser(db)!.id), "conflict", "the local user cannot be deleted");
    rejects(() => deleteUser(db, 12345), "not_found", "no user 12345");
    db.close();
  });

  test("deleting a user removes its personal org, unless it has apps or the user is another org's last admin", () => {
    const db = fresh();
    const { user, personalOrg } = createUser(db, { email: "d@x.io", name: "D" });
    createOrg(db, { slug: "team", admin: user.id });
    rejects(() => deleteUser(db, user.id), "conflict", `user ${user.id} is the last admin of org "team"`);
    addMember(db, { org: "team", user: localUser(db)!.id, role: "admin" });
    createApp(db, { name: "dapp", org: personalOrg });
    rejects(() => deleteUser(db, user.id), "conflict", `the personal org of user ${user.id} still has 1 app(s)`);
    db.sql.prepare("DELETE FROM apps WHERE name = 'dapp'").run();
    deleteUser(db, user.id);
    assert.equal(getUser(db, user.id), undefined);
    assert.equal(getOrg(db, personalOrg), undefined);
    assert.deepEqual(
      listMembers(db, "team").map((m) => m.userId),
      [localUser(db)!.id],
    );
    db.close();
  });
});

describe("memberships", () => {
  test("add, change role, remove, with the last-admin and personal-owner rules", () => {
    const db = fresh();
    const me = localUser(db)!.id;
    const { user: bob } = createUser(db, { email: "bob@x.io", name: "Bob" });
    createOrg(db, { slug: "team", admin: me });
    const m = addMember(db, { org: "team", user: bob.id, role: "member" });
    assert.deepEqual([m.orgId, m.userId, m.role], ["team", bob.id, "member"]);
    rejects(
      () => addMember(db, { org: "team", user: bob.id, role: "admin" }),
      "conflict",
      `user ${bob.id} is already a member of org "team"`,
    );
    rejects(() => addMember(db, { org: "nope", user: bob.id, role: "member" }), "not_found", /no org "nope"/);
    rejects(
      () => addMember(db, { org: "team", user: bob.id, role: "owner" as "admin" }),
      "bad_data",
      'role: expected "admin" or "member", got "owner"',
    );
    rejects(
      () => setRole(db, { org: "team", user: me, role: "member" }),
      "conflict",
      `user ${me} is the last admin of org "team"`,
    );
    rejects(
      () => removeMember(db, { org: "team", user: me }),
      "conflict",
      `user ${me} is the last admin of org "team"`,
    );
    setRole(db, { org: "team", user: bob.id, role: "admin" });
    setRole(db, { org: "team", user: me, role: "member" });
    assert.deepEqual(
      listMembers(db, "team").map((x) => [x.userId, x.role]),
      [
        [me, "member"],
        [bob.id, "admin"],
      ],
    );
    removeMember(db, { org: "team", user: me });
    assert.equal(roleOf(db, { org: "team", user: me }), undefined);
    rejects(() => removeMember(db, { org: "team", user: me }), "not_found", `user ${me} is not a member of org "team"`);
    rejects(
      () => removeMember(db, { org: "personal", user: me }),
      "conflict",
      `user ${me} owns the personal org "personal" and cannot leave it`,
    );
    assert.deepEqual(
      listOrgs(db, { user: bob.id }).map((o) => o.id),
      ["personal-bob", "team"],
    );
    db.close();
  });
});
