import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { beat, type ControlDb, openControlDb, readHeartbeat } from "../control/index.ts";
import { HEARTBEAT_STALE_MS } from "./heartbeat.ts";
import { RoleLease } from "./lease.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-lease-"));
let dirs = 0;
after(() => rmSync(root, { recursive: true, force: true }));

/** A pid that is not running on this machine. */
const DEAD_PID = 2 ** 22 + 1;
/** Longer than any test: the leases here move only when a test calls `tick()`. */
const NEVER_MS = 3_600_000;

/** A lease on `db` that logs what it is told into `log` under `name`. */
function lease(db: ControlDb, name: string, log: string[]): RoleLease {
  return new RoleLease({
    db,
    role: "rules",
    info: { name },
    intervalMs: NEVER_MS,
    onAcquire: async () => {
      log.push(`${name} acquires`);
    },
    onRelease: async () => {
      log.push(`${name} releases`);
    },
    warn: (line) => log.push(`${name} warns ${line}`),
  });
}

test("of two candidates exactly one holds the role; the other takes it over once the holder stops", async () => {
  const dataDir = join(root, `d${dirs++}`);
  // Two connections, as two processes have.
  const one = openControlDb({ dataDir });
  const two = openControlDb({ dataDir });
  const log: string[] = [];
  const a = lease(one, "a", log);
  const b = lease(two, "b", log);
  try {
    await a.start();
    await b.start();
    assert.deepEqual([a.held, b.held], [true, false]);
    await b.tick();
    await a.tick();
    assert.deepEqual([a.held, b.held], [true, false], "renewals keep the holder; the standby waits");
    assert.equal(readHeartbeat(one, "rules")?.info.name, "a");
    await a.stop();
    assert.equal(readHeartbeat(one, "rules"), undefined, "a clean stop deletes the row");
    await b.tick();
    assert.deepEqual([a.held, b.held], [false, true]);
    assert.deepEqual(log, ["a acquires", "a releases", "b acquires"]);
  } finally {
    await a.stop();
    await b.stop();
    one.close();
    two.close();
  }
});

test("a holder killed on this machine is replaced at once; one on another machine once its row is stale", async () => {
  let now = 1_000_000;
  const db = openControlDb({ dataDir: join(root, `d${dirs++}`), now: () => now });
  const log: string[] = [];
  const c = lease(db, "c", log);
  try {
    beat(db, { role: "rules", pid: DEAD_PID, hostname: hostname(), info: { holder: "gone" }, startedAt: 1 });
    await c.start();
    assert.ok(c.held, "the dead pid's row is taken over");
    await c.stop();
    beat(db, { role: "rules", pid: process.pid, hostname: "elsewhere", info: { holder: "far" }, startedAt: 1 });
    const d = lease(db, "d", log);
    await d.start();
    assert.ok(!d.held, "a fresh row of another machine holds");
    now += HEARTBEAT_STALE_MS + 1;
    await d.tick();
    assert.ok(d.held, "a stale one does not");
    await d.stop();
  } finally {
    await c.stop();
    db.close();
  }
});

test("a holder whose row was taken while it hung stops acting at its next beat", async () => {
  let now = 1_000_000;
  const db = openControlDb({ dataDir: join(root, `d${dirs++}`), now: () => now });
  const log: string[] = [];
  const e = lease(db, "e", log);
  const f = lease(db, "f", log);
  try {
    await e.start();
    // e hangs past the stale time; f, on another machine's view, takes it for gone.
    now += HEARTBEAT_STALE_MS + 1;
    beat(db, { role: "rules", pid: process.pid, hostname: "elsewhere", info: { holder: "f-elsewhere" }, startedAt: 1 });
    await e.tick();
    assert.ok(!e.held);
    assert.deepEqual(log, ["e acquires", "e releases"]);
    await f.start();
    assert.ok(!f.held, "the row is held by its new, fresh holder");
  } finally {
    await e.stop();
    await f.stop();
    db.close();
  }
});

test("of several processes claiming at the same moment, exactly one holds the role", async () => {
  const dataDir = join(root, `d${dirs++}`);
  openControlDb({ dataDir }).close();
  // Each process opens its own connection, waits for a common instant, then claims once and says whether it won.
  const at = Date.now() + 3000;
  const script = [
    'import { hostname } from "node:os";',
    'import { claimHeartbeat, openControlDb } from "./src/control/index.ts";',
    "const [dataDir, at] = [process.argv[1], Number(process.argv[2])];",
    "const db = openControlDb({ dataDir });",
    "while (Date.now() < at);",
    "const info = {};",
    "const won = claimHeartbeat(db, { role: 'rules', pid: process.pid, hostname: hostname(), info, startedAt: 1 },",
    "  String(process.pid), () => true);",
    "process.stdout.write(won ? 'won' : 'lost');",
  ].join("\n");
  const runs = Array.from({ length: 6 }, () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "--eval", script, dataDir, `${at}`],
      {
        cwd: new URL("../..", import.meta.url),
      },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    return new Promise<string>((resolve) => child.once("exit", () => resolve(out)));
  });
  const results = await Promise.all(runs);
  assert.deepEqual(results.filter((r) => r === "won").length, 1, `results: ${results.join(", ")}`);
  assert.equal(results.filter((r) => r === "lost").length, 5);
});
