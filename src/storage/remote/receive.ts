// The remote-write receiver: checks a request's headers and size, decompresses it, decodes it straight into one
// appender batch, commits, and says what happened as a status for the sender. Every limit (model/limits.ts, per
// org) is checked before the work it bounds: the compressed size before anything, the size the snappy header
// declares before decompressing, series counts before decoding, label counts and lengths before any string is
// built.
//
// Status contract (Remote-Write 1.0 and 2.0 specs):
//   204  every sample written.
//   400  the request cannot succeed as sent: not protobuf, not snappy, a body of the other protocol version than
//        its Content-Type declares, a 2.0 symbol table not starting with "" (nothing written); or a partial write:
//        invalid series (labels, or over a label limit), new series over the org's max_active_series (as Mimir's
//        per-tenant series limit: 400, the request's other series written), invalid native histograms, native
//        histograms for a store that keeps none, out-of-order, duplicate or out-of-bounds samples, refused
//        metadata, while the rest WAS committed. The message counts what was refused and why. Senders do not retry
//        a 4xx, so nothing is written twice.
//   413  body (compressed, or as declared by its snappy header) or its series or sample count over the limits;
//   415  not `snappy`, or an unknown `proto=`. Nothing written.
//   429  the org's ingestion rate is exceeded (`admit` refused), or its remote-storage queue is full (the commit
//        refused with `rate_limited`): nothing written, retry after `retryAfterMs`.
//   503  storage unavailable, 500  storage failure: nothing written (the batch is rolled back or failed to commit as
//        a whole), and the sender retries. With an ingest decode pool (receive-offload.ts), also 503 with a
//        Retry-After when the pool is full or the worker holding the request failed: nothing written.
// 2.0 answers carry X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written with the counts written.

import type { MetricType } from "../../exposition/types.ts";
import { type ContrailError, type ErrorCode, isContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import { DEFAULT_ORG_LIMITS, limitName, type OrgLimits } from "../../model/limits.ts";
import { SnappyDecoder, snappyMaxEncodedLength } from "../../tsdb/encoding/snappy.ts";
import { rejectedCount } from "../commit.ts";
import type { Appender, CommitReport, SeriesRef } from "../interface.ts";
import { WriteRequestV1Decoder } from "./codec-v1.ts";
import type { WalkedV1 } from "./codec-v1-walk.ts";
import { RequestV2Decoder } from "./codec-v2.ts";
import { decompressWrite, type EarlyRefusal, isEarlyRefusal } from "./decompress.ts";
import type { MetadataStore } from "./metadata.ts";
import { QUEUE_FULL_RETRY_AFTER_MS } from "./queue/queue.ts";
import { NO_SERIES_REF, type RefSlot, type SeriesCacheOptions } from "./series-cache.ts";
import { type DecodeLimits, PROTO_NAMES, type SeriesCounts, type WriteProto, type WriteSink } from "./types.ts";

/** The limits the receiver enforces (model/limits.ts): the decoder's, the body size, future samples, metadata. */
export type ReceiveLimits = DecodeLimits &
  Pick<
    OrgLimits,
    "maxWriteBytes" | "creationGracePeriodMs" | "maxMetadataFamilies" | "ingestionRate" | "ingestionBurstSize"
  >;

/** The default limits. */
export const DEFAULT_RECEIVE_LIMITS: ReceiveLimits = DEFAULT_ORG_LIMITS;

/**
 * The largest compressed body accepted under `limits`, bytes: what snappy can make of the largest decompressed
 * body at worst (incompressible input grows by a sixth).
 */
export function maxCompressedBytes(limits: Pick<ReceiveLimits, "maxWriteBytes">): number {
  return snappyMaxEncodedLength(limits.maxWriteBytes);
}

/** Counts of one request: what was written and what was refused. */
export interface WriteStats {
  /** Float samples written (an exact repeat of a stored sample counts as written: resending is idempotent). */
  readonly samplesWritten: number;
  /** Float samples refused (invalid series, out of order, duplicate, out of bounds, too far in the future). */
  readonly samplesRejected: number;
  /** Native histogram samples written. */
  readonly histogramsWritten: number;
  /** Native histogram samples refused (invalid, no histogram storage, the same reasons as float samples). */
  readonly histogramsRejected: number;
  /** Exemplars received and not stored (no exemplar storage yet). */
  readonly exemplarsDropped: number;
}

const NO_STATS: WriteStats = {
  samplesWritten: 0,
  samplesRejected: 0,
  histogramsWritten: 0,
  histogramsRejected: 0,
  exemplarsDropped: 0,
};

/** What the receiver answers. `proto` is null when the request was refused before its message type was known. */
export type WriteOutcome =
  | { readonly kind: "written"; readonly status: 204; readonly proto: WriteProto; readonly stats: WriteStats }
  | {
      readonly kind: "partial";
      readonly status: 400;
      readonly proto: WriteProto;
      readonly stats: WriteStats;
      readonly code: ErrorCode;
      readonly message: string;
    }
  | {
      readonly kind: "refused";
      readonly status: 400 | 413 | 415 | 429 | 500 | 503;
      readonly proto: WriteProto | null;
      readonly stats: WriteStats;
      readonly code: ErrorCode;
      readonly message: string;
      /** 429, and 503 of a busy or failed decode pool: how long the sender should wait before retrying, ms. */
      readonly retryAfterMs?: number;
    };

/** The response headers an outcome calls for: the 2.0 written counts (only when the request was 2.0). */
export function outcomeHeaders(o: WriteOutcome): Record<string, string> {
  if (o.proto !== "v2") return {};
  return {
    "x-prometheus-remote-write-samples-written": String(o.stats.samplesWritten),
    "x-prometheus-remote-write-histograms-written": String(o.stats.histogramsWritten),
    "x-prometheus-remote-write-exemplars-written": "0",
  };
}

/** Decoding state reused across requests: decoders with their scratch buffers and series cache. One per server. */
export class ReceiverState {
  readonly v1: WriteRequestV1Decoder;
  readonly v2 = new RequestV2Decoder();

  /** A state whose 1.0 series cache has the limits `seriesCache` (defaults: series-cache.ts). */
  constructor(seriesCache: SeriesCacheOptions = {}) {
    this.v1 = new WriteRequestV1Decoder(seriesCache);
  }

  /** Keeps up to 8 MiB of decompression buffer between requests; larger bodies get a buffer of their own. */
  readonly snappy = new SnappyDecoder({ maxRetainedBytes: 8 * 1024 * 1024 });
}

/** Request headers as node:http gives them (lower-case names). */
export type WriteHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** Options of {@link receiveWrite}. */
export interface ReceiveOptions {
  /** The org written to (for metadata). */
  readonly org: string;
  /** Decoders to reuse; a fresh set when absent. */
  readonly state?: ReceiverState;
  /** Where metadata goes; dropped when absent. */
  readonly metadata?: MetadataStore;
  /** The org's limits; DEFAULT_RECEIVE_LIMITS for those absent. */
  readonly limits?: Partial<ReceiveLimits>;
  /** The clock (ms since the epoch), for the future-timestamp limit. */
  readonly now?: () => number;
  /**
   * Admission of a decoded request's `samples` (the valid ones, about to be committed): 0 admits them, a positive
   * number refuses the request with 429 and is the wait in ms (an ingestion rate limit). Admits all when absent.
   */
  readonly admit?: (samples: number) => number;
}

function header(h: WriteHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(",") : v;
}

/** The message a Content-Type names, or the reason it is unsupported. Missing means 1.0, as Prometheus reads it. */
export function protoOfContentType(contentType: string | undefined): WriteProto | { readonly unsupported: string } {
  if (contentType === undefined || contentType.trim() === "") return "v1";
  const [media, ...params] = contentType.split(";");
  if (media.trim().toLowerCase() !== "application/x-protobuf") {
    return { unsupported: `unsupported Content-Type ${JSON.stringify(contentType)}: expected application/x-protobuf` };
  }
  let proto = PROTO_NAMES.v1;
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== "proto") continue;
    proto = p
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1");
  }
  if (proto === PROTO_NAMES.v1) return "v1";
  if (proto === PROTO_NAMES.v2) return "v2";
  return {
    unsupported: `unsupported proto ${JSON.stringify(proto)}: expected ${PROTO_NAMES.v1} or ${PROTO_NAMES.v2}`,
  };
}

function refused(
  status: 400 | 413 | 415 | 429 | 500 | 503,
  proto: WriteProto | null,
  code: ErrorCode,
  message: string,
): WriteOutcome {
  return { kind: "refused", status, proto, stats: NO_STATS, code, message };
}

// A storage error as a refusal: unavailable storage is worth a retry (503), a failed commit too (500), a full
// remote-write queue after a pause (429).
function storageRefusal(proto: WriteProto, err: unknown): WriteOutcome {
  const message = err instanceof Error ? err.message : String(err);
  if (isContrailError(err, "unavailable")) return refused(503, proto, "unavailable", message);
  if (isContrailError(err, "rate_limited")) {
    const retryAfterMs = QUEUE_FULL_RETRY_AFTER_MS;
    return { kind: "refused", status: 429, proto, stats: NO_STATS, code: "rate_limited", message, retryAfterMs };
  }
  if (isContrailError(err, "bad_data")) return refused(400, proto, "bad_data", message);
  return refused(500, proto, isContrailError(err) ? err.code : "internal", `storage failure: ${message}`);
}

/**
 * The checks of a request that need neither its body's contents nor any storage: its Content-Type and
 * Content-Encoding, and the compressed size under `limits`. Returns the message the body holds, or the refusal.
 */
export function checkWrite(
  bodyLength: number,
  headers: WriteHeaders,
  limits: Pick<ReceiveLimits, "maxWriteBytes">,
): WriteProto | (EarlyRefusal & { readonly proto: WriteProto | null }) {
  const proto = protoOfContentType(header(headers, "content-type"));
  if (typeof proto !== "string") return { status: 415, proto: null, code: "bad_data", message: proto.unsupported };
  const encoding = header(headers, "content-encoding")?.trim().toLowerCase();
  if (encoding !== "snappy") {
    const got = encoding === undefined || encoding === "" ? "no Content-Encoding" : `Content-Encoding ${encoding}`;
    const message = `unsupported ${got}: remote write bodies must be snappy-compressed`;
    return { status: 415, proto, code: "bad_data", message };
  }
  const maxBody = maxCompressedBytes(limits);
  if (bodyLength > maxBody) {
    return {
      status: 413,
      proto,
      code: "too_large",
      message:
        `body of ${bodyLength} bytes exceeds ${maxBody}, the most a snappy body within the limit of ` +
        `${limits.maxWriteBytes} decompressed bytes can take (${limitName("maxWriteBytes")})`,
    };
  }
  return proto;
}

/** The outcome of a refusal before decoding (`retryAfterMs`: a 503 of a busy decode pool), for a request of `proto`. */
export function earlyOutcome(
  r: EarlyRefusal | (Omit<EarlyRefusal, "status"> & { readonly status: 503; readonly retryAfterMs: number }),
  proto: WriteProto | null,
): WriteOutcome {
  const retryAfterMs = "retryAfterMs" in r ? r.retryAfterMs : undefined;
  return { kind: "refused", status: r.status, proto, stats: NO_STATS, code: r.code, message: r.message, retryAfterMs };
}

/**
 * Handles one remote-write request: `body` as received (compressed), its headers, and `appender`, called at most
 * once, when the first valid series is to be written (a refused request never opens the org's storage). Never
 * throws for anything the sender or the storage did; the outcome says what to answer.
 */
export function receiveWrite(
  body: Uint8Array,
  headers: WriteHeaders,
  appender: () => Appender,
  opts: ReceiveOptions,
): WriteOutcome {
  const limits: ReceiveLimits = { ...DEFAULT_RECEIVE_LIMITS, ...opts.limits };
  const state = opts.state ?? new ReceiverState();
  const proto = checkWrite(body.length, headers, limits);
  if (typeof proto !== "string") return earlyOutcome(proto, proto.proto);
  const message = decompressWrite(body, limits.maxWriteBytes, state.snappy);
  if (isEarlyRefusal(message)) return earlyOutcome(message, proto);
  return receiveMessage(message, proto, appender, opts);
}

/**
 * The rest of {@link receiveWrite} once the body is decompressed: decodes the `proto` message `message` into one
 * appender batch (from `walked`, its walk by codec-v1-walk.ts on the decode worker `source`, when given), admits and
 * commits it, and stores its metadata. Runs on the thread that owns the org's storage.
 */
export function receiveMessage(
  message: Uint8Array,
  proto: WriteProto,
  appender: () => Appender,
  opts: ReceiveOptions,
  walked: WalkedV1 | null = null,
  source = -1,
): WriteOutcome {
  const limits: ReceiveLimits = { ...DEFAULT_RECEIVE_LIMITS, ...opts.limits };
  const state = opts.state ?? new ReceiverState();
  const sink = new AppendSink(appender, (opts.now ?? Date.now)() + limits.creationGracePeriodMs);
  try {
    if (walked !== null && proto === "v1") state.v1.decodeWalked(message, walked, sink, limits, source);
    else if (proto === "v1") state.v1.decode(message, sink, limits);
    else state.v2.decode(message, sink, limits);
  } catch (err) {
    sink.rollback();
    if (isContrailError(err, "bad_data")) return refused(400, proto, "bad_data", err.message);
    if (isContrailError(err, "too_large")) return refused(413, proto, "too_large", err.message);
    return storageRefusal(proto, err);
  }
  const wait = sink.pending > 0 && opts.admit !== undefined ? opts.admit(sink.pending) : 0;
  if (wait > 0) {
    sink.rollback();
    const message =
      `ingestion rate limit exceeded: the org may send ${limits.ingestionRate} samples per second ` +
      `(${limitName("ingestionRate")}) in bursts of up to ${limits.ingestionBurstSize} ` +
      `(${limitName("ingestionBurstSize")}); none of the request's ${sink.pending} samples were written, ` +
      `retry in ${Math.ceil(wait / 1000)} s`;
    return { kind: "refused", status: 429, proto, stats: NO_STATS, code: "rate_limited", message, retryAfterMs: wait };
  }
  let report: CommitReport;
  try {
    report = sink.commit();
  } catch (err) {
    return storageRefusal(proto, err);
  }
  if (opts.metadata !== undefined) sink.applyMetadata(opts.metadata, opts.org, limits.maxMetadataFamilies);
  return sink.outcome(proto, report);
}

/** The commit report of a request that appended nothing. */
const NOTHING_COMMITTED: CommitReport = {
  appended: 0,
  outOfOrder: 0,
  duplicate: 0,
  outOfBounds: 0,
  firstRejection: null,
};

/** A WriteSink appending to one appender (opened at the first valid series), counting everything it refuses. */
class AppendSink implements WriteSink {
  private readonly open: () => Appender;
  private app: Appender | null = null;
  private readonly maxT: number;
  /** The current series' labels; null until asked of its slot (see `seriesLabels`). */
  private labels: Labels | null = null;
  private slot: RefSlot | null = null;
  private ref: SeriesRef | typeof NO_SERIES_REF = NO_SERIES_REF;
  private appended = 0;
  private invalidSeries_ = 0;
  private invalidSamples = 0;
  /** Histogram samples appended, refused as invalid, of series refused as invalid, refused for want of storage. */
  private histAppended = 0;
  private histInvalid = 0;
  private histOfInvalidSeries = 0;
  private histUnsupported = 0;
  /** Histogram samples too far in the future, or of a series refused by the series limit. */
  private histTooNew = 0;
  private histLimited = 0;
  private tooNew = 0;
  /** Series of the request refused by the org's series limit, and their samples. */
  private limitedSeries = 0;
  private limitedSamples = 0;
  /** The current series was refused by the series limit: its further samples are refused too. */
  private limitedNow = false;
  private firstLimit: ContrailError | null = null;
  private exemplars = 0;
  private metadataRefused = 0;
  private firstProblem: string | null = null;
  // Metadata as flat (name, type, help, unit) quadruples, applied only once the batch is committed.
  private readonly meta: string[] = [];

  constructor(open: () => Appender, maxT: number) {
    this.open = open;
    this.maxT = maxT;
  }

  /** Samples (float and histogram) appended and not yet committed. */
  get pending(): number {
    return this.appended + this.histAppended;
  }

  /** Rolls back what was appended, if anything. */
  rollback(): void {
    this.app?.rollback();
  }

  /** Commits what was appended; a report of nothing when no series was valid. */
  commit(): CommitReport {
    return this.app === null ? NOTHING_COMMITTED : this.app.commit();
  }

  series(labels: Labels | null, counts: Readonly<SeriesCounts>, slot?: RefSlot): boolean {
    this.exemplars += counts.exemplars;
    this.labels = labels;
    this.slot = slot ?? null;
    this.ref = NO_SERIES_REF;
    this.limitedNow = false;
    return true;
  }

  sample(t: number, v: number): void {
    if (t > this.maxT || !Number.isSafeInteger(t)) {
      this.tooNew++;
      this.firstProblem ??= `series ${this.seriesLabels().toString()}: sample at ${t} is too far in the future`;
      return;
    }
    if (this.limitedNow) {
      this.limitedSamples++;
      return;
    }
    this.app ??= this.open();
    if (this.ref !== NO_SERIES_REF) this.app.appendRef(this.ref, t, v);
    else {
      try {
        this.ref = this.firstAppend(this.app, t, v);
      } catch (err) {
        // As Mimir: a new series over the org's limit is refused, the request's other series are still written.
        if (!isContrailError(err, "series_limit")) throw err;
        this.limitedNow = true;
        this.limitedSeries++;
        this.limitedSamples++;
        this.firstLimit ??= err;
        return;
      }
    }
    this.appended++;
  }

  // The current series' labels, decoded from its slot when the decoder announced it without them.
  private seriesLabels(): Labels {
    this.labels ??= (this.slot as RefSlot).labels();
    return this.labels;
  }

  // The series' first sample of the request: by the ref its slot kept when that ref is of this appender's store
  // and the store still knows it (a series may have been removed since), by labels otherwise, keeping the new ref.
  private firstAppend(app: Appender, t: number, v: number): SeriesRef {
    const slot = this.slot;
    const scope = app.refScope;
    if (slot !== null && scope !== undefined && slot.scope === scope && slot.ref !== NO_SERIES_REF) {
      try {
        return app.appendRef(slot.ref, t, v);
      } catch (err) {
        if (!isContrailError(err, "not_found")) throw err;
      }
    }
    const ref = app.append(this.seriesLabels(), t, v);
    if (slot !== null && scope !== undefined) {
      slot.scope = scope;
      slot.ref = ref;
    }
    return ref;
  }

  histogram(t: number, h: Histogram): void {
    if (t > this.maxT || !Number.isSafeInteger(t)) {
      this.histTooNew++;
      this.firstProblem ??= `series ${this.seriesLabels().toString()}: histogram sample at ${t} is too far in the future`;
      return;
    }
    if (this.limitedNow) {
      this.histLimited++;
      return;
    }
    this.app ??= this.open();
    const app = this.app;
    if (app.appendHistogram === undefined) {
      this.histUnsupported++;
      this.firstProblem ??=
        `series ${this.seriesLabels().toString()}: native histogram samples cannot be stored: ` +
        "this storage keeps float samples only";
      return;
    }
    try {
      if (this.ref !== NO_SERIES_REF && app.appendHistogramRef !== undefined) {
        app.appendHistogramRef(this.ref, t, h);
      } else this.ref = app.appendHistogram(this.seriesLabels(), t, h);
    } catch (err) {
      if (!isContrailError(err, "series_limit")) throw err;
      this.limitedNow = true;
      this.limitedSeries++;
      this.histLimited++;
      this.firstLimit ??= err;
      return;
    }
    this.histAppended++;
  }

  invalidHistogram(reason: string): void {
    this.histInvalid++;
    this.firstProblem ??= reason;
  }

  invalidSeries(reason: string, counts: Readonly<SeriesCounts>): void {
    this.invalidSeries_++;
    this.invalidSamples += counts.samples;
    this.histOfInvalidSeries += counts.histograms;
    this.exemplars += counts.exemplars;
    this.firstProblem ??= reason;
  }

  metadata(name: string, type: MetricType, help: string, unit: string): void {
    this.meta.push(name, type, help, unit);
  }

  invalidMetadata(reason: string): void {
    this.metadataRefused++;
    this.firstProblem ??= reason;
  }

  /** Stores the received metadata in `org`, keeping at most `maxFamilies` families there. */
  applyMetadata(store: MetadataStore, org: string, maxFamilies: number): void {
    const m = this.meta;
    for (let i = 0; i < m.length; i += 4) {
      store.set(org, m[i], m[i + 1] as MetricType, m[i + 2], m[i + 3], maxFamilies);
    }
  }

  outcome(proto: WriteProto, report: CommitReport): WriteOutcome {
    // The store's report does not say which kind its rejections were: they are counted against the float samples
    // as far as those go, then against the histograms.
    const storeRejected = rejectedCount(report);
    const floatsRejectedByStore = Math.min(storeRejected, this.appended);
    const histogramsRejectedByStore = storeRejected - floatsRejectedByStore;
    const stats: WriteStats = {
      samplesWritten: this.appended - floatsRejectedByStore,
      samplesRejected: this.invalidSamples + this.tooNew + this.limitedSamples + floatsRejectedByStore,
      histogramsWritten: this.histAppended - histogramsRejectedByStore,
      histogramsRejected:
        this.histInvalid +
        this.histOfInvalidSeries +
        this.histUnsupported +
        this.histTooNew +
        this.histLimited +
        histogramsRejectedByStore,
      exemplarsDropped: this.exemplars,
    };
    if (stats.samplesRejected === 0 && stats.histogramsRejected === 0 && this.metadataRefused === 0) {
      return { kind: "written", status: 204, proto, stats };
    }
    const parts: string[] = [];
    if (this.metadataRefused > 0) parts.push(`${this.metadataRefused} metadata entries refused`);
    if (this.invalidSeries_ > 0) parts.push(`${this.invalidSeries_} series with invalid labels`);
    if (this.histUnsupported > 0) {
      parts.push(`${this.histUnsupported} native histogram samples (this storage keeps none)`);
    }
    if (this.tooNew + this.histTooNew > 0) parts.push(`${this.tooNew + this.histTooNew} too far in the future`);
    if (this.limitedSeries > 0) {
      parts.push(
        `${this.limitedSeries} new series over the series limit (${this.limitedSamples + this.histLimited} samples)`,
      );
    }
    if (report.outOfOrder > 0) parts.push(`${report.outOfOrder} out of order`);
    if (report.duplicate > 0) parts.push(`${report.duplicate} duplicate`);
    if (report.outOfBounds > 0) parts.push(`${report.outOfBounds} out of bounds`);
    if (this.histInvalid > 0) parts.push(`${this.histInvalid} invalid native histograms`);
    const first = this.firstProblem ?? this.firstLimit?.message ?? report.firstRejection?.message ?? "";
    const total = stats.samplesRejected + stats.samplesWritten;
    const histos =
      stats.histogramsRejected > 0
        ? ` and ${stats.histogramsRejected} of ${stats.histogramsRejected + stats.histogramsWritten} histogram samples`
        : "";
    const message =
      `partial write: ${stats.samplesRejected} of ${total} samples${histos} rejected, ` +
      `${stats.samplesWritten} written${stats.histogramsWritten > 0 ? ` (and ${stats.histogramsWritten} histogram samples)` : ""} ` +
      `(${parts.join(", ")}); first: ${first}`;
    const code: ErrorCode =
      this.firstProblem !== null ? "bad_data" : (this.firstLimit?.code ?? report.firstRejection?.code ?? "bad_data");
    return { kind: "partial", status: 400, proto, stats, code, message };
  }
}
