// The `contrail` command line: one commander program; each command group lives in its own file and is registered
// here. This is the only layer that wires roles together.

import { Command, CommanderError } from "commander";
import { registerAppCommands } from "./apps.ts";
import { registerControlCommands } from "./control.ts";
import { registerDashboardCommand } from "./dashboard.ts";
import { registerDeployCommand } from "./deploy.ts";
import { registerPromqlCommands } from "./promql.ts";
import { registerPromqltestCommand } from "./promqltest.ts";
import { registerQueryCommand } from "./query.ts";
import { registerRoleCommands } from "./roles.ts";
import { registerTsdbCommands } from "./tsdb.ts";
import { registerUpCommand } from "./up.ts";

/** Runs the CLI with `argv` (without node and script); resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("contrail")
    .description("Contrail: the metrics platform for apps at the edge")
    .exitOverride()
    .showHelpAfterError();
  registerPromqlCommands(program);
  registerPromqltestCommand(program);
  registerTsdbCommands(program);
  registerControlCommands(program);
  registerUpCommand(program);
  registerRoleCommands(program);
  registerDeployCommand(program);
  registerAppCommands(program);
  registerQueryCommand(program);
  registerDashboardCommand(program);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
}
