import assert from "node:assert/strict";
import { test } from "node:test";
import { IngestRateLimiter } from "./ingest-rate.ts";

test("a full bucket admits a burst, then the rate; a refusal says how long to wait and takes nothing", () => {
  let now = 1_000_000;
  const rate = new IngestRateLimiter(() => now);
  // 100 samples/s, bursts of 300.
  assert.equal(rate.take("a", 200, 100, 300), 0);
  assert.equal(rate.take("a", 100, 100, 300), 0);
  assert.equal(rate.take("a", 1, 100, 300), 10, "empty: 1 sample is 10 ms away");
  now += 500;
  assert.equal(rate.take("a", 50, 100, 300), 0, "half a second refilled 50");
  assert.equal(rate.take("b", 300, 100, 300), 0, "each org has its own bucket");
  now += 10_000;
  assert.equal(rate.take("a", 300, 100, 300), 0, "refilled up to the burst only");
  assert.equal(rate.take("a", 1, 100, 300), 10);
});

test("a request larger than the burst is admitted from a full bucket and its debt is repaid before the next", () => {
  let now = 0;
  const rate = new IngestRateLimiter(() => now);
  assert.equal(rate.take("a", 1000, 100, 300), 0);
  // 700 samples of debt at 100/s: 7 s, and 10 ms more for the next sample.
  assert.equal(rate.take("a", 1, 100, 300), 7010);
  now += 7000;
  assert.equal(rate.take("a", 1, 100, 300), 10);
  now += 10;
  assert.equal(rate.take("a", 1, 100, 300), 0);
});
