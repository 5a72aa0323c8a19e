// The remote-storage write path's two rates: how fast writers can commit into an org's disk queue (the appender's
// encoding plus the record write, as a scrape or a remote write received pays it), and how fast a backlog the
// backend missed drains into a real single-node VictoriaMetrics once it is back (one sender, one request at a time,
// 2,000 samples per request, Prometheus's defaults).
// Each run: commit `--batches` batches of `--series` samples (one per series, scrape-like labels) with the backend
// down, then start VictoriaMetrics and time until the queue is empty.
// Run: npm run bench -- remote-queue [--runs 3] [--batches 200] [--series 1000]

import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Labels } from "../src/model/labels.ts";
import { BackendTenantStore } from "../src/storage/remote/backend-store.ts";
import { freePort, startVictoriaMetrics } from "../src/testkit/peers.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { type Figure, printFigures } from "./harness.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    batches: { type: "string", default: "200" },
    series: { type: "string", default: "1000" },
  },
});
const RUNS = Number(values.runs);
const BATCHES = Number(values.batches);
const SERIES = Number(values.series);

const labels = Array.from({ length: SERIES }, (_, i) =>
  Labels.fromStrings(
    "__name__",
    `http_requests_total`,
    "app",
    "web",
    "instance",
    `i-${i % 50}`,
    "path",
    `/p/${i}`,
    "region",
    "ord",
  ),
);

function pending(store: BackendTenantStore): number {
  return store.families().find((f) => f.name === "contrail_remote_storage_queue_pending_samples")!.samples[0].value;
}

const commitRate: number[] = [];
const drainRate: number[] = [];
const queueBytesPerSample: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const dir = scratchDir("contrail-bench-remote-queue-");
  const port = await freePort();
  const spec = { kind: "victoriametrics", url: `http://127.0.0.1:${port}` } as const;
  try {
    const down = new BackendTenantStore({ spec, dataDir: dir, sender: { minBackoffMs: 60_000 }, warn: () => {} });
    const t0 = Date.now() - 3_600_000;
    const start = process.hrtime.bigint();
    for (let b = 0; b < BATCHES; b++) {
      const app = down.appender("acme");
      for (const l of labels) app.append(l, t0 + b * 1000, b);
      app.commit();
    }
    const commitMs = Number(process.hrtime.bigint() - start) / 1e6;
    commitRate.push((BATCHES * SERIES) / (commitMs / 1000));
    const bytes = down.families().find((f) => f.name === "contrail_remote_storage_queue_bytes")!.samples[0].value;
    queueBytesPerSample.push(bytes / (BATCHES * SERIES));
    await down.close();

    const vm = await startVictoriaMetrics({ dataDir: join(dir, "vm"), port });
    try {
      const drainStart = process.hrtime.bigint();
      const up = new BackendTenantStore({ spec, dataDir: dir, warn: (l) => console.error(l) });
      while (pending(up) > 0) await new Promise((r) => setTimeout(r, 5));
      const drainMs = Number(process.hrtime.bigint() - drainStart) / 1e6;
      drainRate.push((BATCHES * SERIES) / (drainMs / 1000));
      await up.close();
    } finally {
      await vm.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const figures: Figure[] = [
  { name: "commit into the queue", unit: "samples/s", runs: commitRate, higherIsBetter: true },
  { name: "drain a backlog into VictoriaMetrics", unit: "samples/s", runs: drainRate, higherIsBetter: true },
  { name: "queue size per sample", unit: "bytes", runs: queueBytesPerSample, higherIsBetter: false },
];
printFigures(`remote-write queue: ${BATCHES} batches of ${SERIES} samples`, figures);
