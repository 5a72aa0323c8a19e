// Runs a set of `.test` files one after the other, reporting each file as it finishes, and judges the run against
// an optional known-failures list. Shared by `contrail promqltest` and the `npm test` hook.

import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import {
  checkKnownFailures,
  isListed,
  type KnownFailure,
  type KnownFailureCheck,
  type RunFailure,
} from "./known-failures.ts";
import type { FileResult } from "./report.ts";
import { countOutcomes, formatCounts, formatFileResult } from "./report.ts";
import { TestRunner } from "./runner.ts";

/** Options of a suite run. */
export interface SuiteOptions {
  /** Failures listed here do not fail the run; without a list every failure does. */
  readonly known?: ReadonlyMap<string, KnownFailure>;
  /** Print every eval, and failures in full. */
  readonly verbose?: boolean;
  /** Receives the report, one line at a time. */
  readonly log: (line: string) => void;
  /** The runner to use (a new TestRunner by default). */
  readonly runner?: TestRunner;
}

/** What a suite run produced. `ok` is false when some failure is not covered by the known-failures list. */
export interface SuiteResult {
  readonly results: readonly FileResult[];
  readonly regressions: readonly RunFailure[];
  /** Listed evals that pass now. */
  readonly nowPassing: KnownFailureCheck["nowPassing"];
  readonly ok: boolean;
}

/** Runs `paths` in order (each file is reported under its base name) and ends the report with one totals line. */
export async function runSuite(paths: readonly string[], opts: SuiteOptions): Promise<SuiteResult> {
  const runner = opts.runner ?? new TestRunner();
  const known = opts.known ?? new Map<string, KnownFailure>();
  const results: FileResult[] = [];
  for (const path of paths) {
    const file = basename(path);
    const result = await runner.runFile(file, await readFile(path, "utf8"));
    results.push(result);
    const isNew = (e: { line: number; query: string }) => !isListed(known, { file, ...e });
    for (const l of formatFileResult(result, { verbose: opts.verbose ?? false, isNew })) opts.log(l);
  }
  const check = checkKnownFailures(results, known);
  const nowPassing = check.nowPassing;
  if (opts.known !== undefined) {
    for (const e of nowPassing) opts.log(`note: ${e.file}:${e.line} is listed as a known failure but passes now`);
    if (check.regressions.length > 0) {
      const n = check.regressions.length;
      opts.log(`${n} failure${n === 1 ? " is" : "s are"} not in the known-failures list`);
    }
  }
  const totals = countOutcomes(results.flatMap((r) => r.evals));
  const problems = results.reduce((n, r) => n + r.problems.length, 0);
  if (problems > 0) opts.log(`${problems} problems outside evals (syntax errors or rejected loads)`);
  opts.log(formatCounts(totals));
  return { results, regressions: check.regressions, nowPassing, ok: check.regressions.length === 0 };
}
