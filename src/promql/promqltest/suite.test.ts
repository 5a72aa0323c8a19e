// Runs Prometheus's shared PromQL test suite (the `*.test` files kept beside the repository, in
// ../shared/promqltest) against the engine. Fails on any failure not listed in known-failures.txt, and checks that
// every eval of the suite was counted as passed, failed or skipped. A missing suite follows the rule of
// testkit/shared-data.ts: skipped with one line, a failure under CI.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { sharedData } from "../../testkit/shared-data.ts";
import { parseKnownFailures } from "./known-failures.ts";
import { runSuite } from "./run-suite.ts";

const suite = sharedData("promqltest");
const KNOWN_FAILURES = fileURLToPath(new URL("./known-failures.txt", import.meta.url));
// Eval statements in the suite at Prometheus d15adb9 (see FORMAT.md in the suite's folder).
const EXPECTED_EVALS = 2214;
const EXPECTED_FILES = 21;

test("shared PromQL test suite", { skip: suite.skip }, async (t) => {
  const files = readdirSync(suite.dir)
    .filter((f) => f.endsWith(".test"))
    .sort();
  assert.equal(files.length, EXPECTED_FILES, "number of suite files");
  const { entries, invalid } = parseKnownFailures(readFileSync(KNOWN_FAILURES, "utf8"));
  assert.deepEqual(invalid, [], "malformed lines in known-failures.txt");

  const log: string[] = [];
  const run = await runSuite(
    files.map((f) => suite.path(f)),
    { known: entries, log: (l) => log.push(l) },
  );
  for (const l of log) if (/^\S+\.test: |^note: |^\d+ passed/.test(l)) t.diagnostic(l);

  let seen = 0;
  for (const r of run.results) seen += r.evals.length;
  assert.equal(seen, EXPECTED_EVALS, "every eval is counted as passed, failed or skipped");
  for (const r of run.results) {
    for (const e of r.evals) {
      if (e.status === "skipped") assert.ok(e.detail.length > 0, `${r.file}:${e.line} skipped without a reason`);
    }
  }
  assert.deepEqual(
    run.regressions.map((f) => `${f.file}:${f.line}  ${f.query} — ${f.reason}`),
    [],
    "failures not listed in known-failures.txt",
  );
});
