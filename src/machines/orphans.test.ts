import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { findInstanceProcesses, reapInstanceProcesses, running } from "./orphans.ts";

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
    const found = findInstanceProcesses(new Set(["0123456789abcd", "0123456789abce"]));
    assert.deepEqual(found.sort(), [polite, stubborn].sort());
    const reaped = await reapInstanceProcesses(new Set(["0123456789abcd", "0123456789abce"]), { graceMs: 300 });
    assert.deepEqual(reaped.sort(), [polite, stubborn].sort());
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(running(polite), false);
    assert.equal(running(stubborn), false);
    assert.equal(running(other), true, "another instance's process is left alone");
    assert.deepEqual(findInstanceProcesses(new Set()), []);
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
