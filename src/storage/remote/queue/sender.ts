// Sends one org's queue to its storage backend by Prometheus remote write 1.0, one request at a time, in queue
// order. The queue's records are snappy-compressed `prometheus.WriteRequest`s. A batch of one record is sent as it
// is; a batch of several is decompressed and concatenated, which makes one valid WriteRequest again (protobuf merges
// repeated fields of concatenated messages), and compressed again. Requests carry the headers Prometheus sends.
//
// Batching: a request goes out when `maxSamplesPerSend` samples are waiting, or `batchWaitMs` after the first of
// them arrived (Prometheus's max_samples_per_send and batch_send_deadline). Outcome of a request:
//   2xx                  acknowledged in the queue, counted as sent.
//   429, 5xx, network    retried, the same batch, after an exponential backoff with jitter (or the Retry-After
//                        the backend asks for, up to MAX_RETRY_AFTER_MS), forever: the queue's bound is what
//                        pushes back on writers. Counted as retried on every failed attempt.
//   other 4xx            the backend will never take it: dropped (acknowledged) as Prometheus does, counted as
//                        dropped with reason "rejected" and logged with the backend's message.
// A stop while a request is in flight abandons it unacknowledged: it is sent again after the restart.

import { setTimeout as delay } from "node:timers/promises";
import { SnappyDecoder, SnappyEncoder, snappyDecodedLength } from "../../../tsdb/encoding/snappy.ts";
import type { DiskQueue, QueueBatch } from "./queue.ts";

/** The User-Agent of remote-write requests. */
export const REMOTE_WRITE_USER_AGENT = "Contrail-RemoteWrite/0.1";

/** Defaults of {@link SenderOptions}, ms and counts; Prometheus's own where it has one. */
export const SENDER_DEFAULTS = {
  maxSamplesPerSend: 2_000,
  /** Queued (compressed) bytes of the records merged into one request, at most; a larger record goes alone. */
  maxBytesPerSend: 8 * 1024 * 1024,
  batchWaitMs: 5_000,
  minBackoffMs: 30,
  maxBackoffMs: 5_000,
  timeoutMs: 30_000,
} as const;

/** The longest Retry-After honoured, ms: a backend asking for more is retried after this. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** Decompression buffer a sender keeps between batches, bytes; a larger record gets a buffer of its own. */
const RETAINED_DECODE_BYTES = 4 * 1024 * 1024;

/** Longest piece of a backend's error body quoted in a log line, characters. */
const MAX_QUOTED_BODY = 512;

/** Counters of one backend's senders, shared by every org's sender (the public /metrics names no org). */
export class SenderCounters {
  /** Samples the backend acknowledged. */
  sent = 0;
  /** Samples in requests that failed and were tried again, once per failed attempt. */
  retried = 0;
  /** Requests that failed (network, 429, 5xx) and were tried again. */
  failedRequests = 0;
  /** Samples given up, by reason ("rejected": a 4xx other than 429; "corrupt": a queued record not decodable). */
  readonly dropped = new Map<string, number>();

  /** Adds `n` dropped samples under `reason`. */
  drop(reason: string, n: number): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }
}

/** Options of a {@link RemoteSender}. Times in ms. */
export interface SenderOptions {
  /** The org's queue; the sender is its only reader. */
  readonly queue: DiskQueue;
  /** Where requests go and their extra headers (the tenant header of multi-tenant backends). */
  readonly writeUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Names the queue in log lines, e.g. `org "acme"`. */
  readonly name: string;
  readonly counters: SenderCounters;
  readonly warn: (line: string) => void;
  readonly maxSamplesPerSend?: number;
  readonly maxBytesPerSend?: number;
  readonly batchWaitMs?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Per request. */
  readonly timeoutMs?: number;
  /** Jitter source in [0, 1); tests pass a fixed one. */
  readonly random?: () => number;
}

/** What one request's answer means for its batch. */
type Attempt =
  | { kind: "sent" }
  | { kind: "retry"; afterMs: number | null; why: string }
  | { kind: "drop"; why: string };

/** Resolves after `ms` or as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => {});
}

/** A Retry-After header as a wait in ms (seconds or an HTTP date), or null when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const text = value.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (!Number.isFinite(ms)) return null;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** Sends one org's queue until stopped. Make it, `start()` it, `notify()` it after every append, `stop()` it. */
export class RemoteSender {
  private readonly o: SenderOptions;
  private readonly maxSamples: number;
  private readonly snappy = new SnappyEncoder();
  private readonly unsnappy = new SnappyDecoder({ maxRetainedBytes: RETAINED_DECODE_BYTES });
  private readonly stopping = new AbortController();
  private wake: (() => void) | null = null;
  /** When the oldest unread sample arrived (ms, monotonic enough: Date.now), null when none is waiting. */
  private firstUnreadAt: number | null = null;
  private loop: Promise<void> | null = null;

  constructor(o: SenderOptions) {
    this.o = o;
    this.maxSamples = o.maxSamplesPerSend ?? SENDER_DEFAULTS.maxSamplesPerSend;
  }

  /** Starts sending (what is already queued first). */
  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      this.o.warn(`remote write of ${this.o.name} stopped: ${(err as Error).stack ?? err}`);
    });
  }

  /** Says records were appended to the queue. */
  notify(): void {
    this.firstUnreadAt ??= Date.now();
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Stops: a request in flight is abandoned (its batch stays queued); resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** Resolves at the next `notify()`, after `ms` (when given), or at stop. */
  private nap(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === null ? null : setTimeout(() => finish(), ms);
      const finish = () => {
        if (timer !== null) clearTimeout(timer);
        if (this.wake === finish) this.wake = null;
        resolve();
      };
      this.wake = finish;
      if (this.stopped) finish();
    });
  }

  private async run(): Promise<void> {
    const q = this.o.queue;
    const batchWaitMs = this.o.batchWaitMs ?? SENDER_DEFAULTS.batchWaitMs;
    const limits = { maxSamples: this.maxSamples, maxBytes: this.o.maxBytesPerSend ?? SENDER_DEFAULTS.maxBytesPerSend };
    if (q.unreadSamples > 0) this.firstUnreadAt = Date.now();
    while (!this.stopped) {
      if (q.unreadSamples === 0) {
        this.firstUnreadAt = null;
        // A batch may still be there with no samples counted (a record of only skipped damage): read it below.
        const batch = q.read(limits);
        if (batch !== null) q.ack(batch);
        await this.nap(null);
        continue;
      }
      const waited = Date.now() - (this.firstUnreadAt ?? Date.now());
      if (q.unreadSamples < this.maxSamples && waited < batchWaitMs) {
        await this.nap(batchWaitMs - waited);
        continue;
      }
      const batch = q.read(limits);
      this.firstUnreadAt = q.unreadSamples > 0 ? Date.now() : null;
      if (batch === null) continue;
      if (batch.payloads.length === 0 || (await this.deliver(batch))) q.ack(batch);
    }
  }

  /** Sends `batch` until the backend takes or refuses it (true), or the sender stops (false). */
  private async deliver(batch: QueueBatch): Promise<boolean> {
    let body: Uint8Array;
    try {
      body = batch.payloads.length === 1 ? batch.payloads[0] : this.merge(batch.payloads);
    } catch (err) {
      // Checksummed on disk, so only a record written wrong gets here: it can never be sent, so it is dropped.
      this.o.counters.drop("corrupt", batch.samples);
      this.o.warn(`remote write of ${this.o.name}: ${batch.samples} queued samples dropped: ${(err as Error).message}`);
      return true;
    }
    const minBackoff = this.o.minBackoffMs ?? SENDER_DEFAULTS.minBackoffMs;
    const maxBackoff = this.o.maxBackoffMs ?? SENDER_DEFAULTS.maxBackoffMs;
    const random = this.o.random ?? Math.random;
    for (let failures = 0; !this.stopped; failures++) {
      const a = await this.attempt(body);
      if (this.stopped) return false;
      switch (a.kind) {
        case "sent":
          this.o.counters.sent += batch.samples;
          if (failures > 0) this.o.warn(`remote write of ${this.o.name}: delivered after ${failures} failed attempts`);
          return true;
        case "drop":
          this.o.counters.drop("rejected", batch.samples);
          this.o.warn(`remote write of ${this.o.name}: backend refused ${batch.samples} samples, dropped: ${a.why}`);
          return true;
        case "retry": {
          this.o.counters.retried += batch.samples;
          this.o.counters.failedRequests++;
          // Full backoff doubles per failure; jitter takes it anywhere in its upper half, so senders spread out.
          const backoff = Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures, 30));
          const wait = a.afterMs ?? backoff / 2 + (random() * backoff) / 2;
          if (failures === 0) {
            this.o.warn(`remote write of ${this.o.name}: ${a.why}; retrying ${batch.samples} samples with backoff`);
          }
          await sleep(wait, this.stopping.signal);
        }
      }
    }
    return false;
  }

  /** One snappy block of the concatenated WriteRequests of several snappy blocks. */
  private merge(blocks: readonly Uint8Array[]): Uint8Array {
    const plain = new Uint8Array(blocks.reduce((n, b) => n + snappyDecodedLength(b), 0));
    let at = 0;
    for (const b of blocks) {
      const d = this.unsnappy.decode(b);
      plain.set(d, at);
      at += d.length;
    }
    return this.snappy.encodeCopy(plain);
  }

  private async attempt(body: Uint8Array): Promise<Attempt> {
    let r: Response;
    try {
      r = await fetch(this.o.writeUrl, {
        method: "POST",
        headers: {
          ...this.o.headers,
          "content-encoding": "snappy",
          "content-type": "application/x-protobuf",
          "user-agent": REMOTE_WRITE_USER_AGENT,
          "x-prometheus-remote-write-version": "0.1.0",
        },
        body,
        redirect: "manual",
        signal: AbortSignal.any([
          this.stopping.signal,
          AbortSignal.timeout(this.o.timeoutMs ?? SENDER_DEFAULTS.timeoutMs),
        ]),
      });
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause;
      return {
        kind: "retry",
        afterMs: null,
        why: `POST ${this.o.writeUrl}: ${cause?.message ?? (err as Error).message}`,
      };
    }
    let text = "";
    try {
      text = r.ok ? "" : (await r.text()).slice(0, MAX_QUOTED_BODY);
    } catch {
      // The status alone decides; the body only explains.
    }
    if (r.ok) {
      await r.body?.cancel();
      return { kind: "sent" };
    }
    const why = `POST ${this.o.writeUrl}: HTTP ${r.status}${text === "" ? "" : `: ${text.trim()}`}`;
    if (r.status === 429 || r.status >= 500) {
      return { kind: "retry", afterMs: retryAfterMs(r.headers.get("retry-after")), why };
    }
    return { kind: "drop", why };
  }
}
