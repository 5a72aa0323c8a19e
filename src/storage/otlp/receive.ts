// The OTLP/HTTP metrics receiver: checks a request's Content-Type and Content-Encoding, decompresses gzip within the
// org's size limits, decodes (protobuf or JSON), translates into one appender batch, commits, and says what happened
// as the OTLP/HTTP spec has it. Nothing is written unless the whole request could be decoded.
//
// Status contract (https://opentelemetry.io/docs/specs/otlp/#otlphttp-response):
//   200  accepted; when some data points were refused (delta temporality, invalid labels, over a label or series
//        limit, native histograms without histogram storage, out of order...), partial_success says how many and
//        why, and the rest WAS written. Senders do not resend a 200.
//   400  the body cannot be decoded (malformed protobuf, JSON or gzip): nothing written.
//   413  the body (compressed or decompressed) or its data points or values are over the org's limits: nothing
//        written.
//   415  a Content-Type other than application/x-protobuf or application/json, or an encoding other than gzip.
//   429  the org's ingestion rate is exceeded, or its remote-storage queue is full: nothing written, retry after
//        `retryAfterMs`.
//   503  storage unavailable, 500  storage failure: nothing written; the sender retries.
// Failures carry a google.rpc.Status, in the request's encoding (JSON when the Content-Type was not understood).

import { gunzipSync } from "node:zlib";
import { type ErrorCode, isContrailError } from "../../model/errors.ts";
import { DEFAULT_ORG_LIMITS, limitName, type OrgLimits } from "../../model/limits.ts";
import { rejectedCount } from "../commit.ts";
import type { Appender, CommitReport } from "../interface.ts";
import type { MetadataStore } from "../remote/metadata.ts";
import { QUEUE_FULL_RETRY_AFTER_MS } from "../remote/queue/queue.ts";
import { maxCompressedBytes } from "../remote/receive.ts";
import { OtlpAppendSink } from "./append.ts";
import { DecodeBudget } from "./budget.ts";
import { decodeJsonRequest } from "./decode-json.ts";
import { decodeProtoRequest } from "./decode-proto.ts";
import type { ExportRequest } from "./model.ts";
import { type OtlpFormat, RpcCode } from "./response.ts";
import { translateRequest } from "./translate.ts";

/** The limits the OTLP receiver enforces (model/limits.ts): sizes, points, labels, metadata, rate, future samples. */
export type OtlpLimits = Pick<
  OrgLimits,
  | "maxWriteBytes"
  | "maxSamplesPerWrite"
  | "maxLabelNamesPerSeries"
  | "maxLabelNameLength"
  | "maxLabelValueLength"
  | "maxMetadataLength"
  | "maxMetadataFamilies"
  | "creationGracePeriodMs"
  | "ingestionRate"
  | "ingestionBurstSize"
>;

/** The largest request body accepted as received (compressed or not), bytes: the same as remote write's. */
export function maxOtlpBodyBytes(limits: Pick<OtlpLimits, "maxWriteBytes">): number {
  return maxCompressedBytes(limits);
}

/** What one request did, for the answer and self-metrics. */
export interface OtlpStats {
  /** Data points accepted by the translation. */
  readonly points: number;
  /** Data points refused (and samples the store refused as out of order, duplicate or out of bounds). */
  readonly rejected: number;
  /** Samples written. */
  readonly samplesWritten: number;
  readonly exemplarsDropped: number;
}

/** The receiver's answer: the status, the encoding to answer in, and the counts or the error. */
export type OtlpOutcome =
  | {
      readonly kind: "accepted";
      readonly status: 200;
      readonly format: OtlpFormat;
      readonly stats: OtlpStats;
      /** Why points were refused ("" when none was). */
      readonly message: string;
    }
  | {
      readonly kind: "refused";
      readonly status: 400 | 413 | 415 | 429 | 500 | 503;
      readonly format: OtlpFormat;
      readonly code: ErrorCode;
      /** The google.rpc.Code of the Status body. */
      readonly rpcCode: number;
      readonly message: string;
      /** 429: how long the sender should wait before retrying, ms. */
      readonly retryAfterMs?: number;
    };

/** Request headers as node:http gives them (lower-case names). */
export type OtlpHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** Options of {@link receiveOtlp}. */
export interface OtlpReceiveOptions {
  /** The org written to (for metadata). */
  readonly org: string;
  /** Where metadata goes; dropped when absent. */
  readonly metadata?: MetadataStore;
  /** The org's limits; the defaults for those absent. */
  readonly limits?: Partial<OtlpLimits>;
  /** The clock (ms since the epoch), for the future-timestamp limit. */
  readonly now?: () => number;
  /** Admission of `samples` about to be committed: 0 admits, a positive wait in ms refuses with 429. */
  readonly admit?: (samples: number) => number;
}

function header(h: OtlpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(",") : v;
}

/** The encoding a Content-Type names, or null when it is neither OTLP encoding. */
export function formatOfContentType(contentType: string | undefined): OtlpFormat | null {
  const media = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (media === "application/x-protobuf") return "protobuf";
  if (media === "application/json") return "json";
  return null;
}

const RPC_CODES: Readonly<Record<400 | 413 | 415 | 429 | 500 | 503, number>> = {
  400: RpcCode.invalidArgument,
  413: RpcCode.resourceExhausted,
  415: RpcCode.invalidArgument,
  429: RpcCode.resourceExhausted,
  500: RpcCode.internal,
  503: RpcCode.unavailable,
};

function refused(
  status: 400 | 413 | 415 | 429 | 500 | 503,
  format: OtlpFormat,
  code: ErrorCode,
  message: string,
  retryAfterMs?: number,
): OtlpOutcome {
  return { kind: "refused", status, format, code, rpcCode: RPC_CODES[status], message, retryAfterMs };
}

// The decompressed body, or the refusal.
function inflate(body: Uint8Array, encoding: string, format: OtlpFormat, limits: OtlpLimits): Uint8Array | OtlpOutcome {
  const max = limits.maxWriteBytes;
  const over = (what: string) =>
    refused(413, format, "too_large", `${what} exceeds the limit of ${max} bytes (${limitName("maxWriteBytes")})`);
  if (encoding === "" || encoding === "identity")
    return body.length > max ? over(`body of ${body.length} bytes`) : body;
  try {
    return gunzipSync(body, { maxOutputLength: max });
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") return over("decompressed body");
    return refused(400, format, "bad_data", `invalid gzip body: ${(err as Error).message}`);
  }
}

/**
 * Handles one OTLP/HTTP metrics request: `body` as received, its headers, and `appender`, called at most once, when
 * the first sample is to be written. Never throws for anything the sender or the storage did.
 */
export function receiveOtlp(
  body: Uint8Array,
  headers: OtlpHeaders,
  appender: () => Appender,
  opts: OtlpReceiveOptions,
): OtlpOutcome {
  const limits: OtlpLimits = { ...DEFAULT_ORG_LIMITS, ...opts.limits };
  const contentType = header(headers, "content-type");
  const format = formatOfContentType(contentType);
  if (format === null) {
    return refused(
      415,
      "json",
      "unsupported_media_type",
      `unsupported Content-Type ${JSON.stringify(contentType ?? "")}: expected application/x-protobuf or application/json`,
    );
  }
  const encoding = (header(headers, "content-encoding") ?? "").trim().toLowerCase();
  if (encoding !== "" && encoding !== "identity" && encoding !== "gzip") {
    return refused(
      415,
      format,
      "unsupported_media_type",
      `unsupported Content-Encoding ${JSON.stringify(encoding)}: expected gzip or none`,
    );
  }
  const maxBody = maxOtlpBodyBytes(limits);
  if (body.length > maxBody) {
    return refused(
      413,
      format,
      "too_large",
      `body of ${body.length} bytes exceeds ${maxBody} bytes (${limitName("maxWriteBytes")})`,
    );
  }
  const message = inflate(body, encoding, format, limits);
  if (!(message instanceof Uint8Array)) return message;
  let req: ExportRequest;
  try {
    const budget = new DecodeBudget(limits);
    req = format === "json" ? decodeJsonRequest(message, budget) : decodeProtoRequest(message, budget);
  } catch (err) {
    if (isContrailError(err, "too_large")) return refused(413, format, "too_large", err.message);
    if (isContrailError(err, "bad_data")) return refused(400, format, "bad_data", err.message);
    // A stack overflow or anything else unexpected from a crafted body is still the body's fault.
    return refused(400, format, "bad_data", `the body cannot be decoded: ${(err as Error).message}`);
  }
  const sink = new OtlpAppendSink(appender, (opts.now ?? Date.now)() + limits.creationGracePeriodMs);
  try {
    translateRequest(req, sink, limits);
  } catch (err) {
    sink.rollback();
    return storageRefusal(format, err);
  }
  const wait = sink.pending > 0 && opts.admit !== undefined ? opts.admit(sink.pending) : 0;
  if (wait > 0) {
    sink.rollback();
    return refused(
      429,
      format,
      "rate_limited",
      `ingestion rate limit exceeded: the org may send ${limits.ingestionRate} samples per second ` +
        `(${limitName("ingestionRate")}) in bursts of up to ${limits.ingestionBurstSize} ` +
        `(${limitName("ingestionBurstSize")}); none of the request's ${sink.pending} samples were written, ` +
        `retry in ${Math.ceil(wait / 1000)} s`,
      wait,
    );
  }
  let report: CommitReport;
  try {
    report = sink.commit();
  } catch (err) {
    return storageRefusal(format, err);
  }
  if (opts.metadata !== undefined) sink.applyMetadata(opts.metadata, opts.org, limits.maxMetadataFamilies);
  return accepted(format, sink, report);
}

function storageRefusal(format: OtlpFormat, err: unknown): OtlpOutcome {
  const message = err instanceof Error ? err.message : String(err);
  if (isContrailError(err, "unavailable")) return refused(503, format, "unavailable", message);
  // A full remote-storage queue: back-pressure, as the remote-write receiver answers it.
  if (isContrailError(err, "rate_limited"))
    return refused(429, format, "rate_limited", message, QUEUE_FULL_RETRY_AFTER_MS);
  return refused(500, format, isContrailError(err) ? err.code : "internal", `storage failure: ${message}`);
}

function accepted(format: OtlpFormat, sink: OtlpAppendSink, report: CommitReport): OtlpOutcome {
  const storeRejected = rejectedCount(report);
  const stats: OtlpStats = {
    points: sink.points,
    rejected: sink.rejectedPoints + storeRejected,
    samplesWritten: sink.pending - storeRejected,
    exemplarsDropped: sink.exemplarsDropped,
  };
  if (stats.rejected === 0 && sink.notes === 0) return { kind: "accepted", status: 200, format, stats, message: "" };
  const parts: string[] = [];
  if (sink.limitedSeries > 0) parts.push(`${sink.limitedSeries} samples of new series over the series limit`);
  if (sink.tooNew > 0) parts.push(`${sink.tooNew} samples too far in the future`);
  if (sink.histogramsRefused > 0) parts.push(`${sink.histogramsRefused} native histograms without histogram storage`);
  if (report.outOfOrder > 0) parts.push(`${report.outOfOrder} samples out of order`);
  if (report.duplicate > 0) parts.push(`${report.duplicate} duplicate samples`);
  if (report.outOfBounds > 0) parts.push(`${report.outOfBounds} samples out of bounds`);
  const first = sink.firstProblem ?? report.firstRejection?.message ?? "";
  const detail = parts.length > 0 ? ` (${parts.join(", ")})` : "";
  const message = `${stats.rejected} of ${stats.points + sink.refusedByTranslator} data points rejected${detail}; first: ${first}`;
  return { kind: "accepted", status: 200, format, stats, message };
}
