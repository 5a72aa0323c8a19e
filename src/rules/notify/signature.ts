// The signature of a webhook delivery: HMAC-SHA256, keyed with the receiver's secret, over the delivery's Unix time
// in seconds, a dot, and the exact body bytes. The time travels in its own header and is part of the signed bytes,
// so a receiver that rejects old timestamps cannot be fed a replayed delivery. docs/alerting.md shows how to verify.

import { createHmac } from "node:crypto";

/** Header carrying `sha256=<hex>`. */
export const SIGNATURE_HEADER = "x-contrail-signature";
/** Header carrying the Unix time (seconds) the signature was made at. */
export const TIMESTAMP_HEADER = "x-contrail-timestamp";

/** The signature header's value for `body` sent at `timestampSeconds` with `secret`: `sha256=<64 hex digits>`. */
export function signBody(secret: string, timestampSeconds: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestampSeconds}.`).update(body).digest("hex")}`;
}

/** The signature and timestamp headers for `body` sent now (`nowMs`, ms since the epoch). */
export function signatureHeaders(secret: string, nowMs: number, body: string): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return { [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: signBody(secret, ts, body) };
}
