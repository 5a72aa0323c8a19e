// A tenant directory holding native histograms (integer and float, in blocks, head chunk files and the WAL) read by
// Prometheus 2.42's tools: `promtool tsdb dump` and `promtool tsdb analyze` read every block and the head without
// error, and a Prometheus server started on a copy (native histograms enabled) answers each histogram's count and
// sum as Contrail stored them. (2.42's dump prints float samples only; the server is what shows the histograms.)
// Custom-buckets histograms (Prometheus 3's records 9 and schema -53 chunks) are checked with promtool only: 2.42
// skips the records it does not know, and its server cannot read that schema.
// Skipped when the binaries are not installed.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CUSTOM_BUCKETS_SCHEMA, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { IDLE_PROMETHEUS_CONFIG, startPrometheus } from "../testkit/peers.ts";
import { counterSequence, gaugeSequence, hist } from "../tsdb/chunkenc/histogram-testdata.ts";
import { EmbeddedTenantStore, tenantDir } from "./tenants.ts";

const installed = (bin: string) => spawnSync(bin, ["--version"], { stdio: "ignore" }).status === 0;
const SKIP_PROMTOOL = installed("promtool") ? false : "promtool is not installed";
const SKIP_PROMETHEUS = installed("prometheus") ? false : "prometheus is not installed";

const HOUR = 3_600_000;
const STEP = 60_000;
const T0 = 1_699_999_200_000; // 2 h aligned
/** 5 h of data: compaction cuts one 2 h block, the rest stays in the head (chunk files and WAL). */
const T_END = T0 + 5 * HOUR;
const ORG = "histogram-org";

const INT = Labels.fromStrings("__name__", "rpc_duration_seconds", "kind", "int");
const FLOAT = Labels.fromStrings("__name__", "rpc_duration_seconds", "kind", "float");
const GAUGE = Labels.fromStrings("__name__", "queue_size", "kind", "gauge");
const PLAIN = Labels.fromStrings("__name__", "up");

/** The samples written per series: the counter sequence cycled (resets, recodes, schema changes), gauges. */
function samples(seq: readonly Histogram[]): [number, Histogram][] {
  const out: [number, Histogram][] = [];
  for (let i = 0, t = T0; t < T_END; i++, t += STEP) out.push([t, seq[i % seq.length]]);
  return out;
}
const DATA: [Labels, [number, Histogram][]][] = [
  [INT, samples(counterSequence(true).slice(0, -1))],
  [FLOAT, samples(counterSequence(false).slice(0, -1))],
  [GAUGE, samples(gaugeSequence(true))],
];

let data: string;
let dir: string;
const copies: string[] = [];
function copy(): string {
  const c = mkdtempSync(join(tmpdir(), "contrail-hist-interop-copy-"));
  copies.push(c);
  cpSync(dir, c, { recursive: true });
  return c;
}

before(async () => {
  data = mkdtempSync(join(tmpdir(), "contrail-hist-interop-"));
  const store = new EmbeddedTenantStore({ dataDir: data, idleCloseMs: 0, db: { autoCompact: false } });
  for (let from = T0; from < T_END; from += HOUR) {
    const app = store.appender(ORG);
    assert.ok(app.appendHistogram !== undefined);
    for (const [labels, list] of DATA) {
      for (const [t, h] of list) if (t >= from && t < from + HOUR) app.appendHistogram(labels, t, h);
    }
    for (let t = from; t < from + HOUR; t += STEP) app.append(PLAIN, t, 1);
    assert.equal(app.commit().firstRejection, null);
  }
  const report = await store.withDb(ORG, (db) => db.compact());
  assert.equal(report.headBlocks.length, 1);
  store.close();
  dir = tenantDir(data, ORG);
});

after(() => {
  for (const c of copies) rmSync(c, { recursive: true, force: true });
  if (data !== undefined) rmSync(data, { recursive: true, force: true });
});

test("promtool tsdb dump and analyze read a tenant directory holding native histograms", {
  skip: SKIP_PROMTOOL,
}, () => {
  const dump = spawnSync("promtool", ["tsdb", "dump", copy()], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  assert.equal(dump.status, 0, dump.stderr);
  const up = dump.stdout.split("\n").filter((l) => l.startsWith('{__name__="up"}'));
  assert.equal(up.length, (T_END - T0) / STEP, "every float sample of the directory is dumped");
  const analyze = spawnSync("promtool", ["tsdb", "analyze", copy()], { encoding: "utf8" });
  assert.equal(analyze.status, 0, analyze.stderr);
  assert.match(analyze.stdout, /^Series: 4$/m);
});

test("promtool reads a directory holding custom-buckets histograms (Prometheus 3's records 9 and chunks)", {
  skip: SKIP_PROMTOOL,
}, async () => {
  const other = mkdtempSync(join(tmpdir(), "contrail-hist-interop-cb-"));
  copies.push(other);
  const store = new EmbeddedTenantStore({ dataDir: other, idleCloseMs: 0, db: { autoCompact: false } });
  const cb = Labels.fromStrings("__name__", "latency_seconds");
  for (let from = T0; from < T_END; from += HOUR) {
    const app = store.appender(ORG);
    for (let t = from; t < from + HOUR; t += STEP) {
      const k = (t - T0) / STEP;
      app.appendHistogram?.(
        cb,
        t,
        hist({
          schema: CUSTOM_BUCKETS_SCHEMA,
          zeroThreshold: 0,
          sum: k,
          pos: [{ offset: 0, length: 3 }],
          posCounts: [k, 2 * k, k],
          customValues: [0.1, 0.5, 2.5],
        }),
      );
      app.append(PLAIN, t, 1);
    }
    assert.equal(app.commit().firstRejection, null);
  }
  assert.equal((await store.withDb(ORG, (db) => db.compact())).headBlocks.length, 1);
  store.close();
  const dump = spawnSync("promtool", ["tsdb", "dump", tenantDir(other, ORG)], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(dump.status, 0, dump.stderr);
  assert.equal(dump.stdout.split("\n").filter((l) => l.startsWith('{__name__="up"}')).length, (T_END - T0) / STEP);
});

test("Prometheus answers the histograms Contrail stored, from blocks, head chunks and WAL", {
  skip: SKIP_PROMETHEUS,
}, async () => {
  const config = mkdtempSync(join(tmpdir(), "contrail-hist-interop-cfg-"));
  copies.push(config);
  const prom = await startPrometheus({
    dir: config,
    dataDir: copy(),
    config: () => IDLE_PROMETHEUS_CONFIG,
    flags: ["--enable-feature=native-histograms", "--storage.tsdb.retention.time=100y"],
  });
  try {
    for (const [labels, list] of DATA) {
      const sel = `${labels.get("__name__")}{kind="${labels.get("kind")}"}`;
      const q = new URLSearchParams({ query: `${sel}[6h]`, time: String(T_END / 1000) });
      const res = await fetch(`${prom.url}/api/v1/query?${q}`);
      const body = (await res.json()) as {
        data: { result: { histograms?: [number, { count: string; sum: string }][] }[] };
      };
      const got = body.data.result[0]?.histograms ?? [];
      assert.equal(got.length, list.length, `${sel}: samples`);
      for (let i = 0; i < list.length; i++) {
        const [t, h] = list[i];
        assert.equal(got[i][0] * 1000, t);
        assert.equal(Number(got[i][1].count), h.count, `${sel} count at ${t}`);
        assert.equal(Number(got[i][1].sum), h.sum, `${sel} sum at ${t}`);
      }
    }
  } finally {
    await prom.stop();
  }
});
