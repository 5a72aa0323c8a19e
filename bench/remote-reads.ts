// What reading through Contrail costs with remote storage: two orgs' series (2 × 2,000 series × 30 min at a 15 s
// scrape interval, each with its `contrail_org` label) imported into a single-node VictoriaMetrics on loopback, then
// the same requests timed through Contrail's API (token check, limits, the query parsed, confined and printed, the
// answer read, bounded, stripped of the org label and written again) and straight to VictoriaMetrics with the
// request Contrail sends (the confined query and `extra_label`): median of 7 after 2 warm-up runs. The ratio is
// Contrail's overhead on the backend's own time. Run: npm run bench -- remote-reads

import { rmSync } from "node:fs";
import { join } from "node:path";
import { ReadBackend } from "../src/api/backend-read/read-backend.ts";
import { MemoryTenants, startTestServer, testControl } from "../src/api/test-support.ts";
import { ORG_LABEL } from "../src/storage/remote/backend-spec.ts";
import { startVictoriaMetrics } from "../src/testkit/peers.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { type Figure, printFigures, timeRuns } from "./harness.ts";

const VICTORIA = process.env.VICTORIA_METRICS ?? "victoria-metrics";
const STEP_S = 15;
const SERIES_PER_ORG = 2_000;
const MINUTES = 30;
const ORGS = ["bench", "other"];
// The data ends on the step grid, 10 minutes before now: clear of VictoriaMetrics' latency offset.
const END_S = Math.floor(Date.now() / 1000 / STEP_S) * STEP_S - 600;
const START_S = END_S - MINUTES * 60;
const RUNS = { runs: 7, warmup: 2 };

/** The cases: a path of the org API as the client sends it, and the request Contrail makes of VictoriaMetrics. */
const CASES: readonly { name: string; api: string; vm: string }[] = [
  {
    name: "range: sum by (job) (rate(x[5m]))",
    api: `/api/v1/query_range?${new URLSearchParams({ query: "sum by (job) (rate(x[5m]))", start: String(START_S), end: String(END_S), step: "15" })}`,
    vm: `/api/v1/query_range?${new URLSearchParams({ query: `sum by (job) (rate(x{${ORG_LABEL}="bench"}[5m]))`, start: String(START_S), end: String(END_S), step: "15" })}`,
  },
  {
    name: "instant: x{job} (200 series)",
    api: `/api/v1/query?${new URLSearchParams({ query: 'x{job="job-3"}', time: String(END_S) })}`,
    vm: `/api/v1/query?${new URLSearchParams({ query: `x{${ORG_LABEL}="bench",job="job-3"}`, time: String(END_S) })}`,
  },
  {
    name: "series: x{job} (200 series)",
    api: `/api/v1/series?${new URLSearchParams({ "match[]": 'x{job="job-3"}', start: String(START_S) })}`,
    vm: `/api/v1/series?${new URLSearchParams({ "match[]": `{__name__="x",job="job-3",${ORG_LABEL}="bench"}`, start: String(START_S) })}`,
  },
  {
    name: "label values: instance",
    api: `/api/v1/label/instance/values?${new URLSearchParams({ start: String(START_S) })}`,
    vm: `/api/v1/label/instance/values?${new URLSearchParams({ "match[]": `{${ORG_LABEL}="bench"}`, start: String(START_S) })}`,
  },
];

function importText(org: string): string {
  const lines: string[] = [];
  for (let i = 0; i < SERIES_PER_ORG; i++) {
    const labels = `${ORG_LABEL}="${org}",job="job-${i % 10}",instance="host-${i}:9100"`;
    for (let t = START_S, v = i; t <= END_S; t += STEP_S, v += 1 + (i % 7)) lines.push(`x{${labels}} ${v} ${t * 1000}`);
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const dir = scratchDir("contrail-bench-remote-reads-");
  const vm = await startVictoriaMetrics({ bin: VICTORIA, dataDir: join(dir, "vm"), flags: ["-search.disableCache"] });
  const control = testControl();
  try {
    for (const org of ORGS) {
      const r = await fetch(`${vm.url}/api/v1/import/prometheus`, { method: "POST", body: importText(org) });
      if (!r.ok) throw new Error(`import: ${r.status} ${await r.text()}`);
    }
    await fetch(`${vm.url}/internal/force_flush`);
    const token = control.org("bench");
    control.org("other");
    const backend = new ReadBackend({ spec: { kind: "victoriametrics", url: vm.url } });
    const server = await startTestServer(control, new MemoryTenants(), { backend });
    const extra = `&extra_label=${ORG_LABEL}=bench`;
    const ours: Figure[] = [];
    const direct: Figure[] = [];
    try {
      for (const c of CASES) {
        const viaApi = async () => {
          const r = await fetch(`${server.url}/prometheus/bench${c.api}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          if (r.status !== 200) throw new Error(`${c.name}: ${r.status} ${await r.text()}`);
          await r.arrayBuffer();
        };
        const straight = async () => {
          const r = await fetch(`${vm.url}${c.vm}${extra}`);
          if (r.status !== 200) throw new Error(`${c.name} (VictoriaMetrics): ${r.status} ${await r.text()}`);
          await r.arrayBuffer();
        };
        ours.push({ name: c.name, unit: "ms", runs: await timeRuns(viaApi, RUNS), higherIsBetter: false });
        direct.push({ name: c.name, unit: "ms", runs: await timeRuns(straight, RUNS), higherIsBetter: false });
      }
    } finally {
      await server.close();
    }
    printFigures(
      `reads through Contrail vs straight to VictoriaMetrics (${ORGS.length} orgs × ${SERIES_PER_ORG} series × ${MINUTES} min)`,
      ours,
      { "victoria-metrics": direct },
    );
  } finally {
    control.cleanup();
    await vm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
