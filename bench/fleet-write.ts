// Writing the fleet's series (bench/fleet.ts) into a server by Remote-Write 1.0, shared by the memory and scale
// benchmarks: `contrail up` started for one org with a write and a read token and the limits a benchmark must not
// hit, the next value of each series, and the request bodies of one round (one sample per series), shaped like
// Prometheus's queue manager sends them (2,000 series per request, spread over a few shards).

import { join } from "node:path";
import type { Labels } from "../src/model/labels.ts";
import { contrailOk, startUp, type UpProcess } from "../src/roles/testkit.ts";
import { encodeWriteRequestV1 } from "../src/storage/remote/codec-v1-encode.ts";
import type { WriteSeries } from "../src/storage/remote/types.ts";
import { SnappyEncoder } from "../src/tsdb/encoding/snappy.ts";
import type { FleetSeries } from "./fleet.ts";

/** Series per request: Prometheus's max_samples_per_send (one sample per series per round). */
export const SERIES_PER_REQUEST = 2_000;

/** A server under test: where to write and query, the headers each needs, and the pid whose RSS counts. */
export interface Target {
  readonly name: string;
  readonly writeUrl: string;
  readonly writeHeaders: Record<string, string>;
  readonly api: string;
  readonly readHeaders: Record<string, string>;
  readonly pid: number;
  /** Makes written samples visible to queries (VictoriaMetrics buffers them for a second or so). */
  flush(): Promise<void>;
}

/** A running `contrail up` as a target: `up` itself (to stop or restart it) and its data directory. */
export interface ContrailTarget extends Target {
  readonly up: UpProcess;
  readonly dataDir: string;
}

/**
 * Creates `org` with a write and a read token under `<dir>/contrail` and starts `contrail up` there. The org's
 * ingestion rate and active series limits are raised out of the way: the benchmarks measure the server, not them.
 */
export async function startContrail(dir: string, org: string): Promise<ContrailTarget> {
  const data = join(dir, "contrail");
  await contrailOk(["orgs", "create", org, "--data", data]);
  const raise = ["ingestion_rate=100000000", "ingestion_burst_size=1000000000", "max_active_series=100000000"];
  await contrailOk(["orgs", "limits", org, ...raise.flatMap((s) => ["--set", s]), "--data", data]);
  const write = (await contrailOk(["tokens", "create", "--org", org, "--scope", "write", "--data", data])).trim();
  const read = (await contrailOk(["tokens", "create", "--org", org, "--scope", "read", "--data", data])).trim();
  const up = await startUp(data, []);
  const pid = up.pids().get("serve");
  if (pid === undefined) throw new Error(`contrail up printed no serve pid: ${up.output()}`);
  const api = `${up.apiUrl}/prometheus/${org}`;
  return {
    name: "contrail",
    writeUrl: `${api}/api/v1/write`,
    writeHeaders: { authorization: `Bearer ${write}` },
    api,
    readHeaders: { authorization: `Bearer ${read}` },
    pid,
    up,
    dataDir: data,
    flush: async () => {},
  };
}

/** Next value of a series: counters grow by a random step, gauges wander around their level. */
export function nextValue(kind: FleetSeries["kind"], v: number, rnd: () => number): number {
  return kind === "counter" ? v + Math.floor(rnd() * 100) : Math.round((v + rnd() * 2 - 1) * 100) / 100;
}

/**
 * The compressed body of one request: series [from, to) at about `t` (ms; scrapes land a few ms late, never early),
 * each with its next value (`values` is updated).
 */
export function requestBody(
  encoder: SnappyEncoder,
  series: readonly FleetSeries[],
  labels: readonly Labels[],
  values: number[],
  range: { readonly from: number; readonly to: number },
  t: number,
  rnd: () => number,
): Uint8Array {
  const batch: WriteSeries[] = [];
  for (let i = range.from; i < range.to; i++) {
    values[i] = nextValue(series[i].kind, values[i], rnd);
    batch.push({ labels: labels[i], samples: [{ t: t + Math.floor(rnd() * 20), v: values[i] }] });
  }
  return encoder.encodeCopy(encodeWriteRequestV1({ series: batch }));
}

/** The request bodies of one round at `t` (ms), split into `shards` lists of requests sent one after the other. */
export function roundBodies(
  series: readonly FleetSeries[],
  labels: readonly Labels[],
  values: number[],
  t: number,
  rnd: () => number,
  shards: number,
): Uint8Array[][] {
  const encoder = new SnappyEncoder();
  const out: Uint8Array[][] = Array.from({ length: shards }, () => []);
  for (let from = 0, n = 0; from < series.length; from += SERIES_PER_REQUEST, n++) {
    const to = Math.min(series.length, from + SERIES_PER_REQUEST);
    out[n % shards].push(requestBody(encoder, series, labels, values, { from, to }, t, rnd));
  }
  return out;
}
