// Entry module of the role processes `contrail up` starts (`node [loader] run.ts serve|edge|agent [flags]`): a
// program with only the role commands, so a role process loads its own modules and nothing of the rest of the CLI.

import { Command, CommanderError } from "commander";
import { registerRoleCommands } from "./roles.ts";

const program = new Command("contrail").exitOverride();
registerRoleCommands(program);
try {
  await program.parseAsync(process.argv.slice(2), { from: "user" });
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  process.exitCode = err.exitCode;
}
// Whatever a role left open (a timer of a library, a socket being closed) must not keep a stopped role alive.
process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
