// No thread that runs queries detaches a buffer: a V8 isolate that detaches one (posting it in a transfer list)
// turns off, for good, the assumption its optimized code makes that no typed array is ever detached, and every
// typed-array access in it is checked from then on (docs/architecture.md, "Query threads never detach a buffer").
// The fixture takes every path that posts data between the metrics node's threads (split queries' pages and
// assists, inline queries, remote-write decodes with recycled outputs) in a child process under V8's
// --trace-protector-invalidation, which prints a line the first time an isolate loses that assumption; its count
// must equal the count of a run that only sets the pools up (the module loader's own thread may print one).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const FIXTURE = fileURLToPath(new URL("./no-detach-fixture.ts", import.meta.url));
const LINE = "Invalidating protector cell ArrayBufferDetaching";

function invalidations(mode: "setup" | "run"): { count: number; out: string } {
  const r = spawnSync(process.execPath, ["--trace-protector-invalidation", "--import", "tsx", FIXTURE, mode], {
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `fixture ${mode} failed: ${r.stderr}`);
  return { count: r.stdout.split("\n").filter((l) => l.includes(LINE)).length, out: r.stdout };
}

test("queries, assists and remote-write decodes detach no buffer in any thread", () => {
  const setup = invalidations("setup");
  const run = invalidations("run");
  assert.match(run.out, /fixture: ran, assists [1-9]/, "a query was split between two workers");
  assert.equal(run.count, setup.count, `a thread detached a buffer:\n${run.out}`);
});
