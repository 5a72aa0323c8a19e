// A tenant directory written by Contrail (blocks from head and leveled compaction, WAL, head chunk files) must be a
// Prometheus data directory: `promtool tsdb analyze` and `promtool tsdb dump` read it, and a Prometheus server started
// on a copy answers queries with the samples Contrail holds. Skipped when the binaries are not installed.

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { mulberry32 } from "../testkit/random.ts";
import { Block, listBlockDirs } from "../tsdb/block.ts";
import { numSamples } from "../tsdb/chunkenc/xor.ts";
import { BLOCK_SAMPLES_PER_CHUNK } from "../tsdb/compact.ts";
import { EmbeddedTenantStore, tenantDir } from "./tenants.ts";

function installed(bin: string): boolean {
  const r = spawnSync(bin, ["--version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

const HAVE_PROMTOOL = installed("promtool");
const HAVE_PROMETHEUS = installed("prometheus");
const SKIP_PROMTOOL = HAVE_PROMTOOL ? false : "promtool is not installed (CI installs it)";
const SKIP_PROMETHEUS = HAVE_PROMETHEUS ? false : "prometheus is not installed (CI installs it)";

const HOUR = 3_600_000;
const STEP = 15_000;
const T0 = 1_699_999_200_000; // 2 h aligned
const T_END = T0 + 13 * HOUR;
const ORG = "interop-org";

/** The data: 20 counters (one with a reset) and 10 gauges, sampled every 15 s over 13 h. */
function generate(): Map<string, { labels: Labels; samples: [number, number][] }> {
  const r = mulberry32(42);
  const out = new Map<string, { labels: Labels; samples: [number, number][] }>();
  const add = (labels: Labels, values: (t: number, i: number) => number) => {
    const samples: [number, number][] = [];
    let i = 0;
    for (let t = T0; t < T_END; t += STEP) samples.push([t, values(t, i++)]);
    out.set(labels.toString(), { labels, samples });
  };
  for (let k = 0; k < 20; k++) {
    let c = Math.floor(r() * 1000);
    add(
      Labels.fromStrings("__name__", "http_requests_total", "instance", `i-${k % 10}`, "code", k < 10 ? "200" : "500"),
      (_t, i) => {
        if (k === 3 && i === 1500) c = 0; // a counter reset
        c += Math.floor(r() * 20);
        return c;
      },
    );
  }
  for (let k = 0; k < 10; k++) {
    add(Labels.fromStrings("__name__", "temperature", "room", `r-${k}`), () => Math.round((r() * 50 - 10) * 1e6) / 1e6);
  }
  return out;
}

const DATA = generate();

/** Go's %g for a float64 (what promtool dump prints). */
function goG(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  const [mant, e] = v.toExponential().split("e");
  const exp = Number(e);
  if (exp < -4 || exp >= 21) return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return String(v);
}

describe("tenant directories interoperate with Prometheus 2.x tools", () => {
  let data: string;
  let dir: string;
  const copies: string[] = [];
  const copy = (): string => {
    const c = mkdtempSync(join(tmpdir(), "contrail-interop-copy-"));
    copies.push(c);
    cpSync(dir, c, { recursive: true });
    return c;
  };

  before(async () => {
    data = mkdtempSync(join(tmpdir(), "contrail-interop-"));
    const store = new EmbeddedTenantStore({ dataDir: data, idleCloseMs: 0, db: { autoCompact: false } });
    // Two hours per commit, as a scraper would have committed them over time.
    for (let from = T0; from < T_END; from += 2 * HOUR) {
      const app = store.appender(ORG);
      for (const { labels, samples } of DATA.values()) {
        for (const [t, v] of samples) if (t >= from && t < from + 2 * HOUR) app.append(labels, t, v);
      }
      app.commit();
    }
    const report = await store.withDb(ORG, (db) => db.compact());
    assert.equal(report.headBlocks.length, 5);
    assert.equal(report.mergedBlocks.length, 1);
    store.close();
    dir = tenantDir(data, ORG);
  });

  after(() => {
    for (const c of copies) rmSync(c, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test("our own querier returns exactly the appended samples", () => {
    const store = new EmbeddedTenantStore({ dataDir: data, idleCloseMs: 0, db: { autoCompact: false } });
    const q = store.querier(ORG, T0, T_END);
    let n = 0;
    for (const s of q.select([newMatcher("=~", "__name__", ".+")], { start: T0, end: T_END })) {
      const want = DATA.get(s.labels.toString());
      assert.ok(want !== undefined);
      const got: [number, number][] = [];
      const it = s.iterator();
      while (it.next() !== "none") got.push([it.atT(), it.atV()]);
      assert.deepEqual(got, want.samples);
      n++;
    }
    q.close();
    store.close();
    assert.equal(n, DATA.size);
  });

  test("the blocks hold chunks longer than the head's (the tools below must read them)", () => {
    let longest = 0;
    for (const d of listBlockDirs(dir)) {
      const b = Block.open(d);
      for (const ref of Array.from(b.index().allPostings())) {
        for (const meta of b.index().series(ref)?.chunks ?? []) {
          longest = Math.max(longest, numSamples(b.chunks().chunk(meta).data));
        }
      }
      b.close();
    }
    assert.equal(longest, BLOCK_SAMPLES_PER_CHUNK);
  });

  test("promtool tsdb analyze reads the newest block and counts its series", { skip: SKIP_PROMTOOL }, () => {
    const r = spawnSync("promtool", ["tsdb", "analyze", copy()], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const m = /^(?:Total )?Series: (\d+)$/m.exec(r.stdout);
    assert.ok(m !== null, r.stdout);
    assert.equal(Number(m[1]), DATA.size);
    assert.match(r.stdout, /^Label names: 4$/m);
    assert.match(r.stdout, /^Highest cardinality metric names:\n20 http_requests_total\n10 temperature$/m);
  });

  test("promtool tsdb dump prints exactly our samples", { skip: SKIP_PROMTOOL }, () => {
    const r = spawnSync("promtool", ["tsdb", "dump", copy()], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    assert.equal(r.status, 0, r.stderr);
    const got = r.stdout.split("\n").filter((l) => l !== "");
    const want: string[] = [];
    for (const { labels, samples } of DATA.values()) {
      for (const [t, v] of samples) want.push(`${labels.toString()} ${goG(v)} ${t}`);
    }
    assert.equal(got.length, want.length);
    assert.deepEqual(got.sort(), want.sort());
  });

  describe("a Prometheus server on a copy of the tenant directory", { skip: SKIP_PROMETHEUS }, () => {
    let child: ChildProcess | null = null;
    let base = "";

    before(async () => {
      const path = copy();
      const port = await freePort();
      const cfgDir = mkdtempSync(join(tmpdir(), "contrail-interop-cfg-"));
      copies.push(cfgDir);
      const config = join(cfgDir, "prometheus.yml");
      writeFileSync(config, "global:\n  evaluation_interval: 1h\nscrape_configs: []\n");
      child = spawn(
        "prometheus",
        [
          `--storage.tsdb.path=${path}`,
          `--config.file=${config}`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--storage.tsdb.retention.time=100y",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let log = "";
      child.stderr?.on("data", (b: Buffer) => {
        log = (log + b.toString()).slice(-8000);
      });
      base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`prometheus exited early:\n${log}`);
        try {
          const res = await fetch(`${base}/-/ready`);
          if (res.status === 200) break;
        } catch {
          // Not listening yet.
        }
        if (Date.now() > deadline) throw new Error(`prometheus not ready within 60 s:\n${log}`);
        await sleep(200);
      }
    });

    after(async () => {
      const c = child;
      if (c === null || c.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
      c.kill("SIGTERM");
      const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    });

    async function api(path: string, params: Record<string, string>): Promise<PromResult> {
      const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
      const body = (await res.json()) as { status: string; data: PromResult; error?: string };
      assert.equal(body.status, "success", body.error);
      return body.data;
    }

    test("range selectors return our raw samples", async () => {
      // Evaluation times off the 15 s grid, so inclusive and exclusive range ends select the same samples.
      const cases: [string, number, number][] = [
        ['http_requests_total{instance="i-3"}', T0 + 5 * HOUR + 7_000, HOUR],
        ['temperature{room=~"r-[0-4]"}', T0 + 2 * HOUR + 3_000, 30 * 60_000],
        ['http_requests_total{code="500",instance="i-7"}', T_END - 1_000, 4 * HOUR],
        ["temperature", T0 + 30 * 60_000 + 1_000, 10 * 60_000],
      ];
      for (const [sel, at, range] of cases) {
        const d = await api("/api/v1/query", { query: `${sel}[${range / 1000}s]`, time: String(at / 1000) });
        assert.equal(d.resultType, "matrix");
        const ms = selectorMatchers(sel);
        const want = [...DATA.values()].filter((s) => ms.every(([n, re]) => re.test(s.labels.get(n))));
        assert.ok(want.length > 0);
        assert.equal(d.result.length, want.length, sel);
        for (const series of d.result) {
          const labels = Labels.fromRecord(series.metric);
          const mine = DATA.get(labels.toString());
          assert.ok(mine !== undefined, labels.toString());
          const expect = mine.samples.filter(([t]) => t > at - range && t <= at);
          assert.deepEqual(
            (series.values ?? []).map(([t, v]) => [Math.round(t * 1000), Number(v)]),
            expect,
            `${sel} ${labels.toString()}`,
          );
        }
      }
    });

    test("sum and rate agree with our samples within 1e-9", async () => {
      const start = T0 + HOUR + 7_000;
      const end = T_END - 53_000;
      const step = 600_000;
      const rateRange = 5 * 60_000;
      const rates = await api("/api/v1/query_range", {
        query: "sum by (code) (rate(http_requests_total[5m]))",
        start: String(start / 1000),
        end: String(end / 1000),
        step: String(step / 1000),
      });
      assert.equal(rates.resultType, "matrix");
      assert.equal(rates.result.length, 2);
      for (const series of rates.result) {
        const code = series.metric.code;
        const counters = [...DATA.values()].filter(
          (s) => s.labels.metricName() === "http_requests_total" && s.labels.get("code") === code,
        );
        const points = series.values ?? [];
        assert.equal(points.length, Math.floor((end - start) / step) + 1);
        for (const [ts, v] of points) {
          const t = Math.round(ts * 1000);
          let want = 0;
          for (const c of counters) want += promRate(c.samples, t, rateRange);
          assertClose(Number(v), want, `rate ${code} at ${t}`);
        }
      }
      for (const at of [T0 + 45 * 60_000 + 2_000, T0 + 9 * HOUR + 11_000, T_END - 4_000]) {
        const d = await api("/api/v1/query", { query: "sum(temperature)", time: String(at / 1000) });
        assert.equal(d.resultType, "vector");
        let want = 0;
        for (const s of DATA.values()) {
          if (s.labels.metricName() !== "temperature") continue;
          const last = s.samples.filter(([t]) => t <= at && t > at - 5 * 60_000).pop();
          if (last !== undefined) want += last[1];
        }
        assertClose(Number(d.result[0].value?.[1]), want, `sum at ${at}`);
      }
      const count = await api("/api/v1/query", { query: "count({__name__=~'.+'})", time: String((T_END - 1) / 1000) });
      assert.equal(Number(count.result[0].value?.[1]), DATA.size);
    });
  });
});

interface PromSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

interface PromResult {
  resultType: string;
  result: PromSeries[];
}

/** The label matchers of a simple selector in the tests above, as (name, anchored regex) pairs. */
function selectorMatchers(sel: string): [string, RegExp][] {
  const out: [string, RegExp][] = [];
  const brace = sel.indexOf("{");
  const name = brace < 0 ? sel : sel.slice(0, brace);
  out.push(["__name__", new RegExp(`^${name}$`)]);
  if (brace >= 0) {
    for (const m of sel.slice(brace + 1, -1).matchAll(/(\w+)(=~|=)"([^"]*)"/g)) {
      out.push([m[1], new RegExp(`^(?:${m[2] === "=" ? m[3].replace(/[.*+?^${}()|[\]\\]/g, "\\$&") : m[3]})$`)]);
    }
  }
  return out;
}

/** Prometheus's extrapolated `rate` of one counter over (t - range, t]; 0 contribution when under two samples. */
function promRate(samples: readonly [number, number][], t: number, range: number): number {
  const pts = samples.filter(([ts]) => ts > t - range && ts <= t);
  if (pts.length < 2) return 0;
  let delta = pts[pts.length - 1][1] - pts[0][1];
  for (let i = 1; i < pts.length; i++) if (pts[i][1] < pts[i - 1][1]) delta += pts[i - 1][1];
  const rangeStart = t - range;
  let toStart = (pts[0][0] - rangeStart) / 1000;
  const toEnd = (t - pts[pts.length - 1][0]) / 1000;
  const sampled = (pts[pts.length - 1][0] - pts[0][0]) / 1000;
  const avg = sampled / (pts.length - 1);
  if (delta > 0 && pts[0][1] >= 0) {
    const toZero = sampled * (pts[0][1] / delta);
    if (toZero < toStart) toStart = toZero;
  }
  const threshold = avg * 1.1;
  let interval = sampled;
  interval += toStart < threshold ? toStart : avg / 2;
  interval += toEnd < threshold ? toEnd : avg / 2;
  return (delta * (interval / sampled)) / (range / 1000);
}

function assertClose(got: number, want: number, what: string): void {
  const scale = Math.max(Math.abs(got), Math.abs(want), 1e-300);
  assert.ok(Math.abs(got - want) / scale <= 1e-9, `${what}: got ${got}, want ${want}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
