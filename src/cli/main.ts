// The `contrail` command line: one commander program; each command group's arguments, options and help live in
// commands/ (the role commands in roles.ts) and are registered here. A command's implementation is imported only
// when it runs, so that `--help` and light commands do not load the server, the engine or the TSDB. This is the
// only layer that wires roles together.

import { Command, CommanderError } from "commander";
import { registerAppCommands } from "./commands/apps.ts";
import { registerConsoleCommand } from "./commands/console.ts";
import { registerControlCommands } from "./commands/control.ts";
import { registerDashboardCommand } from "./commands/dashboard.ts";
import { registerDeployCommand } from "./commands/deploy.ts";
import { registerPromqlCommands } from "./commands/promql.ts";
import { registerPromqltestCommand } from "./commands/promqltest.ts";
import { registerQueryCommand } from "./commands/query.ts";
import { registerReceiverCommands } from "./commands/receivers.ts";
import { registerRulesCommands } from "./commands/rules.ts";
import { registerRulesManageCommands } from "./commands/rules-manage.ts";
import { registerTsdbCommands } from "./commands/tsdb.ts";
import { registerUpCommand } from "./commands/up.ts";
import { registerRoleCommands } from "./roles.ts";

/** Runs the CLI with `argv` (without node and script); resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("contrail")
    .description("Contrail: the metrics platform for apps at the edge")
    .exitOverride()
    .showHelpAfterError();
  registerPromqlCommands(program);
  registerPromqltestCommand(program);
  registerRulesCommands(program);
  registerTsdbCommands(program);
  registerControlCommands(program);
  registerReceiverCommands(program);
  registerUpCommand(program);
  registerRoleCommands(program);
  registerDeployCommand(program);
  registerAppCommands(program);
  registerQueryCommand(program);
  registerDashboardCommand(program);
  registerConsoleCommand(program);
  registerRulesManageCommands(program);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
}
