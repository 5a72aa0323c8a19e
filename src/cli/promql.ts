// `contrail promql format`: prints queries in Prometheus's canonical form, or the parse error.

import { createInterface } from "node:readline";
import type { Command } from "commander";
import { isContrailError } from "../model/errors.ts";
import { exprToString, parseExpr } from "../promql/parser/index.ts";

/** The canonical text of `query`, or the parse error's message. */
function format(query: string): { ok: true; canonical: string } | { ok: false; error: string } {
  try {
    return { ok: true, canonical: exprToString(parseExpr(query)) };
  } catch (err) {
    if (isContrailError(err, "parse_error")) return { ok: false, error: err.message };
    throw err;
  }
}

/** Formats one query per line of stdin, writing one JSON object per line to stdout. */
async function formatLines(): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) process.stdout.write(`${JSON.stringify(format(line))}\n`);
}

/** Registers `contrail promql format [--lines] [expr]`. */
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
    .action(async (expr: string | undefined, opts: { lines?: boolean }) => {
      if (opts.lines === true) {
        await formatLines();
        return;
      }
      if (expr === undefined) {
        console.error("error: missing expression (or use --lines)");
        process.exitCode = 1;
        return;
      }
      const r = format(expr);
      if (r.ok) {
        console.log(r.canonical);
      } else {
        console.error(r.error);
        process.exitCode = 1;
      }
    });
}
