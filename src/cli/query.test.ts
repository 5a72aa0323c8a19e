// `contrail query` as a separate process against a real API server: tables, plain scalars and strings, sparklines
// for ranges, errors with exit code 1, and the temporary token it makes (and deletes) when given none.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  load,
  MemoryTenants,
  startTestServer,
  type TestControl,
  type TestSample,
  type TestServer,
  testControl,
} from "../api/test-support.ts";
import { listTokens } from "../control/index.ts";
import { apiBase, parseCliDuration } from "./query.ts";

const BIN = new URL("../../bin/contrail.js", import.meta.url).pathname;
/** End of the data and of the range queries, unix seconds (a whole minute). */
const END_S = 1_736_164_800;

let control: TestControl;
let server: TestServer;
let token: string;

before(async () => {
  control = testControl();
  token = control.org("acme");
  const store = new MemoryTenants();
  const samples: TestSample[] = [];
  for (let s = END_S - 1800; s <= END_S; s += 15) {
    const k = (s - (END_S - 1800)) / 15;
    samples.push({ labels: { __name__: "fly_app_concurrency", app: "web", region: "ord" }, t: s * 1000, v: k % 8 });
    samples.push({ labels: { __name__: "fly_app_concurrency", app: "web", region: "ams" }, t: s * 1000, v: 2 });
    samples.push({ labels: { __name__: "fly_edge_data_in", app: "web", region: "ord" }, t: s * 1000, v: k * 1500 });
  }
  load(store, "acme", samples);
  load(store, "personal", [{ labels: { __name__: "up", job: "demo" }, t: END_S * 1000, v: 1 }]);
  server = await startTestServer(control, store);
});

after(async () => {
  await server.close();
  control.cleanup();
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `contrail query …` without blocking the event loop (the server runs in this process). */
function query(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const fullEnv = {
      ...process.env,
      CONTRAIL_TOKEN: undefined,
      CONTRAIL_API: undefined,
      CONTRAIL_DATA: undefined,
      ...env,
    };
    execFile(
      process.execPath,
      [BIN, "query", ...args],
      { timeout: 60_000, env: fullEnv as NodeJS.ProcessEnv },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
      },
    );
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** The usual flags: this server, org acme, its token, evaluation at END_S. */
const at = (): string[] => ["--api", server.url, "--org", "acme", "--token", token, "--time", String(END_S)];

describe("contrail query: answers", () => {
  const cases: [string, string, string][] = [
    [
      "an instant vector as an aligned table",
      "fly_app_concurrency",
      [
        "SERIES                                                    VALUE",
        'fly_app_concurrency{app="web", region="ams"}              2',
        'fly_app_concurrency{app="web", region="ord"}              0',
      ].join("\n"),
    ],
    ["a scalar plainly", "1 + 1", "2"],
    ["a string plainly", '"hello"', "hello"],
    ["an empty vector", "nothing_here", "(no series)"],
    [
      "aggregated series without a name",
      "sum by (region) (fly_app_concurrency)",
      ["SERIES          VALUE", '{region="ams"}  2', '{region="ord"}  0'].join("\n"),
    ],
  ];
  for (const [name, expr, expected] of cases) {
    test(name, async () => {
      const r = await query([expr, ...at()]);
      assert.equal(r.code, 0, r.stderr);
      // The table's first column is as wide as its widest cell.
      const lines = r.stdout.trimEnd().split("\n");
      const want = expected.split("\n");
      assert.equal(lines.length, want.length, r.stdout);
      for (let i = 0; i < lines.length; i++) assert.equal(lines[i].replace(/ +/g, " "), want[i].replace(/ +/g, " "));
      if (lines.length > 1) {
        const col = lines[0].indexOf("VALUE");
        for (const l of lines.slice(1)) assert.equal(l.length > col && l[col - 1] === " " && l[col] !== " ", true, l);
      }
      assert.equal(r.stderr, "");
    });
  }

  test("--range: one sparkline per series with min, max and last", async () => {
    const r = await query(["fly_app_concurrency", ...at(), "--range", "15m", "--step", "1m"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^SERIES\s+TREND\s+MIN\s+MAX\s+LAST$/);
    // ams is flat at 2; ord counts 0..7 every 15 s, so each minute (4 scrapes) lands on 0 or 4.
    const ams = lines[1].split(/ {2,}/);
    assert.deepEqual(ams, ['fly_app_concurrency{app="web", region="ams"}', "▁".repeat(16), "2", "2", "2"]);
    const ord = lines[2].split(/ {2,}/);
    assert.equal(ord[0], 'fly_app_concurrency{app="web", region="ord"}');
    assert.match(ord[1], /^[▁█]{16}$/);
    assert.ok(ord[1].includes("▁") && ord[1].includes("█"));
    assert.deepEqual(ord.slice(2), ["0", "4", "0"]);
  });

  test("--range without --step: 15 s steps, averaged down to 60 columns", async () => {
    const r = await query(["rate(fly_edge_data_in[1m])", ...at(), "--range", "25m"]);
    assert.equal(r.code, 0, r.stderr);
    const [, row] = r.stdout.trimEnd().split("\n");
    const cells = row.split(/ {2,}/);
    assert.equal(cells[0], '{app="web", region="ord"}');
    assert.equal([...cells[1]].length, 60);
    assert.deepEqual(cells.slice(2), ["100", "100", "100"]);
  });

  test("CONTRAIL_TOKEN and CONTRAIL_API stand in for --token and --api", async () => {
    const r = await query(["1 + 1", "--org", "acme"], { CONTRAIL_TOKEN: token, CONTRAIL_API: server.url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "2\n");
  });
});

describe("contrail query: without a token", () => {
  test("makes a temporary read token in the control database of --data, and deletes it after use", async () => {
    const before = listTokens(control.db, { org: "personal" }).map((t) => t.id);
    // The server checks tokens against this control database, so a good answer means the token was made and valid.
    const r = await query(["up", "--api", server.url, "--data", control.dir, "--time", String(END_S)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^SERIES\s+VALUE\nup\{job="demo"\}\s+1\n$/);
    const after = listTokens(control.db, { org: "personal" }).map((t) => t.id);
    assert.deepEqual(after, before, "no token row left behind");
  });

  test("without a control database it says how to give one", async () => {
    const r = await query(["up", "--api", server.url, "--data", `${control.dir}/missing`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: no token given and no control database in .*: pass --token/);
  });
});

describe("contrail query: errors exit 1 with their message", () => {
  const cases: [string, string[], RegExp][] = [
    ["a PromQL parse error", ["sum("], /^error: bad_data: .*parse error.*unclosed left parenthesis/],
    ["--step without --range", ["up", "--step", "1m"], /^error: --step needs --range\n$/],
    ["a bad duration", ["up", "--range", "15q"], /^error: --range: .*unit/],
    ["a bad time", ["up", "--time", "yesterday"], /^error: --time: expected RFC 3339 or unix seconds/],
  ];
  for (const [name, args, re] of cases) {
    test(name, async () => {
      const r = await query([...args, "--token", token, "--api", server.url, "--org", "acme"]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, "");
    });
  }

  test("an unknown token", async () => {
    const r = await query(["up", "--api", server.url, "--token", "ct_nope"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: unauthorized: a valid token is required/);
  });

  test("an API that is not there", async () => {
    const port = await closedPort();
    const r = await query(["up", "--api", `127.0.0.1:${port}`, "--token", token]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `error: cannot reach the API at http://127.0.0.1:${port}: ECONNREFUSED\n`);
  });

  test("a server that is not the API", async () => {
    const other = http.createServer((_req, res) => {
      res.statusCode = 502;
      res.end("<html>Bad Gateway</html>");
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    try {
      const r = await query(["up", "--api", `127.0.0.1:${(other.address() as AddressInfo).port}`, "--token", token]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "error: HTTP 502: <html>Bad Gateway</html>\n");
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});

test("parseCliDuration and apiBase", () => {
  assert.equal(parseCliDuration("--range", "15m"), 900_000);
  assert.equal(parseCliDuration("--step", "1m30s"), 90_000);
  assert.equal(parseCliDuration("--step", "0.5"), 500);
  assert.throws(() => parseCliDuration("--step", "0s"), /--step: expected a positive duration/);
  assert.equal(apiBase("127.0.0.1:9300"), "http://127.0.0.1:9300");
  assert.equal(apiBase("https://metrics.example/"), "https://metrics.example");
  assert.equal(apiBase("http://h:1/base/"), "http://h:1/base");
});
