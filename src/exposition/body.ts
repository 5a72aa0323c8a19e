// Scrape bodies arrive compressed or not; this turns one into the plain bytes the parsers read, refusing to
// inflate past a size limit so a small gzip bomb cannot exhaust memory.

import { gunzipSync, inflateSync } from "node:zlib";
import { ContrailError } from "../model/errors.ts";

/** Default limit on a decoded body: 64 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Options of `decodeBody`. */
export interface DecodeBodyOptions {
  /** Largest decoded size accepted, in bytes (default DEFAULT_MAX_BODY_BYTES). */
  readonly maxBytes?: number;
}

function tooLarge(limit: number): ContrailError {
  return new ContrailError("too_large", `body exceeds the limit of ${limit} bytes after decompression`);
}

/**
 * The plain body for `bytes` sent with Content-Encoding `contentEncoding` (`gzip`, `x-gzip`, `deflate`,
 * `identity`, or none). Throws ContrailError "too_large" beyond `maxBytes`, "bad_data" on a corrupt stream or an
 * unsupported encoding. An uncompressed body is returned as is (not copied).
 */
export function decodeBody(
  bytes: Uint8Array,
  contentEncoding: string | undefined,
  opts: DecodeBodyOptions = {},
): Uint8Array {
  const limit = opts.maxBytes ?? DEFAULT_MAX_BODY_BYTES;
  const encoding = (contentEncoding ?? "").trim().toLowerCase();
  if (encoding === "" || encoding === "identity") {
    if (bytes.length > limit) throw tooLarge(limit);
    return bytes;
  }
  const inflate =
    encoding === "gzip" || encoding === "x-gzip" ? gunzipSync : encoding === "deflate" ? inflateSync : null;
  if (inflate === null)
    throw new ContrailError("bad_data", `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}`);
  let out: Uint8Array;
  try {
    out = inflate(bytes, { maxOutputLength: Math.max(1, limit) });
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge(limit);
    throw new ContrailError("bad_data", `cannot decode ${encoding} body: ${(err as Error).message}`, { cause: err });
  }
  if (out.length > limit) throw tooLarge(limit);
  return out;
}
