import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { endpointUrl, targetsFromApps } from "./app-targets.ts";
import { formatDuration, resolveScrapeOptions } from "./options.ts";
import { inShard, nextScrapeTime, parseShard, sameTarget, scrapeOffset, targetHash } from "./target.ts";

function targetAt(i: number) {
  return {
    id: `${i.toString(16).padStart(14, "0")}:9091/metrics`,
    url: `http://10.0.${i >> 8}.${i & 255}:9091/metrics`,
  };
}

describe("target hashing, offsets and shards", () => {
  test("the offset of a target is stable and within the interval", () => {
    const t = targetAt(7);
    const a = scrapeOffset(targetHash(t), 15_000);
    const b = scrapeOffset(targetHash({ ...t }), 15_000);
    assert.equal(a, b);
    assert.ok(a >= 0 && a < 15_000);
    // A pinned value: hashes must not change between releases, or every scraper would reshuffle.
    assert.equal(targetHash({ id: "x", url: "http://a/metrics" }), targetHash({ id: "x", url: "http://a/metrics" }));
    assert.notEqual(targetHash({ id: "x", url: "http://a/metrics" }), targetHash({ id: "y", url: "http://a/metrics" }));
  });

  test("offsets spread targets over the interval rather than bunching them", () => {
    const interval = 15_000;
    const buckets = new Array(15).fill(0);
    const n = 3000;
    for (let i = 0; i < n; i++) buckets[Math.floor(scrapeOffset(targetHash(targetAt(i)), interval) / 1000)]++;
    // Each one-second slot gets about n/15 = 200 targets; allow a generous band.
    for (const [slot, count] of buckets.entries()) assert.ok(count > 130 && count < 270, `slot ${slot}: ${count}`);
  });

  test("shards partition the targets: each in exactly one, roughly evenly", () => {
    const count = 4;
    const per = new Array(count).fill(0);
    for (let i = 0; i < 2000; i++) {
      const h = targetHash(targetAt(i));
      const owners = [0, 1, 2, 3].filter((index) => inShard(h, { index, count }));
      assert.equal(owners.length, 1);
      per[owners[0]]++;
      assert.ok(inShard(h, undefined));
    }
    for (const n of per) assert.ok(n > 400 && n < 600, `shard sizes ${per}`);
  });

  test("parseShard", () => {
    assert.deepEqual(parseShard("0/1"), { index: 0, count: 1 });
    assert.deepEqual(parseShard(" 2/3 "), { index: 2, count: 3 });
    for (const bad of ["3/3", "1/0", "a/b", "1", "-1/2", "1/2/3"]) {
      assert.throws(() => parseShard(bad), /invalid shard/, bad);
    }
  });

  test("nextScrapeTime lands on the offset, strictly after the given time", () => {
    const cases: [number, number, number, number][] = [
      // after, interval, offset, expected
      [0, 15_000, 1_000, 1_000],
      [1_000, 15_000, 1_000, 16_000],
      [999, 15_000, 1_000, 1_000],
      [16_001, 15_000, 1_000, 31_000],
      [1_700_000_000_123, 15_000, 7_321, 1_700_000_002_321],
    ];
    for (const [after, interval, offset, want] of cases) {
      const got = nextScrapeTime(after, interval, offset);
      assert.equal(got, want, `${after}`);
      assert.equal((got - offset) % interval, 0);
    }
  });
});

describe("options", () => {
  test("defaults, overrides and checks", () => {
    const d = resolveScrapeOptions();
    assert.equal(d.intervalMs, 15_000);
    assert.equal(d.timeoutMs, 10_000);
    assert.equal(d.bodyLimitBytes, 16 * 1024 * 1024);
    const o = resolveScrapeOptions({ intervalMs: 5000, timeoutMs: 9000, labelLimits: { maxLabels: 3 } });
    assert.equal(o.timeoutMs, 5000, "the timeout is capped at the interval");
    assert.equal(o.labelLimits.maxLabels, 3);
    assert.equal(o.labelLimits.maxLabelValueLength, d.labelLimits.maxLabelValueLength);
    assert.throws(() => resolveScrapeOptions({ intervalMs: 0 }), /must be > 0/);
    assert.throws(() => resolveScrapeOptions({ sampleLimit: -1 }), /sampleLimit/);
  });

  test("formatDuration prints like Prometheus", () => {
    const cases: [number, string][] = [
      [15_000, "15s"],
      [10_000, "10s"],
      [90_000, "1m30s"],
      [500, "500ms"],
      [3_600_000, "1h"],
      [0, "0s"],
    ];
    for (const [ms, want] of cases) assert.equal(formatDuration(ms), want);
  });
});

describe("targets from apps and instances", () => {
  const app = {
    name: "node-express-demo",
    org: "acme",
    metrics: [{ port: 3000, path: "/metrics", processes: [] }],
    internalPorts: { app: 3000 },
  };
  const inst = (
    id: string,
    over: Partial<{ address: string; state: string; processGroup: string; ports: Record<string, number> }> = {},
  ) => ({
    id,
    app: "node-express-demo",
    region: "ord",
    host: "ab12",
    address: "127.0.0.1:41234",
    processGroup: "app",
    state: "started",
    ...over,
  });

  test("one target per started instance; the service port maps to the instance's address", () => {
    const got = targetsFromApps(
      [app],
      [
        inst("0123456789abcd"),
        inst("11111111111111", { state: "stopped" }),
        inst("22222222222222", { address: "[::1]:5000" }),
      ],
    );
    assert.deepEqual(got, [
      {
        id: "0123456789abcd:3000/metrics",
        org: "acme",
        app: "node-express-demo",
        region: "ord",
        host: "ab12",
        instance: "0123456789abcd",
        url: "http://127.0.0.1:41234/metrics",
      },
      {
        id: "22222222222222:3000/metrics",
        org: "acme",
        app: "node-express-demo",
        region: "ord",
        host: "ab12",
        instance: "22222222222222",
        url: "http://[::1]:5000/metrics",
      },
    ]);
  });

  test("endpoints on another port, process filters, unknown apps and bad addresses", () => {
    const multi = {
      ...app,
      metrics: [
        { port: 9091, path: "/stats", processes: ["worker"] },
        { port: 3000, path: "/metrics", processes: ["app"] },
      ],
      internalPorts: { app: 3000 },
    };
    const got = targetsFromApps(
      [multi],
      [
        inst("aaaaaaaaaaaaaa", { processGroup: "worker", address: "10.0.0.5:7000" }),
        inst("bbbbbbbbbbbbbb", { address: "not-an-address" }),
        { ...inst("cccccccccccccc"), app: "other" },
      ],
    );
    assert.deepEqual(
      got.map((t) => [t.id, t.url]),
      [["aaaaaaaaaaaaaa:9091/stats", "http://10.0.0.5:9091/stats"]],
    );
    assert.equal(endpointUrl(inst("x"), { port: 3000, path: "/m", processes: [] }, 3000), "http://127.0.0.1:41234/m");
  });

  test("a private metrics port is scraped at the instance's stand-in port; an endpoint's limits ride along", () => {
    const go = {
      ...app,
      metrics: [
        { port: 9091, path: "/metrics", processes: [], sampleLimit: 500 },
        { port: 3000, path: "/app", processes: [], bodyLimitBytes: 4096 },
        { port: 9100, path: "/node", processes: [] },
      ],
    };
    const got = targetsFromApps(
      [go],
      [
        inst("aaaaaaaaaaaaaa", { address: "127.0.0.1:41000", ports: { "9091": 41001 } }),
        inst("bbbbbbbbbbbbbb", { address: "127.0.0.1:42000", ports: { "9091": 42001 } }),
      ],
    );
    assert.deepEqual(
      got.map((t) => [t.url, t.limits]),
      [
        ["http://127.0.0.1:41001/metrics", { sampleLimit: 500 }],
        ["http://127.0.0.1:41000/app", { bodyLimitBytes: 4096 }],
        ["http://127.0.0.1:9100/node", undefined],
        ["http://127.0.0.1:42001/metrics", { sampleLimit: 500 }],
        ["http://127.0.0.1:42000/app", { bodyLimitBytes: 4096 }],
        ["http://127.0.0.1:9100/node", undefined],
      ],
    );
    assert.equal(Object.hasOwn(got[2], "limits"), false);
  });

  test("a change of limits is a change of target", () => {
    const [t] = targetsFromApps([app], [inst("0123456789abcd")]);
    assert.equal(sameTarget(t, { ...t }), true);
    assert.equal(sameTarget(t, { ...t, limits: { sampleLimit: 10 } }), false);
    assert.equal(sameTarget({ ...t, limits: { sampleLimit: 10 } }, { ...t, limits: { sampleLimit: 10 } }), true);
    assert.equal(sameTarget({ ...t, limits: { bodyLimitBytes: 10 } }, { ...t, limits: { bodyLimitBytes: 11 } }), false);
  });
});
