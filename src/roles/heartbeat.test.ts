import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { beat, openControlDb, readHeartbeat } from "../control/index.ts";
import { isContrailError } from "../model/errors.ts";
import { edgeRole, liveEdges, liveHeartbeat, RoleHeartbeat, refuseEdgeOverlap, refuseSecond } from "./heartbeat.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-heartbeat-"));
let dirs = 0;
after(() => rmSync(root, { recursive: true, force: true }));

function db(now: () => number = Date.now) {
  return openControlDb({ dataDir: join(root, `d${dirs++}`), now });
}

/** A pid that is not running: one past the highest pid in use is as good as any, but a dead child is certain. */
const DEAD_PID = 2 ** 22 + 1;

test("a live role is refused a second time; a stale row or a dead pid on this machine is not", () => {
  let t = 100_000;
  const d = db(() => t);
  refuseSecond(d, "serve", "contrail serve");
  beat(d, { role: "serve", pid: process.ppid, hostname: hostname(), info: {}, startedAt: 1 });
  assert.throws(
    () => refuseSecond(d, "serve", "contrail serve"),
    (e) =>
      isContrailError(e, "conflict") &&
      e.message ===
        `another contrail serve (pid ${process.ppid} on ${hostname()}) serves this data directory; stop it first`,
  );
  assert.equal(liveHeartbeat(d, "serve")?.pid, process.ppid);
  t += 10_001;
  assert.equal(liveHeartbeat(d, "serve"), undefined, "stale after ten seconds");
  refuseSecond(d, "serve", "contrail serve");
  beat(d, { role: "agent", pid: DEAD_PID, hostname: hostname(), info: {}, startedAt: 1 });
  assert.equal(liveHeartbeat(d, "agent"), undefined, "a dead pid on this machine");
  beat(d, { role: "agent", pid: DEAD_PID, hostname: "elsewhere", info: {}, startedAt: 1 });
  assert.equal(liveHeartbeat(d, "agent")?.hostname, "elsewhere", "another machine's pid cannot be checked");
  d.close();
});

test("edges may run side by side with distinct regions only", () => {
  const d = db();
  const edges = [{ region: "ord", host: "2e24", address: "127.0.0.1:1", url: "http://<app>.localhost:1" }];
  beat(d, {
    role: edgeRole(["ord"]),
    pid: process.ppid,
    hostname: hostname(),
    info: { edges, metrics: "m" },
    startedAt: 1,
  });
  assert.deepEqual(
    liveEdges(d).map((e) => [e.role, e.metrics, e.edges.length]),
    [["edge/ord", "m", 1]],
  );
  refuseEdgeOverlap(d, ["ams", "syd"]);
  assert.throws(
    () => refuseEdgeOverlap(d, ["ams", "ord"]),
    /another contrail edge \(pid \d+\) serves region ord on this data directory/,
  );
  d.close();
});

test("RoleHeartbeat writes at start and on update, and deletes its row when stopped", () => {
  const d = db();
  const warnings: string[] = [];
  const hb = new RoleHeartbeat({ db: d, role: "agent", warn: (l) => warnings.push(l) });
  hb.start({ metrics: "http://127.0.0.1:1" });
  assert.deepEqual(readHeartbeat(d, "agent")?.info, { metrics: "http://127.0.0.1:1" });
  hb.update({ metrics: "http://127.0.0.1:2" });
  assert.equal(readHeartbeat(d, "agent")?.pid, process.pid);
  assert.deepEqual(readHeartbeat(d, "agent")?.info, { metrics: "http://127.0.0.1:2" });
  hb.stop();
  assert.equal(readHeartbeat(d, "agent"), undefined);
  assert.deepEqual(warnings, []);
  d.close();
});
