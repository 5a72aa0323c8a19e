// The agent's start-up clean-up: the processes of local instances a killed agent left running are ended as their
// app's fly.toml asks to be stopped.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createOrg, deployApp, localUser, openControlDb, registerInstance } from "../control/index.ts";
import { DEFAULT_STOP_GRACE_MS, running } from "../machines/index.ts";
import { reapLeftInstances } from "./agent-role.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-agent-role-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Starts a process of instance `id` that ignores SIGTERM and, on SIGINT, writes `marker` and exits. */
function interruptible(id: string, marker: string): number {
  const code =
    'process.on("SIGTERM", () => {}); ' +
    `process.on("SIGINT", () => { require("node:fs").writeFileSync(${JSON.stringify(marker)}, ""); process.exit(0); }); ` +
    "setInterval(() => {}, 1000);";
  return spawn(process.execPath, ["-e", code], {
    env: { PATH: process.env.PATH ?? "", FLY_ALLOC_ID: id },
    stdio: "ignore",
  }).pid!;
}

test("a killed agent's instances are stopped with their app's kill_signal, in its kill_timeout", async () => {
  const db = openControlDb({ dataDir: join(root, "data") });
  const pids: number[] = [];
  try {
    createOrg(db, { slug: "acme", admin: localUser(db)!.id });
    const toml = (app: string, extra: string) =>
      `app = "${app}"\n${extra}[build]\ncommand = "node server.js"\n[http_service]\ninternal_port = 8080\n`;
    deployApp(db, { org: "acme", flyToml: toml("gentle", 'kill_signal = "SIGINT"\nkill_timeout = 30\n'), dir: root });
    deployApp(db, { org: "acme", flyToml: toml("plain", ""), dir: root });
    registerInstance(db, { app: "gentle", kind: "local", region: "ams", address: "127.0.0.1:1", id: "0123456789ab01" });
    registerInstance(db, { app: "plain", kind: "local", region: "ams", address: "127.0.0.1:2", id: "0123456789ab02" });
    const gentleMarker = join(root, "gentle-interrupted");
    const plainMarker = join(root, "plain-interrupted");
    const gentle = interruptible("0123456789ab01", gentleMarker);
    const plain = interruptible("0123456789ab02", plainMarker);
    pids.push(gentle, plain);
    // Time for both to install their handlers.
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    assert.equal(await reapLeftInstances(db), 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(running(gentle), false);
    assert.equal(existsSync(gentleMarker), true, "SIGINT, the app's kill_signal, stopped it cleanly");
    // The app without a kill_signal gets SIGTERM, which this process ignores: SIGKILL after the runner's default grace.
    assert.equal(running(plain), false);
    assert.equal(existsSync(plainMarker), false);
    const took = Date.now() - started;
    assert.ok(took >= DEFAULT_STOP_GRACE_MS, `the ignored SIGTERM was given its grace period (${took} ms)`);
    assert.ok(
      took < DEFAULT_STOP_GRACE_MS + 5_000,
      "the 30 s kill_timeout was not waited out by a process that had exited",
    );
  } finally {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    db.close();
  }
});
