// The supervisor with real child processes: a small plain-JS role (written to a temporary directory) that follows
// the ready protocol and can be told to fail before it is ready, to ignore SIGTERM, or to log when it stops.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { nodeArgsFor, Supervisor } from "./supervisor.ts";

/** argv: <role> <mode> <stop log>; mode is `ok`, `fail` (exit 3 before ready) or `stubborn` (ignores SIGTERM). */
const ROLE = `
const [role, mode, log] = process.argv.slice(2);
const fs = require("node:fs");
console.log("hello from " + role);
console.error("a warning from " + role);
if (mode === "fail") process.exit(3);
const stop = () => {
  if (mode === "stubborn") return;
  fs.appendFileSync(log, role + "\\n");
  setTimeout(() => process.exit(0), 100);
};
process.on("SIGTERM", stop);
process.on("disconnect", stop);
setInterval(() => {}, 1000);
process.send({ type: "ready", info: { role, pid: process.pid } });
`;

let dir: string;
let entry: string;
let stopLog: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "contrail-supervisor-"));
  entry = join(dir, "role.cjs");
  writeFileSync(entry, ROLE);
  stopLog = join(dir, "stopped.log");
});

after(() => rmSync(dir, { recursive: true, force: true }));

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

function supervisor(modes: Record<string, string>, options: { stopTimeoutMs?: number } = {}) {
  const lines: string[] = [];
  const ready: string[] = [];
  const s = new Supervisor({
    entry,
    children: Object.entries(modes).map(([role, mode]) => ({ role, argv: () => [role, mode, stopLog] })),
    stopOrder: [["edge"], ["serve", "agent"]],
    restart: { initialDelayMs: 50, maxDelayMs: 400, resetAfterMs: 60_000 },
    stopTimeoutMs: options.stopTimeoutMs,
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
    onReady: (role, _info, restarts) => {
      ready.push(`${role}#${restarts}`);
    },
  });
  return { s, lines, ready };
}

describe("supervisor", () => {
  test("node arguments: a test runner's flags are dropped, tsx is added for TypeScript entries", () => {
    assert.deepEqual(nodeArgsFor("/x/run.js", ["--test", "--test-reporter=spec", "--enable-source-maps"]), [
      "--enable-source-maps",
    ]);
    const ts = nodeArgsFor("/x/run.ts", [], false);
    assert.equal(ts[0], "--import");
    assert.match(ts[1], /^file:.*tsx/);
    assert.deepEqual(nodeArgsFor("/x/run.ts", ["--import", "tsx"], false), ["--import", "tsx"]);
  });

  test("node arguments: source maps turned on in code reach the children as the flag", () => {
    assert.deepEqual(nodeArgsFor("/x/run.js", [], true), ["--enable-source-maps"]);
    assert.deepEqual(nodeArgsFor("/x/run.js", ["--enable-source-maps"], true), ["--enable-source-maps"]);
    assert.deepEqual(nodeArgsFor("/x/run.js", [], false), []);
  });

  test("starts every role, prefixes its lines, restarts one that dies and logs why", async () => {
    writeFileSync(stopLog, "");
    const { s, lines, ready } = supervisor({ serve: "ok", edge: "ok", agent: "ok" });
    const info = await s.start();
    assert.deepEqual([...info.keys()].sort(), ["agent", "edge", "serve"]);
    await until(() => lines.includes("contrail edge: hello from edge"), "the edge's stdout line");
    assert.ok(lines.includes("contrail agent: a warning from agent"));
    const first = s.pids().get("edge")!;
    process.kill(first, "SIGKILL");
    await until(() => ready.includes("edge#1"), "the edge restarted");
    assert.ok(lines.some((l) => l === `contrail: edge (pid ${first}) killed by SIGKILL; restarting it in 0.05 s`));
    assert.ok(lines.some((l) => /^contrail: edge is back \(pid \d+\)$/.test(l)));
    const second = s.pids().get("edge")!;
    assert.notEqual(second, first);
    // Repeated deaths back off: the next restart waits twice as long.
    process.kill(second, "SIGKILL");
    await until(() => ready.includes("edge#2"), "the edge restarted again");
    assert.ok(
      lines.some((l) => l.startsWith(`contrail: edge (pid ${second}) killed by SIGKILL; restarting it in 0.1 s`)),
    );

    const pids = [...s.pids().values()] as number[];
    assert.deepEqual(await s.stop(), []);
    for (const pid of pids) assert.ok(gone(pid), `role process ${pid} is gone`);
    // The edge stops first, the others after it.
    assert.equal(readFileSync(stopLog, "utf8").split("\n")[0], "edge");
  });

  test("a role that exits before it is ready fails the start, and the others are stopped", async () => {
    const { s, lines } = supervisor({ serve: "ok", edge: "fail" });
    await assert.rejects(s.start(), /edge exited with code 3 before it was ready/);
    assert.ok(lines.includes("contrail edge: hello from edge"));
    assert.equal(s.pids().get("serve") === undefined || gone(s.pids().get("serve")!), true);
  });

  test("a role that ignores SIGTERM is killed when the stop deadline passes", async () => {
    const { s } = supervisor({ serve: "ok", agent: "stubborn" }, { stopTimeoutMs: 500 });
    await s.start();
    const agent = s.pids().get("agent")!;
    assert.deepEqual(await s.stop(), ["agent"]);
    assert.ok(gone(agent));
  });
});
