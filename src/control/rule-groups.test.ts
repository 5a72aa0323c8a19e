import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import type { ControlDb } from "./connection.ts";
import { openControlDb } from "./db.ts";
import { createOrg, deleteOrg } from "./orgs.ts";
import {
  deleteRuleGroup,
  deleteRuleNamespace,
  getRuleGroup,
  listRuleGroups,
  MAX_RULE_GROUP_BYTES,
  orgsWithRuleGroups,
  putRuleGroup,
  type RuleGroupWrite,
  ruleGroupsGeneration,
  syncRuleGroups,
} from "./rule-groups.ts";
import { localUser } from "./users.ts";

let dir: string;
let db: ControlDb;
let clock = 1_000;
const LIMITS = { maxRuleGroups: 3, maxRulesPerGroup: 2 };

const group = (namespace: string, name: string, rules = 1, yaml = `name: ${name}\n`): RuleGroupWrite => ({
  namespace,
  name,
  yaml,
  rules,
});

const isBadData = (re: RegExp) => (e: unknown) => isContrailError(e, "bad_data") && re.test(e.message);

before(() => {
  dir = mkdtempSync(join(tmpdir(), "contrail-rule-groups-"));
  db = openControlDb({ dataDir: dir, now: () => clock });
  createOrg(db, { slug: "acme", admin: localUser(db)!.id });
  createOrg(db, { slug: "other", admin: localUser(db)!.id });
});

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  db.sql.exec("DELETE FROM rule_groups");
});

describe("putRuleGroup", () => {
  test("adds, replaces, and leaves an equal group (and the change counter) alone", () => {
    const g0 = ruleGroupsGeneration(db);
    clock = 2_000;
    assert.equal(putRuleGroup(db, "acme", group("app", "a"), LIMITS), "added");
    clock = 3_000;
    assert.equal(putRuleGroup(db, "acme", group("app", "a", 2, "name: a\nrules: []\n"), LIMITS), "updated");
    const g1 = ruleGroupsGeneration(db);
    assert.ok(g1 > g0);
    assert.equal(putRuleGroup(db, "acme", group("app", "a", 2, "name: a\nrules: []\n"), LIMITS), null);
    assert.equal(ruleGroupsGeneration(db), g1);
    assert.deepEqual(getRuleGroup(db, "acme", "app", "a"), {
      namespace: "app",
      name: "a",
      yaml: "name: a\nrules: []\n",
      rules: 2,
      updatedAt: 3_000,
    });
  });

  test("keeps orgs apart and lists sorted by namespace and name", () => {
    putRuleGroup(db, "acme", group("b", "z"), LIMITS);
    putRuleGroup(db, "acme", group("a", "y"), LIMITS);
    putRuleGroup(db, "acme", group("b", "x"), LIMITS);
    putRuleGroup(db, "other", group("a", "y"), LIMITS);
    assert.deepEqual(
      listRuleGroups(db, "acme").map((g) => `${g.namespace}/${g.name}`),
      ["a/y", "b/x", "b/z"],
    );
    assert.deepEqual(
      listRuleGroups(db, "acme", "b").map((g) => g.name),
      ["x", "z"],
    );
    assert.equal(listRuleGroups(db, "other").length, 1);
    assert.deepEqual(orgsWithRuleGroups(db), ["acme", "other"]);
    assert.equal(getRuleGroup(db, "other", "b", "x"), undefined);
  });

  const refusals: [string, () => unknown, RegExp][] = [
    ["an empty namespace", () => putRuleGroup(db, "acme", group("", "a"), LIMITS), /namespace must not be empty/],
    [
      "a long group name",
      () => putRuleGroup(db, "acme", group("n", "x".repeat(256)), LIMITS),
      /group name is 256 bytes long, more than the limit of 255/,
    ],
    [
      "a control character",
      () => putRuleGroup(db, "acme", group("a\nb", "g"), LIMITS),
      /namespace "a\\nb" contains a control character/,
    ],
    [
      "an oversized group",
      () => putRuleGroup(db, "acme", group("n", "g", 1, "x".repeat(MAX_RULE_GROUP_BYTES + 1)), LIMITS),
      /more than the limit of 524288/,
    ],
    [
      "too many rules",
      () => putRuleGroup(db, "acme", group("n", "g", 3), LIMITS),
      /has 3 rules, more than the org's limit of 2 \(max_rules_per_group\)/,
    ],
  ];
  for (const [name, run, message] of refusals) {
    test(`refuses ${name}, storing nothing`, () => {
      assert.throws(run, isBadData(message));
      assert.deepEqual(listRuleGroups(db, "acme"), []);
    });
  }

  test("refuses a group past the org's group limit, but replacing one at the limit is fine", () => {
    for (const n of ["a", "b", "c"]) putRuleGroup(db, "acme", group("ns", n), LIMITS);
    assert.throws(
      () => putRuleGroup(db, "acme", group("ns", "d"), LIMITS),
      isBadData(/org "acme" would have 4 rule groups, more than its limit of 3 \(max_rule_groups\)/),
    );
    assert.equal(putRuleGroup(db, "acme", group("ns", "c", 1, "name: c\nrules: []\n"), LIMITS), "updated");
    assert.equal(putRuleGroup(db, "other", group("ns", "d"), LIMITS), "added");
  });

  test("an unknown org is not_found; deleting an org deletes its groups", () => {
    assert.throws(
      () => putRuleGroup(db, "nope", group("n", "g"), LIMITS),
      (e) => isContrailError(e, "not_found"),
    );
    createOrg(db, { slug: "gone", admin: localUser(db)!.id });
    putRuleGroup(db, "gone", group("n", "g"), LIMITS);
    deleteOrg(db, "gone");
    assert.deepEqual(listRuleGroups(db, "gone"), []);
  });
});

describe("deleting", () => {
  test("one group, or a whole namespace; the counts say what was there", () => {
    putRuleGroup(db, "acme", group("a", "x"), LIMITS);
    putRuleGroup(db, "acme", group("a", "y"), LIMITS);
    putRuleGroup(db, "acme", group("b", "x"), LIMITS);
    assert.equal(deleteRuleGroup(db, "acme", "a", "x"), true);
    assert.equal(deleteRuleGroup(db, "acme", "a", "x"), false);
    assert.equal(deleteRuleGroup(db, "other", "b", "x"), false);
    assert.equal(deleteRuleNamespace(db, "acme", "b"), 1);
    assert.equal(deleteRuleNamespace(db, "acme", "b"), 0);
    assert.deepEqual(
      listRuleGroups(db, "acme").map((g) => g.name),
      ["y"],
    );
  });
});

describe("syncRuleGroups", () => {
  const manages = (ns: string) => ns !== "kept";

  test("adds, replaces and deletes within the managed namespaces, keeping the others", () => {
    putRuleGroup(db, "acme", group("a", "old"), LIMITS);
    putRuleGroup(db, "acme", group("a", "same"), LIMITS);
    putRuleGroup(db, "acme", group("kept", "k"), LIMITS);
    const wanted = [group("a", "same"), group("b", "new")];
    const dry = syncRuleGroups(db, "acme", wanted, { limits: LIMITS, manages, dryRun: true });
    assert.deepEqual(dry, [
      { namespace: "a", name: "old", change: "deleted" },
      { namespace: "b", name: "new", change: "added" },
    ]);
    assert.equal(listRuleGroups(db, "acme").length, 3);
    assert.deepEqual(syncRuleGroups(db, "acme", wanted, { limits: LIMITS, manages }), dry);
    assert.deepEqual(
      listRuleGroups(db, "acme").map((g) => `${g.namespace}/${g.name}`),
      ["a/same", "b/new", "kept/k"],
    );
    assert.deepEqual(syncRuleGroups(db, "acme", wanted, { limits: LIMITS, manages }), []);
    const changed = syncRuleGroups(db, "acme", [group("a", "same", 1, "name: same\nrules: []\n"), group("b", "new")], {
      limits: LIMITS,
      manages,
    });
    assert.deepEqual(changed, [{ namespace: "a", name: "same", change: "updated" }]);
  });

  test("checks everything first: a bad group or a passed limit changes nothing", () => {
    putRuleGroup(db, "acme", group("a", "x"), LIMITS);
    putRuleGroup(db, "acme", group("kept", "k"), LIMITS);
    const tooMany = [group("a", "1"), group("a", "2"), group("a", "3")];
    assert.throws(
      () => syncRuleGroups(db, "acme", tooMany, { limits: LIMITS, manages }),
      isBadData(/would have 4 rule groups/),
    );
    assert.throws(
      () => syncRuleGroups(db, "acme", [group("a", "1"), group("a", "1")], { limits: LIMITS, manages }),
      isBadData(/rule group "1" appears twice in namespace "a"/),
    );
    assert.throws(
      () => syncRuleGroups(db, "acme", [group("kept", "1")], { limits: LIMITS, manages }),
      isBadData(/namespace "kept" is not managed/),
    );
    assert.deepEqual(
      listRuleGroups(db, "acme").map((g) => `${g.namespace}/${g.name}`),
      ["a/x", "kept/k"],
    );
  });
});
