import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_CONCURRENCY } from "../edge/index.ts";
import type { AppRouteSettings } from "./app-spec.ts";
import { PlatformRoutes } from "./routes.ts";

const settings = (org: string, tcp = false): AppRouteSettings => ({
  org,
  concurrency: DEFAULT_CONCURRENCY,
  tcpServices: tcp ? [{ internalPort: 5432, ports: [5432], concurrency: DEFAULT_CONCURRENCY }] : [],
});
const inst = (id: string, app: string, healthy = false) => ({
  id,
  app,
  region: "ord",
  host: "ab12",
  address: `127.0.0.1:${id.length}`,
  healthy,
});

test("apps get routes; instances join them and follow their health", () => {
  const r = new PlatformRoutes();
  assert.equal(r.setApps(new Map([["web", settings("acme")]])), false);
  assert.deepEqual(r.get("web"), { ...settings("acme"), instances: [] });
  r.upsert(inst("a", "web"));
  r.upsert(inst("b", "web"));
  r.upsert(inst("c", "ghost"));
  assert.equal(r.get("ghost"), undefined, "instances of unknown apps wait for their app");
  const first = r.get("web");
  r.setHealthy("a", true, "127.0.0.1:9999");
  const after = r.get("web")!;
  assert.notEqual(after, first, "a change builds a new route object");
  assert.deepEqual(
    after.instances.map((i) => [i.id, i.healthy, i.address]),
    [
      ["a", true, "127.0.0.1:9999"],
      ["b", false, "127.0.0.1:1"],
    ],
  );
  r.setHealthy("b", false);
  assert.equal(r.get("web"), after, "no change, same object");
  assert.equal(r.remove("a"), true);
  assert.equal(r.remove("a"), false);
  assert.deepEqual(
    r.get("web")!.instances.map((i) => i.id),
    ["b"],
  );
  r.setApps(new Map([["ghost", settings("acme")]]));
  assert.equal(r.get("web"), undefined);
  assert.deepEqual([...r.keys()], ["ghost"]);
  assert.deepEqual(
    r.get("ghost")!.instances.map((i) => i.id),
    ["c"],
  );
});

test("setApps says when the TCP services changed", () => {
  const r = new PlatformRoutes();
  assert.equal(r.setApps(new Map([["db", settings("acme", true)]])), true);
  assert.equal(r.setApps(new Map([["db", settings("acme", true)]])), false);
  assert.equal(
    r.setApps(
      new Map([
        ["db", settings("acme", true)],
        ["web", settings("acme")],
      ]),
    ),
    false,
  );
  assert.equal(r.setApps(new Map([["web", settings("acme")]])), true);
});
