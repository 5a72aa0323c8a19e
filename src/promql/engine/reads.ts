// The storage reads a query will make, known before it runs: its querier's time range and the selections of its
// selectors (matchers and hints), computed by the same preparation the evaluation does. Lets a caller that serves
// the data from elsewhere (the query pool's main thread) select ahead of the evaluation.

import type { Matcher } from "../../model/matcher.ts";
import type { SelectHints } from "../../storage/interface.ts";
import type { Expr } from "../parser/ast.ts";
import { gridSteps } from "./bounds.ts";
import { prepare, walkPlan } from "./plan.ts";

/** One selection a query will make: what it passes to `Querier.select`. */
export interface PlannedSelect {
  readonly matchers: readonly Matcher[];
  readonly hints: SelectHints;
}

/** The querier a query opens (its range, ms inclusive) and the selections it makes on it, in plan order. */
export interface PlannedReads {
  readonly mint: number;
  readonly maxt: number;
  readonly selects: readonly PlannedSelect[];
}

/**
 * The reads of `expr` evaluated over [start, end] by `step` (0 for an instant query) with `lookback` (ms), or null
 * when the evaluation would stop before reading (grid refused, a preparation error). A selection listed may still
 * not be made (a branch the evaluation skips); every selection made with these hints is listed.
 */
export function plannedReads(
  expr: Expr,
  grid: { readonly start: number; readonly end: number; readonly step: number },
  lookback: number,
  maxSamples: number,
): PlannedReads | null {
  try {
    gridSteps(grid.start, grid.end, grid.step === 0 ? 1 : grid.step, maxSamples);
    // Object.assign, not an object spread: in V8 11 a spread's copy survives scavenges, and what it points to with it.
    const prepared = prepare(expr, Object.assign({}, grid, { lookback }));
    const selects: PlannedSelect[] = [];
    walkPlan(prepared.root, (n) => {
      if (n.kind === "selector" && n.hints !== null) selects.push({ matchers: n.matchers, hints: n.hints });
    });
    return { mint: prepared.mint, maxt: prepared.maxt, selects };
  } catch {
    return null;
  }
}
