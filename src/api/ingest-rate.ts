// The per-org ingestion rate limit of remote write (Mimir's ingestion_rate and ingestion_burst_size): a token bucket
// of samples per org, refilled at the org's rate up to its burst. A request is admitted while its org's bucket holds
// a sample and takes all its samples from it, going into debt if it holds more than are left; the debt is repaid
// before the next admission. So a request larger than the burst is still admitted (after a wait), and the average
// stays at the rate. Refused requests cost their sender a retry after the wait this says.

/** One org's bucket: samples available (negative: debt) as of `at` (ms since the epoch). */
interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets of every org that wrote; one per server. Single-threaded. */
export class IngestRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  /** A limiter reading the clock `now` (ms since the epoch). */
  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /**
   * Admits `samples` of `org` under `rate` (samples per second) and `burst` (samples): returns 0 when admitted (the
   * samples are taken), else the wait in ms before the bucket has samples again (nothing is taken).
   */
  take(org: string, samples: number, rate: number, burst: number): number {
    const now = this.now();
    let b = this.buckets.get(org);
    if (b === undefined) {
      b = { tokens: burst, at: now };
      this.buckets.set(org, b);
    }
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) * rate) / 1000);
    b.at = now;
    if (b.tokens < 1) return Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / rate));
    b.tokens -= samples;
    return 0;
  }
}
