import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseFlyToml } from "../control/index.ts";
import { DEFAULT_CONCURRENCY } from "../edge/index.ts";
import { appSpecOf, externalChecksOf, metricsSpecOf, routeSettingsOf } from "./app-spec.ts";

const SIMPLE = `
app = "web"
primary_region = "ord"
kill_signal = "SIGINT"
kill_timeout = 10
[env]
MODE = "demo"
[build]
command = "node server.js --port 1"
[http_service]
internal_port = 8080
[http_service.concurrency]
type = "requests"
soft_limit = 5
hard_limit = 10
[[http_service.checks]]
interval = "5s"
timeout = "1s"
grace_period = "2s"
path = "/healthz"
[metrics]
port = 9091
`;

const GROUPS = `
app = "jobs"
regions = ["fra", "fra", "sin"]
[processes]
web = "node web.js"
worker = "node worker.js"
[http_service]
internal_port = 3000
processes = ["web"]
[[services]]
internal_port = 5432
processes = ["worker"]
[[services.ports]]
port = 5432
[[services.ports]]
start_port = 7000
end_port = 7002
[metrics]
port = 3000
processes = ["web"]
`;

describe("app specs", () => {
  test("a single-command app runs one instance per edge region with its checks and env", () => {
    const { spec, skipped } = appSpecOf({
      app: "web",
      dir: "/srv/web",
      config: parseFlyToml(SIMPLE),
      defaultRegions: ["ord", "ams"],
    });
    assert.deepEqual(skipped, []);
    assert.deepEqual(spec, {
      app: "web",
      dir: "/srv/web",
      env: { MODE: "demo" },
      primaryRegion: "ord",
      killSignal: "SIGINT",
      killTimeoutMs: 10_000,
      groups: [
        {
          name: "app",
          command: "node server.js --port 1",
          internalPort: 8080,
          privatePorts: [9091],
          checks: [
            {
              kind: "http",
              intervalMs: 5000,
              timeoutMs: 1000,
              gracePeriodMs: 2000,
              method: "GET",
              path: "/healthz",
              protocol: "http",
              tlsSkipVerify: false,
              headers: {},
            },
          ],
          regions: ["ord", "ams"],
          instancesPerRegion: 1,
        },
      ],
    });
  });

  test("each group gets a private port for each of its metrics endpoints off its service port", () => {
    const config = parseFlyToml(
      GROUPS.slice(0, GROUPS.indexOf("[metrics]")) +
        '[[metrics]]\nport = 3000\nprocesses = ["web"]\n' +
        '[[metrics]]\nport = 9091\n[[metrics]]\nport = 9091\npath = "/more"\n[[metrics]]\nport = 9100\nprocesses = ["worker"]\n',
    );
    const { spec } = appSpecOf({ app: "jobs", dir: "/j", config, defaultRegions: ["ord"] });
    assert.deepEqual(
      spec.groups.map((g) => [g.name, g.privatePorts]),
      [
        ["web", [9091]],
        ["worker", [9091, 9100]],
      ],
    );
  });

  test("process groups: fly.toml regions win, each group gets its own service port", () => {
    const { spec } = appSpecOf({ app: "jobs", dir: "/j", config: parseFlyToml(GROUPS), defaultRegions: ["ord"] });
    assert.deepEqual(
      spec.groups.map((g) => [g.name, g.command, g.internalPort, g.regions, g.checks.length]),
      [
        ["web", "node web.js", 3000, ["fra", "fra", "sin"], 0],
        ["worker", "node worker.js", 5432, ["fra", "fra", "sin"], 0],
      ],
    );
  });

  test("an app without a command has nothing to run locally", () => {
    const config = parseFlyToml('app = "ext"\n[http_service]\ninternal_port = 80\n');
    const { spec, skipped } = appSpecOf({ app: "ext", dir: "/e", config, defaultRegions: ["ord"] });
    assert.deepEqual(spec.groups, []);
    assert.deepEqual(skipped, ["app"]);
    assert.deepEqual(externalChecksOf(config, "app"), []);
    assert.deepEqual(externalChecksOf(null, "app"), []);
    assert.equal(externalChecksOf(parseFlyToml(SIMPLE), "app")[0]?.kind, "http");
  });
});

describe("route settings and metrics specs", () => {
  test("HTTP limits and TCP services with their public ports", () => {
    assert.deepEqual(routeSettingsOf("acme", parseFlyToml(SIMPLE)), {
      org: "acme",
      concurrency: { type: "requests", softLimit: 5, hardLimit: 10 },
      tcpServices: [],
    });
    assert.deepEqual(routeSettingsOf("acme", parseFlyToml(GROUPS)).tcpServices, [
      { internalPort: 5432, ports: [5432, 7000, 7001, 7002], concurrency: DEFAULT_CONCURRENCY },
    ]);
    assert.deepEqual(routeSettingsOf("acme", null), { org: "acme", concurrency: DEFAULT_CONCURRENCY, tcpServices: [] });
  });

  test("the scraper learns each group's internal port", () => {
    assert.deepEqual(metricsSpecOf("jobs", "acme", parseFlyToml(GROUPS)), {
      name: "jobs",
      org: "acme",
      metrics: [{ port: 3000, path: "/metrics", processes: ["web"] }],
      internalPorts: { web: 3000, worker: 5432 },
    });
  });
});
