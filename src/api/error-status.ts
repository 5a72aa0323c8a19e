// The one place where an error code becomes an HTTP status and a Prometheus `errorType`. Every handler throws
// ContrailError; the server's error handler asks this module how to answer. Prometheus's own pairs are kept
// (400 bad_data, 422 execution, 503 timeout, 499 canceled) so Grafana and promtool read our errors as theirs.

import { ContrailError, type ErrorCode, isContrailError } from "../model/errors.ts";

/** How an error is answered: the HTTP status and the `errorType` of the JSON envelope. */
export interface HttpError {
  readonly status: number;
  readonly errorType: string;
}

/** The HTTP status and Prometheus errorType of an error code. */
export function httpErrorOf(code: ErrorCode): HttpError {
  switch (code) {
    case "bad_data":
    case "parse_error":
    case "invalid_regex":
    case "out_of_order_sample":
    case "duplicate_sample_for_timestamp":
    case "out_of_bounds":
    case "series_limit":
      return { status: 400, errorType: "bad_data" };
    case "execution":
    case "too_many_samples":
    case "limit_exceeded":
      return { status: 422, errorType: "execution" };
    case "query_timeout":
      return { status: 503, errorType: "timeout" };
    case "query_canceled":
      return { status: 499, errorType: "canceled" };
    case "unavailable":
      return { status: 503, errorType: "unavailable" };
    case "rate_limited":
      return { status: 429, errorType: "unavailable" };
    case "too_large":
      return { status: 413, errorType: "bad_data" };
    case "uri_too_long":
      return { status: 414, errorType: "bad_data" };
    case "unsupported_media_type":
      return { status: 415, errorType: "bad_data" };
    case "not_found":
      return { status: 404, errorType: "not_found" };
    case "unauthorized":
      return { status: 401, errorType: "unauthorized" };
    case "forbidden":
      return { status: 403, errorType: "forbidden" };
    case "conflict":
      return { status: 409, errorType: "conflict" };
    case "corruption":
    case "internal":
      return { status: 500, errorType: "internal" };
  }
}

/** A request with a method the endpoint does not take (a routing answer, not an error code). */
export const METHOD_NOT_ALLOWED: HttpError = { status: 405, errorType: "bad_data" };

/** The longest piece of a request (a URL, a header) quoted in an error message, in characters. */
const QUOTED_MAX = 128;

/** `text` cut to QUOTED_MAX characters for an error message, with its full length when cut. */
export function quotedPiece(text: string): string {
  return text.length <= QUOTED_MAX ? text : `${text.slice(0, QUOTED_MAX)}…(${text.length} characters)`;
}

// Fastify's own refusals by their code, reworded for people; each names what to fix.
const FASTIFY_MESSAGES: Readonly<Record<string, (path: string) => string>> = {
  FST_ERR_BAD_URL: (path) => `invalid URL: ${quotedPiece(path)} is not validly percent-encoded`,
  FST_ERR_MAX_PARAM_LENGTH: (path) =>
    `URL path segment too long in ${quotedPiece(path)}: a label name or org may be at most ${MAX_PARAM_LENGTH} ` +
    "characters",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    "unsupported Content-Type: this endpoint takes application/x-www-form-urlencoded parameters (or none)",
  FST_ERR_CTP_BODY_TOO_LARGE: () => "request body too large",
  FST_ERR_CTP_INVALID_JSON_BODY: () => "request body is not valid JSON",
  FST_ERR_CTP_EMPTY_JSON_BODY: () => "request body is empty, but its Content-Type says JSON",
};

/** The longest route parameter (org, label name) the server's router accepts, in characters. */
export const MAX_PARAM_LENGTH = 1024;

/**
 * Fastify's own errors (bad URL encoding, too long path parameters, body too large, unparsable body, unsupported
 * media type) as ContrailErrors, so every answer uses the API's envelope and status mapping.
 */
export function toContrailError(err: unknown, context: { readonly bodyLimit?: number } = {}): ContrailError {
  if (isContrailError(err)) return err;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown } | null;
  const raw = typeof e?.message === "string" ? e.message : String(err);
  const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
  const reword = typeof e?.code === "string" ? FASTIFY_MESSAGES[e.code] : undefined;
  // Fastify quotes the path in its URL errors as '…'; keep it for the reworded message.
  let message = reword === undefined ? raw : reword(/^'(.*)'/s.exec(raw)?.[1] ?? "");
  if (e?.code === "FST_ERR_CTP_BODY_TOO_LARGE" && context.bodyLimit !== undefined) {
    message += `: more than ${context.bodyLimit} bytes`;
  }
  const code = codeOfStatus(status);
  return new ContrailError(code, message, { cause: err });
}

function codeOfStatus(status: number): ErrorCode {
  switch (status) {
    case 404:
      return "not_found";
    case 413:
      return "too_large";
    case 414:
      return "uri_too_long";
    case 415:
      return "unsupported_media_type";
    default:
      return status >= 400 && status < 500 ? "bad_data" : "internal";
  }
}
