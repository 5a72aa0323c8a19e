#!/usr/bin/env node
// `npm run bench -- <name> [args...]` runs the benchmark `bench/<name>.ts` (or `bench/<name>/main.ts`) through tsx;
// benchmarks that start the `contrail` command run the compiled dist/, which `npm run bench` builds first.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { constants } from "node:os";

const [name, ...args] = process.argv.slice(2);
const candidates = name ? [`bench/${name}.ts`, `bench/${name}/main.ts`] : [];
const file = candidates.find((f) => existsSync(f));
if (!file) {
  const known = readdirSync("bench")
    .filter((f) => f !== "harness.ts" && !f.endsWith(".test.ts"))
    .map((f) => f.replace(/\.ts$/, ""));
  console.error(`usage: npm run bench -- <name>\nbenchmarks: ${known.join(", ") || "(none yet)"}`);
  process.exit(2);
}
const bench = spawn(process.execPath, ["--import", "tsx", "--expose-gc", file, ...args], { stdio: "inherit" });
// A stop sent to this wrapper reaches the bench, which stops the servers it started before it exits.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => bench.kill(signal));
bench.on("exit", (code, signal) => process.exit(code ?? 128 + (signal === null ? 1 : constants.signals[signal])));
