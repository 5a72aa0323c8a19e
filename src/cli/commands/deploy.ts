// `contrail deploy`: its options and help. The deploy itself (deploy.ts) is loaded only when the command runs.

import type { Command } from "commander";
import { PERSONAL_ORG } from "../../control/index.ts";
import type { DeployCommandOptions } from "../deploy.ts";
import { dataOption } from "./options.ts";

/** Registers `contrail deploy`. */
export function registerDeployCommand(program: Command): void {
  program
    .command("deploy")
    .description("register or update an app from its fly.toml; a running contrail up (re)starts its instances")
    .option("-c, --config <path>", "the app's fly.toml; its directory is where local instances run", "fly.toml")
    .option("--app <name>", "the app's name (default: the fly.toml's app key)")
    .option("--org <slug>", "the org that owns the app", PERSONAL_ORG)
    .option("--wait", "wait until the instances are healthy, then print their status")
    .option("--wait-timeout <duration>", "how long --wait waits", "60s")
    .option("--json", "with --wait, print the status as JSON")
    .addOption(dataOption())
    .action(async (opts: DeployCommandOptions) => (await import("../deploy.ts")).deployCommand(opts));
}
