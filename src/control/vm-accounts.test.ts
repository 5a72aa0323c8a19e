import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import type { ControlDb } from "./connection.ts";
import { openControlDb } from "./db.ts";
import { MAX_ACCOUNT_ID, vmAccountId } from "./vm-accounts.ts";

let dir: string;
let db: ControlDb;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "contrail-vm-accounts-"));
  db = openControlDb({ dataDir: dir });
});

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("vmAccountId", () => {
  test("allocates 1, 2, … on first use and gives each org the same number afterwards", () => {
    assert.equal(vmAccountId(db, "acme"), 1);
    assert.equal(vmAccountId(db, "globex"), 2);
    assert.equal(vmAccountId(db, "acme"), 1);
    assert.equal(vmAccountId(db, "globex"), 2);
  });

  test("numbers survive reopening the database and another connection sees them", () => {
    const other = openControlDb({ dataDir: dir });
    try {
      assert.equal(vmAccountId(other, "acme"), 1);
      assert.equal(vmAccountId(other, "initech"), 3);
    } finally {
      other.close();
    }
    assert.equal(vmAccountId(db, "initech"), 3);
  });

  test("every number is unique (the table refuses a second org on one number)", () => {
    assert.throws(() =>
      db.stmt("INSERT INTO vm_accounts (org_id, account_id, created_at) VALUES (?, ?, ?)").run("dup", 1, 0),
    );
  });

  test("refuses to allocate past the highest accountID with limit_exceeded", () => {
    const fullDir = mkdtempSync(join(tmpdir(), "contrail-vm-accounts-full-"));
    const full = openControlDb({ dataDir: fullDir });
    try {
      full
        .stmt("INSERT INTO vm_accounts (org_id, account_id, created_at) VALUES (?, ?, ?)")
        .run("last", MAX_ACCOUNT_ID, 0);
      assert.throws(
        () => vmAccountId(full, "one-more"),
        (err) => isContrailError(err, "limit_exceeded") && /all 4294967295 are allocated/.test(err.message),
      );
      assert.equal(vmAccountId(full, "last"), MAX_ACCOUNT_ID);
    } finally {
      full.close();
      rmSync(fullDir, { recursive: true, force: true });
    }
  });
});
