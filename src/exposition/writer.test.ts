import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels, LabelsBuilder } from "../model/labels.ts";
import { parserForFormat } from "./content-type.ts";
import type { ExpositionFormat } from "./types.ts";
import {
  escapeLabelValue,
  type MetricFamily,
  writeExposition,
  writeOpenMetrics,
  writePrometheusText,
} from "./writer.ts";

const L = Labels.fromStrings;

// Given in a scrambled order on purpose: the writer sorts.
const FAMILIES: MetricFamily[] = [
  {
    name: "temp",
    type: "gauge",
    samples: [{ labels: L("a.b", 'x"y'), value: -0.001, timestampMs: 1520879607789 }],
  },
  {
    name: "lat_seconds",
    type: "histogram",
    unit: "seconds",
    help: "Lat.",
    samples: [
      { name: "lat_seconds_count", labels: L(), value: 2 },
      { name: "lat_seconds_bucket", labels: L("le", "+Inf"), value: 2 },
      { name: "lat_seconds_sum", labels: L(), value: 0.5 },
      { name: "lat_seconds_bucket", labels: L("le", "0.5"), value: 1 },
      { name: "lat_seconds_bucket", labels: L("le", "0.05"), value: 0 },
    ],
  },
  {
    name: "http_requests",
    type: "counter",
    help: "Requests.\nTwo lines \\ back",
    samples: [
      { name: "http_requests_total", labels: L("code", "500"), value: 3 },
      { name: "http_requests_total", labels: L("code", "200"), value: 1e6 },
      { name: "http_requests_created", labels: L("code", "200"), value: 1700000000 },
    ],
  },
  { name: "my.metric", type: "unknown", samples: [{ labels: L("__name__", "my.metric"), value: Number.NaN }] },
];

describe("writer output", () => {
  test("Prometheus text 0.0.4", () => {
    assert.equal(
      writePrometheusText(FAMILIES),
      `# HELP http_requests_total Requests.\\nTwo lines \\\\ back
# TYPE http_requests_total counter
http_requests_total{code="200"} 1e+06
http_requests_total{code="500"} 3
# HELP http_requests_created Requests.\\nTwo lines \\\\ back
# TYPE http_requests_created gauge
http_requests_created{code="200"} 1.7e+09
# HELP lat_seconds Lat.
# TYPE lat_seconds histogram
lat_seconds_bucket{le="0.05"} 0
lat_seconds_bucket{le="0.5"} 1
lat_seconds_bucket{le="+Inf"} 2
lat_seconds_sum 0.5
lat_seconds_count 2
# TYPE "my.metric" untyped
{"my.metric"} NaN
# TYPE temp gauge
temp{"a.b"="x\\"y"} -0.001 1520879607789
`,
    );
  });

  test("OpenMetrics 1.0", () => {
    assert.equal(
      writeOpenMetrics(FAMILIES),
      `# HELP http_requests Requests.\\nTwo lines \\\\ back
# TYPE http_requests counter
http_requests_total{code="200"} 1e+06
http_requests_created{code="200"} 1.7e+09
http_requests_total{code="500"} 3.0
# HELP lat_seconds Lat.
# TYPE lat_seconds histogram
# UNIT lat_seconds seconds
lat_seconds_bucket{le="0.05"} 0.0
lat_seconds_bucket{le="0.5"} 1.0
lat_seconds_bucket{le="+Inf"} 2.0
lat_seconds_sum 0.5
lat_seconds_count 2.0
# TYPE "my.metric" unknown
{"my.metric"} NaN
# TYPE temp gauge
temp{"a.b"="x\\"y"} -0.001 1.520879607789e+09
# EOF
`,
    );
  });

  test("type mapping for types Prometheus text lacks, and counter naming both ways", () => {
    const fams: MetricFamily[] = [
      { name: "build", type: "info", samples: [{ name: "build_info", labels: L("v", "1"), value: 1 }] },
      { name: "mode", type: "stateset", samples: [{ labels: L("mode", "a"), value: 1 }] },
      { name: "q", type: "gaugehistogram", samples: [{ name: "q_gcount", labels: L(), value: 1 }] },
      { name: "jobs", type: "counter", samples: [{ labels: L(), value: 1 }] },
    ];
    assert.equal(
      writePrometheusText(fams),
      '# TYPE build_info gauge\nbuild_info{v="1"} 1\n# TYPE jobs counter\njobs 1\n# TYPE mode gauge\nmode{mode="a"} 1\n# TYPE q histogram\nq_gcount 1\n',
    );
    assert.equal(
      writeExposition("openmetrics", fams),
      '# TYPE build info\nbuild_info{v="1"} 1.0\n# TYPE jobs counter\njobs_total 1.0\n# TYPE mode stateset\nmode{mode="a"} 1.0\n# TYPE q gaugehistogram\nq_gcount 1.0\n# EOF\n',
    );
  });

  test("an empty family list", () => {
    assert.equal(writePrometheusText([]), "");
    assert.equal(writeOpenMetrics([]), "# EOF\n");
  });

  test("a unit that is not a suffix of the name is refused", () => {
    assert.throws(
      () => writeOpenMetrics([{ name: "lat", type: "gauge", unit: "seconds", samples: [] }]),
      (e) => isContrailError(e, "bad_data"),
    );
  });

  test("escapeLabelValue", () => {
    const cases: [string, string][] = [
      ["plain", "plain"],
      ['a"b', 'a\\"b'],
      ["a\\b", "a\\\\b"],
      ["a\nb", "a\\nb"],
      ["\\n", "\\\\n"],
      ["tab\tstays", "tab\tstays"],
    ];
    for (const [v, want] of cases) assert.equal(escapeLabelValue(v), want);
  });
});

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomFamilies(seed: number): MetricFamily[] {
  const rnd = lcg(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const texts = ["", "a", "x y", 'q"uote', "back\\slash", "new\nline", "ünïcödé €", "#{}=,", "\\n literal"];
  const values = [0, -0, 1, -1, 0.1, 1e6, 1.5e-7, 1e21, 5e-324, Number.NaN, Number.POSITIVE_INFINITY, -1e300];
  const f64 = new Float64Array(1);
  const u32 = new Uint32Array(f64.buffer);
  const value = () => {
    if (rnd() < 0.5) return pick(values);
    u32[0] = Math.floor(rnd() * 2 ** 32);
    u32[1] = Math.floor(rnd() * 2 ** 32);
    return Number.isNaN(f64[0]) ? 0.5 : f64[0];
  };
  const families: MetricFamily[] = [];
  for (let f = 0; f < 12; f++) {
    const name = rnd() < 0.2 ? `dotted.family.${f}` : `family_${f}`;
    const n = 1 + Math.floor(rnd() * 6);
    const samples = [];
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const labels = L("inst", `i${i}`, pick(["a", "b", "with.dot", "ünï"]), pick(texts) || "v");
      if (seen.has(labels.toString())) continue;
      seen.add(labels.toString());
      const timestampMs = rnd() < 0.5 ? undefined : 1_700_000_000_000 + Math.floor(rnd() * 1e9);
      samples.push({ labels, value: value(), timestampMs });
    }
    families.push({ name, type: "gauge", help: pick(texts), samples });
  }
  return families;
}

function readBack(format: ExpositionFormat, text: string) {
  const p = parserForFormat(format).newParser(new TextEncoder().encode(text));
  const b = new LabelsBuilder();
  const samples: { labels: string; value: number; ts: number | undefined }[] = [];
  for (let k = p.next(); k !== "eof"; k = p.next()) {
    if (k === "series") samples.push({ labels: p.labels(b).toString(), value: p.value(), ts: p.timestamp() });
  }
  return { samples, metadata: p.metadata() };
}

describe("round trip writer → parser", () => {
  for (const format of ["prometheus", "openmetrics"] as const) {
    for (const seed of [1, 2, 3, 4, 5]) {
      test(`${format}, seed ${seed}`, () => {
        const families = randomFamilies(seed);
        const got = readBack(format, writeExposition(format, families));
        const want = families
          .slice()
          .sort((a, b) => (a.name < b.name ? -1 : 1))
          .flatMap((f) =>
            f.samples
              .slice()
              .sort((a, b) => a.labels.compare(b.labels))
              .map((s) => ({
                labels: new LabelsBuilder(s.labels).set("__name__", f.name).labels().toString(),
                value: s.value,
                ts: s.timestampMs,
              })),
          );
        assert.deepEqual(got.samples, want);
        for (const f of families) {
          assert.deepEqual(got.metadata.get(f.name), { type: "gauge", help: f.help, unit: "" });
        }
      });
    }
  }

  test("FAMILIES read back with their metadata in both formats", () => {
    const prom = readBack("prometheus", writePrometheusText(FAMILIES));
    assert.equal(prom.samples.length, 10);
    assert.equal(prom.metadata.get("http_requests_total")?.type, "counter");
    assert.equal(prom.metadata.get("http_requests_total")?.help, "Requests.\nTwo lines \\ back");
    const om = readBack("openmetrics", writeOpenMetrics(FAMILIES));
    // Prometheus text moves _created samples to a family of their own, so only the order differs.
    const byLabels = (a: { labels: string }, b: { labels: string }) => (a.labels < b.labels ? -1 : 1);
    assert.deepEqual(om.samples.slice().sort(byLabels), prom.samples.slice().sort(byLabels));
    assert.deepEqual(om.metadata.get("lat_seconds"), { type: "histogram", help: "Lat.", unit: "seconds" });
  });
});

// promtool (Prometheus 2.x) lints Prometheus text: it must accept what Contrail serves on /metrics.
describe("interop: promtool check metrics", () => {
  const probe = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  const missing = probe.error !== undefined || probe.status !== 0;
  const skip = missing ? "promtool is not installed (install the prometheus package to run this check)" : false;

  const buckets = ["0.005", "0.025", "0.05", "0.1", "0.2", "0.5", "1", "5", "15", "30", "60", "120", "+Inf"];
  const realistic: MetricFamily[] = [
    {
      name: "fly_edge_http_requests_total",
      type: "counter",
      help: "HTTP requests handled by the edge proxy.",
      samples: ["200", "404", "503"].flatMap((code, i) =>
        ["fra", "iad"].map((region) => ({
          labels: L("app", "web", "code", code, "region", region),
          value: 100 * i + 7,
        })),
      ),
    },
    {
      name: "fly_edge_http_response_time_seconds",
      type: "histogram",
      help: "Time to first response byte, seconds.",
      samples: ["fra", "iad"].flatMap((region) => [
        ...buckets.map((le, i) => ({
          name: "fly_edge_http_response_time_seconds_bucket",
          labels: L("app", "web", "region", region, "le", le),
          value: i * 10,
        })),
        { name: "fly_edge_http_response_time_seconds_sum", labels: L("app", "web", "region", region), value: 12.75 },
        { name: "fly_edge_http_response_time_seconds_count", labels: L("app", "web", "region", region), value: 120 },
      ]),
    },
    {
      name: "fly_instance_memory_bytes",
      type: "gauge",
      help: 'Resident memory of the instance, "RSS", in bytes.\nSampled every 15s.',
      samples: [
        { labels: L("app", "web", "instance", "e2865"), value: 2.5e8 },
        { labels: L("app", "web", "instance", "9185a"), value: 1.75e8 },
      ],
    },
    {
      name: "contrail_scrape_duration_seconds",
      type: "summary",
      help: "Scrape durations.",
      samples: [
        ...["0.5", "0.9", "0.99"].map((q, i) => ({ labels: L("quantile", q), value: 0.01 * (i + 1) })),
        { name: "contrail_scrape_duration_seconds_sum", labels: L(), value: 3.5 },
        { name: "contrail_scrape_duration_seconds_count", labels: L(), value: 200 },
      ],
    },
    {
      name: "contrail_build_info",
      type: "gauge",
      help: "Build information.",
      samples: [{ labels: L("version", "0.1.0", "goversion", "n/a"), value: 1 }],
    },
  ];

  test("accepts the writer's Prometheus text for counters, histograms, gauges and summaries", { skip }, () => {
    const text = writePrometheusText(realistic);
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 0, `promtool said:\n${r.stdout}${r.stderr}\nfor:\n${text}`);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), "");
  });

  test("really lints: it rejects a counter without _total", { skip }, () => {
    const text = writePrometheusText([
      { name: "jobs", type: "counter", help: "Jobs.", samples: [{ labels: L(), value: 1 }] },
    ]);
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.notEqual(r.status, 0);
  });
});
