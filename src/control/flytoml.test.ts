import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { type FlyConfig, metricsFor, parseFlyToml, processGroups, validateFlyToml } from "./flytoml.ts";
import { parseGoDuration } from "./flytoml-reader.ts";

/** Parses `text`, failing the test with the errors when it is invalid. */
function ok(text: string): FlyConfig {
  const r = validateFlyToml(text);
  assert.ok(r.ok, r.ok ? "" : r.errors.join("\n"));
  return r.config;
}

/** The errors of invalid `text`. */
function errors(text: string): readonly string[] {
  const r = validateFlyToml(text);
  assert.ok(!r.ok, "expected errors");
  return r.errors;
}

const EMPTY: FlyConfig = {
  app: null,
  primaryRegion: null,
  killSignal: null,
  killTimeoutMs: null,
  regions: [],
  env: {},
  processes: {},
  build: null,
  httpService: null,
  services: [],
  metrics: [],
  vms: [],
  ignoredKeys: [],
};

describe("fly.toml: metrics", () => {
  const cases: { name: string; text: string; metrics: FlyConfig["metrics"] }[] = [
    {
      name: "the seed's example",
      text: '[metrics]\nport = 8080\npath = "/metrics"\n',
      metrics: [{ port: 8080, path: "/metrics", processes: [] }],
    },
    {
      name: "path defaults to /metrics",
      text: "[metrics]\nport = 9091\n",
      metrics: [{ port: 9091, path: "/metrics", processes: [] }],
    },
    {
      name: "an inline table",
      text: 'metrics = { port = 9091, path = "/m" }\n',
      metrics: [{ port: 9091, path: "/m", processes: [] }],
    },
    {
      name: "[[metrics]] entries per process group",
      text:
        '[processes]\nweb = "bin/web"\nworker = "bin/worker"\n\n' +
        '[[metrics]]\nport = 9091\npath = "/metrics"\nprocesses = ["web"]\n\n' +
        '[[metrics]]\nport = 9092\npath = "/stats/prom"\nprocesses = ["worker"]\n\n' +
        "[[metrics]]\nport = 9100\n",
      metrics: [
        { port: 9091, path: "/metrics", processes: ["web"] },
        { port: 9092, path: "/stats/prom", processes: ["worker"] },
        { port: 9100, path: "/metrics", processes: [] },
      ],
    },
    { name: "no metrics", text: 'app = "quiet"\n', metrics: [] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(ok(c.text).metrics, c.metrics));

  test("metricsFor picks the endpoints of one process group", () => {
    const config = ok(cases[3].text);
    assert.deepEqual(processGroups(config), ["web", "worker"]);
    assert.deepEqual(
      metricsFor(config, "web").map((m) => m.port),
      [9091, 9100],
    );
    assert.deepEqual(
      metricsFor(config, "worker").map((m) => m.port),
      [9092, 9100],
    );
    assert.deepEqual(processGroups(ok("")), ["app"]);
  });
});

describe("fly.toml: several [[metrics]] blocks", () => {
  const text = `app = "multi"

[processes]
  web = "bin/web"
  worker = "bin/worker"

# The web processes' own endpoint.
[[metrics]]
  port = 9091
  path = "/metrics"
  processes = [
    "web",
  ]

[[metrics]]
  port = 99999
  path = "stats"
  processes = ["web", "queue"]

[[metrics]]
  port = 9100
`;

  test("bad port, relative path and unknown group are reported at their lines", () => {
    assert.deepEqual(errors(text), [
      "fly.toml:16: metrics[1].port: expected an integer 1-65535, got 99999",
      'fly.toml:17: metrics[1].path: expected a path starting with "/", got "stats"',
      'fly.toml:18: metrics[1].processes[1]: unknown process group "queue" (groups: web, worker)',
    ]);
  });

  test("each block keeps its own port, path and processes", () => {
    const fixed = text.replace("99999", "9092").replace('"stats"', '"/stats"').replace(', "queue"', "");
    assert.deepEqual(ok(fixed).metrics, [
      { port: 9091, path: "/metrics", processes: ["web"] },
      { port: 9092, path: "/stats", processes: ["web"] },
      { port: 9100, path: "/metrics", processes: [] },
    ]);
  });

  test("a block may set its own sample and body limits, within the platform's", () => {
    const limited = ok(
      '[[metrics]]\nport = 1\nsample_limit = 500\nbody_size_limit = "1MiB"\n' +
        "[[metrics]]\nport = 2\nbody_size_limit = 65536\n" +
        '[[metrics]]\nport = 3\nbody_size_limit = "16MB"\n',
    );
    assert.deepEqual(limited.metrics, [
      { port: 1, path: "/metrics", processes: [], sampleLimit: 500, bodyLimitBytes: 1024 * 1024 },
      { port: 2, path: "/metrics", processes: [], bodyLimitBytes: 65536 },
      { port: 3, path: "/metrics", processes: [], bodyLimitBytes: 16 * 1024 * 1024 },
    ]);
    assert.deepEqual(errors("[metrics]\nport = 1\nsample_limit = 0\n" + 'body_size_limit = "32MiB"\n'), [
      "fly.toml:3: metrics.sample_limit: expected an integer 1-100000, got 0",
      'fly.toml:4: metrics.body_size_limit: expected a size from 1 byte to 16777216 bytes, like 1048576 or "1MiB", got "32MiB"',
    ]);
    assert.deepEqual(errors('[metrics]\nport = 1\nbody_size_limit = "lots"\nsample_limit = 100001\n'), [
      'fly.toml:3: metrics.body_size_limit: expected a size from 1 byte to 16777216 bytes, like 1048576 or "1MiB", got "lots"',
      "fly.toml:4: metrics.sample_limit: expected an integer 1-100000, got 100001",
    ]);
  });

  test("two blocks scraping the same port and path for the same group are refused", () => {
    const twice =
      '[processes]\nweb = "w"\nworker = "k"\n[[metrics]]\nport = 9091\n[[metrics]]\nport = 9091\nprocesses = ["worker"]\n';
    assert.deepEqual(errors(twice), [
      "fly.toml:6: metrics[1]: scrapes port 9091 path /metrics as metrics[0] does, for the same processes",
    ]);
    // Other groups, or another path on the same port, are distinct endpoints.
    ok(
      '[processes]\nweb = "w"\nworker = "k"\n[[metrics]]\nport = 9091\nprocesses = ["web"]\n[[metrics]]\nport = 9091\nprocesses = ["worker"]\n',
    );
    ok('[[metrics]]\nport = 9091\n[[metrics]]\nport = 9091\npath = "/other"\n');
  });
});

describe("fly.toml: bad values name the key and the problem", () => {
  const cases: [string, string, string[]][] = [
    ["string port", '[metrics]\nport = "abc"\n', ['fly.toml:2: metrics.port: expected an integer 1-65535, got "abc"']],
    ["port zero", "[metrics]\nport = 0\n", ["fly.toml:2: metrics.port: expected an integer 1-65535, got 0"]],
    ["port too big", "[metrics]\nport = 70000\n", ["fly.toml:2: metrics.port: expected an integer 1-65535, got 70000"]],
    [
      "fractional port",
      "[metrics]\nport = 80.5\n",
      ["fly.toml:2: metrics.port: expected an integer 1-65535, got 80.5"],
    ],
    ["missing port", '[metrics]\npath = "/m"\n', ["fly.toml:1: metrics.port: missing (an integer 1-65535)"]],
    [
      "unknown kill signal",
      'kill_signal = "SIGHUP"\n',
      [
        'fly.toml:1: kill_signal: expected one of "SIGINT", "SIGTERM", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGKILL", "SIGSTOP", got "SIGHUP"',
      ],
    ],
    ["kill timeout too long", "kill_timeout = 301\n", ["fly.toml:1: kill_timeout: expected an integer 0-300, got 301"]],
    [
      "kill timeout string too long",
      'kill_timeout = "6m"\n',
      ['fly.toml:1: kill_timeout: expected a duration like "10s" or "1m30s" (at most 300s), got "6m"'],
    ],
    [
      "relative path",
      '[metrics]\nport = 1\npath = "metrics"\n',
      ['fly.toml:3: metrics.path: expected a path starting with "/", got "metrics"'],
    ],
    [
      "array entry",
      "[[metrics]]\nport = 1\n[[metrics]]\nport = true\n",
      ["fly.toml:4: metrics[1].port: expected an integer 1-65535, got true"],
    ],
    [
      "unknown process group",
      '[[metrics]]\nport = 1\nprocesses = ["worker"]\n',
      ['fly.toml:3: metrics[0].processes[0]: unknown process group "worker" (groups: app)'],
    ],
    [
      "metrics as a string",
      'metrics = "yes"\n',
      ['fly.toml:1: metrics: expected an array of tables ([[metrics]]), got "yes"'],
    ],
    [
      "bad app name",
      'app = "My App"\n',
      ['fly.toml:1: app: expected an app name (2-63 lower-case letters, digits and "-"), got "My App"'],
    ],
    [
      "bad primary region",
      'primary_region = "Chicago"\n',
      ['fly.toml:1: primary_region: expected a region code (three lower-case letters), got "Chicago"'],
    ],
    ["env table value", "[env]\nA = { b = 1 }\n", ["fly.toml:2: env.A: expected a string, got a table"]],
    [
      "http_service port and concurrency",
      '[http_service]\nforce_https = "yes"\n[http_service.concurrency]\ntype = "bytes"\nsoft_limit = 50\nhard_limit = 10\n',
      [
        "fly.toml:1: http_service.internal_port: missing (an integer 1-65535)",
        'fly.toml:2: http_service.force_https: expected true or false, got "yes"',
        'fly.toml:4: http_service.concurrency.type: expected one of "connections", "requests", got "bytes"',
        "fly.toml:5: http_service.concurrency.soft_limit: must not exceed hard_limit (10), got 50",
      ],
    ],
    [
      "check durations",
      '[http_service]\ninternal_port = 8080\n[[http_service.checks]]\ninterval = "soon"\npath = "health"\n',
      [
        'fly.toml:4: http_service.checks[0].interval: expected a duration like "10s" or "1m30s" (at most 3600s), got "soon"',
        'fly.toml:5: http_service.checks[0].path: expected a path starting with "/", got "health"',
      ],
    ],
    [
      "services ports",
      '[[services]]\ninternal_port = 8080\nprotocol = "sctp"\n[[services.ports]]\nhandlers = ["http"]\n',
      [
        'fly.toml:3: services[0].protocol: expected one of "tcp", "udp", got "sctp"',
        "fly.toml:4: services[0].ports[0]: missing port (or start_port and end_port)",
      ],
    ],
    [
      "services as a table",
      "[[services.ports]]\nport = 1\n",
      ["fly.toml:1: services: expected an array of tables ([[services]]), got a table"],
    ],
    [
      "vm memory",
      '[[vm]]\nmemory = "lots"\n',
      ['fly.toml:2: vm[0].memory: expected megabytes or a size like "512mb" or "1gb", got "lots"'],
    ],
    [
      "process name",
      '[processes]\nWeb = "x"\n',
      ['fly.toml:2: processes.Web: invalid process group name: use lower-case letters, digits, "-" and "_"'],
    ],
  ];
  for (const [name, text, expected] of cases) test(name, () => assert.deepEqual(errors(text), expected));

  test("syntax errors carry the position; curly quotes from the seed's page get a hint", () => {
    assert.deepEqual(errors("[metrics]\nport = 8080\npath = \u201c/metrics\u201d\n"), [
      `fly.toml:3:8: invalid TOML: invalid value (curly quotes are not TOML quotes: use " or ')`,
    ]);
    assert.deepEqual(errors("a = 1\na = 2\n"), [
      "fly.toml:2:1: invalid TOML: trying to redefine an already defined table or value",
    ]);
  });

  test("more than 64 KiB is refused before parsing, counting UTF-8 bytes", () => {
    assert.deepEqual(ok(`# ${"\u00e9".repeat(32767)}`), EMPTY, "exactly 65536 bytes is allowed");
    assert.deepEqual(errors(`# ${"\u00e9".repeat(32768)}`), ["fly.toml: at most 65536 bytes, got 65538"]);
  });

  test("parseFlyToml throws bad_data listing every error", () => {
    assert.throws(
      () => parseFlyToml('[metrics]\nport = "abc"\npath = "x"\n'),
      (err: unknown) =>
        isContrailError(err, "bad_data") &&
        err.message ===
          'fly.toml:2: metrics.port: expected an integer 1-65535, got "abc"\n' +
            'fly.toml:3: metrics.path: expected a path starting with "/", got "x"',
    );
  });
});

describe("fly.toml: stopping", () => {
  test("kill_timeout is seconds as an integer, or a duration; kill_signal is matched case-insensitively", () => {
    const read = (text: string) => {
      const r = validateFlyToml(text);
      assert.ok(r.ok);
      return [r.config.killSignal, r.config.killTimeoutMs];
    };
    assert.deepEqual(read('kill_signal = "sigint"\nkill_timeout = 30\n'), ["SIGINT", 30_000]);
    assert.deepEqual(read('kill_timeout = "1m30s"\n'), [null, 90_000]);
    assert.deepEqual(read(""), [null, null]);
  });
});

describe("fly.toml: a full file", () => {
  const text = `# fly.toml app configuration file
app = "shop"
primary_region = "ord"
kill_signal = "SIGINT"
kill_timeout = "5s"
swap_size_mb = 512
regions = ["ord", "ams"]

[build]
dockerfile = "Dockerfile"
command = "node server.js"
[build.args]
NODE_VERSION = "20"

[env]
PORT = 8080
LOG_LEVEL = "info"
DEBUG = false

[processes]
app = "node server.js"
worker = "node worker.js"

[experimental]
auto_rollback = true

[[mounts]]
source = "data"
destination = "/data"

[http_service]
internal_port = 8080
force_https = true
auto_stop_machines = "stop"
min_machines_running = 1
processes = ["app"]
[http_service.concurrency]
type = "requests"
soft_limit = 200
hard_limit = 250
[[http_service.checks]]
grace_period = "10s"
interval = "30s"
method = "get"
timeout = 5000
path = "/health"
headers = { X-Probe = "fly" }

[[services]]
internal_port = 5432
protocol = "tcp"
processes = ["worker"]
script_checks = []
[[services.ports]]
port = 5432
handlers = ["pg_tls"]
[[services.ports]]
start_port = 10000
end_port = 10100
[services.concurrency]
hard_limit = 100

[[vm]]
memory = "1gb"
cpu_kind = "shared"
cpus = 1
processes = ["app"]
[[vm]]
size = "performance-2x"
memory_mb = 4096
processes = ["worker"]

[metrics]
port = 9091
path = "/metrics"
processes = ["app", "worker"]
`;

  test("every modelled section is read; the rest is listed as ignored", () => {
    assert.deepEqual(ok(text), {
      ...EMPTY,
      app: "shop",
      primaryRegion: "ord",
      killSignal: "SIGINT",
      killTimeoutMs: 5_000,
      regions: ["ord", "ams"],
      env: { PORT: "8080", LOG_LEVEL: "info", DEBUG: "false" },
      processes: { app: "node server.js", worker: "node worker.js" },
      build: {
        image: null,
        dockerfile: "Dockerfile",
        builder: null,
        buildpacks: [],
        args: { NODE_VERSION: "20" },
        command: "node server.js",
      },
      httpService: {
        internalPort: 8080,
        forceHttps: true,
        processes: ["app"],
        concurrency: { type: "requests", softLimit: 200, hardLimit: 250 },
        checks: [
          {
            intervalMs: 30_000,
            timeoutMs: 5_000,
            gracePeriodMs: 10_000,
            method: "GET",
            path: "/health",
            protocol: "http",
            tlsSkipVerify: false,
            headers: { "X-Probe": "fly" },
          },
        ],
      },
      services: [
        {
          internalPort: 5432,
          protocol: "tcp",
          processes: ["worker"],
          ports: [
            { port: 5432, startPort: null, endPort: null, handlers: ["pg_tls"], forceHttps: false },
            { port: null, startPort: 10000, endPort: 10100, handlers: [], forceHttps: false },
          ],
          concurrency: { type: "connections", softLimit: 20, hardLimit: 100 },
        },
      ],
      vms: [
        { size: null, memoryMb: 1024, cpus: 1, cpuKind: "shared", processes: ["app"] },
        { size: "performance-2x", memoryMb: 4096, cpus: null, cpuKind: null, processes: ["worker"] },
      ],
      metrics: [{ port: 9091, path: "/metrics", processes: ["app", "worker"] }],
      ignoredKeys: [
        "experimental",
        "http_service.auto_stop_machines",
        "http_service.min_machines_running",
        "mounts",
        "services[0].script_checks",
        "swap_size_mb",
      ],
    });
  });

  test("the config survives a JSON round trip (it is stored as JSON)", () => {
    const config = ok(text);
    assert.deepEqual(JSON.parse(JSON.stringify(config)), config);
  });

  test("an empty file and old-style `processes = []` are fine", () => {
    assert.deepEqual(ok(""), EMPTY);
    assert.deepEqual(ok('app = ""\nprocesses = []\n'), EMPTY);
  });

  test("defaults of http_service", () => {
    const s = ok("[http_service]\ninternal_port = 3000\n[[http_service.checks]]\n").httpService;
    assert.deepEqual(s, {
      internalPort: 3000,
      forceHttps: false,
      processes: [],
      concurrency: { type: "connections", softLimit: 20, hardLimit: 25 },
      checks: [
        {
          intervalMs: 15_000,
          timeoutMs: 2_000,
          gracePeriodMs: 1_000,
          method: "GET",
          path: "/",
          protocol: "http",
          tlsSkipVerify: false,
          headers: {},
        },
      ],
    });
  });
});

describe("Go-style durations", () => {
  const cases: [string, number | undefined][] = [
    ["10s", 10_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["1.5s", 1_500],
    ["2h", 7_200_000],
    ["", undefined],
    ["10", undefined],
    ["s", undefined],
    ["10s5", undefined],
    ["1d", undefined],
  ];
  for (const [text, ms] of cases) test(JSON.stringify(text), () => assert.equal(parseGoDuration(text), ms));
});
