// Contrail's own metrics at `/metrics`: process and Node.js runtime figures, and the API's request counts and
// latencies by route pattern and status. No label ever names an org, so the public endpoint reveals none.

import { readdirSync } from "node:fs";
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { type FamilySample, type MetricFamily, writePrometheusText } from "../exposition/index.ts";
import { Labels } from "../model/labels.ts";

/** Upper bounds (seconds) of the request duration histogram. */
const BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

interface RouteStats {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** Counters of the API and the process, rendered in Prometheus text. One per server; `close()` it with the server. */
export class SelfMetrics {
  private readonly startTime = Date.now() / 1000;
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, RouteStats>();
  private readonly authFailures = new Map<string, number>();
  private readonly loopDelay: IntervalHistogram;
  private readonly version: string;

  /** Starts sampling the event loop delay. */
  constructor(opts: { readonly version: string }) {
    this.version = opts.version;
    this.loopDelay = monitorEventLoopDelay({ resolution: 20 });
    this.loopDelay.enable();
  }

  /** Records one finished request: its route pattern (not the URL), status and duration in seconds. */
  observeRequest(route: string, status: number, seconds: number): void {
    const key = `${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let d = this.durations.get(route);
    if (d === undefined) {
      d = { counts: new Float64Array(BUCKETS.length), sum: 0, count: 0 };
      this.durations.set(route, d);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) d.counts[i]++;
    d.sum += seconds;
    d.count++;
  }

  /** Records a refused authorization (`unauthorized` or `forbidden`). */
  observeAuthFailure(reason: "unauthorized" | "forbidden"): void {
    this.authFailures.set(reason, (this.authFailures.get(reason) ?? 0) + 1);
  }

  /** The exposition text; `queriesInFlight` and the `extra` families (the query pool's) come from the caller. */
  render(queriesInFlight: number, extra: readonly MetricFamily[] = []): string {
    const families: MetricFamily[] = [...this.processFamilies(), ...this.apiFamilies(queriesInFlight), ...extra];
    return writePrometheusText(families);
  }

  /** Stops sampling the event loop. */
  close(): void {
    this.loopDelay.disable();
  }

  private processFamilies(): MetricFamily[] {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const gauge = (name: string, help: string, value: number): MetricFamily => ({
      name,
      type: "gauge",
      help,
      samples: [{ labels: Labels.EMPTY, value }],
    });
    const out: MetricFamily[] = [
      {
        name: "process_cpu_seconds_total",
        type: "counter",
        help: "Total user and system CPU time spent in seconds.",
        samples: [{ labels: Labels.EMPTY, value: (cpu.user + cpu.system) / 1e6 }],
      },
      gauge("process_resident_memory_bytes", "Resident memory size in bytes.", mem.rss),
      gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", this.startTime),
      gauge("nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.", mem.heapTotal),
      gauge("nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.", mem.heapUsed),
      gauge("nodejs_external_memory_bytes", "Node.js external memory size in bytes.", mem.external),
      gauge("nodejs_eventloop_lag_p50_seconds", "The median event loop delay.", this.loopDelay.percentile(50) / 1e9),
      gauge(
        "nodejs_eventloop_lag_p99_seconds",
        "The 99th percentile event loop delay.",
        this.loopDelay.percentile(99) / 1e9,
      ),
      gauge("nodejs_eventloop_lag_max_seconds", "The largest event loop delay.", this.loopDelay.max / 1e9),
    ];
    this.loopDelay.reset();
    const fds = openFds();
    if (fds !== null) out.push(gauge("process_open_fds", "Number of open file descriptors.", fds));
    return out;
  }

  private apiFamilies(queriesInFlight: number): MetricFamily[] {
    const requests: FamilySample[] = [...this.requests].map(([key, value]) => {
      const [handler, code] = key.split("\u0000");
      return { labels: Labels.fromStrings("code", code, "handler", handler), value };
    });
    const durations: FamilySample[] = [];
    for (const [handler, d] of this.durations) {
      BUCKETS.forEach((le, i) => {
        durations.push({
          name: "contrail_api_request_duration_seconds_bucket",
          labels: Labels.fromStrings("handler", handler, "le", String(le)),
          value: d.counts[i],
        });
      });
      durations.push(
        {
          name: "contrail_api_request_duration_seconds_bucket",
          labels: Labels.fromStrings("handler", handler, "le", "+Inf"),
          value: d.count,
        },
        {
          name: "contrail_api_request_duration_seconds_sum",
          labels: Labels.fromStrings("handler", handler),
          value: d.sum,
        },
        {
          name: "contrail_api_request_duration_seconds_count",
          labels: Labels.fromStrings("handler", handler),
          value: d.count,
        },
      );
    }
    const auth: FamilySample[] = [...this.authFailures].map(([reason, value]) => ({
      labels: Labels.fromStrings("reason", reason),
      value,
    }));
    return [
      {
        name: "contrail_build_info",
        type: "gauge",
        help: "Contrail's version; the value is always 1.",
        samples: [{ labels: Labels.fromStrings("version", this.version), value: 1 }],
      },
      {
        name: "contrail_api_requests_total",
        type: "counter",
        help: "API requests answered, by route pattern and HTTP status.",
        samples: requests,
      },
      {
        name: "contrail_api_request_duration_seconds",
        type: "histogram",
        help: "Time from receiving an API request to sending its answer, by route pattern.",
        samples: durations,
      },
      {
        name: "contrail_api_auth_failures_total",
        type: "counter",
        help: "Requests refused for a missing or invalid token (unauthorized) or a token of another org (forbidden).",
        samples: auth,
      },
      {
        name: "contrail_api_queries_in_flight",
        type: "gauge",
        help: "Queries being evaluated now, over all orgs.",
        samples: [{ labels: Labels.EMPTY, value: queriesInFlight }],
      },
    ];
  }
}

// Open file descriptors of this process (Linux /proc); null where that is not available.
function openFds(): number | null {
  try {
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return null;
  }
}
