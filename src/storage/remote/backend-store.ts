// The TenantStore of `--storage victoriametrics|vmcluster|mimir`: every org's samples go to the storage backend by
// remote write, through the org's disk queue under `<data>/remote-queue/<org>/` (each commit one record: its
// WriteRequest, snappy-compressed) and its sender (queue/). A commit
// is accepted once it is in the queue (durable as a WAL record is), refused with `rate_limited` when the queue is
// full. Reads are not served here: the API and the rules query the backend's own PromQL API over HTTP, so
// `querier` and `queryable` fail with an error that says so.
//
// At start, the queue of every org found on disk is opened and its sender started, so what a previous run left
// unsent goes out without waiting for that org's next write.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { MetricFamily } from "../../exposition/index.ts";
import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import type { Appender, Querier, Queryable, TenantStore } from "../interface.ts";
import { ORG_ID_PATTERN, validateOrgId } from "../tenants.ts";
import { type BackendEndpoints, backendEndpoints, type StorageSpec } from "./backend-spec.ts";
import { DiskQueue } from "./queue/queue.ts";
import { RemoteSender, SenderCounters, type SenderOptions } from "./queue/sender.ts";
import { QueueAppender } from "./queue-appender.ts";

/** A `--storage` spec of a remote backend. */
export type RemoteStorageSpec = Exclude<StorageSpec, { kind: "embedded" }>;

/** The directory holding every org's remote-write queue under the data directory. */
export const REMOTE_QUEUE_DIR = "remote-queue";

/** Sender settings a store passes on to every org's sender (defaults: queue/sender.ts's SENDER_DEFAULTS). */
export type SenderSettings = Pick<
  SenderOptions,
  "maxSamplesPerSend" | "maxBytesPerSend" | "batchWaitMs" | "minBackoffMs" | "maxBackoffMs" | "timeoutMs" | "random"
>;

/** Options of {@link BackendTenantStore}. */
export interface BackendStoreOptions {
  readonly spec: RemoteStorageSpec;
  /** The data directory; queues live in `<dataDir>/remote-queue/<org>/`. */
  readonly dataDir: string;
  /**
   * The org's VictoriaMetrics cluster accountID (1 .. MAX_VM_ACCOUNT_ID), stable for the org (kept in the control
   * plane); asked once per org when its queue is opened. Required with `vmcluster`.
   */
  readonly accountIdFor?: (org: string) => number;
  /** Bound of each org's queue, bytes; default queue.ts's DEFAULT_QUEUE_MAX_BYTES. */
  readonly queueMaxBytes?: number;
  /** Segment size of the queues, bytes (tests make it small). */
  readonly segmentBytes?: number;
  readonly sender?: SenderSettings;
  /** Receives the senders' and queues' warnings (a backend's refusal, a damaged record cut). */
  readonly warn: (line: string) => void;
}

interface OrgQueue {
  readonly endpoints: BackendEndpoints;
  readonly queue: DiskQueue;
  readonly sender: RemoteSender;
}

/** A TenantStore writing to a remote backend through per-org disk queues; see the file comment. Single-threaded. */
export class BackendTenantStore implements TenantStore {
  private readonly o: BackendStoreOptions;
  private readonly orgs = new Map<string, OrgQueue>();
  private readonly counters = new SenderCounters();
  /** Compresses committed batches; one for every org (commits are synchronous, so never two at once). */
  private readonly snappy = new SnappyEncoder();
  /** Commits refused because the org's queue was full. */
  private refusedCommits = 0;
  private closed = false;

  /** Opens the queues already on disk and starts sending them. Throws for a `vmcluster` spec without accountIdFor. */
  constructor(o: BackendStoreOptions) {
    if (o.spec.kind === "vmcluster" && o.accountIdFor === undefined) {
      throw new ContrailError("internal", "a vmcluster store needs accountIdFor (the org's accountID)");
    }
    this.o = o;
    let names: string[] = [];
    try {
      names = readdirSync(join(o.dataDir, REMOTE_QUEUE_DIR));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    for (const org of names) {
      if (ORG_ID_PATTERN.test(org)) this.orgQueue(org);
    }
  }

  /** The backend's kind, as `--storage` spells it (the `backend` label of the counters). */
  get backend(): RemoteStorageSpec["kind"] {
    return this.o.spec.kind;
  }

  /** The endpoints of `org` on the backend (its accountID allocated on first use with `vmcluster`). */
  endpoints(org: string): BackendEndpoints {
    return backendEndpoints(this.o.spec, org, this.o.spec.kind === "vmcluster" ? this.o.accountIdFor!(org) : 0);
  }

  /**
   * An appender whose `commit()` puts the batch in `org`'s queue: it reports every sample appended, or throws
   * `rate_limited` (queue full; nothing of the batch kept) or `unavailable` (the queue cannot be written).
   */
  appender(org: string): Appender {
    const q = this.orgQueue(org);
    return new QueueAppender({
      orgLabel: q.endpoints.orgLabel,
      sink: (samples, request) => {
        try {
          // Queued as a snappy block, as it is sent: a fifth of the disk and of the queue's bound, and a batch of
          // one record goes out without being touched again.
          q.queue.append(samples, this.snappy.encode(request));
        } catch (err) {
          this.refusedCommits++;
          throw err;
        }
        q.sender.notify();
      },
    });
  }

  /** Not served: reads go to the backend's query API. Throws `unavailable` saying so. */
  querier(org: string, _mint: number, _maxt: number): Querier {
    throw this.noReads(org);
  }

  /** A Queryable whose `querier` throws like {@link BackendTenantStore.querier}. */
  queryable(org: string): Queryable {
    return { querier: (mint, maxt) => this.querier(org, mint, maxt) };
  }

  /** Counters of the senders and the queues, all orgs together, labelled by backend (no org: /metrics is public). */
  families(): MetricFamily[] {
    const backend = Labels.fromStrings("backend", this.backend);
    let bytes = 0;
    let samples = 0;
    for (const { queue } of this.orgs.values()) {
      bytes += queue.pendingBytes;
      samples += queue.pendingSamples;
    }
    const c = this.counters;
    const one = (name: string, type: "counter" | "gauge", help: string, value: number): MetricFamily => ({
      name,
      type,
      help,
      samples: [{ labels: backend, value }],
    });
    const dropped = [...c.dropped].map(([reason, value]) => ({
      labels: Labels.fromStrings("backend", this.backend, "reason", reason),
      value,
    }));
    return [
      one("contrail_remote_storage_samples_sent_total", "counter", "Samples the storage backend acknowledged.", c.sent),
      one(
        "contrail_remote_storage_samples_retried_total",
        "counter",
        "Samples in remote-write requests that failed (network, 429, 5xx) and were sent again, once per attempt.",
        c.retried,
      ),
      one(
        "contrail_remote_storage_failed_requests_total",
        "counter",
        "Remote-write requests to the storage backend that failed and were retried.",
        c.failedRequests,
      ),
      {
        name: "contrail_remote_storage_samples_dropped_total",
        type: "counter",
        help:
          "Samples given up by reason (rejected: the backend answered a 4xx other than 429; corrupt: a queued " +
          "record that could not be decoded).",
        samples:
          dropped.length > 0
            ? dropped
            : [{ labels: Labels.fromStrings("backend", this.backend, "reason", "rejected"), value: 0 }],
      },
      one(
        "contrail_remote_storage_commits_refused_total",
        "counter",
        "Batches refused because their org's remote-write queue was full (back-pressure on writers).",
        this.refusedCommits,
      ),
      one(
        "contrail_remote_storage_queue_bytes",
        "gauge",
        "Bytes of queued batches not yet acknowledged by the backend, all orgs.",
        bytes,
      ),
      one(
        "contrail_remote_storage_queue_pending_samples",
        "gauge",
        "Samples queued and not yet acknowledged by the backend, all orgs.",
        samples,
      ),
    ];
  }

  /** Stops the senders (requests in flight abandoned, their batches kept) and closes the queues, fsynced. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.orgs.values()].map((q) => q.sender.stop()));
    for (const { queue } of this.orgs.values()) queue.close();
  }

  private orgQueue(org: string): OrgQueue {
    const known = this.orgs.get(org);
    if (known !== undefined) return known;
    if (this.closed) throw new ContrailError("unavailable", "the remote storage is closed");
    const name = `org ${JSON.stringify(org)}`;
    const ep = this.endpoints(validateOrgId(org));
    const queue = DiskQueue.open({
      dir: join(this.o.dataDir, REMOTE_QUEUE_DIR, org),
      maxBytes: this.o.queueMaxBytes,
      segmentBytes: this.o.segmentBytes,
      name,
      warn: this.o.warn,
    });
    const sender = new RemoteSender({
      ...this.o.sender,
      queue,
      writeUrl: ep.writeUrl,
      headers: ep.headers,
      name,
      counters: this.counters,
      warn: this.o.warn,
    });
    const q = { endpoints: ep, queue, sender };
    this.orgs.set(org, q);
    sender.start();
    return q;
  }

  private noReads(org: string): ContrailError {
    return new ContrailError(
      "unavailable",
      `org ${JSON.stringify(org)}'s samples are stored in ${this.backend}: reads go to the backend's query API ` +
        "over HTTP, not through the store that writes them",
    );
  }
}
