// `contrail promql format`: its arguments, options and help. The parser (promql.ts) is loaded only when it runs.

import type { Command } from "commander";
import type { FormatOptions } from "../promql.ts";

/** Registers `contrail promql format [--lines] [--pretty] [expr]`. */
export function registerPromqlCommands(program: Command): void {
  const promql = program.command("promql").description("PromQL tools");
  promql
    .command("format")
    .description("print a PromQL expression in canonical form (exit 1 on a parse error)")
    .argument("[expr]", "the expression")
    .option(
      "--lines",
      'read one expression per line from stdin; print {"ok":true,"canonical":...} or {"ok":false,"error":...} per line',
    )
    .option("--pretty", "print Prometheus's prettified form: nodes longer than 100 characters split over lines")
    .action(async (expr: string | undefined, opts: FormatOptions) =>
      (await import("../promql.ts")).formatCommand(expr, opts),
    );
}
