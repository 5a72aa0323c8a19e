// `contrail rules check` against promtool: every file of the corpus (src/rules/testdata) gets the same verdict
// from both, and the command prints promtool's report and exit code.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { checkTemplate } from "../rules/index.ts";
import { randomTemplate } from "../rules/testkit.ts";
import { mulberry32 } from "../testkit/random.ts";
import { checkRuleFile } from "./rules.ts";

const bin = new URL("../../bin/contrail.js", import.meta.url).pathname;
const corpus = new URL("../rules/testdata/", import.meta.url).pathname;
const PROMTOOL = "/usr/bin/promtool";

function files(kind: string): string[] {
  const dir = join(corpus, kind);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yml"))
    .map((f) => join(dir, f));
}

test("the corpus covers good and bad files", () => {
  assert.ok(files("good").length >= 8);
  assert.ok(files("bad").length >= 20);
});

test("each file gets promtool's verdict", {
  skip: existsSync(PROMTOOL) ? false : "promtool is not installed",
}, async () => {
  for (const kind of ["good", "bad"]) {
    for (const file of files(kind)) {
      const ours = await checkRuleFile(file);
      const theirs = spawnSync(PROMTOOL, ["check", "rules", file], { encoding: "utf8" });
      assert.equal(ours.ok, theirs.status === 0, `${file}: promtool says ${theirs.stderr || theirs.stdout}`);
      assert.equal(ours.ok, kind === "good", `${file}: ${ours.ok ? "accepted" : (ours as { errors: string }).errors}`);
    }
  }
});

test("files using fields newer than promtool 2.42 (query_offset, group labels) are accepted", async () => {
  for (const file of files("newer")) assert.deepEqual(await checkRuleFile(file), { ok: true, rules: 1 });
});

test("the command prints promtool's report and exits 1 when a file fails", () => {
  const good = join(corpus, "good/basic.yml");
  const bad = join(corpus, "bad/for-on-recording.yml");
  const r = spawnSync(process.execPath, [bin, "rules", "check", good, bad], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, `Checking ${good}\n  SUCCESS: 2 rules found\n\nChecking ${bad}\n\n`);
  assert.equal(r.stderr, `  FAILED:\n${bad}:4: group "g", rule 1, "a:b": invalid field 'for' in recording rule\n`);
  const ok = spawnSync(process.execPath, [bin, "rules", "check", good], { encoding: "utf8" });
  assert.equal(ok.status, 0);
});

test("a missing file fails with the system's message", async () => {
  const r = await checkRuleFile(join(corpus, "no-such-file.yml"));
  assert.equal(r.ok, false);
  assert.match((r as { errors: string }).errors, /ENOENT/);
});

test("random templates get promtool's verdict", {
  skip: existsSync(PROMTOOL) ? false : "promtool is not installed",
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "contrail-templates-"));
  const rand = mulberry32(2024);
  try {
    for (let i = 0; i < TEMPLATE_CASES; i++) {
      const template = randomTemplate(rand, true);
      const file = join(dir, `t${i}.yml`);
      writeFileSync(
        file,
        `groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      t: |-\n        ${template}\n`,
      );
      const ours = checkTemplate(template, "__alert_A");
      const theirs = spawnSync(PROMTOOL, ["check", "rules", file], { encoding: "utf8" });
      assert.equal(ours === null, theirs.status === 0, `${template}\nours: ${ours}\npromtool: ${theirs.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Random templates compared with promtool: each costs one promtool run. */
const TEMPLATE_CASES = 300;
