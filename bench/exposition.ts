// Exposition parsing throughput: a 10,000-series body shaped like prom-client output (request histograms with
// the platform's 13 buckets, counters, gauges), read as a scraper reads it, in Prometheus text, OpenMetrics and the
// protobuf format (the same families; classic histograms). Median of 5 runs, in series/s.
//   hit path:  next() + series() + value() + timestamp() + a cache lookup by series text (steady state)
//   miss path: the same plus labels() for every series (first scrape of a target)
// Run: npm run bench -- exposition

import { gzipSync } from "node:zlib";
import { decodeBody } from "../src/exposition/body.ts";
import { OpenMetricsParser } from "../src/exposition/om-parser.ts";
import { PromTextParser } from "../src/exposition/prom-parser.ts";
import { ProtobufParser } from "../src/exposition/proto-parser.ts";
import { writeProtobuf } from "../src/exposition/proto-writer.ts";
import type { ExpositionParser } from "../src/exposition/types.ts";
import {
  type FamilySample,
  type MetricFamily,
  writeOpenMetrics,
  writePrometheusText,
} from "../src/exposition/writer.ts";
import { Labels, LabelsBuilder } from "../src/model/labels.ts";
import { type Figure, printFigures, timeRuns } from "./harness.ts";

const TARGET_SERIES = 10_000;
const BUCKETS = ["0.005", "0.025", "0.05", "0.1", "0.2", "0.5", "1", "5", "15", "30", "60", "120", "+Inf"];
const METHODS = ["GET", "POST", "PUT", "DELETE"];
const CODES = ["200", "201", "204", "301", "400", "404", "500", "503"];

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

function makeFamilies(): MetricFamily[] {
  const rnd = lcg(42);
  const hist: FamilySample[] = [];
  const counter: FamilySample[] = [];
  const gauge: FamilySample[] = [];
  let series = 0;
  for (let route = 0; series < TARGET_SERIES; route++) {
    for (const method of METHODS) {
      for (const code of CODES) {
        if (series >= TARGET_SERIES) break;
        const base = ["method", method, "route", `/api/v1/resource_${route}/items`, "status_code", code];
        let count = 0;
        for (const le of BUCKETS) {
          count += Math.floor(rnd() * 50);
          hist.push({
            name: "http_request_duration_seconds_bucket",
            labels: Labels.fromStrings(...base, "le", le),
            value: count,
          });
        }
        hist.push({
          name: "http_request_duration_seconds_sum",
          labels: Labels.fromStrings(...base),
          value: rnd() * 1000,
        });
        hist.push({ name: "http_request_duration_seconds_count", labels: Labels.fromStrings(...base), value: count });
        counter.push({ name: "http_requests_total", labels: Labels.fromStrings(...base), value: count });
        gauge.push({ labels: Labels.fromStrings(...base), value: Math.round(rnd() * 1e6) / 1e3 });
        series += BUCKETS.length + 4;
      }
    }
  }
  return [
    {
      name: "http_request_duration_seconds",
      type: "histogram",
      help: "Duration of HTTP requests in seconds",
      samples: hist,
    },
    { name: "http_requests", type: "counter", help: "Total number of HTTP requests", samples: counter },
    { name: "http_request_size_bytes", type: "gauge", help: "Size of the last request", samples: gauge },
  ];
}

function countSeries(p: ExpositionParser): number {
  let n = 0;
  for (let k = p.next(); k !== "eof"; k = p.next()) if (k === "series") n++;
  return n;
}

// Steady state: every series is in the cache.
function hitPath(p: ExpositionParser, cache: Map<string, number>): number {
  let n = 0;
  let sum = 0;
  for (let k = p.next(); k !== "eof"; k = p.next()) {
    if (k !== "series") continue;
    const ref = cache.get(p.series());
    if (ref === undefined) throw new Error(`cache miss for ${p.series()}`);
    sum += ref + p.value() + (p.timestamp() ?? 0);
    n++;
  }
  return sum === -1 ? -1 : n;
}

// First scrape: every series misses and its labels are built.
function missPath(p: ExpositionParser, b: LabelsBuilder): number {
  let n = 0;
  for (let k = p.next(); k !== "eof"; k = p.next()) {
    if (k !== "series") continue;
    if (p.labels(b).size === 0) throw new Error("no labels");
    p.value();
    n++;
  }
  return n;
}

function buildCache(p: ExpositionParser): Map<string, number> {
  const cache = new Map<string, number>();
  for (let k = p.next(); k !== "eof"; k = p.next()) if (k === "series") cache.set(p.ownedSeries(), cache.size);
  return cache;
}

// Bytes of heap the hit path allocates per series, measured across one GC-free parse (needs --expose-gc).
function bytesPerSeries(body: Uint8Array, cache: Map<string, number>, series: number): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return undefined;
  gc();
  const before = process.memoryUsage().heapUsed;
  hitPath(new PromTextParser(body), cache);
  return (process.memoryUsage().heapUsed - before) / series;
}

async function main(): Promise<void> {
  const families = makeFamilies();
  const enc = new TextEncoder();
  const prom = enc.encode(writePrometheusText(families));
  const om = enc.encode(writeOpenMetrics(families));
  const gz = gzipSync(prom);
  const series = countSeries(new PromTextParser(prom));
  const proto = writeProtobuf(families);
  if (countSeries(new OpenMetricsParser(om)) !== series) throw new Error("formats disagree on the series count");
  if (countSeries(new ProtobufParser(proto)) !== series) throw new Error("protobuf disagrees on the series count");
  const promCache = buildCache(new PromTextParser(prom));
  const omCache = buildCache(new OpenMetricsParser(om));
  const protoCache = buildCache(new ProtobufParser(proto));
  const builder = new LabelsBuilder();

  const cases: [string, () => number][] = [
    ["prometheus text, hit path", () => hitPath(new PromTextParser(prom), promCache)],
    ["prometheus text, miss path", () => missPath(new PromTextParser(prom), builder)],
    ["prometheus text gzip, hit path", () => hitPath(new PromTextParser(decodeBody(gz, "gzip")), promCache)],
    ["openmetrics, hit path", () => hitPath(new OpenMetricsParser(om), omCache)],
    ["openmetrics, miss path", () => missPath(new OpenMetricsParser(om), builder)],
    ["protobuf, hit path", () => hitPath(new ProtobufParser(proto), protoCache)],
    ["protobuf, miss path", () => missPath(new ProtobufParser(proto), builder)],
  ];
  const figures: Figure[] = [];
  for (const [name, fn] of cases) {
    const times = await timeRuns(fn, { runs: 5, warmup: 2 });
    figures.push({ name, unit: "series/s", runs: times.map((ms) => series / (ms / 1000)), higherIsBetter: true });
  }
  console.log(
    `body: ${series} series, Prometheus text ${(prom.length / 1024).toFixed(0)} KiB ` +
      `(gzip ${(gz.length / 1024).toFixed(0)} KiB), OpenMetrics ${(om.length / 1024).toFixed(0)} KiB, ` +
      `protobuf ${(proto.length / 1024).toFixed(0)} KiB`,
  );
  printFigures(`exposition parse (${series} series)`, figures);
  const perSeries = bytesPerSeries(prom, promCache, series);
  if (perSeries !== undefined) {
    const text = prom.length / series;
    console.log(
      `hit path heap growth: ~${perSeries.toFixed(0)} bytes per series, of which ~${text.toFixed(0)} are the ` +
        "decoded body text (one string per body); the rest is the series key slice and number boxes",
    );
  }
  console.log(
    "No peer figures: the only reference parser here is promtool (Go, out of process), and no in-process " +
      "peer parses the same body under the same conditions, so only Contrail's figures are shown.",
  );
}

await main();
