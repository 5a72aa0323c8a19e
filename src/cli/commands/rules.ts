// `contrail rules`: tools for Prometheus rule files. The checker (rules.ts) is loaded only when it runs.

import type { Command } from "commander";

/** Registers `contrail rules check FILE...`. */
export function registerRulesCommands(program: Command): void {
  const rules = program.command("rules").description("alerting and recording rules");
  rules
    .command("check")
    .description("check Prometheus rule files as promtool check rules does (exit 1 when one is invalid)")
    .argument("<files...>", "rule files")
    .action(async (files: string[]) => (await import("../rules.ts")).checkRulesCommand(files));
}
