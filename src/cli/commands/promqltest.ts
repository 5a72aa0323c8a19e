// `contrail promqltest`: its arguments, options and help. The engine (promqltest.ts) is loaded only when it runs.

import type { Command } from "commander";
import type { PromqltestOptions } from "../promqltest.ts";

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
    .action(async (files: string[], opts: PromqltestOptions) =>
      (await import("../promqltest.ts")).promqltestCommand(files, opts),
    );
}
