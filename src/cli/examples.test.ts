// The example apps of examples/ as a user runs them: `contrail up` on free ports with a 1 s scrape interval and two
// edge regions, each example deployed with `contrail deploy --wait` as its own app (one instance per region, the Go
// app built from Debian's packages by its own `[build] command`), requests sent through the edges, and the app's
// own metric found with the platform's labels. Then `contrail up --demo --examples` deploys the Go and Flask apps
// and sends them traffic. Outside CI a test skips with one line when what its example needs is missing (Go, Debian's
// Flask and Prometheus client, the Node app's npm dependencies); under CI=true that fails instead.

import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseFlyToml } from "../control/index.ts";
import { isContrailError } from "../model/errors.ts";
import {
  contrail,
  contrailOk,
  edgeGet,
  query,
  startUp,
  type UpProcess,
  type VectorElement,
  waitFor,
} from "../roles/testkit.ts";
import { skipUnlessCi } from "../testkit/shared-data.ts";
import { checkExamples, EXAMPLES, exampleNamed, missingFlask, missingGo, parseExamples } from "./examples.ts";

const NODE = exampleNamed("node-express");
const GO = exampleNamed("go-http");
const FLASK = exampleNamed("python-flask");
const NODE_SKIP = skipUnlessCi(NODE.missing()?.replaceAll("\n", " "));
const GO_SKIP = skipUnlessCi(GO.missing());
const FLASK_SKIP = skipUnlessCi(FLASK.missing());
const BOTH_SKIP = GO_SKIP || FLASK_SKIP;
const ALL_SKIP = NODE_SKIP && GO_SKIP && FLASK_SKIP;

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), "contrail-examples-"));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** The platform labels every series of an app's instances carries. */
function assertPlatformLabels(series: readonly VectorElement[], app: string): void {
  for (const s of series) {
    assert.equal(s.metric.app, app);
    assert.match(s.metric.region ?? "", /^(ord|ams)$/, JSON.stringify(s.metric));
    assert.match(s.metric.host ?? "", /^[0-9a-f]{4}$/, JSON.stringify(s.metric));
    assert.match(s.metric.instance ?? "", /^[0-9a-f]{14}$/, JSON.stringify(s.metric));
  }
}

/** The single value of a one-element vector (NaN when the vector is empty). */
function only(v: readonly VectorElement[]): number {
  return v.length === 1 ? Number(v[0].value[1]) : Number.NaN;
}

describe("the example catalog", () => {
  test("each example's fly.toml is valid; the Go app's metrics are on a private port, Flask's on its own", () => {
    const configs = new Map(
      EXAMPLES.map((e) => [e.name, parseFlyToml(readFileSync(join(e.dir, "fly.toml"), "utf8"))] as const),
    );
    assert.deepEqual([...configs.keys()], ["node-express", "go-http", "python-flask"]);
    const go = configs.get("go-http")!;
    assert.equal(go.app, "go-http-demo");
    assert.equal(go.httpService?.internalPort, 8080);
    assert.deepEqual(go.metrics, [{ port: 9091, path: "/metrics", processes: [] }]);
    assert.deepEqual([go.env.GOPATH, go.env.GO111MODULE], ["/usr/share/gocode", "off"]);
    assert.equal(go.killSignal, "SIGINT", "go run cleans its build directory up on SIGINT only");
    const flask = configs.get("python-flask")!;
    assert.equal(flask.app, "python-flask-demo");
    assert.deepEqual(flask.metrics, [{ port: 8080, path: "/metrics", processes: [] }]);
    assert.equal(flask.build?.command, "/usr/bin/python3 server.py");
  });

  test("--examples takes names or all; an unknown name is refused listing the names", () => {
    assert.deepEqual(
      parseExamples("python-flask, go-http,go-http").map((e) => e.name),
      ["go-http", "python-flask"],
    );
    assert.equal(parseExamples("all").length, 3);
    assert.throws(
      () => parseExamples("go-http,rust"),
      (e) => isContrailError(e, "bad_data") && /"rust".*node-express, go-http, python-flask \(or all\)/.test(e.message),
    );
    assert.throws(() => parseExamples(" , "), /expected example names or all/);
  });

  test("a missing toolchain is named with the command that installs it", () => {
    const dir = join(root, "fake");
    mkdirSync(dir);
    writeFileSync(
      join(dir, "fly.toml"),
      '[build]\ncommand = "/nonexistent/python3 server.py"\n[env]\nGOPATH = "/nonexistent/gocode"\n',
    );
    assert.match(
      missingFlask(dir) ?? "",
      /Flask and the Prometheus client for \/nonexistent\/python3; .*python3-flask/,
    );
    assert.match(missingGo(dir) ?? "", /apt-get install golang-go golang-github-prometheus-client-golang-dev$/);
    assert.throws(
      () => checkExamples([{ name: "x", dir, missing: () => missingFlask(dir) }]),
      (e) =>
        isContrailError(e, "unavailable") &&
        /python3-prometheus-client\nthen run contrail up --demo again$/.test(e.message),
    );
  });

  test("--examples needs --demo, and names known examples", async () => {
    const data = join(root, "flags");
    const alone = await contrail(["up", "--data", data, "--examples", "all"]);
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /--examples needs --demo/);
    const unknown = await contrail(["up", "--data", data, "--demo", "--examples", "cobol"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown example "cobol"/);
  });
});

describe("the examples deployed with contrail deploy", { skip: ALL_SKIP }, () => {
  let up: UpProcess;
  let data: string;
  let token: string;
  const instant = (q: string) => query(up.apiUrl, "personal", token, q);
  /** Sends `n` GETs of `path` to `app`, alternating between the two edges; each must answer 200. */
  const send = async (app: string, path: string, n: number) => {
    const ports = [...up.edges.values()];
    for (let i = 0; i < n; i++) {
      const r = await edgeGet(ports[i % ports.length], app, path);
      assert.equal(r.status, 200, `${app} ${path}: ${r.body}`);
    }
  };
  const deploy = (flyToml: string) => contrailOk(["deploy", "-c", flyToml, "--data", data, "--wait"]);

  before(async () => {
    data = join(root, "data");
    up = await startUp(data, ["--edge", "ord=127.0.0.1:0", "--edge", "ams=127.0.0.1:0", "--scrape-interval", "1s"]);
    token = (await contrailOk(["tokens", "create", "--data", data])).trim();
  });
  after(async () => {
    if (up !== undefined && up.proc.exitCode === null) assert.equal(await up.stop(), 0, up.output());
  });

  test("Node: 3 GET /event/signup through the edges make events_by_type 3 for signup", {
    skip: NODE_SKIP,
  }, async () => {
    const out = await deploy(join(NODE.dir, "fly.toml"));
    assert.match(out, /app node-express-demo v1 is healthy/);
    await send("node-express-demo", "/event/signup", 3);
    const q = 'sum(events_by_type{app="node-express-demo",event_type="signup"})';
    assert.equal(
      only(
        await waitFor(
          () => instant(q),
          (v) => only(v) === 3,
        ),
      ),
      3,
      up.output(),
    );
    assertPlatformLabels(await instant('events_by_type{app="node-express-demo"}'), "node-express-demo");
  });

  test("Go: 7 GET /event through the edges make sum(someEvent_count) 7, scraped from each instance's private port", {
    skip: GO_SKIP,
  }, async () => {
    const out = await deploy(join(GO.dir, "fly.toml"));
    assert.match(out, /app go-http-demo v1 is healthy/);
    await send("go-http-demo", "/event", 7);
    const total = await waitFor(
      () => instant('sum(someEvent_count{app="go-http-demo"})'),
      (v) => only(v) === 7,
    );
    assert.equal(only(total), 7, up.output());
    const series = await instant('someEvent_count{app="go-http-demo"}');
    assertPlatformLabels(series, "go-http-demo");
    assert.deepEqual(
      series.map((s) => [s.metric.label, s.metric.other_label, s.metric.region]).sort(),
      [
        ["something", "none", "ams"],
        ["something", "none", "ord"],
      ],
      "each region's instance counted what its edge sent it",
    );
    assert.deepEqual(
      (await instant('up{app="go-http-demo"}')).map((s) => s.value[1]),
      ["1", "1"],
    );
    // The metrics listener is private: the app's own port, which the edge routes to, does not serve them.
    assert.equal((await edgeGet([...up.edges.values()][0], "go-http-demo", "/metrics")).status, 404);
  });

  test("Flask: 5 GET /event/signup make events_by_type 5 for signup; the exporter's request metrics are there", {
    skip: FLASK_SKIP,
  }, async () => {
    const out = await deploy(join(FLASK.dir, "fly.toml"));
    assert.match(out, /app python-flask-demo v1 is healthy/);
    await send("python-flask-demo", "/event/signup", 5);
    await send("python-flask-demo", "/event/login", 2);
    const error = await edgeGet([...up.edges.values()][0], "python-flask-demo", "/error");
    assert.equal(error.status, 500);
    const signups = 'sum(events_by_type_total{app="python-flask-demo",event_type="signup"})';
    const exceptions = 'sum(flask_http_request_exceptions_total{app="python-flask-demo"})';
    const done = await waitFor(
      () => Promise.all([instant(signups), instant(exceptions)]),
      ([s, e]) => only(s) === 5 && only(e) === 1,
    );
    assert.deepEqual(done.map(only), [5, 1], up.output());
    const series = await instant('events_by_type_total{app="python-flask-demo"}');
    assertPlatformLabels(series, "python-flask-demo");
    const requests = await instant('sum by (status) (flask_http_request_total{app="python-flask-demo",method="GET"})');
    assert.deepEqual(
      Object.fromEntries(requests.map((s) => [s.metric.status, Number(s.value[1])])),
      { "200": 7, "500": 1 },
      "every request counted under the exporter's name and labels, /metrics itself not",
    );
    const buckets = await instant(
      'count(flask_http_request_duration_seconds_bucket{app="python-flask-demo",path="/event/signup"})',
    );
    assert.ok(only(buckets) >= 15, "the default latency buckets for each instance that served the path");
  });

  test("an endpoint's own sample_limit fails its scrapes, and up, scrape_* and the targets API say why", {
    skip: GO_SKIP,
  }, async () => {
    const dir = join(root, "limited");
    mkdirSync(dir);
    copyFileSync(join(GO.dir, "main.go"), join(dir, "main.go"));
    const toml = readFileSync(join(GO.dir, "fly.toml"), "utf8")
      .replace('app = "go-http-demo"', 'app = "go-limited"')
      .replace('path = "/metrics"', 'path = "/metrics"\n  sample_limit = 5');
    writeFileSync(join(dir, "fly.toml"), toml);
    await deploy(join(dir, "fly.toml"));
    const limits = await waitFor(
      () => instant('scrape_sample_limit{app="go-limited"}'),
      (v) => v.length === 2,
    );
    assert.deepEqual(
      limits.map((s) => s.value[1]),
      ["5", "5"],
    );
    assert.deepEqual(
      (await instant('up{app="go-limited"}')).map((s) => s.value[1]),
      ["0", "0"],
    );
    const scraped = await instant('scrape_samples_scraped{app="go-limited"}');
    assert.ok(
      scraped.every((s) => Number(s.value[1]) > 5),
      "the samples the body held",
    );
    const res = await fetch(`${up.apiUrl}/prometheus/personal/api/v1/targets`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const targets = (
      (await res.json()) as { data: { activeTargets: { scrapePool: string; health: string; lastError: string }[] } }
    ).data.activeTargets.filter((t) => t.scrapePool === "go-limited");
    assert.equal(targets.length, 2);
    for (const t of targets) {
      assert.equal(t.health, "down");
      assert.match(
        t.lastError,
        /^sample limit exceeded: the scrape exposed \d+ samples, the limit is 5 \(sample_limit of the app's \[metrics\]\)$/,
      );
    }
  });
});

test("contrail up --demo --examples deploys the Go and Flask apps beside each other and sends them traffic", {
  skip: BOTH_SKIP,
  timeout: 120_000,
}, async () => {
  const data = join(root, "demo");
  const up = await startUp(data, [
    "--edge",
    "ord=127.0.0.1:0",
    "--scrape-interval",
    "1s",
    "--demo",
    "--examples",
    "go-http,python-flask",
  ]);
  try {
    const printed = await waitFor(
      async () => up.output(),
      (out) => out.includes("Ctrl-C stops everything.") || up.proc.exitCode !== null,
      90_000,
    );
    for (const app of ["go-http-demo", "python-flask-demo"]) {
      assert.match(
        printed,
        new RegExp(
          `The demo app ${app} runs in every edge region;[^\\n]*\\n  ord  http://${app}\\.localhost:\\d+  https://${app}\\.localhost:\\d+\\n`,
        ),
      );
    }
    assert.doesNotMatch(printed, /node-express-demo/);
    assert.match(printed, /about 20 requests\/s to each app through every edge/);
    const token = /Authorization: Bearer (\S+)/.exec(printed)?.[1] ?? "";
    const traffic = await waitFor(
      () =>
        Promise.all([
          query(up.apiUrl, "personal", token, 'sum(someEvent_count{app="go-http-demo"})'),
          query(up.apiUrl, "personal", token, 'sum(events_by_type_total{app="python-flask-demo"})'),
        ]),
      (v) => v.every((r) => only(r) > 0),
      30_000,
    );
    assert.ok(
      traffic.every((r) => only(r) > 0),
      up.output(),
    );
  } finally {
    assert.equal(await up.stop(), 0, up.output());
  }
});
