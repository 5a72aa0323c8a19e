// `contrail tsdb import|analyze|dump`: their arguments, options and help. The TSDB (tsdb.ts) is loaded only when a
// command runs.

import type { Command } from "commander";
import type { AnalyzeOptions } from "../tsdb.ts";
import type { DumpOptions } from "../tsdb-dump.ts";

/** Gathers the values of an option given several times. */
function repeated(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

/** Registers the `tsdb` command group. */
export function registerTsdbCommands(program: Command): void {
  const tsdb = program.command("tsdb").description("tools for an organization's time series database");
  tsdb
    .command("import")
    .description(
      "backfill blocks from an OpenMetrics file whose samples carry timestamps (in seconds), ending in # EOF",
    )
    .requiredOption("--data <dir>", "the data directory")
    .requiredOption("--org <slug>", "the organization whose database receives the blocks")
    .argument("<file>", "the OpenMetrics file")
    .action(async (file: string, opts: { data: string; org: string }) =>
      (await import("../tsdb.ts")).tsdbImportCommand(file, opts),
    );
  tsdb
    .command("analyze")
    .description("show series, label and chunk statistics of a block (the newest by default)")
    .requiredOption("--data <dir>", "the data directory")
    .requiredOption("--org <slug>", "the organization whose database is analyzed")
    .option("--block <ulid>", "the block to analyze")
    .option("--limit <n>", "how many items to show in each list", "20")
    .action(async (opts: AnalyzeOptions) => (await import("../tsdb.ts")).tsdbAnalyzeCommand(opts));
  tsdb
    .command("dump")
    .description(
      "print every sample of a database directory, floats and native histograms, one line each as newer promtool's " +
        "tsdb dump does; the directory is only read (a running server may keep it)",
    )
    .argument("<dir>", "the database directory, e.g. ./data/tenants/personal")
    .option("--min-time <ms>", "the earliest sample time to print, in milliseconds since the epoch")
    .option("--max-time <ms>", "the latest sample time to print, in milliseconds since the epoch")
    .option(
      "--match <selector>",
      "only the series this selector matches, e.g. 'up{job=\"api\"}' (repeatable)",
      repeated,
      [],
    )
    .action(async (dir: string, opts: DumpOptions) => (await import("../tsdb.ts")).tsdbDumpCommand(dir, opts));
}
