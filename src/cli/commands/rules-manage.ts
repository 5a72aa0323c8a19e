// `contrail rules sync|list|enable`: their arguments, options and help. The actions (cli/rules-manage.ts) are loaded only
// when a command runs. The `rules` command is shared with other rule commands: whichever registers first creates it.

import type { Command } from "commander";
import type { RulesEnableOptions, RulesSyncOptions } from "../rules-manage.ts";
import { dataOption } from "./options.ts";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The `rules` command of `program`, created on first use. */
export function rulesCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "rules") ??
    program.command("rules").description("recording and alerting rules: Prometheus rule files, per org")
  );
}

/** Registers `contrail rules sync`, `contrail rules list` and `contrail rules enable`. */
export function registerRulesManageCommands(program: Command): void {
  const rules = rulesCommand(program);
  rules
    .command("sync")
    .description(
      "make an org's rule groups equal to rule files (namespace: each file's name); a running server applies it",
    )
    .argument("<files...>", "Prometheus rule files (groups: …)")
    .requiredOption("--org <slug>", "the org")
    .option("--dry-run", "print what would change, change nothing")
    .addOption(dataOption())
    .action(async (files: string[], opts: RulesSyncOptions) =>
      (await import("../rules-manage.ts")).rulesSyncCommand(files, opts),
    );
  rules
    .command("list")
    .description("list rule groups")
    .option("--org <slug>", "only this org's groups")
    .option("--json", "print a JSON array; times in milliseconds since the epoch")
    .addOption(dataOption())
    .action(async (opts: { org?: string; json?: boolean; data: string }) =>
      (await import("../rules-manage.ts")).rulesListCommand(opts),
    );
  rules
    .command("enable")
    .description("write the ready-made alerting rules for an app (namespace contrail-builtin, group: the app)")
    .requiredOption("--org <slug>", "the org")
    .requiredOption("--app <name>", "the app")
    .option("--only <rule>", "only this rule (repeatable), e.g. HighErrorRatio, InstanceDown", collect, [])
    .option("--error-ratio <ratio>", "HighErrorRatio: share of 5xx responses, 0..1 (default 0.05)")
    .option("--p95 <duration>", "HighLatencyP95: the 95th percentile response time (default 1s)")
    .option("--window <duration>", "rate window of the rules (default 5m)")
    .option("--for <duration>", "how long a condition holds before it fires (default 5m)")
    .addOption(dataOption())
    .action(async (opts: RulesEnableOptions) => (await import("../rules-manage.ts")).rulesEnableCommand(opts));
}
