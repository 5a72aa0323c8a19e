// Bytes per sample on disk against Prometheus and VictoriaMetrics: 10,000 of the fleet's series (bench/fleet.ts)
// × 2 h of 15 s samples in one 2 h block window well in the past, in two data sets:
//   jittered  scrapes a few seconds off the step grid and ±5 ms late or early each time; counters growing by random
//             steps, integer gauges (memory, concurrency, queue depth) and a 2-decimal gauge (load) with noise,
//   smooth    every series a counter on exact 15 s steps growing by a constant increment.
// The same samples go into
//   contrail        `contrail tsdb import` (OpenMetrics text → the org's blocks, src/tsdb/import),
//   prometheus      `promtool tsdb create-blocks-from openmetrics` (the same file),
//   victoriametrics `/api/v1/import/prometheus` (the same samples, ms timestamps), then /internal/force_flush and
//                   /internal/force_merge, waiting until its directory stops changing.
// Figures: chunk bytes (the blocks' chunks/ files; VictoriaMetrics' data/ directory) per sample, and all bytes
// (whole blocks with their index; VictoriaMetrics' whole directory, indexdb included) per sample.
// Run: npm run bench -- disk [--series 10000] [--hours 2]

import { execFile } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startVictoriaMetrics } from "../src/testkit/peers.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { listBlockDirs } from "../src/tsdb/block.ts";
import { dirBytes, type FleetSeries, fleetSeries, lcg, seriesText, sleep } from "./fleet.ts";
import { type Figure, printFigures } from "./harness.ts";
import { postFile } from "./http-post.ts";

const PROMTOOL = process.env.PROMTOOL ?? "promtool";
const VICTORIA = process.env.VICTORIA_METRICS ?? "victoria-metrics";
const CONTRAIL = join(import.meta.dirname, "..", "bin", "contrail.js");
const ORG = "bench";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SERIES = arg("series", 10_000);
const STEP_MS = 15_000;
const BLOCK_MS = 2 * 3600_000;
const STEPS = Math.floor((arg("hours", 2) * 3600_000) / STEP_MS);
/** Largest scrape jitter either way, ms. */
const JITTER_MS = 5;
/** How long VictoriaMetrics' directory must stay the same size to count as merged. */
const VM_STABLE_MS = 5_000;

type DataSet = "jittered" | "smooth";

/** Writes `set` as OpenMetrics (seconds with ms decimals) and Prometheus text (ms); returns the sample count. */
async function writeDataSet(set: DataSet, series: readonly FleetSeries[], start: number, om: string, vm: string) {
  const rnd = lcg(set === "jittered" ? 11 : 12);
  const omOut = createWriteStream(om);
  const vmOut = createWriteStream(vm);
  const write = (stream: NodeJS.WritableStream, text: string) =>
    stream.write(text) ? Promise.resolve() : new Promise<void>((resolve) => stream.once("drain", () => resolve()));
  let samples = 0;
  for (const s of series) {
    const text = seriesText(s);
    // Series are scraped at a fixed offset into each step: 1..10 s (whole seconds for the smooth set).
    const offset = 1000 + (set === "jittered" ? Math.floor(rnd() * 9000) : Math.floor(rnd() * 10) * 1000);
    const rate = 1 + Math.floor(rnd() * 200);
    const twoDecimals = s.name === "fly_instance_load_average";
    const level = twoDecimals ? rnd() * 4 : Math.floor(rnd() * 1e6);
    let v = set === "smooth" || s.kind === "counter" ? Math.floor(rnd() * 1e6) : level;
    let a = "";
    let b = "";
    for (let k = 0; k < STEPS; k++) {
      let t = start + offset + k * STEP_MS;
      if (set === "smooth") v += rate;
      else {
        t += Math.round(rnd() * 2 * JITTER_MS) - JITTER_MS;
        if (s.kind === "counter") v += Math.floor(rnd() * 2 * rate);
        else if (twoDecimals) v = Math.round((level + rnd() - 0.5) * 100) / 100;
        else v = Math.round(level + (rnd() - 0.5) * level * 0.02);
      }
      a += `${text} ${v} ${(t / 1000).toFixed(3)}\n`;
      b += `${text} ${v} ${t}\n`;
      samples++;
    }
    await write(omOut, a);
    await write(vmOut, b);
  }
  await write(omOut, "# EOF\n");
  await Promise.all([new Promise((r) => omOut.end(r)), new Promise((r) => vmOut.end(r))]);
  return samples;
}

function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(" ")} failed: ${stderr || err.message}`));
      else resolve(stdout + stderr);
    });
  });
}

/** Chunk bytes, all bytes and the samples their meta.json count, over the blocks in `dir`. */
function blockBytes(dir: string): { chunks: number; all: number; samples: number } {
  let chunks = 0;
  let all = 0;
  let samples = 0;
  for (const block of listBlockDirs(dir)) {
    chunks += dirBytes(join(block, "chunks"));
    all += dirBytes(block);
    samples += (JSON.parse(readFileSync(join(block, "meta.json"), "utf8")) as { stats: { numSamples: number } }).stats
      .numSamples;
  }
  return { chunks, all, samples };
}

/** VictoriaMetrics' bytes after importing `file` and forcing a merge: its data/ directory and everything. */
async function victoriaBytes(dir: string, file: string): Promise<{ chunks: number; all: number }> {
  const data = join(dir, "victoria");
  const vm = await startVictoriaMetrics({
    bin: VICTORIA,
    dataDir: data,
    flags: ["-retentionPeriod=100y"],
    onFailure: console.error,
    readyTimeoutMs: 60_000,
  });
  try {
    await postFile(`${vm.url}/api/v1/import/prometheus`, file);
    await fetch(`${vm.url}/internal/force_flush`);
    const r = await fetch(`${vm.url}/internal/force_merge`);
    if (!r.ok) throw new Error(`force_merge: HTTP ${r.status}: ${await r.text()}`);
    let last = -1;
    for (;;) {
      const now = dirBytes(data);
      if (now === last) break;
      last = now;
      await sleep(VM_STABLE_MS);
    }
    return { chunks: dirBytes(join(data, "data")), all: dirBytes(data) };
  } finally {
    await vm.stop();
  }
}

async function measure(set: DataSet, series: readonly FleetSeries[], start: number, root: string) {
  const dir = join(root, set);
  mkdirSync(dir, { recursive: true });
  const om = join(dir, "data.om");
  const vmFile = join(dir, "data.prom");
  const samples = await writeDataSet(set, series, start, om, vmFile);
  console.log(`${set}: ${series.length} series, ${samples} samples`);
  const contrailData = join(dir, "contrail");
  await run(process.execPath, [CONTRAIL, "tsdb", "import", "--data", contrailData, "--org", ORG, om]);
  const ours = blockBytes(join(contrailData, "tenants", ORG));
  const promData = join(dir, "prometheus");
  mkdirSync(promData, { recursive: true });
  await run(PROMTOOL, ["tsdb", "create-blocks-from", "openmetrics", om, promData]);
  const prom = blockBytes(promData);
  for (const [who, b] of [
    ["contrail", ours],
    ["prometheus", prom],
  ] as const) {
    if (b.samples !== samples) console.log(`WARNING: ${who}'s blocks hold ${b.samples} samples, ${samples} written`);
  }
  const vm = await victoriaBytes(dir, vmFile);
  rmSync(om);
  rmSync(vmFile);
  const fig = (b: { chunks: number; all: number }): Figure[] => [
    { name: `${set}: chunk bytes per sample`, unit: "bytes", runs: [b.chunks / samples], higherIsBetter: false },
    { name: `${set}: all bytes per sample`, unit: "bytes", runs: [b.all / samples], higherIsBetter: false },
  ];
  return { contrail: fig(ours), prometheus: fig(prom), victoriametrics: fig(vm) };
}

async function main(): Promise<void> {
  const root = scratchDir("contrail-bench-disk-");
  try {
    const series = fleetSeries(SERIES);
    // Whole 2 h block windows ending 2 to 4 hours ago: clear of any head.
    const windows = Math.ceil((STEPS * STEP_MS) / BLOCK_MS);
    const start = Math.floor(Date.now() / BLOCK_MS) * BLOCK_MS - (windows + 1) * BLOCK_MS;
    const a = await measure("jittered", series, start, root);
    const b = await measure("smooth", series, start, root);
    printFigures(
      `bytes per sample on disk, ${SERIES} series x ${STEPS} samples at 15 s`,
      [...a.contrail, ...b.contrail],
      {
        prometheus: [...a.prometheus, ...b.prometheus],
        victoriametrics: [...a.victoriametrics, ...b.victoriametrics],
      },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
