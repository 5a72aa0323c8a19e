// OTLP metrics ingestion: requests shaped like an OpenTelemetry SDK's periodic export, received by
// storage/otlp's receiver (decode, translate, append, commit) into an EmbeddedTenantStore on a temporary directory,
// in this process. Each request holds 1,000 counter and 1,000 gauge data points (three attributes each, one
// resource with service.name and service.instance.id), or 200 explicit-bucket histograms of 10 bounds (2,600
// samples); 60 requests per run, each a step of 15 s later than the one before, every run on new series (attribute
// `run`). Bodies are encoded (and gzip-compressed) before each request's clock starts: the figure is samples written
// per CPU-second of receiving (process.cpuUsage around each request, so other load on the machine counts less).
// Run: npm run bench -- otlp [--runs 3]

import { rmSync } from "node:fs";
import { gzipSync } from "node:zlib";
import type { Attribute, ExportRequest, Metric } from "../src/storage/otlp/model.ts";
import { receiveOtlp } from "../src/storage/otlp/receive.ts";
import { encodeExportRequest } from "../src/storage/otlp/testkit.ts";
import { EmbeddedTenantStore } from "../src/storage/tenants.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { type Figure, printFigures } from "./harness.ts";

const ORG = "bench";
const REQUESTS = 60;
const STEP_MS = 15_000;
const POINTS = 1000;
const HISTOGRAMS = 200;
const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;

type Shape = "numbers" | "histograms";
type Encoding = "protobuf" | "protobuf+gzip" | "json" | "json+gzip";

function attrs(run: number, i: number): Attribute[] {
  return [
    ["run", String(run)],
    ["http.route", `/api/v${i % 7}/items/${i}`],
    ["http.method", i % 3 === 0 ? "POST" : "GET"],
  ];
}

function request(shape: Shape, run: number, t: number): ExportRequest {
  const base = { startMs: t - 3_600_000, timeMs: t, flags: 0, exemplars: 0 };
  const metrics: Metric[] =
    shape === "numbers"
      ? [
          {
            name: "http.server.requests",
            description: "",
            unit: "{request}",
            data: {
              kind: "sum",
              temporality: 2,
              monotonic: true,
              points: Array.from({ length: POINTS }, (_, i) => ({
                ...base,
                attributes: attrs(run, i),
                value: t / 1000 + i,
              })),
            },
          },
          {
            name: "process.memory.usage",
            description: "",
            unit: "By",
            data: {
              kind: "gauge",
              points: Array.from({ length: POINTS }, (_, i) => ({
                ...base,
                attributes: attrs(run, i),
                value: (t % 9973) * i,
              })),
            },
          },
        ]
      : [
          {
            name: "http.server.duration",
            description: "",
            unit: "s",
            data: {
              kind: "histogram",
              temporality: 2,
              points: Array.from({ length: HISTOGRAMS }, (_, i) => ({
                ...base,
                attributes: attrs(run, i),
                count: 11 * Math.floor(t / STEP_MS),
                sum: t / 1e6,
                bucketCounts: BOUNDS.map(() => Math.floor(t / STEP_MS)).concat([Math.floor(t / STEP_MS)]),
                explicitBounds: BOUNDS,
              })),
            },
          },
        ];
  return {
    resources: [
      {
        attributes: [
          ["service.name", "bench"],
          ["service.instance.id", "i-1"],
        ],
        scopes: [{ metrics }],
      },
    ],
  };
}

function jsonOf(req: ExportRequest): string {
  const kv = (a: readonly Attribute[]) => a.map(([key, v]) => ({ key, value: { stringValue: v } }));
  const ns = (ms: number) => `${ms}000000`;
  return JSON.stringify({
    resourceMetrics: req.resources.map((r) => ({
      resource: { attributes: kv(r.attributes) },
      scopeMetrics: r.scopes.map((s) => ({
        metrics: s.metrics.map((m) => {
          const d = m.data;
          const pt = (p: { attributes: readonly Attribute[]; startMs: number; timeMs: number }) => ({
            attributes: kv(p.attributes),
            startTimeUnixNano: ns(p.startMs),
            timeUnixNano: ns(p.timeMs),
          });
          if (d.kind === "sum") {
            return {
              name: m.name,
              unit: m.unit,
              sum: {
                aggregationTemporality: 2,
                isMonotonic: true,
                dataPoints: d.points.map((p) => ({ ...pt(p), asDouble: p.value })),
              },
            };
          }
          if (d.kind === "gauge")
            return {
              name: m.name,
              unit: m.unit,
              gauge: { dataPoints: d.points.map((p) => ({ ...pt(p), asDouble: p.value })) },
            };
          if (d.kind === "histogram") {
            return {
              name: m.name,
              unit: m.unit,
              histogram: {
                aggregationTemporality: 2,
                dataPoints: d.points.map((p) => ({
                  ...pt(p),
                  count: String(p.count),
                  sum: p.sum,
                  bucketCounts: p.bucketCounts.map(String),
                  explicitBounds: p.explicitBounds,
                })),
              },
            };
          }
          throw new Error(`no JSON for ${d.kind}`);
        }),
      })),
    })),
  });
}

function body(req: ExportRequest, enc: Encoding): { body: Uint8Array; headers: Record<string, string> } {
  const json = enc.startsWith("json");
  const raw = json ? Buffer.from(jsonOf(req)) : encodeExportRequest(req);
  const headers: Record<string, string> = { "content-type": json ? "application/json" : "application/x-protobuf" };
  if (!enc.endsWith("gzip")) return { body: raw, headers };
  return { body: gzipSync(raw), headers: { ...headers, "content-encoding": "gzip" } };
}

function runOnce(store: EmbeddedTenantStore, shape: Shape, enc: Encoding, run: number, start: number): number {
  let ms = 0;
  let samples = 0;
  for (let i = 0; i < REQUESTS; i++) {
    const t = start + i * STEP_MS;
    const b = body(request(shape, run, t), enc);
    const began = process.cpuUsage();
    const o = receiveOtlp(b.body, b.headers, () => store.appender(ORG), { org: ORG, now: () => t });
    const used = process.cpuUsage(began);
    ms += (used.user + used.system) / 1000;
    if (o.kind !== "accepted" || o.stats.rejected > 0) throw new Error(`request refused: ${JSON.stringify(o)}`);
    samples += o.stats.samplesWritten;
  }
  return samples / (ms / 1000);
}

const dir = scratchDir("contrail-bench-otlp-");
const store = new EmbeddedTenantStore({ dataDir: dir, db: { autoCompact: false } });
try {
  const figures: Figure[] = [];
  let run = 0;
  const start = Date.now() - REQUESTS * STEP_MS;
  for (const shape of ["numbers", "histograms"] as const) {
    for (const enc of ["protobuf", "protobuf+gzip", "json", "json+gzip"] as const) {
      runOnce(store, shape, enc, run++, start);
      const runs: number[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(runOnce(store, shape, enc, run++, start));
      figures.push({ name: `${shape} ${enc}`, unit: "samples/CPU-s", runs, higherIsBetter: true });
    }
  }
  printFigures("OTLP receive (decode, translate, append, commit) into the embedded store, per CPU-second", figures);
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
