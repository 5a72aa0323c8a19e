// The HTTP client of reads from a remote backend's Prometheus API (VictoriaMetrics, its cluster's vmselect, Mimir).
// Everything that comes back is bounded: the answer's size (read as a stream and cut off past the limit, so a huge
// answer costs at most the limit in memory), its time (the caller's budget plus a small grace for the network),
// and the reads in flight on this node. Failures become ContrailErrors with the API's codes: the backend's own
// 400 and 422 keep their meaning (bad_data, execution), its timeouts are timeouts, anything else is `unavailable`.

import { ContrailError, type ErrorCode } from "../../model/errors.ts";

/** Default largest backend answer read, bytes. */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Default most backend reads in flight on one node, over every org. */
export const DEFAULT_MAX_READS_IN_FLIGHT = 64;
/** Added to a read's time budget for the network and the backend's own overhead, ms. */
export const NETWORK_GRACE_MS = 1_000;
/** Longest backend error text passed on to the client, characters. */
const MAX_ERROR_TEXT = 512;

/** Options of {@link RemoteReadClient}. */
export interface ReadClientOptions {
  /** Largest answer read, bytes; default {@link DEFAULT_MAX_RESPONSE_BYTES}. */
  readonly maxResponseBytes?: number;
  /** Most reads in flight at once; default {@link DEFAULT_MAX_READS_IN_FLIGHT}. */
  readonly maxInFlight?: number;
}

/** One read: `base` + `path`, its parameters (sent as a form for POST, in the URL for GET) and headers. */
export interface BackendCall {
  /** The backend's Prometheus API base (`.../api/v1`), no trailing slash. */
  readonly base: string;
  /** The endpoint below the base, e.g. `/query`. */
  readonly path: string;
  readonly method: "GET" | "POST";
  readonly params: readonly (readonly [string, string])[];
  readonly headers: Readonly<Record<string, string>>;
  /** The read's budget, ms (the grace is added). */
  readonly timeoutMs: number;
  /** Aborted when the client went away. */
  readonly signal?: AbortSignal;
}

/** The successful envelope of a backend answer: its `data` (parsed JSON) and annotations. */
export interface BackendAnswer {
  readonly data: unknown;
  readonly warnings: readonly string[];
  readonly infos: readonly string[];
}

function cut(text: string): string {
  const t = text.trim();
  return t.length <= MAX_ERROR_TEXT ? t : `${t.slice(0, MAX_ERROR_TEXT)}…`;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

// The error of a backend's non-2xx answer: its JSON envelope's text when it has one, its status mapped to ours.
function backendError(status: number, body: string): ContrailError {
  let message = body;
  let errorType = "";
  try {
    const parsed = JSON.parse(body) as { error?: unknown; errorType?: unknown };
    if (typeof parsed.error === "string") message = parsed.error;
    if (typeof parsed.errorType === "string") errorType = parsed.errorType;
  } catch {
    // Not JSON: the text itself is the message.
  }
  let code: ErrorCode = "unavailable";
  if (status === 400) code = "bad_data";
  else if (status === 422) code = "execution";
  else if (status === 429) code = "rate_limited";
  else if (errorType === "timeout" || (status === 503 && /timeout|timed out/i.test(message))) code = "query_timeout";
  const text = cut(message);
  return new ContrailError(
    code,
    code === "unavailable"
      ? `storage backend answered ${status}: ${text}`
      : text === ""
        ? `storage backend: ${status}`
        : text,
  );
}

/** Reads from remote backends for every org of a node; one per node, shared by the API and the rules. */
export class RemoteReadClient {
  /** Largest answer read, bytes. */
  readonly maxResponseBytes: number;
  private readonly maxInFlight: number;
  private inFlight = 0;

  constructor(opts: ReadClientOptions = {}) {
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_READS_IN_FLIGHT;
  }

  // Sends `call` and returns the answer's body; throws a ContrailError for failures, timeouts and oversize.
  private async text(call: BackendCall): Promise<string> {
    if (this.inFlight >= this.maxInFlight) {
      throw new ContrailError(
        "unavailable",
        `too many storage backend reads in flight on this node (limit ${this.maxInFlight}); retry shortly`,
      );
    }
    this.inFlight++;
    const budget = call.timeoutMs + NETWORK_GRACE_MS;
    const timeout = AbortSignal.timeout(budget);
    const signal = call.signal === undefined ? timeout : AbortSignal.any([call.signal, timeout]);
    try {
      const form = new URLSearchParams(call.params as [string, string][]).toString();
      const url = `${call.base}${call.path}${call.method === "GET" && form !== "" ? `?${form}` : ""}`;
      const headers: Record<string, string> = { accept: "application/json", ...call.headers };
      if (call.method === "POST") headers["content-type"] = "application/x-www-form-urlencoded";
      const res = await fetch(url, {
        method: call.method,
        headers,
        body: call.method === "POST" ? form : undefined,
        signal,
        redirect: "error",
      });
      const body = await this.readBounded(res);
      if (res.status < 200 || res.status > 299) throw backendError(res.status, body);
      return body;
    } catch (err) {
      if (err instanceof ContrailError) throw err;
      if (call.signal?.aborted === true)
        throw new ContrailError("query_canceled", "the client went away", { cause: err });
      if (timeout.aborted) {
        throw new ContrailError(
          "query_timeout",
          `query timed out: the storage backend did not answer within ${budget} ms`,
          { cause: err },
        );
      }
      throw new ContrailError("unavailable", `storage backend unreachable: ${cut((err as Error).message)}`, {
        cause: err,
      });
    } finally {
      this.inFlight--;
    }
  }

  /** Sends `call` and returns the `data` of its success envelope. */
  async json(call: BackendCall): Promise<BackendAnswer> {
    const body = await this.text(call);
    let parsed: { status?: unknown; data?: unknown; warnings?: unknown; infos?: unknown };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      throw new ContrailError("unavailable", `storage backend answered with something else than JSON: ${cut(body)}`);
    }
    if (parsed === null || typeof parsed !== "object" || parsed.status !== "success") {
      throw new ContrailError("unavailable", `storage backend answered without success: ${cut(body)}`);
    }
    return { data: parsed.data, warnings: strings(parsed.warnings), infos: strings(parsed.infos) };
  }

  // The body as text, refused (and the rest of it dropped unread) once it passes the size limit.
  private async readBounded(res: Response): Promise<string> {
    const declared = Number(res.headers.get("content-length") ?? "");
    if (Number.isFinite(declared) && declared > this.maxResponseBytes) {
      await res.body?.cancel();
      throw this.tooLarge();
    }
    if (res.body === null) return "";
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > this.maxResponseBytes) {
        await reader.cancel().catch(() => {});
        throw this.tooLarge();
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  private tooLarge(): ContrailError {
    return new ContrailError(
      "limit_exceeded",
      `the storage backend's answer is larger than ${this.maxResponseBytes} bytes, the limit of one answer; ` +
        "narrow the query or its time range",
    );
  }
}
