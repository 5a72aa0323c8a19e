// The query pool's figures as metric families for the server's `/metrics`. Totals only: no label names an org.

import type { MetricFamily } from "../../exposition/index.ts";
import { Labels } from "../../model/labels.ts";
import { type PoolFigures, type RestartReason, SERVE_BUCKETS } from "./figures.ts";

const RESTART_REASONS: readonly RestartReason[] = ["timeout", "canceled", "out_of_memory", "crashed"];

function gauge(name: string, help: string, value: number): MetricFamily {
  return { name, type: "gauge", help, samples: [{ labels: Labels.EMPTY, value }] };
}

const SERVE = "contrail_query_data_request_duration_seconds";

/** The pool's gauges, counters and the histogram of main-thread time per worker data request. */
export function poolFamilies(f: PoolFigures): MetricFamily[] {
  const serve = f.serve;
  return [
    gauge("contrail_query_workers", "Query worker threads of the pool, started or starting.", f.workers),
    gauge("contrail_query_workers_max", "Most query worker threads the pool may run.", f.maxWorkers),
    gauge("contrail_query_workers_ready", "Query workers started and able to take a query.", f.ready),
    gauge("contrail_query_workers_busy", "Query workers evaluating a query now.", f.busy),
    gauge("contrail_query_queue_length", "Queries waiting for a query worker, over all orgs.", f.queued),
    {
      name: "contrail_queries_stopped_total",
      type: "counter",
      help: "Queries stopped before they finished: the client went away (canceled) or the timeout passed (timeout).",
      samples: [
        { labels: Labels.fromStrings("reason", "canceled"), value: f.canceled },
        { labels: Labels.fromStrings("reason", "timeout"), value: f.timedOut },
      ],
    },
    {
      name: "contrail_queries_rejected_total",
      type: "counter",
      help: "Queries refused with 503 because their org's queue was full.",
      samples: [{ labels: Labels.EMPTY, value: f.rejected }],
    },
    {
      name: "contrail_query_assists_total",
      type: "counter",
      help: "Large selections split between two query workers, the second half evaluated by an idle worker.",
      samples: [{ labels: Labels.EMPTY, value: f.assists }],
    },
    {
      name: "contrail_queries_inline_total",
      type: "counter",
      help: "Queries small enough to be evaluated on the main thread, where their data was selected, not on a worker.",
      samples: [{ labels: Labels.EMPTY, value: f.inline }],
    },
    {
      name: "contrail_query_worker_restarts_total",
      type: "counter",
      help: "Query workers replaced: terminated after a timeout or cancel they ignored, out of memory, or crashed.",
      samples: RESTART_REASONS.map((reason) => ({
        labels: Labels.fromStrings("reason", reason),
        value: f.restarts[reason],
      })),
    },
    {
      name: SERVE,
      type: "histogram",
      help: "Time the main thread spent answering one data request of a query worker (one page of series).",
      samples: [
        ...SERVE_BUCKETS.map((le, i) => ({
          name: `${SERVE}_bucket`,
          labels: Labels.fromStrings("le", String(le)),
          value: serve.buckets[i],
        })),
        { name: `${SERVE}_bucket`, labels: Labels.fromStrings("le", "+Inf"), value: serve.count },
        { name: `${SERVE}_sum`, labels: Labels.EMPTY, value: serve.seconds },
        { name: `${SERVE}_count`, labels: Labels.EMPTY, value: serve.count },
      ],
    },
  ];
}
