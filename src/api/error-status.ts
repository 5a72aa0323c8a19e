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
    case "too_large":
      return { status: 413, errorType: "bad_data" };
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

/** Fastify's own errors (body too large, unparsable body, unsupported media type) as ContrailErrors. */
export function toContrailError(err: unknown): ContrailError {
  if (isContrailError(err)) return err;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === "string" ? e.message : String(err);
  const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
  if (status === 413) return new ContrailError("too_large", message, { cause: err });
  if (status === 404) return new ContrailError("not_found", message, { cause: err });
  if (status >= 400 && status < 500) return new ContrailError("bad_data", message, { cause: err });
  return new ContrailError("internal", message, { cause: err });
}
