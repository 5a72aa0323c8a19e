import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  createApp,
  openControlDb,
  PERSONAL_ORG,
  recordInstanceReport,
  registerInstance,
  removeInstance,
} from "../control/index.ts";
import type { Edge } from "../edge/index.ts";
import { RouteSync } from "./route-sync.ts";
import { PlatformRoutes } from "./routes.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-route-sync-"));
after(() => rmSync(root, { recursive: true, force: true }));

const TOML = 'app = "web"\n\n[http_service]\ninternal_port = 8080\n';

/** An edge stand-in that records what the sync asks of it (only the two calls RouteSync makes). */
function recordingEdge(): { edge: Edge; forgotten: string[] } {
  const forgotten: string[] = [];
  const edge = {
    forgetInstance: (id: string) => forgotten.push(id),
    syncTcpServices: async () => [],
  } as unknown as Edge;
  return { edge, forgotten };
}

test("routes follow the apps and instance rows another process writes, read only when the database changed", () => {
  const dir = join(root, "a");
  const writer = openControlDb({ dataDir: dir });
  const reader = openControlDb({ dataDir: dir });
  const routes = new PlatformRoutes();
  const warnings: string[] = [];
  const sync = new RouteSync({ db: reader, routes, warn: (l) => warnings.push(l) });
  const { edge, forgotten } = recordingEdge();
  sync.attach(edge);
  try {
    assert.equal(sync.load(), false, "nothing yet");
    createApp(writer, { name: "web", org: PERSONAL_ORG, flyToml: TOML });
    const ext = registerInstance(writer, { app: "web", kind: "external", region: "fra", address: "10.0.0.1:80" });
    recordInstanceReport(
      writer,
      { id: "0000000000000a", state: "starting", health: "starting", address: "127.0.0.1:5000", pid: 1, restarts: 0 },
      { id: "0000000000000a", app: "web", region: "ord", host: "047f", processGroup: "app" },
    );
    assert.equal(sync.load(), true);
    assert.equal(routes.get("web")?.org, PERSONAL_ORG);
    assert.deepEqual(
      routes
        .get("web")
        ?.instances.map((i) => [i.id, i.region, i.address, i.healthy])
        .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
      [
        [ext.id, "fra", "10.0.0.1:80", true],
        ["0000000000000a", "ord", "127.0.0.1:5000", false],
      ],
    );
    assert.equal(sync.load(), false, "no other commit: no reread");

    recordInstanceReport(writer, {
      id: "0000000000000a",
      state: "started",
      health: "healthy",
      address: "127.0.0.1:5000",
      pid: 1,
      restarts: 0,
    });
    assert.equal(sync.load(), true);
    assert.equal(routes.instance("0000000000000a")?.healthy, true);

    removeInstance(writer, ext.id);
    assert.equal(sync.load(), true);
    assert.deepEqual(forgotten, [ext.id], "the edge drops the state and series of an instance that left");
    assert.deepEqual(
      routes.get("web")?.instances.map((i) => i.id),
      ["0000000000000a"],
    );

    // An unreadable database keeps the last routes, with one warning per streak.
    reader.close();
    createApp(writer, { name: "other", org: PERSONAL_ORG });
    assert.equal(sync.load(), false);
    assert.equal(sync.load(), false);
    assert.equal(routes.instance("0000000000000a")?.healthy, true);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /keeping the last routes/);
  } finally {
    writer.close();
    reader.close();
  }
});
