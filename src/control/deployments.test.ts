// Deployments, heartbeats and instance runtime facts: the rows through which `deploy`, `apps status` and a running
// `up` talk to each other.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { deleteApp, getApp } from "./apps.ts";
import type { ControlDb } from "./connection.ts";
import { openControlDb } from "./db.ts";
import {
  deployApp,
  getDeployment,
  listDeployments,
  markDeploymentApplied,
  resetAppliedDeployments,
} from "./deployments.ts";
import { beat, clearHeartbeat, isFresh, listHeartbeats, readHeartbeat } from "./heartbeats.ts";
import { getInstance, registerInstance } from "./instances.ts";
import { createOrg } from "./orgs.ts";
import { addressOf, clearLocalInstances, listInstancesWithRuntime, recordInstanceReport } from "./runtime.ts";
import { localUser } from "./users.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-control-deploy-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

const TOML = 'app = "web"\n[build]\ncommand = "node server.js"\n[http_service]\ninternal_port = 8080\n';

function fresh(): { db: ControlDb; tick: (ms: number) => void } {
  let t = 10_000;
  const db = openControlDb({ dataDir: join(root, `d${dirs++}`), now: () => t });
  createOrg(db, { slug: "acme", admin: localUser(db)!.id });
  return { db, tick: (ms) => (t += ms) };
}

describe("deployments", () => {
  test("the first deploy creates the app; each deploy bumps the version and keeps the directory", () => {
    const { db, tick } = fresh();
    const first = deployApp(db, { org: "acme", flyToml: TOML, dir: "/srv/web" });
    assert.equal(first.created, true);
    assert.equal(first.version, 1);
    assert.equal(getApp(db, "web")?.orgId, "acme");
    tick(5);
    const second = deployApp(db, { org: "acme", flyToml: `${TOML}[env]\nX = "1"\n`, dir: "/srv/web2" });
    assert.equal(second.created, false);
    assert.equal(second.version, 2);
    const d = getDeployment(db, "web")!;
    assert.equal(d.dir, "/srv/web2");
    assert.equal(d.deployedAt, 10_005);
    assert.deepEqual(d.config.env, { X: "1" });
    assert.equal(d.appliedVersion, 0);
    assert.equal(d.org, "acme");
  });

  test("the app name comes from the option or the file; another org's app is a conflict", () => {
    const { db } = fresh();
    assert.throws(
      () => deployApp(db, { org: "acme", flyToml: "[http_service]\ninternal_port = 1\n", dir: "/x" }),
      (e) => isContrailError(e, "bad_data") && /names no app/.test(e.message),
    );
    assert.equal(deployApp(db, { name: "api", org: "acme", flyToml: "", dir: "/x" }).app.name, "api");
    assert.throws(
      () => deployApp(db, { org: "personal", flyToml: TOML.replace("web", "api"), dir: "/x" }),
      (e) => isContrailError(e, "conflict") && /belongs to org "acme"/.test(e.message),
    );
    assert.throws(
      () => deployApp(db, { org: "acme", flyToml: TOML, dir: "relative" }),
      (e) => isContrailError(e, "bad_data"),
    );
    assert.throws(
      () => deployApp(db, { org: "nope", flyToml: TOML, dir: "/x" }),
      (e) => isContrailError(e, "not_found"),
    );
    // A failed deploy changes nothing.
    assert.equal(getApp(db, "web"), undefined);
  });

  test("applied versions only move forward, reset clears them, and deleted apps vanish", () => {
    const { db } = fresh();
    deployApp(db, { org: "acme", flyToml: TOML, dir: "/srv" });
    deployApp(db, { org: "acme", flyToml: TOML, dir: "/srv" });
    markDeploymentApplied(db, "web", 2, null);
    markDeploymentApplied(db, "web", 1, "late");
    assert.deepEqual([getDeployment(db, "web")?.appliedVersion, getDeployment(db, "web")?.error], [2, null]);
    markDeploymentApplied(db, "web", 2, "command not found");
    assert.equal(getDeployment(db, "web")?.error, "command not found");
    resetAppliedDeployments(db);
    assert.equal(getDeployment(db, "web")?.appliedVersion, 0);
    assert.deepEqual(
      listDeployments(db).map((d) => d.app),
      ["web"],
    );
    deleteApp(db, "web");
    assert.deepEqual(listDeployments(db), []);
  });
});

describe("heartbeats", () => {
  test("a beat is replaced, read back, judged by age, and cleared only by its own pid", () => {
    const { db, tick } = fresh();
    assert.equal(readHeartbeat(db, "up"), undefined);
    beat(db, { role: "up", pid: 42, hostname: "h", info: { api: "http://127.0.0.1:9300" }, startedAt: 1 });
    tick(3000);
    beat(db, { role: "up", pid: 42, hostname: "h", info: { api: "http://127.0.0.1:9301" }, startedAt: 1 });
    const hb = readHeartbeat(db, "up")!;
    assert.deepEqual(hb, {
      role: "up",
      pid: 42,
      hostname: "h",
      info: { api: "http://127.0.0.1:9301" },
      startedAt: 1,
      beatAt: 13_000,
    });
    assert.equal(isFresh(hb, 20_000, 10_000), true);
    assert.equal(isFresh(hb, 23_001, 10_000), false);
    clearHeartbeat(db, "up", 7);
    assert.notEqual(readHeartbeat(db, "up"), undefined);
    clearHeartbeat(db, "up", 42);
    assert.equal(readHeartbeat(db, "up"), undefined);
  });

  test("listHeartbeats gives the roles with a prefix, in order", () => {
    const { db } = fresh();
    for (const role of ["edge/syd", "agent", "edge/ord", "edgeless"]) {
      beat(db, { role, pid: 1, hostname: "h", info: {}, startedAt: 1 });
    }
    assert.deepEqual(
      listHeartbeats(db, "edge/").map((h) => h.role),
      ["edge/ord", "edge/syd"],
    );
    assert.equal(listHeartbeats(db).length, 4);
    assert.deepEqual(listHeartbeats(db, "%"), []);
  });

  test("dataVersion moves when another connection commits, not for this one's own writes", () => {
    const { db } = fresh();
    const other = openControlDb({ dataDir: dirname(db.path) });
    try {
      const v0 = db.dataVersion();
      beat(db, { role: "up", pid: 1, hostname: "h", info: {}, startedAt: 1 });
      assert.equal(db.dataVersion(), v0);
      beat(other, { role: "agent", pid: 2, hostname: "h", info: {}, startedAt: 1 });
      assert.notEqual(db.dataVersion(), v0);
    } finally {
      other.close();
    }
  });
});

describe("instance runtime", () => {
  const identity = (id: string) => ({ id, app: "web", region: "ord", host: "ab12", processGroup: "app" });

  test("a local instance is registered by its first report and updated by the next ones", () => {
    const { db, tick } = fresh();
    deployApp(db, { org: "acme", flyToml: TOML, dir: "/srv" });
    const id = "0123456789abcd";
    const base = { id, pid: 100, restarts: 0 };
    assert.equal(recordInstanceReport(db, { ...base, state: "starting", health: "starting" }), false);
    const worker = "99999999999999";
    recordInstanceReport(
      db,
      { id: worker, state: "starting", health: "starting", pid: 5, restarts: 0 },
      identity(worker),
    );
    assert.equal(addressOf(getInstance(db, worker)!), null);
    assert.equal(
      recordInstanceReport(
        db,
        { ...base, state: "starting", health: "starting", address: "127.0.0.1:4000" },
        identity(id),
      ),
      true,
    );
    tick(10);
    recordInstanceReport(db, { ...base, state: "started", health: "healthy" });
    tick(10);
    recordInstanceReport(db, {
      id,
      state: "failed",
      health: "unhealthy",
      pid: null,
      restarts: 0,
      exit: { status: 137, atMs: 10_020 },
    });
    tick(10);
    recordInstanceReport(db, { id, state: "starting", health: "starting", pid: 101, restarts: 1 });
    const [i] = listInstancesWithRuntime(db, { app: "web" });
    assert.equal(i.kind, "local");
    assert.equal(i.address, "127.0.0.1:4000");
    assert.equal(i.state, "starting");
    assert.equal(i.startedAt, 10_010);
    assert.deepEqual(i.runtime, {
      pid: 101,
      health: "starting",
      restarts: 1,
      lastExitCode: 137,
      lastExitAt: 10_020,
      updatedAt: 10_030,
    });
  });

  test("an instance's stand-in ports are stored with its first report and replaced by later ones", () => {
    const { db } = fresh();
    deployApp(db, { org: "acme", flyToml: TOML, dir: "/srv" });
    const id = "dddddddddddddd";
    const r = { id, state: "starting", health: "starting", pid: 1, restarts: 0 } as const;
    recordInstanceReport(db, { ...r, address: "127.0.0.1:4000", ports: { "9091": 4001 } }, identity(id));
    assert.deepEqual(getInstance(db, id)?.ports, { "9091": 4001 });
    recordInstanceReport(db, { ...r, state: "started", health: "healthy" });
    assert.deepEqual(getInstance(db, id)?.ports, { "9091": 4001 }, "a report without ports keeps them");
    recordInstanceReport(db, { ...r, ports: { "9091": 4002 } });
    assert.deepEqual(getInstance(db, id)?.ports, { "9091": 4002 });
    for (const ports of [{ "0": 1 }, { "9091": 70_000 }, JSON.parse(`{"__proto__": 1}`), { x: 1 }]) {
      assert.throws(() => recordInstanceReport(db, { ...r, ports }), /ports: expected port numbers/);
    }
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [String(9000 + i), 5000 + i]));
    assert.throws(() => recordInstanceReport(db, { ...r, ports: many }), /ports: at most 16 entries, got 17/);
    assert.deepEqual(getInstance(db, id)?.ports, { "9091": 4002 });
  });

  test("an address taken over by another instance is released by the old holder", () => {
    const { db } = fresh();
    deployApp(db, { org: "acme", flyToml: TOML, dir: "/srv" });
    const a = "aaaaaaaaaaaaaa";
    const b = "bbbbbbbbbbbbbb";
    const r = { state: "starting", health: "starting", pid: 1, restarts: 0 } as const;
    recordInstanceReport(db, { ...r, id: a, address: "127.0.0.1:4000" }, identity(a));
    recordInstanceReport(db, { ...r, id: b, address: "127.0.0.1:4001" }, identity(b));
    recordInstanceReport(db, { ...r, id: b, address: "127.0.0.1:4000" });
    assert.equal(getInstance(db, b)?.address, "127.0.0.1:4000");
    assert.equal(addressOf(getInstance(db, a)!), null);
  });

  test("clearing local instances keeps external ones; reports for deleted apps are dropped", () => {
    const { db } = fresh();
    deployApp(db, { org: "acme", flyToml: TOML, dir: "/srv" });
    const ext = registerInstance(db, { app: "web", kind: "external", region: "ams", address: "10.0.0.1:80" });
    const id = "cccccccccccccc";
    recordInstanceReport(
      db,
      { id, state: "starting", health: "starting", pid: 1, restarts: 0, address: "127.0.0.1:5000" },
      identity(id),
    );
    assert.equal(clearLocalInstances(db), 1);
    assert.deepEqual(
      listInstancesWithRuntime(db).map((i) => [i.id, i.runtime]),
      [[ext.id, null]],
    );
    deleteApp(db, "web");
    assert.equal(
      recordInstanceReport(
        db,
        { id, state: "starting", health: "starting", pid: 1, restarts: 0, address: "127.0.0.1:5000" },
        identity(id),
      ),
      false,
    );
  });
});
