import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type ErrorCode, isContrailError } from "../model/errors.ts";
import { createApp, deleteApp } from "./apps.ts";
import type { ControlDb } from "./connection.ts";
import { openControlDb } from "./db.ts";
import {
  findInstanceByAddress,
  getInstance,
  hostIdOf,
  listInstances,
  registerInstance,
  removeInstance,
  setInstanceState,
} from "./instances.ts";
import { createOrg } from "./orgs.ts";
import { localUser } from "./users.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-control-instances-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

function fresh(): { db: ControlDb; tick: (ms: number) => void } {
  let t = 50_000;
  const db = openControlDb({ dataDir: join(root, `d${dirs++}`), now: () => t });
  createOrg(db, { slug: "acme", admin: localUser(db)!.id });
  createApp(db, { name: "web", org: "acme" });
  createApp(db, { name: "jobs", org: "personal", flyToml: `[processes]\nweb = "node web.js"\nworker = "node w.js"\n` });
  return { db, tick: (ms) => (t += ms) };
}

function rejects(fn: () => unknown, code: ErrorCode, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isContrailError(err), `expected a ContrailError, got ${err}`);
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}

describe("instances", () => {
  test("an external instance is registered by address and starts as started", () => {
    const { db } = fresh();
    const i = registerInstance(db, { app: "web", kind: "external", region: "ord", address: "10.0.0.5:8080" });
    assert.match(i.id, /^[0-9a-f]{14}$/);
    assert.deepEqual(
      { ...i, id: "" },
      {
        id: "",
        app: "web",
        kind: "external",
        region: "ord",
        host: createHash("sha256").update("10.0.0.5").digest("hex").slice(0, 4),
        address: "10.0.0.5:8080",
        processGroup: "app",
        state: "started",
        ports: {},
        registeredAt: 50_000,
        startedAt: 50_000,
        updatedAt: 50_000,
      },
    );
    assert.deepEqual(getInstance(db, i.id), i);
    assert.deepEqual(findInstanceByAddress(db, { app: "web", address: "10.0.0.5:8080" }), i);
    db.close();
  });

  test("a local instance moves through its states; startedAt marks the last start", () => {
    const { db, tick } = fresh();
    const i = registerInstance(db, {
      app: "jobs",
      kind: "local",
      region: "ams",
      host: "00ff",
      address: "127.0.0.1:40001",
      processGroup: "worker",
      id: "0123456789abcd",
    });
    assert.deepEqual([i.id, i.state, i.startedAt, i.host], ["0123456789abcd", "created", null, "00ff"]);
    tick(10);
    assert.equal(setInstanceState(db, i.id, "starting").startedAt, null);
    tick(10);
    const started = setInstanceState(db, i.id, "started");
    assert.deepEqual([started.state, started.startedAt, started.updatedAt], ["started", 50_020, 50_020]);
    tick(10);
    assert.equal(setInstanceState(db, i.id, "started").startedAt, 50_020, "re-entering started keeps the time");
    setInstanceState(db, i.id, "stopped");
    tick(10);
    assert.equal(setInstanceState(db, i.id, "started").startedAt, 50_040);
    db.close();
  });

  test("listInstances filters by app, org and state", () => {
    const { db } = fresh();
    const a = registerInstance(db, { app: "web", kind: "external", region: "ord", address: "a.example:80" });
    const b = registerInstance(db, { app: "web", kind: "local", region: "ord", address: "127.0.0.1:1" });
    const c = registerInstance(db, {
      app: "jobs",
      kind: "local",
      region: "ord",
      address: "127.0.0.1:2",
      processGroup: "web",
    });
    const ids = (xs: { id: string }[]) => xs.map((x) => x.id).sort();
    assert.deepEqual(ids(listInstances(db)), [a.id, b.id, c.id].sort());
    assert.deepEqual(ids(listInstances(db, { app: "web" })), [a.id, b.id].sort());
    assert.deepEqual(ids(listInstances(db, { org: "personal" })), [c.id]);
    assert.deepEqual(ids(listInstances(db, { org: "acme", state: "started" })), [a.id]);
    assert.deepEqual(listInstances(db, { app: "web", org: "personal" }), []);
    db.close();
  });

  test("instances go with their app", () => {
    const { db } = fresh();
    const i = registerInstance(db, { app: "web", kind: "external", region: "ord", address: "[::1]:9000" });
    deleteApp(db, "web");
    assert.equal(getInstance(db, i.id), undefined);
    db.close();
  });

  test("constraints and input checks", () => {
    const { db } = fresh();
    const first = registerInstance(db, { app: "web", kind: "external", region: "ord", address: "h.example:443" });
    const base = { app: "web", kind: "external", region: "ord", address: "x.example:1" } as const;
    const cases: [() => unknown, ErrorCode, string][] = [
      [
        () => registerInstance(db, { ...base, address: "h.example:443" }),
        "conflict",
        `h.example:443 is already instance ${first.id} of app "web"`,
      ],
      [
        () => registerInstance(db, { ...base, id: first.id, address: "other.example:443" }),
        "conflict",
        `instance ${first.id} already exists`,
      ],
      [() => registerInstance(db, { ...base, app: "nope" }), "not_found", 'no app "nope"'],
      [
        () => registerInstance(db, { ...base, region: "ORD" }),
        "bad_data",
        'region: "ORD" is invalid: expected three lower-case letters, like ord',
      ],
      [
        () => registerInstance(db, { ...base, host: "xyz1" }),
        "bad_data",
        'host: "xyz1" is invalid: expected four lower-case hex digits',
      ],
      [
        () => registerInstance(db, { ...base, address: "nohost" }),
        "bad_data",
        'address: "nohost" is invalid: expected host:port',
      ],
      [
        () => registerInstance(db, { ...base, address: "h:70000" }),
        "bad_data",
        'address: "h:70000" is invalid: port must be an integer 1-65535',
      ],
      [
        () => registerInstance(db, { ...base, address: "::1:80" }),
        "bad_data",
        'address: "::1:80" is invalid: write IPv6 addresses as [addr]:port',
      ],
      [
        () => registerInstance(db, { ...base, address: `${"a".repeat(262)}:1` }),
        "bad_data",
        "address: at most 261 characters, got 264",
      ],
      [
        () => registerInstance(db, { ...base, id: "XYZ" }),
        "bad_data",
        'instance id: expected 14 lower-case hex digits, got "XYZ"',
      ],
      [
        () => registerInstance(db, { ...base, processGroup: "worker" }),
        "bad_data",
        'process group: app "web" has no group "worker" (groups: app)',
      ],
      [
        () => registerInstance(db, { ...base, app: "jobs" }),
        "bad_data",
        'process group: app "jobs" has no group "app" (groups: web, worker)',
      ],
      [
        () => registerInstance(db, { ...base, state: "running" as "started" }),
        "bad_data",
        'state: expected one of created, starting, started, stopping, stopped, failed, got "running"',
      ],
      [() => setInstanceState(db, "00000000000000", "stopped"), "not_found", "no instance 00000000000000"],
      [() => removeInstance(db, "00000000000000"), "not_found", "no instance 00000000000000"],
    ];
    for (const [fn, code, message] of cases) rejects(fn, code, message);
    removeInstance(db, first.id);
    assert.equal(getInstance(db, first.id), undefined);
    db.close();
  });

  test("hostIdOf is stable per host and ignores the port", () => {
    assert.equal(hostIdOf("10.1.2.3:80"), hostIdOf("10.1.2.3:9091"));
    assert.notEqual(hostIdOf("10.1.2.3:80"), hostIdOf("10.1.2.4:80"));
    assert.equal(hostIdOf("[fe80::1]:80"), createHash("sha256").update("fe80::1").digest("hex").slice(0, 4));
  });
});
