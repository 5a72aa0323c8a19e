import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { instanceProcesses, reapInstanceProcesses, running } from "./orphans.ts";

/** Starts a process carrying instance id `id` in its environment; `stubborn` ones ignore SIGTERM. */
function instance(id: string, stubborn: boolean): number {
  const code = stubborn
    ? 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000);'
    : "setInterval(() => {}, 1000);";
  const child = spawn(process.execPath, ["-e", code], {
    env: { PATH: process.env.PATH ?? "", FLY_ALLOC_ID: id },
    stdio: "ignore",
  });
  return child.pid!;
}

test("the processes of the given instances are found by their id and ended, SIGTERM first, then SIGKILL", async () => {
  const polite = instance("0123456789abcd", false);
  const stubborn = instance("0123456789abce", true);
  const other = instance("ffffffffffffff", false);
  try {
    // Give the stubborn one time to install its handler.
    await new Promise((r) => setTimeout(r, 500));
    const found = instanceProcesses(new Set(["0123456789abcd", "0123456789abce"]));
    assert.deepEqual(
      found.sort((a, b) => a.pid - b.pid),
      [
        { pid: polite, id: "0123456789abcd" },
        { pid: stubborn, id: "0123456789abce" },
      ].sort((a, b) => a.pid - b.pid),
    );
    const reaped = await reapInstanceProcesses(new Set(["0123456789abcd", "0123456789abce"]), { graceMs: 300 });
    assert.deepEqual(reaped.sort(), [polite, stubborn].sort());
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(running(polite), false);
    assert.equal(running(stubborn), false);
    assert.equal(running(other), true, "another instance's process is left alone");
    assert.deepEqual(instanceProcesses(new Set()), []);
  } finally {
    for (const pid of [polite, stubborn, other]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
});

test("each instance is stopped with its app's signal and grace period", async () => {
  const dir = mkdtempSync(join(tmpdir(), "contrail-orphans-"));
  const marker = join(dir, "interrupted");
  // Stops cleanly on SIGINT only (as `go run` does); SIGTERM is ignored.
  const interruptible = spawn(
    process.execPath,
    [
      "-e",
      `process.on("SIGTERM", () => {}); process.on("SIGINT", () => { require("node:fs").writeFileSync(${JSON.stringify(marker)}, ""); process.exit(0); }); setInterval(() => {}, 1000);`,
    ],
    { env: { PATH: process.env.PATH ?? "", FLY_ALLOC_ID: "0123456789abcf" }, stdio: "ignore" },
  ).pid!;
  // Ignores both: only SIGKILL ends it, after its own short grace period.
  const deaf = spawn(
    process.execPath,
    ["-e", 'process.on("SIGTERM", () => {}); process.on("SIGINT", () => {}); setInterval(() => {}, 1000);'],
    { env: { PATH: process.env.PATH ?? "", FLY_ALLOC_ID: "0123456789abd0" }, stdio: "ignore" },
  ).pid!;
  try {
    await new Promise((r) => setTimeout(r, 500));
    const plans = new Map([
      ["0123456789abcf", { signal: "SIGINT" as const, graceMs: 10_000 }],
      ["0123456789abd0", { signal: "SIGINT" as const, graceMs: 200 }],
    ]);
    const started = Date.now();
    const reaped = await reapInstanceProcesses(new Set(plans.keys()), {
      graceMs: 10_000,
      stopOf: (id) => plans.get(id),
    });
    assert.ok(Date.now() - started < 5_000, "neither waited for the default grace period");
    assert.deepEqual(reaped.sort(), [interruptible, deaf].sort());
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(existsSync(marker), true, "the app's own signal stopped it cleanly");
    assert.equal(running(interruptible), false);
    assert.equal(running(deaf), false);
  } finally {
    for (const pid of [interruptible, deaf]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
