// `contrail promql format`: prints queries in Prometheus's canonical single-line form (or, with `--pretty`, its
// prettified multi-line form), or the parse error.

import { createInterface } from "node:readline";
import { isContrailError } from "../model/errors.ts";
import { exprToString, parseExpr, prettyPrint } from "../promql/parser/index.ts";

/** Options of the `format` command, as the command line gives them. */
export interface FormatOptions {
  readonly lines?: boolean;
  readonly pretty?: boolean;
}

/** The canonical text of `query` (prettified with `pretty`), or the parse error's message. */
function format(query: string, pretty: boolean): { ok: true; canonical: string } | { ok: false; error: string } {
  try {
    const expr = parseExpr(query);
    return { ok: true, canonical: pretty ? prettyPrint(expr) : exprToString(expr) };
  } catch (err) {
    if (isContrailError(err, "parse_error")) return { ok: false, error: err.message };
    throw err;
  }
}

/** Formats one query per line of stdin, writing one JSON object per line to stdout. */
async function formatLines(pretty: boolean): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) process.stdout.write(`${JSON.stringify(format(line, pretty))}\n`);
}

/** The action of `contrail promql format`: prints the canonical form, or the parse error with exit code 1. */
export async function formatCommand(expr: string | undefined, opts: FormatOptions): Promise<void> {
  const pretty = opts.pretty === true;
  if (opts.lines === true) {
    await formatLines(pretty);
    return;
  }
  if (expr === undefined) {
    console.error("error: missing expression (or use --lines)");
    process.exitCode = 1;
    return;
  }
  const r = format(expr, pretty);
  if (r.ok) {
    console.log(r.canonical);
  } else {
    console.error(r.error);
    process.exitCode = 1;
  }
}
