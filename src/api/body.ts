// Reading a request body under a size limit that depends on the request (e.g. the org's), for routes that read
// their bodies themselves instead of through fastify's fixed per-route limit.

import { ContrailError } from "../model/errors.ts";

/** Options of {@link readBody}. */
export interface ReadBodyOptions {
  /** Most bytes accepted. */
  readonly limit: number;
  /** What the limit is, for the error message ("the compressed size allowed by …"). */
  readonly what: string;
}

function tooLarge(opts: ReadBodyOptions, declared?: number): ContrailError {
  const size = declared === undefined ? "" : ` of ${declared} bytes`;
  return new ContrailError("too_large", `request body${size} exceeds ${opts.limit} bytes, ${opts.what}`);
}

/**
 * Reads `payload` into one Buffer. Refuses with ContrailError "too_large" at once when the declared Content-Length
 * is over the limit (nothing read), and as soon as the bytes received pass it otherwise (the rest is left unread;
 * Node discards it once the answer is sent). Rejects with "bad_data" when the stream fails (client went away).
 */
export function readBody(
  payload: NodeJS.ReadableStream,
  contentLength: string | undefined,
  opts: ReadBodyOptions,
): Promise<Buffer> {
  const declared = contentLength === undefined ? Number.NaN : Number(contentLength);
  if (declared > opts.limit) return Promise.reject(tooLarge(opts, declared));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      payload.removeListener("data", onData);
      payload.removeListener("end", onEnd);
      payload.removeListener("error", onError);
    };
    const onData = (chunk: Buffer | string) => {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size > opts.limit) {
        stop();
        reject(tooLarge(opts));
        return;
      }
      chunks.push(b);
    };
    const onEnd = () => {
      stop();
      // Always a copy: a chunk may be a view of memory the socket reuses.
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      stop();
      reject(new ContrailError("bad_data", `request body could not be read: ${err.message}`, { cause: err }));
    };
    payload.on("data", onData);
    payload.on("end", onEnd);
    payload.on("error", onError);
    payload.resume();
  });
}
