import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Command, CommanderError } from "commander";
import { parse } from "yaml";
import { createApp, createOrg, listRuleGroups, localUser, openControlDb } from "../control/index.ts";
import { registerRulesManageCommands } from "./commands/rules-manage.ts";

// `contrail rules sync|list|enable` parsed by commander and run in process against a real control database; stdout
// and stderr captured.

let dir: string;

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const program = new Command("contrail").exitOverride();
    registerRulesManageCommands(program);
    let code = 0;
    try {
      await program.parseAsync([...args, "--data", dir], { from: "user" });
      code = typeof process.exitCode === "number" ? process.exitCode : 0;
    } catch (e) {
      if (!(e instanceof CommanderError)) throw e;
      code = e.exitCode;
    }
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = undefined;
  }
}

function groupsOf(org: string): string[] {
  const db = openControlDb({ dataDir: dir });
  try {
    return listRuleGroups(db, org).map((g) => `${g.namespace}/${g.name}:${g.rules}`);
  } finally {
    db.close();
  }
}

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const rules = (...groups: [string, string][]) =>
  `groups:\n${groups.map(([name, expr]) => `  - name: ${name}\n    rules:\n      - record: r:${name}\n        expr: ${expr}\n`).join("")}`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "contrail-cli-rules-"));
  const db = openControlDb({ dataDir: dir });
  createOrg(db, { slug: "acme", admin: localUser(db)!.id });
  createOrg(db, { slug: "other", admin: localUser(db)!.id });
  createApp(db, { name: "web", org: "acme" });
  createApp(db, { name: "theirs", org: "other" });
  db.close();
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe("contrail rules", () => {
  test("sync adds the files' groups under their base names; a dry run writes nothing", async () => {
    const a = file("team-a.yml", rules(["one", "vector(1)"], ["two", "vector(2)"]));
    const b = file("team-b.yaml", rules(["three", "vector(3)"]));
    const dry = await run("rules", "sync", "--org", "acme", "--dry-run", a, b);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /^would be added: team-a\/one$/m);
    assert.match(dry.out, /3 changes \(dry run: nothing written\)/);
    assert.deepEqual(groupsOf("acme"), []);
    const r = await run("rules", "sync", "--org", "acme", a, b);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.split("\n").slice(0, 3), ["added: team-a/one", "added: team-a/two", "added: team-b/three"]);
    assert.deepEqual(groupsOf("acme"), ["team-a/one:1", "team-a/two:1", "team-b/three:1"]);
  });

  test("sync again replaces changed groups, deletes missing ones and namespaces, and says so", async () => {
    const a = file("team-a.yml", rules(["one", "vector(10)"]));
    const r = await run("rules", "sync", "--org", "acme", a);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.split("\n"), [
      "updated: team-a/one",
      "deleted: team-a/two",
      "deleted: team-b/three",
      'org "acme": 3 changes',
    ]);
    assert.match((await run("rules", "sync", "--org", "acme", a)).out, /1 rule groups, nothing to change/);
  });

  test("an invalid file fails with its line number and changes nothing", async () => {
    const bad = file("bad.yml", "groups:\n  - name: x\n    rules:\n      - record: y\n        expr: rate(\n");
    const r = await run("rules", "sync", "--org", "acme", bad);
    assert.equal(r.code, 1);
    assert.match(r.err, /bad\.yml:5: .*could not parse expression/);
    assert.deepEqual(groupsOf("acme"), ["team-a/one:1"]);
  });

  test("a group with an interval a metrics node would refuse is refused here too", async () => {
    const fast = file(
      "fast.yml",
      "groups:\n  - name: f\n    interval: 1s\n    rules:\n      - record: a:b\n        expr: vector(1)\n",
    );
    const r = await run("rules", "sync", "--org", "acme", fast);
    assert.equal(r.code, 1);
    assert.match(r.err, /fast\.yml: group "f": interval 1000 ms, less than the minimum of 10000 ms/);
  });

  test("enable writes the ready-made group for the app; --only and thresholds shape it; sync keeps it", async () => {
    const r = await run("rules", "enable", "--org", "acme", "--app", "web");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^added: contrail-builtin\/web \(HighErrorRatio, HighLatencyP95, /);
    const some = await run(
      ...["rules", "enable", "--org", "acme", "--app", "web", "--only", "InstanceDown", "--only", "HighErrorRatio"],
      ...["--error-ratio", "0.1", "--for", "2m"],
    );
    assert.match(some.out, /^updated: contrail-builtin\/web \(HighErrorRatio, InstanceDown\)$/);
    const db = openControlDb({ dataDir: dir });
    const stored = listRuleGroups(db, "acme", "contrail-builtin")[0];
    db.close();
    const doc = parse(stored.yaml) as { rules: { expr: string; for: string }[] };
    assert.match(doc.rules[0].expr, /> 0\.1$/);
    assert.equal(doc.rules[1].for, "2m");
    const a = file("team-a.yml", rules(["one", "vector(10)"]));
    assert.match((await run("rules", "sync", "--org", "acme", a)).out, /nothing to change/);
    assert.deepEqual(groupsOf("acme"), ["contrail-builtin/web:2", "team-a/one:1"]);
  });

  test("enable refuses another org's app, an unknown rule and a bad threshold", async () => {
    const cases: [string[], RegExp][] = [
      [["--app", "theirs"], /no app "theirs" in org "acme"/],
      [["--app", "web", "--only", "Nope"], /unknown ready-made rule "Nope"/],
      [["--app", "web", "--error-ratio", "2"], /error ratio must be between 0 and 1/],
      [["--app", "web", "--window", "soon"], /duration|parse/i],
    ];
    for (const [args, message] of cases) {
      const r = await run("rules", "enable", "--org", "acme", ...args);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.err, message);
    }
  });

  test("list shows every org's groups, or one org's, as a table or JSON", async () => {
    const r = await run("rules", "list");
    const lines = r.out.split("\n");
    assert.match(lines[0], /^ORG\s+NAMESPACE\s+GROUP\s+RULES\s+UPDATED$/);
    assert.match(lines[1], /^acme\s+contrail-builtin\s+web\s+2\s+\d{4}-/);
    assert.equal(lines.length, 3);
    const json = JSON.parse((await run("rules", "list", "--org", "other", "--json")).out) as unknown[];
    assert.deepEqual(json, []);
    assert.equal((await run("rules", "list", "--org", "nope")).code, 1);
  });
});
