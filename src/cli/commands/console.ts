// `contrail console`: its options and help. The implementation (console.ts) is loaded only when it runs.

import { type Command, Option } from "commander";
import { PERSONAL_ORG } from "../../control/index.ts";
import { DEFAULT_API_ADDRESS } from "../../roles/options.ts";
import type { ConsoleCommandOptions } from "../console.ts";
import { dataOption } from "./options.ts";

/** Registers `contrail console [--org SLUG] [--scope read,write] [--api HOST:PORT]`. */
export function registerConsoleCommand(program: Command): void {
  program
    .command("console")
    .description("print a one-time sign-in link of the web console (it works once, within a day)")
    .option("--org <slug>", "the org the session may see", PERSONAL_ORG)
    .option("--scope <scopes>", "read (see everything), or read,write (also manage tokens)", "read,write")
    .addOption(new Option("--api <url>", "the API's URL or HOST:PORT").env("CONTRAIL_API").default(DEFAULT_API_ADDRESS))
    .addOption(dataOption())
    .action(async (opts: ConsoleCommandOptions) => (await import("../console.ts")).consoleCommand(opts));
}
