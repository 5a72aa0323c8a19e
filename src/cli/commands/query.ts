// `contrail query`: its arguments, options and help. The client (query.ts) is loaded only when the command runs.

import { type Command, Option } from "commander";
import { PERSONAL_ORG } from "../../control/index.ts";
import { DEFAULT_API_ADDRESS } from "../../roles/options.ts";
import type { QueryOptions } from "../query.ts";

/** Registers `contrail query <expr> [--org] [--range] [--step] [--time] [--api] [--token] [--data]`. */
export function registerQueryCommand(program: Command): void {
  program
    .command("query")
    .description("run a PromQL query against the API and print the answer (a table, or sparklines with --range)")
    .argument("<expr>", "the PromQL expression")
    .option("--org <slug>", "the org whose metrics are queried", PERSONAL_ORG)
    .option("--range <duration>", "run a range query over this span, ending now (e.g. 15m, 1h)")
    .option("--step <duration>", "step of a range query (default 15s, more for long ranges)")
    .option("--time <time>", "evaluation time (instant) or end (range): RFC 3339 or unix seconds; default now")
    .addOption(new Option("--api <url>", "the API's URL or HOST:PORT").env("CONTRAIL_API").default(DEFAULT_API_ADDRESS))
    .addOption(
      new Option("--token <token>", "a read token of the org (default: a temporary one)").env("CONTRAIL_TOKEN"),
    )
    .addOption(
      new Option("--data <dir>", "data directory, to make a temporary token when none is given")
        .env("CONTRAIL_DATA")
        .default("./data"),
    )
    .action(async (expr: string, opts: QueryOptions) => (await import("../query.ts")).queryCommand(expr, opts));
}
