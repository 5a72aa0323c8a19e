// The bodies of OTLP/HTTP answers, in the encoding of the request: ExportMetricsServiceResponse (its
// partial_success: rejected data points and a message) on success, google.rpc.Status on failure.
// Reference: https://opentelemetry.io/docs/specs/otlp/#otlphttp-response

import { ProtoWriter } from "../remote/protobuf.ts";

/** The two OTLP/HTTP encodings. */
export type OtlpFormat = "protobuf" | "json";

/** Content-Type of each encoding. */
export const OTLP_CONTENT_TYPES: Readonly<Record<OtlpFormat, string>> = {
  protobuf: "application/x-protobuf",
  json: "application/json",
};

/** gRPC status codes the failures map to (google.rpc.Code). */
export const RpcCode = {
  invalidArgument: 3,
  resourceExhausted: 8,
  internal: 13,
  unavailable: 14,
} as const;

/** An ExportMetricsServiceResponse: empty when nothing was rejected and there is nothing to say. */
export function exportResponse(format: OtlpFormat, rejected: number, message: string): Uint8Array {
  const partial = rejected > 0 || message !== "";
  if (format === "json") {
    const body = partial ? { partialSuccess: { rejectedDataPoints: String(rejected), errorMessage: message } } : {};
    return Buffer.from(JSON.stringify(body));
  }
  const w = new ProtoWriter(64 + message.length * 3);
  if (partial) {
    const mark = w.begin(1);
    if (rejected > 0) {
      w.tag(1, 0);
      w.int64(rejected);
    }
    if (message !== "") {
      w.tag(2, 2);
      w.string(message);
    }
    w.end(mark);
  }
  return w.finish().slice();
}

/** A google.rpc.Status with `code` (RpcCode) and `message`. */
export function statusBody(format: OtlpFormat, code: number, message: string): Uint8Array {
  if (format === "json") return Buffer.from(JSON.stringify({ code, message }));
  const w = new ProtoWriter(16 + message.length * 3);
  w.tag(1, 0);
  w.uint32(code);
  w.tag(2, 2);
  w.string(message);
  return w.finish().slice();
}
