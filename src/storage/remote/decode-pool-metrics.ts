// The ingest decode pool's figures (decode-pool.ts) as metric families for the server's `/metrics`. Totals over
// every org: no label names one.

import type { MetricFamily } from "../../exposition/index.ts";
import { Labels } from "../../model/labels.ts";
import type { DecodePoolFigures } from "./decode-pool.ts";

// One family of one unlabelled sample.
function single(name: string, type: "gauge" | "counter", help: string, value: number): MetricFamily {
  return { name, type, help, samples: [{ labels: Labels.EMPTY, value }] };
}

// A counter with one sample per value of its one label.
function labelled(name: string, help: string, label: string, values: Readonly<Record<string, number>>): MetricFamily {
  const samples = Object.entries(values).map(([v, value]) => ({ labels: Labels.fromStrings(label, v), value }));
  return { name, type: "counter", help, samples };
}

/** The pool's gauges and counters: its workers, what it holds, its refusals, lost workers and where bodies decoded. */
export function decodePoolFamilies(f: DecodePoolFigures): MetricFamily[] {
  return [
    single("contrail_ingest_decode_workers", "gauge", "Ingest decode worker threads running or starting.", f.workers),
    single(
      "contrail_ingest_decode_workers_max",
      "gauge",
      "Most ingest decode worker threads the pool runs.",
      f.maxWorkers,
    ),
    single(
      "contrail_ingest_decode_pending_requests",
      "gauge",
      "Remote-write requests held by the ingest decode pool (waiting for or on a worker).",
      f.pendingJobs,
    ),
    single(
      "contrail_ingest_decode_pending_bytes",
      "gauge",
      "Compressed bytes of the remote-write requests held by the ingest decode pool.",
      f.pendingBytes,
    ),
    single(
      "contrail_ingest_decode_rejected_total",
      "counter",
      "Remote-write requests refused with 503 because the ingest decode pool held as many requests or bytes as it may.",
      f.rejected,
    ),
    labelled(
      "contrail_ingest_decode_worker_restarts_total",
      "Ingest decode workers lost and replaced by the next request: crashed, or stuck (terminated for holding a " +
        "request too long or not starting in time). Their requests were answered 503.",
      "reason",
      { crashed: f.crashed, stuck: f.stuck },
    ),
    labelled(
      "contrail_ingest_decode_requests_total",
      "Remote-write bodies answered by an ingest decode worker (worker) or, too small to hand over, decoded on the " +
        "thread that stores them (in_place).",
      "where",
      { worker: f.decoded, in_place: f.inPlace },
    ),
  ];
}
