// The remote-write receiver: checks a request's headers and size, decompresses it, decodes it straight into one
// appender batch, commits, and says what happened as a status for the sender.
//
// Status contract (Remote-Write 1.0 and 2.0 specs):
//   204  every sample written.
//   400  the request cannot succeed as sent: not protobuf, not snappy (nothing written); or a partial write:
//        invalid series (labels), native histograms (not supported yet), out-of-order, duplicate or out-of-bounds
//        samples were refused while the rest WAS committed. The message counts what was refused and why. Senders do
//        not retry a 4xx, so nothing is written twice.
//   413  body (compressed or as declared by its snappy header) over the limits; 415  not `snappy`, or an unknown
//        `proto=`. Nothing written.
//   503  storage unavailable, 500  storage failure: nothing written (the batch is rolled back or failed to commit as
//        a whole), and the sender retries.
// 2.0 answers carry X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written with the counts written.

import type { MetricType } from "../../exposition/types.ts";
import { type ErrorCode, isContrailError } from "../../model/errors.ts";
import type { Labels } from "../../model/labels.ts";
import { SnappyDecoder, snappyDecodedLength } from "../../tsdb/encoding/snappy.ts";
import { rejectedCount } from "../commit.ts";
import type { Appender, CommitReport, SeriesRef } from "../interface.ts";
import { WriteRequestV1Decoder } from "./codec-v1.ts";
import { RequestV2Decoder } from "./codec-v2.ts";
import type { MetadataStore } from "./metadata.ts";
import { PROTO_NAMES, type SeriesCounts, type WriteProto, type WriteSink } from "./types.ts";

/** Size and time limits of the receiver. */
export interface ReceiveLimits {
  /** Largest compressed body, bytes. Default 32 MiB. */
  readonly maxCompressedBytes: number;
  /** Largest decompressed body (as the snappy header declares it, checked before allocating), bytes. 256 MiB. */
  readonly maxDecompressedBytes: number;
  /** Samples more than this far ahead of the receiver's clock are refused as out of bounds, ms. 10 min. */
  readonly maxFutureMs: number;
}

/** The default limits. */
export const DEFAULT_RECEIVE_LIMITS: ReceiveLimits = {
  maxCompressedBytes: 32 * 1024 * 1024,
  maxDecompressedBytes: 256 * 1024 * 1024,
  maxFutureMs: 10 * 60_000,
};

/** Counts of one request: what was written and what was refused. */
export interface WriteStats {
  /** Float samples written (an exact repeat of a stored sample counts as written: resending is idempotent). */
  readonly samplesWritten: number;
  /** Float samples refused (invalid series, out of order, duplicate, out of bounds, too far in the future). */
  readonly samplesRejected: number;
  /** Native histogram samples refused (not supported yet). */
  readonly histogramsRejected: number;
  /** Exemplars received and not stored (no exemplar storage yet). */
  readonly exemplarsDropped: number;
}

const NO_STATS: WriteStats = { samplesWritten: 0, samplesRejected: 0, histogramsRejected: 0, exemplarsDropped: 0 };

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
      readonly status: 400 | 413 | 415 | 500 | 503;
      readonly proto: WriteProto | null;
      readonly stats: WriteStats;
      readonly code: ErrorCode;
      readonly message: string;
    };

/** The response headers an outcome calls for: the 2.0 written counts (only when the request was 2.0). */
export function outcomeHeaders(o: WriteOutcome): Record<string, string> {
  if (o.proto !== "v2") return {};
  return {
    "x-prometheus-remote-write-samples-written": String(o.stats.samplesWritten),
    "x-prometheus-remote-write-histograms-written": "0",
    "x-prometheus-remote-write-exemplars-written": "0",
  };
}

/** Decoding state reused across requests: decoders with their scratch buffers and label cache. One per server. */
export class ReceiverState {
  readonly v1 = new WriteRequestV1Decoder();
  readonly v2 = new RequestV2Decoder();
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
  readonly limits?: Partial<ReceiveLimits>;
  /** The clock (ms since the epoch), for the future-timestamp limit. */
  readonly now?: () => number;
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
  status: 400 | 413 | 415 | 500 | 503,
  proto: WriteProto | null,
  code: ErrorCode,
  message: string,
): WriteOutcome {
  return { kind: "refused", status, proto, stats: NO_STATS, code, message };
}

// A storage error as a refusal: unavailable storage is worth a retry (503), a failed commit too (500).
function storageRefusal(proto: WriteProto, err: unknown): WriteOutcome {
  const message = err instanceof Error ? err.message : String(err);
  if (isContrailError(err, "unavailable")) return refused(503, proto, "unavailable", message);
  if (isContrailError(err, "bad_data")) return refused(400, proto, "bad_data", message);
  return refused(500, proto, isContrailError(err) ? err.code : "internal", `storage failure: ${message}`);
}

/**
 * Handles one remote-write request: `body` as received (compressed), its headers, and `appender`, called once when
 * the request is acceptable so far (a refused request never opens the org's storage). Never throws for anything the
 * sender or the storage did; the outcome says what to answer.
 */
export function receiveWrite(
  body: Uint8Array,
  headers: WriteHeaders,
  appender: () => Appender,
  opts: ReceiveOptions,
): WriteOutcome {
  const limits = { ...DEFAULT_RECEIVE_LIMITS, ...opts.limits };
  const state = opts.state ?? new ReceiverState();
  const proto = protoOfContentType(header(headers, "content-type"));
  if (typeof proto !== "string") return refused(415, null, "bad_data", proto.unsupported);
  const encoding = header(headers, "content-encoding")?.trim().toLowerCase();
  if (encoding !== "snappy") {
    const got = encoding === undefined || encoding === "" ? "no Content-Encoding" : `Content-Encoding ${encoding}`;
    return refused(415, proto, "bad_data", `unsupported ${got}: remote write bodies must be snappy-compressed`);
  }
  if (body.length > limits.maxCompressedBytes) {
    return refused(413, proto, "too_large", `body of ${body.length} bytes exceeds ${limits.maxCompressedBytes}`);
  }
  let message: Uint8Array;
  try {
    const size = snappyDecodedLength(body);
    if (size > limits.maxDecompressedBytes) {
      return refused(
        413,
        proto,
        "too_large",
        `decompressed body of ${size} bytes would exceed ${limits.maxDecompressedBytes}`,
      );
    }
    message = state.snappy.decode(body);
  } catch (err) {
    return refused(400, proto, "bad_data", `invalid snappy block: ${(err as Error).message}`);
  }

  let app: Appender;
  try {
    app = appender();
  } catch (err) {
    return storageRefusal(proto, err);
  }
  const sink = new AppendSink(app, (opts.now ?? Date.now)() + limits.maxFutureMs);
  try {
    if (proto === "v1") state.v1.decode(message, sink);
    else state.v2.decode(message, sink);
  } catch (err) {
    app.rollback();
    if (isContrailError(err, "bad_data")) return refused(400, proto, "bad_data", err.message);
    return storageRefusal(proto, err);
  }
  let report: CommitReport;
  try {
    report = app.commit();
  } catch (err) {
    return storageRefusal(proto, err);
  }
  if (opts.metadata !== undefined) sink.applyMetadata(opts.metadata, opts.org);
  return sink.outcome(proto, report);
}

/** A WriteSink appending to one appender, counting everything it refuses. */
class AppendSink implements WriteSink {
  private readonly app: Appender;
  private readonly maxT: number;
  private labels: Labels | null = null;
  private ref: SeriesRef | -1 = -1;
  private appended = 0;
  private invalidSeries_ = 0;
  private invalidSamples = 0;
  private histogramSeries = 0;
  private histogramSamples = 0;
  private tooNew = 0;
  private exemplars = 0;
  private firstProblem: string | null = null;
  // Metadata as flat (name, type, help, unit) quadruples, applied only once the batch is committed.
  private readonly meta: string[] = [];

  constructor(app: Appender, maxT: number) {
    this.app = app;
    this.maxT = maxT;
  }

  series(labels: Labels, counts: Readonly<SeriesCounts>): boolean {
    this.exemplars += counts.exemplars;
    if (counts.histograms > 0) {
      // A series carrying native histograms is refused whole: storing its float samples alone would split it.
      this.histogramSeries++;
      this.histogramSamples += counts.histograms;
      this.invalidSamples += counts.samples;
      this.firstProblem ??=
        `series ${labels.toString()}: native histograms are not supported yet ` +
        `(${counts.histograms} histogram samples refused)`;
      return false;
    }
    this.labels = labels;
    this.ref = -1;
    return true;
  }

  sample(t: number, v: number): void {
    if (t > this.maxT || !Number.isSafeInteger(t)) {
      this.tooNew++;
      this.firstProblem ??= `series ${this.labels!.toString()}: sample at ${t} is too far in the future`;
      return;
    }
    if (this.ref === -1) this.ref = this.app.append(this.labels!, t, v);
    else this.app.appendRef(this.ref, t, v);
    this.appended++;
  }

  invalidSeries(reason: string, counts: Readonly<SeriesCounts>): void {
    this.invalidSeries_++;
    this.invalidSamples += counts.samples;
    this.histogramSamples += counts.histograms;
    this.exemplars += counts.exemplars;
    this.firstProblem ??= reason;
  }

  metadata(name: string, type: MetricType, help: string, unit: string): void {
    this.meta.push(name, type, help, unit);
  }

  applyMetadata(store: MetadataStore, org: string): void {
    const m = this.meta;
    for (let i = 0; i < m.length; i += 4) store.set(org, m[i], m[i + 1] as MetricType, m[i + 2], m[i + 3]);
  }

  outcome(proto: WriteProto, report: CommitReport): WriteOutcome {
    const storeRejected = rejectedCount(report);
    const stats: WriteStats = {
      samplesWritten: this.appended - storeRejected,
      samplesRejected: this.invalidSamples + this.tooNew + storeRejected,
      histogramsRejected: this.histogramSamples,
      exemplarsDropped: this.exemplars,
    };
    if (stats.samplesRejected === 0 && stats.histogramsRejected === 0) {
      return { kind: "written", status: 204, proto, stats };
    }
    const parts: string[] = [];
    if (this.invalidSeries_ > 0) parts.push(`${this.invalidSeries_} series with invalid labels`);
    if (this.histogramSeries > 0) parts.push(`${this.histogramSeries} series with native histograms (not supported)`);
    if (this.tooNew > 0) parts.push(`${this.tooNew} too far in the future`);
    if (report.outOfOrder > 0) parts.push(`${report.outOfOrder} out of order`);
    if (report.duplicate > 0) parts.push(`${report.duplicate} duplicate`);
    if (report.outOfBounds > 0) parts.push(`${report.outOfBounds} out of bounds`);
    const first = this.firstProblem ?? report.firstRejection?.message ?? "";
    const total = stats.samplesRejected + stats.samplesWritten;
    const histos = stats.histogramsRejected > 0 ? ` and ${stats.histogramsRejected} histogram samples` : "";
    const message =
      `partial write: ${stats.samplesRejected} of ${total} samples${histos} rejected, ` +
      `${stats.samplesWritten} written (${parts.join(", ")}); first: ${first}`;
    const code: ErrorCode =
      this.firstProblem === null && report.firstRejection !== null ? report.firstRejection.code : "bad_data";
    return { kind: "partial", status: 400, proto, stats, code, message };
  }
}
