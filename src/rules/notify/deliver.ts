// One notification's delivery to a receiver URL: a POST of a JSON body, signed afresh on every attempt when the
// receiver has a secret, retried with exponential backoff and jitter after network errors, timeouts, 5xx and 429
// answers; any other answer (2xx: done; 4xx: the receiver refuses this body) ends it.

import { signatureHeaders } from "./signature.ts";

/** How deliveries are retried and bounded; every duration in ms. */
export interface RetryPolicy {
  /** Most attempts, the first included. */
  readonly maxAttempts: number;
  /** Backoff before the second attempt; it doubles before each further one. */
  readonly initialBackoffMs: number;
  /** Largest backoff. */
  readonly maxBackoffMs: number;
  /** How long one attempt may take. */
  readonly timeoutMs: number;
}

/** Five attempts, backoff 1 s doubling up to 30 s (each drawn between half and all of it), 10 s per attempt. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 1_000,
  maxBackoffMs: 30_000,
  timeoutMs: 10_000,
};

/** A delivery's outcome: delivered or not, after how many attempts, and the last failure in one line. */
export interface DeliveryResult {
  readonly ok: boolean;
  readonly attempts: number;
  readonly error?: string;
}

/** What {@link deliver} needs besides the URL and body. */
export interface DeliveryOptions {
  readonly policy: RetryPolicy;
  /** The receiver's HMAC key; null: unsigned. */
  readonly secret: string | null;
  /** Aborts the delivery (backoff and the attempt in flight); it then ends as failed. */
  readonly signal: AbortSignal;
  /** The clock for signatures, ms since the epoch. */
  readonly now: () => number;
  /** A number in [0, 1) for the jitter; default Math.random. */
  readonly random?: () => number;
}

/** 5xx and 429 are worth another try; other statuses are the receiver's final word on this body. */
function retryable(status: number): boolean {
  return status >= 500 || status === 429;
}

/** The backoff before attempt `attempt + 1` (attempt ≥ 1): exponential, capped, drawn from its upper half. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const full = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
  return full / 2 + random() * (full / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** POSTs `body` to `url` until it is accepted, refused, or the attempts run out; never throws. */
export async function deliver(url: string, body: string, o: DeliveryOptions): Promise<DeliveryResult> {
  const random = o.random ?? Math.random;
  let error = "";
  for (let attempt = 1; ; attempt++) {
    let again = false;
    try {
      const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "contrail" };
      if (o.secret !== null) Object.assign(headers, signatureHeaders(o.secret, o.now(), body));
      const r = await fetch(url, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.any([o.signal, AbortSignal.timeout(o.policy.timeoutMs)]),
      });
      await r.body?.cancel();
      if (r.ok) return { ok: true, attempts: attempt };
      error = `HTTP ${r.status}`;
      again = retryable(r.status);
    } catch (err) {
      error = (err as Error).message;
      again = true;
    }
    if (!again || attempt >= o.policy.maxAttempts || o.signal.aborted) return { ok: false, attempts: attempt, error };
    await sleep(backoffMs(o.policy, attempt, random), o.signal);
    if (o.signal.aborted) return { ok: false, attempts: attempt, error };
  }
}
