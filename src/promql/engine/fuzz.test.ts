// Engine fuzz: thousands of generated queries (every function of the engine's table, aggregations, binary
// operators with matching and fill modifiers, subqueries, offsets, `@`, hostile literals and durations) evaluated
// over a small store at random instant and range grids with a small work bound. Each case must return a value
// that keeps the result contract or fail with a coded error other than `internal`, and finish within its timeout
// plus a margin. Cases run in a worker: a case that never returns is stopped and reported with its query.
// `CONTRAIL_FUZZ_SEEDS=1..50 npm run test:unit -- engine/fuzz` runs more seeds.

import assert from "node:assert/strict";
import { test } from "node:test";
import { spawnWorker } from "../../runtime/worker-thread.ts";
import { fuzzSeeds } from "../../testkit/random.ts";
import type { FuzzJob, FuzzMessage } from "./fuzz-worker.ts";

const CASES_PER_SEED = 3000;
/** A case silent for this long never returns (a timeout of TIMEOUT_MS ends any bounded one far sooner). */
const WATCHDOG_MS = 20_000;
const JOB = { cases: CASES_PER_SEED, maxSamples: 20_000, timeoutMs: 250, slackMs: 2_000 };

const WORKER = new URL("./fuzz-worker.ts", import.meta.url);

interface SeedReport {
  readonly values: number;
  readonly errors: number;
  readonly failures: readonly string[];
}

/** Runs one seed's cases in a worker; a case silent for WATCHDOG_MS stops the worker and is a failure. */
function runSeed(seed: number): Promise<SeedReport> {
  const job: FuzzJob = { seed, ...JOB };
  const worker = spawnWorker(WORKER, { workerData: job });
  let values = 0;
  let errors = 0;
  let current = "";
  const failures: string[] = [];
  return new Promise((resolve, reject) => {
    let watchdog = setTimeout(() => undefined, 0);
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        failures.push(`${current}: no answer within ${WATCHDOG_MS} ms (the evaluation does not end)`);
        void worker.terminate();
      }, WATCHDOG_MS);
    };
    arm();
    worker.on("message", (m: FuzzMessage) => {
      arm();
      if (m.kind === "start") current = m.description;
      else if (m.kind === "done") {
        if (m.outcome === "value") values++;
        else errors++;
        if (m.failure !== null) failures.push(`${current}: ${m.failure}`);
      } else void worker.terminate();
    });
    worker.on("error", (err) => {
      clearTimeout(watchdog);
      reject(err);
    });
    worker.on("exit", () => {
      clearTimeout(watchdog);
      resolve({ values, errors, failures });
    });
  });
}

test("generated queries evaluate or fail with a coded error within the work bound", { timeout: 600_000 }, async (t) => {
  const seeds = fuzzSeeds([1]);
  let values = 0;
  let errors = 0;
  const failures: string[] = [];
  for (const seed of seeds) {
    const r = await runSeed(seed);
    values += r.values;
    errors += r.errors;
    failures.push(...r.failures);
  }
  t.diagnostic(`seeds ${seeds.join(",")}: ${values + errors} cases, ${values} values, ${errors} errors`);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failing cases`);
  assert.equal(values + errors, seeds.length * CASES_PER_SEED, "every case ran");
  // The generator must mostly produce queries that evaluate, or the fuzz tests little.
  assert.ok(values > (values + errors) / 2, `only ${values} of ${values + errors} cases returned a value`);
});
