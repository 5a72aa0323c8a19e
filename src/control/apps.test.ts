import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type ErrorCode, isContrailError } from "../model/errors.ts";
import { createApp, deleteApp, getApp, listApps, requireApp, setAppConfig } from "./apps.ts";
import type { ControlDb } from "./connection.ts";
import { openControlDb } from "./db.ts";
import { createOrg } from "./orgs.ts";
import { localUser } from "./users.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-control-apps-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

function fresh(): { db: ControlDb; tick: (ms: number) => void } {
  let t = 10_000;
  const db = openControlDb({ dataDir: join(root, `d${dirs++}`), now: () => t });
  createOrg(db, { slug: "acme", admin: localUser(db)!.id });
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

const TOML = `app = "web"\nprimary_region = "ord"\n\n[metrics]\nport = 9091\n`;

describe("apps", () => {
  test("create without and with fly.toml, read back, list by org", () => {
    const { db } = fresh();
    const bare = createApp(db, { name: "api", org: "personal" });
    assert.deepEqual(bare, {
      name: "api",
      orgId: "personal",
      flyToml: null,
      config: null,
      createdAt: 10_000,
      updatedAt: 10_000,
    });
    const web = createApp(db, { name: "web", org: "acme", flyToml: TOML });
    assert.equal(web.flyToml, TOML);
    assert.equal(web.config?.primaryRegion, "ord");
    assert.deepEqual(web.config?.metrics, [{ port: 9091, path: "/metrics", processes: [] }]);
    assert.deepEqual(getApp(db, "web"), web);
    assert.deepEqual(
      listApps(db).map((a) => a.name),
      ["api", "web"],
    );
    assert.deepEqual(
      listApps(db, { org: "acme" }).map((a) => a.name),
      ["web"],
    );
    db.close();
  });

  test("the stored config is JSON beside the verbatim text", () => {
    const { db } = fresh();
    const text = `swap_size_mb = 512\n${TOML}`;
    createApp(db, { name: "web", org: "acme", flyToml: text });
    const row = db.sql.prepare("SELECT fly_toml, config FROM apps WHERE name = 'web'").get() as {
      fly_toml: string;
      config: string;
    };
    assert.equal(row.fly_toml, text);
    assert.deepEqual(JSON.parse(row.config).ignoredKeys, ["swap_size_mb"]);
    db.close();
  });

  test("setAppConfig replaces the config and bumps updatedAt; a bad file leaves the old one", () => {
    const { db, tick } = fresh();
    createApp(db, { name: "web", org: "acme", flyToml: TOML });
    tick(500);
    const next = setAppConfig(db, "web", `[[metrics]]\nport = 1234\npath = "/m"\n`);
    assert.equal(next.updatedAt, 10_500);
    assert.equal(next.createdAt, 10_000);
    assert.deepEqual(next.config?.metrics, [{ port: 1234, path: "/m", processes: [] }]);
    rejects(
      () => setAppConfig(db, "web", `[metrics]\nport = "abc"\n`),
      "bad_data",
      'fly.toml:2: metrics.port: expected an integer 1-65535, got "abc"',
    );
    assert.equal(requireApp(db, "web").config?.metrics[0].port, 1234);
    db.close();
  });

  test("constraints", () => {
    const { db } = fresh();
    createApp(db, { name: "web", org: "acme" });
    const cases: [() => unknown, ErrorCode, string][] = [
      [() => createApp(db, { name: "web", org: "personal" }), "conflict", 'app "web" already exists'],
      [() => createApp(db, { name: "new", org: "ghost" }), "not_found", 'no org "ghost"'],
      [
        () => createApp(db, { name: "x", org: "acme" }),
        "bad_data",
        'app name: "x" is invalid: use 2 to 63 lower-case letters, digits and "-", starting with a letter or digit',
      ],
      [
        () => createApp(db, { name: "Web", org: "acme" }),
        "bad_data",
        'app name: "Web" is invalid: use 2 to 63 lower-case letters, digits and "-", starting with a letter or digit',
      ],
      [
        () => createApp(db, { name: "a".repeat(64), org: "acme" }),
        "bad_data",
        "app name: at most 63 characters, got 64",
      ],
      [
        () => createApp(db, { name: "other", org: "acme", flyToml: TOML }),
        "bad_data",
        'fly.toml: app: the file is for app "web", not "other"',
      ],
      [
        () => createApp(db, { name: "big", org: "acme", flyToml: `# ${"x".repeat(65536)}` }),
        "bad_data",
        "fly.toml: at most 65536 bytes, got 65538",
      ],
      [() => setAppConfig(db, "nope", ""), "not_found", 'no app "nope"'],
      [() => deleteApp(db, "nope"), "not_found", 'no app "nope"'],
    ];
    for (const [fn, code, message] of cases) rejects(fn, code, message);
    assert.equal(createApp(db, { name: "a".repeat(63), org: "acme" }).name.length, 63);
    db.close();
  });

  test("deleteApp removes the app", () => {
    const { db } = fresh();
    createApp(db, { name: "web", org: "acme" });
    deleteApp(db, "web");
    assert.equal(getApp(db, "web"), undefined);
    db.close();
  });
});
