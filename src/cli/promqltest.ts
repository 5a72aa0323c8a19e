// `contrail promqltest`: runs PromQL test files written in Prometheus's promqltest DSL against Contrail's engine.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import {
  formatKnownFailures,
  type KnownFailure,
  parseKnownFailures,
  updateKnownFailures,
} from "../promql/promqltest/known-failures.ts";
import { runSuite } from "../promql/promqltest/run-suite.ts";

/** Options of `contrail promqltest`, as the command line gives them. */
export interface PromqltestOptions {
  knownFailures?: string;
  writeKnownFailures?: string;
  verbose?: boolean;
}

function readList(path: string): Map<string, KnownFailure> {
  const { entries, invalid } = parseKnownFailures(readFileSync(path, "utf8"));
  for (const line of invalid) console.error(`${path}:${line}: not a known-failure entry, ignored`);
  return entries;
}

/** The action of `contrail promqltest`: runs the files; exit code 1 on a missing file or an unlisted failure. */
export async function promqltestCommand(files: readonly string[], opts: PromqltestOptions): Promise<void> {
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    for (const f of missing) console.error(`contrail promqltest: no such file: ${f}`);
    process.exitCode = 1;
    return;
  }
  const known = opts.knownFailures !== undefined ? readList(opts.knownFailures) : undefined;
  const run = await runSuite(files, {
    known,
    verbose: opts.verbose ?? false,
    log: (line) => console.log(line),
  });
  if (opts.writeKnownFailures !== undefined) {
    const previous = new Map(known ?? []);
    if (existsSync(opts.writeKnownFailures)) {
      for (const [k, e] of readList(opts.writeKnownFailures)) if (!previous.has(k)) previous.set(k, e);
    }
    const entries = updateKnownFailures(run.results, previous);
    writeFileSync(opts.writeKnownFailures, formatKnownFailures(entries));
    console.error(`wrote ${entries.length} known failures to ${opts.writeKnownFailures}`);
  }
  if (!run.ok) process.exitCode = 1;
}
