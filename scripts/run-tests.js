#!/usr/bin/env node
// Runs every `*.test.ts` beside the code (in `src/`, and `scripts/` for the layer check) with Node's test runner
// (through tsx). Extra arguments narrow the run to files whose path contains one of them:
// `npm run test:unit -- promql/parser`. Tests that start the `contrail` command run bin/contrail.js, that is the
// compiled dist/: `npm run test:unit` builds it before calling this script.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Lists test files under `dir`, sorted, skipping node_modules. */
function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(path));
    else if (entry.name.endsWith(".test.ts")) out.push(path);
  }
  return out.sort();
}

const filters = process.argv.slice(2);
const files = [...findTests("src"), ...findTests("scripts")].filter(
  (f) => filters.length === 0 || filters.some((p) => f.includes(p)),
);
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
const reporter = process.stdout.isTTY ? "spec" : "spec";
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", `--test-reporter=${reporter}`, "--test-concurrency=2", ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
