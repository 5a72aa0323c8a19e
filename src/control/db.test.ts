import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { isContrailError } from "../model/errors.ts";
import { CONTROL_DB_FILE, openControlDb } from "./db.ts";
import { MIGRATIONS, type Migration, migrate, schemaVersion } from "./migrations.ts";
import { listOrgs } from "./orgs.ts";
import { listUsers, localUser, PERSONAL_ORG } from "./users.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-control-db-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `d${dirs++}`);

const LATEST = MIGRATIONS[MIGRATIONS.length - 1].version;

describe("openControlDb", () => {
  test("a fresh directory gets a migrated database in WAL mode with foreign keys on", () => {
    const dir = freshDir();
    const db = openControlDb({ dataDir: dir, now: () => 1_000 });
    try {
      assert.equal(db.path, join(dir, CONTROL_DB_FILE));
      assert.equal(db.sql.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(db.sql.pragma("foreign_keys", { simple: true }), 1);
      assert.equal(db.sql.pragma("busy_timeout", { simple: true }), 5000);
      assert.equal(schemaVersion(db.sql), LATEST);
      const applied = db.sql.prepare("SELECT version, applied_at FROM schema_migrations ORDER BY version").all();
      assert.deepEqual(
        applied,
        MIGRATIONS.map((m) => ({ version: m.version, applied_at: 1_000 })),
      );
    } finally {
      db.close();
    }
  });

  test("the first open creates the local user and its personal org; re-opening changes nothing", () => {
    const dir = freshDir();
    const first = openControlDb({ dataDir: dir, now: () => 5 });
    const user = localUser(first);
    assert.ok(user);
    assert.equal(user.local, true);
    assert.deepEqual(
      listOrgs(first).map((o) => [o.id, o.personalUserId]),
      [[PERSONAL_ORG, user.id]],
    );
    first.close();

    const second = openControlDb({ dataDir: dir, now: () => 99 });
    try {
      assert.equal(listUsers(second).length, 1);
      assert.deepEqual(localUser(second), user);
      assert.equal(listOrgs(second).length, 1);
      const rows = second.sql.prepare("SELECT count(*) AS n FROM schema_migrations").get() as { n: number };
      assert.equal(rows.n, MIGRATIONS.length);
    } finally {
      second.close();
    }
  });

  test("refuses a database whose schema is newer than the code", () => {
    const dir = freshDir();
    openControlDb({ dataDir: dir }).close();
    const raw = new Database(join(dir, CONTROL_DB_FILE));
    raw
      .prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
      .run(LATEST + 1, "future", 0);
    raw.close();
    assert.throws(
      () => openControlDb({ dataDir: dir }),
      (err: unknown) =>
        isContrailError(err, "conflict") &&
        err.message ===
          `control.db has schema version ${LATEST + 1}, newer than the ${LATEST} this version of contrail knows; ` +
            "run a newer contrail (a database is never migrated down)",
    );
  });

  test("a file that is not SQLite fails to open and is left as it was", () => {
    const dir = freshDir();
    openControlDb({ dataDir: dir }).close();
    const path = join(dir, CONTROL_DB_FILE);
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    writeFileSync(path, "x".repeat(4096));
    assert.throws(
      () => openControlDb({ dataDir: dir }),
      (err: unknown) => isContrailError(err, "corruption") && err.message === `${path} is not an SQLite database`,
    );
  });
});

describe("migrate", () => {
  const steps: Migration[] = [
    { version: 1, name: "a", sql: "CREATE TABLE a (x INTEGER) STRICT;" },
    { version: 2, name: "b", sql: "CREATE TABLE b (y INTEGER) STRICT; INSERT INTO a VALUES (7);" },
    { version: 3, name: "c", sql: "ALTER TABLE a ADD COLUMN z TEXT;" },
  ];
  const tables = (db: Database.Database) =>
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();

  test("applies steps in order, and only the missing ones on a later open", () => {
    const db = new Database(":memory:");
    assert.deepEqual(migrate(db, { migrations: steps.slice(0, 1), now: 1 }), { from: 0, to: 1 });
    assert.deepEqual(migrate(db, { migrations: steps, now: 2 }), { from: 1, to: 3 });
    assert.deepEqual(migrate(db, { migrations: steps, now: 3 }), { from: 3, to: 3 });
    assert.deepEqual(tables(db), ["a", "b", "schema_migrations"]);
    assert.deepEqual(db.prepare("SELECT x, z FROM a").all(), [{ x: 7, z: null }]);
    assert.deepEqual(db.prepare("SELECT version, applied_at FROM schema_migrations").raw().all(), [
      [1, 1],
      [2, 2],
      [3, 2],
    ]);
  });

  test("a failing step is rolled back whole; earlier steps stay", () => {
    const db = new Database(":memory:");
    const broken: Migration[] = [
      steps[0],
      { version: 2, name: "half", sql: "CREATE TABLE b (y INTEGER); INSERT INTO nowhere VALUES (1);" },
    ];
    assert.throws(() => migrate(db, { migrations: broken, now: 1 }), /no such table: nowhere/);
    assert.equal(schemaVersion(db), 1);
    assert.deepEqual(tables(db), ["a", "schema_migrations"]);
  });

  test("a list with a gap in its versions is a programming error", () => {
    const db = new Database(":memory:");
    assert.throws(
      () => migrate(db, { migrations: [steps[0], steps[2]], now: 1 }),
      (err: unknown) => isContrailError(err, "internal") && /version 3, expected 2/.test(err.message),
    );
  });

  test("the newer-version check names the label", () => {
    const db = new Database(":memory:");
    migrate(db, { migrations: steps, now: 1 });
    assert.throws(
      () => migrate(db, { migrations: steps.slice(0, 2), now: 1, label: "x.db" }),
      /^ContrailError: x\.db has schema version 3, newer than the 2 /,
    );
  });

  test("every released migration has a version and a name", () => {
    MIGRATIONS.forEach((m, i) => {
      assert.equal(m.version, i + 1);
      assert.ok(m.name.length > 0);
    });
  });
});
