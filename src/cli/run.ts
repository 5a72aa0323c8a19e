// Entry module of the role processes `contrail up` starts (`node [loader] run.ts serve|edge|agent [flags]`): a
// program with only the role commands, so a role process loads its own modules and nothing of the rest of the CLI.
// Started with `--spare` it is the supervisor's spare: it loads the modules of the edge and the agent now and waits
// for the command line of a role that died, so that role is back without a process start-up.

import { Command, CommanderError } from "commander";
import { SPARE_ARG, waitAsSpare } from "../roles/child.ts";
import { registerRoleCommands } from "./roles.ts";

let argv: readonly string[] = process.argv.slice(2);
if (argv[0] === SPARE_ARG) {
  argv = await waitAsSpare(() => Promise.all([import("../roles/edge-role.ts"), import("../roles/agent-role.ts")]));
}
const program = new Command("contrail").exitOverride();
registerRoleCommands(program);
try {
  await program.parseAsync([...argv], { from: "user" });
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  process.exitCode = err.exitCode;
}
// Whatever a role left open (a timer of a library, a socket being closed) must not keep a stopped role alive.
process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
