// The platform's caps on one scrape of an app's metrics endpoint, in one place for the two modules that need them:
// the scraper enforces them on every target, and the fly.toml check refuses a `[[metrics]]` limit above them (an
// app may set its own lower ones, never higher ones).

/** Largest response body of one scrape, as sent and decompressed, in bytes: 16 MiB, the seed platform's cap. */
export const SCRAPE_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/** Most samples one scrape may expose; more fails the scrape. */
export const SCRAPE_SAMPLE_LIMIT = 100_000;
