// Prometheus's remote read served by Contrail's API and by a Prometheus 2.42 peer holding the same data: 1,000
// counter series × 2 h at 15 s (480,000 samples), read whole by one query (`{__name__="bench_read"}` over the 2 h)
// in each response type, SAMPLES (one snappy ReadResponse) and STREAMED_XOR_CHUNKS (CRC'd frames of XOR chunks).
// Per read: the wall time until the client holds the whole body (median of the runs) and, for Contrail, whose server
// runs in this process, the longest event-loop delay during the read: how long a read holds the thread that also
// takes writes, since remote read runs on the main thread in slices (src/api/remote-read/read.ts).
// Run: npm run bench -- remote-read [--runs N]

import { rmSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { readRequestBody } from "../src/api/remote-read/test-codec.ts";
import { startTestServer, testControl } from "../src/api/test-support.ts";
import { Labels } from "../src/model/labels.ts";
import { encodeWriteRequestV1 } from "../src/storage/remote/codec-v1-encode.ts";
import type { WriteSeries } from "../src/storage/remote/types.ts";
import { EmbeddedTenantStore } from "../src/storage/tenants.ts";
import { startPrometheusReceiver } from "../src/testkit/peers.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { SnappyEncoder } from "../src/tsdb/encoding/snappy.ts";
import { type Figure, printFigures, timeRuns } from "./harness.ts";

const SERIES = 1_000;
const STEP_MS = 15_000;
const SAMPLES_PER_SERIES = (2 * 3_600_000) / STEP_MS;
/** Samples of each series per remote-write request to the peer: requests go in time order across all series,
 * as Prometheus's head only takes samples near its newest. */
const SAMPLES_PER_REQUEST = 10;
/** The data ends a minute ago, inside the peer's fresh head. */
const END = Math.floor(Date.now() / STEP_MS) * STEP_MS - 60_000;
const START = END - (SAMPLES_PER_SERIES - 1) * STEP_MS;
const TYPES = [
  { name: "SAMPLES", accepted: [0] },
  { name: "STREAMED_XOR_CHUNKS", accepted: [1] },
] as const;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const RUNS = flag("--runs", 7);

function labelsOf(i: number): Labels {
  return Labels.fromStrings("__name__", "bench_read", "instance", `host-${i % 50}`, "job", `job-${i % 7}`, "n", `${i}`);
}

/** Sample k of series i: a counter with jittered steps. */
function sampleValue(i: number, k: number): number {
  return k * (10 + (i % 13)) + ((i * 31 + k * 17) % 5);
}

async function fillPeer(url: string): Promise<void> {
  const snappy = new SnappyEncoder();
  for (let k0 = 0; k0 < SAMPLES_PER_SERIES; k0 += SAMPLES_PER_REQUEST) {
    const series: WriteSeries[] = [];
    for (let i = 0; i < SERIES; i++) {
      const samples = [];
      for (let k = k0; k < Math.min(k0 + SAMPLES_PER_REQUEST, SAMPLES_PER_SERIES); k++) {
        samples.push({ t: START + k * STEP_MS, v: sampleValue(i, k) });
      }
      series.push({ labels: labelsOf(i), samples });
    }
    const r = await fetch(`${url}/api/v1/write`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy" },
      body: snappy.encodeCopy(encodeWriteRequestV1({ series })),
    });
    if (r.status !== 204 && r.status !== 200) throw new Error(`peer remote write: ${r.status} ${await r.text()}`);
  }
}

/** One read of everything; returns the body's bytes. */
async function readAll(url: string, accepted: readonly number[], token?: string): Promise<number> {
  const body = readRequestBody([{ start: START, end: END, matchers: [["=", "__name__", "bench_read"]] }], accepted);
  const headers: Record<string, string> = {
    "content-type": "application/x-protobuf",
    "content-encoding": "snappy",
    "x-prometheus-remote-read-version": "0.1.0",
  };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const r = await fetch(url, { method: "POST", headers, body });
  const bytes = (await r.arrayBuffer()).byteLength;
  if (r.status !== 200) throw new Error(`remote read: ${r.status}`);
  return bytes;
}

const control = testControl();
const token = control.org("bench", ["read"]);
const store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
const server = await startTestServer(control, store);
const peerDir = scratchDir("contrail-bench-remote-read-");
const peer = await startPrometheusReceiver({ dir: peerDir });
try {
  const app = store.appender("bench");
  for (let i = 0; i < SERIES; i++) {
    const labels = labelsOf(i);
    for (let k = 0; k < SAMPLES_PER_SERIES; k++) app.append(labels, START + k * STEP_MS, sampleValue(i, k));
  }
  app.commit();
  await fillPeer(peer.url);

  const ours: Figure[] = [];
  const theirs: Figure[] = [];
  const delays: Figure[] = [];
  const contrailUrl = `${server.url}/prometheus/bench/api/v1/read`;
  for (const type of TYPES) {
    const ourBytes = await readAll(contrailUrl, type.accepted, token);
    const peerBytes = await readAll(`${peer.url}/api/v1/read`, type.accepted);
    console.log(`${type.name}: Contrail ${ourBytes} bytes, Prometheus ${peerBytes} bytes`);
    const worst: number[] = [];
    const runs = await timeRuns(
      async () => {
        const h = monitorEventLoopDelay({ resolution: 1 });
        h.enable();
        await readAll(contrailUrl, type.accepted, token);
        h.disable();
        worst.push(h.max / 1e6);
      },
      { runs: RUNS },
    );
    ours.push({ name: type.name, unit: "ms", runs, higherIsBetter: false });
    delays.push({
      name: `${type.name} longest event-loop delay`,
      unit: "ms",
      runs: worst.slice(1),
      higherIsBetter: false,
    });
    theirs.push({
      name: type.name,
      unit: "ms",
      runs: await timeRuns(() => readAll(`${peer.url}/api/v1/read`, type.accepted), { runs: RUNS }),
      higherIsBetter: false,
    });
  }
  printFigures(`remote read of ${SERIES} series × ${SAMPLES_PER_SERIES} samples, wall time`, ours, {
    prometheus: theirs,
  });
  printFigures("Contrail's event loop during those reads (client in the same process)", delays);
} finally {
  await peer.stop(15_000);
  await server.close();
  store.close();
  control.cleanup();
  rmSync(peerDir, { recursive: true, force: true });
}
