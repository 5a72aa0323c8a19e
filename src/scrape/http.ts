// Fetches one scrape body over HTTP(S): the Accept header Prometheus sends, gzip allowed, one deadline from connect
// to the last byte, and a size limit enforced twice, on the bytes as sent and on the decompressed body, so neither
// a huge response nor a small gzip bomb can exhaust memory. Every failure is a ContrailError naming the URL.

import http from "node:http";
import https from "node:https";
import { decodeBody, SCRAPE_ACCEPT_HEADER } from "../exposition/index.ts";
import { ContrailError, type ErrorCode, isContrailError } from "../model/errors.ts";

/** Options of `fetchScrape`. */
export interface FetchScrapeOptions {
  /** Absolute http(s) URL. */
  readonly url: string;
  /** Deadline for the whole exchange, ms. */
  readonly timeoutMs: number;
  /** Largest body, compressed and decompressed, in bytes. */
  readonly maxBytes: number;
  /** Aborts the request (the loop is stopping). */
  readonly signal?: AbortSignal;
  /** User-Agent header value. */
  readonly userAgent?: string;
  /** Accept header value; default: the text formats only (SCRAPE_ACCEPT_HEADER). */
  readonly accept?: string;
}

/** A fetched scrape body. `body` is decompressed; `wireBytes` is the size as sent. */
export interface ScrapeResponse {
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
  readonly wireBytes: number;
}

/** The default User-Agent of scrapes. */
export const SCRAPE_USER_AGENT = "Contrail-Scraper/0.1";

// No keep-alive: with a 15 s interval a pooled socket would idle past most servers' keep-alive timeout and then
// fail with ECONNRESET on reuse. One connection per scrape is what the interval makes cheap anyway.
const httpAgent = new http.Agent({ keepAlive: false });
const httpsAgent = new https.Agent({ keepAlive: false });

function fail(code: ErrorCode, url: string, message: string, cause?: unknown): ContrailError {
  return new ContrailError(code, `GET ${url}: ${message}`, cause === undefined ? undefined : { cause });
}

/** Fetches and decompresses one scrape body. Rejects with a ContrailError: `unavailable` (connection, HTTP status,
 * timeout, abort), `too_large` (body limit) or `bad_data` (bad URL, corrupt compression). */
export function fetchScrape(opts: FetchScrapeOptions): Promise<ScrapeResponse> {
  const { url, timeoutMs, maxBytes } = opts;
  return new Promise<ScrapeResponse>((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (err) {
      reject(fail("bad_data", url, "invalid URL", err));
      return;
    }
    const secure = parsed.protocol === "https:";
    if (!secure && parsed.protocol !== "http:") {
      reject(fail("bad_data", url, `unsupported scheme ${parsed.protocol}`));
      return;
    }
    let settled = false;
    const finish = (err: ContrailError | null, res?: ScrapeResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (err !== null) {
        req.destroy();
        reject(err);
      } else resolve(res!);
    };
    const onAbort = () => finish(fail("unavailable", url, "scrape aborted"));
    const timer = setTimeout(() => finish(fail("unavailable", url, `timed out after ${timeoutMs} ms`)), timeoutMs);
    const req = (secure ? https : http).get(parsed, {
      agent: secure ? httpsAgent : httpAgent,
      headers: {
        Accept: opts.accept ?? SCRAPE_ACCEPT_HEADER,
        "Accept-Encoding": "gzip",
        "User-Agent": opts.userAgent ?? SCRAPE_USER_AGENT,
        "X-Prometheus-Scrape-Timeout-Seconds": String(timeoutMs / 1000),
      },
    });
    if (opts.signal?.aborted) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (err) => finish(fail("unavailable", url, err.message, err)));
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        finish(
          fail("unavailable", url, `server returned HTTP status ${status} ${http.STATUS_CODES[status] ?? ""}`.trim()),
        );
        return;
      }
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > maxBytes) {
        finish(fail("too_large", url, `body size limit exceeded: Content-Length ${declared} > ${maxBytes} bytes`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          finish(fail("too_large", url, `body size limit exceeded: more than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("close", () => {
        if (!res.complete) finish(fail("unavailable", url, "connection closed before the body was complete"));
      });
      res.on("error", (err) => {
        const why = res.complete ? err.message : `connection closed before the body was complete (${err.message})`;
        finish(fail("unavailable", url, why, err));
      });
      res.on("end", () => {
        if (settled) return;
        const wire = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
        try {
          const body = decodeBody(wire, res.headers["content-encoding"], { maxBytes });
          finish(null, { body, contentType: res.headers["content-type"], wireBytes: size });
        } catch (err) {
          if (isContrailError(err, "too_large")) {
            finish(fail("too_large", url, `body size limit exceeded: more than ${maxBytes} bytes decompressed`, err));
          } else finish(fail("bad_data", url, (err as Error).message, err));
        }
      });
    });
  });
}
