import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ScrapeLoop } from "./loop.ts";
import { resolveScrapeOptions } from "./options.ts";
import { closedPort, MemoryTenants, seriesSamples, storedSamples } from "./testkit.ts";

const EXAMPLE = fileURLToPath(new URL("../../examples/node-express/", import.meta.url));
const MISSING = ["express", "prom-client", "express-prometheus-middleware"].every((m) =>
  existsSync(`${EXAMPLE}node_modules/${m}`),
)
  ? false
  : "examples/node-express/node_modules is missing: run `npm install` in examples/node-express";

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      })
      .on("error", reject);
  });
}

async function waitForListening(port: number): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await get(port, "/")) === 200) return;
    } catch (err) {
      if (Date.now() > end) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the node-express example app, scraped", { skip: MISSING }, () => {
  let child: ChildProcess;
  let port: number;

  before(async () => {
    port = await closedPort();
    child = spawn(process.execPath, [`${EXAMPLE}server.js`], {
      env: { ...process.env, PORT: String(port) },
      stdio: ["ignore", "ignore", "inherit"],
    });
    await waitForListening(port);
  });
  after(() => {
    child.kill("SIGTERM");
  });

  test("its series carry the platform labels and events_by_type counts the requests", async () => {
    const sent: Record<string, number> = { signup: 3, login: 2, checkout: 1 };
    for (const [type, n] of Object.entries(sent)) {
      for (let i = 0; i < n; i++) assert.equal(await get(port, `/event/${type}`), 200);
    }
    const platform = { app: "node-express-demo", region: "ord", host: "ab12", instance: "0123456789abcd" };
    const store = new MemoryTenants();
    const loop = new ScrapeLoop({
      target: { id: "example", org: "acme", url: `http://127.0.0.1:${port}/metrics`, ...platform },
      store,
      options: resolveScrapeOptions(),
    });
    const o = await loop.scrapeOnce(1_000_000);
    assert.equal(o.error, null);
    assert.ok(o.total > 20, `prom-client's default metrics are there too (${o.total} samples)`);
    const s = store.of("acme");
    for (const [type, n] of Object.entries(sent)) {
      assert.deepEqual(seriesSamples(s, "events_by_type", { event_type: type }), [{ t: 1_000_000, v: n }], type);
    }
    for (const sample of storedSamples(s)) {
      for (const [k, v] of Object.entries(platform)) assert.equal(sample.labels[k], v, `${sample.labels.__name__}`);
    }
    assert.deepEqual(seriesSamples(s, "up"), [{ t: 1_000_000, v: 1 }]);
    // express-prometheus-middleware labels requests by path (ids masked) and status class.
    for (const [type, n] of Object.entries(sent)) {
      const requests = seriesSamples(s, "http_requests_total", { route: `/event/${type}`, status: "2XX" });
      assert.deepEqual(requests, [{ t: 1_000_000, v: n }], type);
    }
    const md = new Map<string, string>();
    loop.forEachMetadata((name, m) => md.set(name, m.type));
    assert.equal(md.get("events_by_type"), "counter");
    assert.equal(md.get("http_request_duration_seconds"), "histogram");
  });
});
