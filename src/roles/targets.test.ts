import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createApp, openControlDb, recordInstanceReport, registerInstance } from "../control/index.ts";
import { controlTargetSource } from "./targets.ts";

const dir = mkdtempSync(join(tmpdir(), "contrail-targets-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("targets: started instances of apps with [metrics], at their address, stand-in or metrics port", async () => {
  const db = openControlDb({ dataDir: dir });
  try {
    const source = controlTargetSource(db);
    assert.deepEqual(await source.targets(), []);
    createApp(db, {
      name: "web",
      org: "personal",
      flyToml:
        "[http_service]\ninternal_port = 8080\n[[metrics]]\nport = 8080\n" +
        '[[metrics]]\nport = 9091\npath = "/m"\nsample_limit = 500\n',
    });
    createApp(db, { name: "quiet", org: "personal", flyToml: "[http_service]\ninternal_port = 8080\n" });
    const ext = registerInstance(db, { app: "web", kind: "external", region: "fra", address: "10.0.0.9:80" });
    registerInstance(db, { app: "quiet", kind: "external", region: "fra", address: "10.0.0.9:80" });
    registerInstance(db, { app: "web", kind: "external", region: "ams", address: "10.0.0.8:80", state: "failed" });
    const local = "0123456789abcd";
    recordInstanceReport(
      db,
      { id: local, state: "started", health: "healthy", pid: 1, restarts: 0, address: "127.0.0.1:4100" },
      { id: local, app: "web", region: "ord", host: "ab12", processGroup: "app" },
    );
    const standIn = "11111111111111";
    recordInstanceReport(
      db,
      {
        id: standIn,
        state: "started",
        health: "healthy",
        pid: 2,
        restarts: 0,
        address: "127.0.0.1:4200",
        ports: { "9091": 4201 },
      },
      { id: standIn, app: "web", region: "syd", host: "ab12", processGroup: "app" },
    );
    const targets = (await source.targets()).map((t) => [t.id, t.org, t.app, t.region, t.instance, t.url, t.limits]);
    targets.sort((a, b) => String(a[3]).localeCompare(String(b[3])) || String(a[5]).localeCompare(String(b[5])));
    const limits = { sampleLimit: 500 };
    assert.deepEqual(targets, [
      [`${ext.id}:8080/metrics`, "personal", "web", "fra", ext.id, "http://10.0.0.9:80/metrics", undefined],
      [`${ext.id}:9091/m`, "personal", "web", "fra", ext.id, "http://10.0.0.9:9091/m", limits],
      [`${local}:8080/metrics`, "personal", "web", "ord", local, "http://127.0.0.1:4100/metrics", undefined],
      [`${local}:9091/m`, "personal", "web", "ord", local, "http://127.0.0.1:9091/m", limits],
      [`${standIn}:8080/metrics`, "personal", "web", "syd", standIn, "http://127.0.0.1:4200/metrics", undefined],
      [`${standIn}:9091/m`, "personal", "web", "syd", standIn, "http://127.0.0.1:4201/m", limits],
    ]);
  } finally {
    db.close();
  }
});
