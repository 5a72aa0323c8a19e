import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CommitWatch } from "./commit-watch.ts";
import type { ControlDb } from "./connection.ts";
import { CONTROL_DB_FILE, openControlDb } from "./db.ts";
import { createOrg } from "./orgs.ts";
import { localUser } from "./users.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-commit-watch-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

function fresh(): { dir: string; db: ControlDb } {
  const dir = join(root, `d${dirs++}`);
  return { dir, db: openControlDb({ dataDir: dir }) };
}

/** Calls `epoch` `n` times and returns the distinct values seen. */
function distinct(watch: { epoch(): number } | ControlDb, n: number): Set<number> {
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) seen.add("commitEpoch" in watch ? watch.commitEpoch() : watch.epoch());
  return seen;
}

describe("commit epoch", () => {
  test("stays the same while nothing commits, reads included", () => {
    const { db, dir } = fresh();
    const other = openControlDb({ dataDir: dir });
    const e = db.commitEpoch();
    other.sql.prepare("SELECT count(*) FROM organizations").pluck().get();
    db.sql.prepare("SELECT count(*) FROM tokens").pluck().get();
    assert.deepEqual(distinct(db, 100), new Set([e]));
    other.close();
    db.close();
  });

  test("moves once for a commit of another connection, of this one, and of another process", () => {
    const { db, dir } = fresh();
    const other = openControlDb({ dataDir: dir });
    let e = db.commitEpoch();
    const next = (what: string) => {
      const now = db.commitEpoch();
      assert.notEqual(now, e, `${what}: moved`);
      assert.equal(db.commitEpoch(), now, `${what}: then still`);
      e = now;
    };
    createOrg(other, { slug: "one", admin: localUser(other)!.id });
    next("another connection");
    createOrg(db, { slug: "two", admin: localUser(db)!.id });
    next("this connection");
    // A process of its own, as the CLI is: better-sqlite3 with WAL, one insert.
    const script = `const D = require("better-sqlite3"); const d = new D(process.argv[1]);
      d.pragma("journal_mode = WAL"); const r = d.prepare("UPDATE organizations SET name = 'Three' WHERE id = 'one'").run();
      d.close(); process.stdout.write(String(r.changes));`;
    const changed = execFileSync(process.execPath, ["-e", script, join(dir, CONTROL_DB_FILE)], { encoding: "utf8" });
    assert.equal(changed, "1");
    next("another process");
    other.close();
    db.close();
  });

  test("an unreadable WAL-index moves it at every call, as does a closed watch", () => {
    const missing = new CommitWatch(join(root, "no-such.db"));
    assert.equal(distinct(missing, 5).size, 5);
    const { db, dir } = fresh();
    const watch = new CommitWatch(join(dir, CONTROL_DB_FILE));
    assert.equal(distinct(watch, 5).size, 1);
    watch.close();
    assert.equal(distinct(watch, 5).size, 5);
    db.close();
  });
});
