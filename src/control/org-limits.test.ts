import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, mock, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { DEFAULT_ORG_LIMITS } from "../model/limits.ts";
import type { ControlDb } from "./connection.ts";
import { openControlDb } from "./db.ts";
import { getOrgLimitOverrides, OrgLimitsCache, updateOrgLimits } from "./org-limits.ts";
import { createOrg, deleteOrg } from "./orgs.ts";
import { localUser } from "./users.ts";

let dir: string;
let db: ControlDb;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "contrail-org-limits-"));
  db = openControlDb({ dataDir: dir });
  createOrg(db, { slug: "acme", admin: localUser(db)!.id });
  createOrg(db, { slug: "gone", admin: localUser(db)!.id });
});

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("updateOrgLimits", () => {
  test("sets and unsets by setting name; the overrides come back by key", () => {
    assert.deepEqual(getOrgLimitOverrides(db, "acme"), {});
    const o = updateOrgLimits(db, "acme", { set: { max_label_names_per_series: 40, max_series_per_write: 20_000 } });
    assert.deepEqual(o, { maxLabelNamesPerSeries: 40, maxSeriesPerWrite: 20_000 });
    assert.deepEqual(updateOrgLimits(db, "acme", { set: { max_series_per_write: 500 } }), {
      maxLabelNamesPerSeries: 40,
      maxSeriesPerWrite: 500,
    });
    assert.deepEqual(updateOrgLimits(db, "acme", { unset: ["max_series_per_write"] }), { maxLabelNamesPerSeries: 40 });
    updateOrgLimits(db, "acme", { unset: ["max_label_names_per_series"] });
  });

  const refusals: [string, Parameters<typeof updateOrgLimits>[2], string, RegExp][] = [
    ["an unknown limit", { set: { max_labels: 3 } }, "bad_data", /unknown limit "max_labels"/],
    ["an unknown limit to unset", { unset: ["nope"] }, "bad_data", /unknown limit "nope"/],
    ["a value out of range", { set: { max_label_names_per_series: 0 } }, "bad_data", /from 1 to 1000, got 0/],
    ["a fraction", { set: { max_series: 2.5 } }, "bad_data", /max_series must be an integer/],
  ];
  for (const [name, changes, code, message] of refusals) {
    test(`refuses ${name}, changing nothing`, () => {
      assert.throws(
        () => updateOrgLimits(db, "acme", { set: { max_matchers: 9 }, ...changes }),
        (e) => isContrailError(e) && e.code === code && message.test(e.message),
      );
      assert.deepEqual(getOrgLimitOverrides(db, "acme"), {});
    });
  }

  test("an unknown org is not_found; deleting an org deletes its limits", () => {
    assert.throws(() => updateOrgLimits(db, "nope", { set: { max_matchers: 9 } }), /no org "nope"/);
    updateOrgLimits(db, "gone", { set: { max_matchers: 9 } });
    deleteOrg(db, "gone");
    assert.equal(db.sql.prepare("SELECT count(*) FROM org_limits WHERE org_id = 'gone'").pluck().get(), 0);
  });
});

describe("OrgLimitsCache", () => {
  test("sees changes made through another connection (another process) at the next call", () => {
    const cache = new OrgLimitsCache(db);
    assert.deepEqual(cache.limitsOf("acme"), DEFAULT_ORG_LIMITS);
    const other = openControlDb({ dataDir: dir });
    try {
      updateOrgLimits(other, "acme", { set: { max_samples_per_write: 1234 } });
      assert.equal(cache.limitsOf("acme").maxSamplesPerWrite, 1234);
      assert.equal(cache.limitsOf("acme").maxSeriesPerWrite, DEFAULT_ORG_LIMITS.maxSeriesPerWrite);
      assert.deepEqual(cache.limitsOf("personal"), DEFAULT_ORG_LIMITS);
      updateOrgLimits(other, "acme", { unset: ["max_samples_per_write"] });
      assert.equal(cache.limitsOf("acme").maxSamplesPerWrite, DEFAULT_ORG_LIMITS.maxSamplesPerWrite);
    } finally {
      other.close();
    }
  });

  test("reads no table while nothing commits; after a commit anywhere, its counter once", () => {
    const cache = new OrgLimitsCache(db);
    cache.limitsOf("acme");
    const stmt = mock.method(db, "stmt");
    try {
      for (let i = 0; i < 50; i++) cache.limitsOf("acme");
      assert.equal(stmt.mock.callCount(), 0);
      const other = openControlDb({ dataDir: dir });
      createOrg(other, { slug: "bystander", admin: localUser(other)!.id });
      other.close();
      cache.limitsOf("acme");
      cache.limitsOf("acme");
      assert.equal(stmt.mock.callCount(), 1);
    } finally {
      stmt.mock.restore();
    }
  });

  test("server-wide defaults apply under the org overrides; stored values out of range are clamped", () => {
    const cache = new OrgLimitsCache(db, { maxMatchers: 5, maxSeries: 10 });
    updateOrgLimits(db, "acme", { set: { max_series: 77 } });
    db.sql.prepare("INSERT INTO org_limits VALUES ('acme', 'max_label_names_per_series', 99999, 0)").run();
    db.sql.prepare("INSERT INTO org_limits VALUES ('acme', 'a_limit_of_the_future', 1, 0)").run();
    const l = cache.limitsOf("acme");
    assert.equal(l.maxMatchers, 5);
    assert.equal(l.maxSeries, 77);
    assert.equal(l.maxLabelNamesPerSeries, 1000);
    assert.equal(cache.limitsOf("personal").maxSeries, 10);
    db.sql.prepare("DELETE FROM org_limits WHERE org_id = 'acme'").run();
    assert.equal(cache.limitsOf("acme").maxSeries, 10);
  });
});
