// `contrail promqltest`: runs PromQL test files written in Prometheus's promqltest DSL against Contrail's engine.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import {
  formatKnownFailures,
  type KnownFailure,
  parseKnownFailures,
  updateKnownFailures,
} from "../promql/promqltest/known-failures.ts";
import { runSuite } from "../promql/promqltest/run-suite.ts";

interface PromqltestOptions {
  knownFailures?: string;
  writeKnownFailures?: string;
  verbose?: boolean;
}

function readList(path: string): Map<string, KnownFailure> {
  const { entries, invalid } = parseKnownFailures(readFileSync(path, "utf8"));
  for (const line of invalid) console.error(`${path}:${line}: not a known-failure entry, ignored`);
  return entries;
}

/** Registers `contrail promqltest [--known-failures F] [--write-known-failures F] [-v] <files...>`. */
export function registerPromqltestCommand(program: Command): void {
  program
    .command("promqltest")
    .description("run PromQL test files (the promqltest DSL) against the engine; exit 1 on failures")
    .argument("<files...>", "test files (*.test)")
    .option("--known-failures <path>", "fail only on failures not listed in this file; note listed evals that pass")
    .option(
      "--write-known-failures <path>",
      "rewrite this file from the current failures, keeping the reasons of entries that still fail",
    )
    .option("-v, --verbose", "print every eval, and failures in full")
    .action(async (files: string[], opts: PromqltestOptions) => {
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
    });
}
