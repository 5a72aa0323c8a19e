// The error family: one flat class with a stable string code. Callers branch on `code`, never on message text;
// the mapping from code to HTTP status lives in exactly one place (the API layer).

/** Every stable error code Contrail raises. Codes are part of the public contract: add, never rename. */
export type ErrorCode =
  | "bad_data"
  | "parse_error"
  | "invalid_regex"
  | "execution"
  | "query_timeout"
  | "query_canceled"
  | "too_many_samples"
  | "out_of_order_sample"
  | "duplicate_sample_for_timestamp"
  | "out_of_bounds"
  | "too_large"
  | "uri_too_long"
  | "unsupported_media_type"
  | "limit_exceeded"
  | "series_limit"
  | "not_found"
  | "unauthorized"
  | "forbidden"
  | "conflict"
  | "corruption"
  | "unavailable"
  | "rate_limited"
  | "internal";

/** A Contrail error: `code` is stable, `message` is for people, `cause` keeps the underlying error. */
export class ContrailError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ContrailError";
    this.code = code;
  }
}

/** True when `err` is a ContrailError, optionally of the given code. */
export function isContrailError(err: unknown, code?: ErrorCode): err is ContrailError {
  return err instanceof ContrailError && (code === undefined || err.code === code);
}
