// Subqueries: the inner expression is evaluated by a child evaluator on its own step grid, aligned to multiples
// of the subquery step as Prometheus aligns it, and the result is read like stored series.

import { Evaluator } from "./evaluator.ts";
import { type SubqueryNode, setOffsetsForAt } from "./plan.ts";
import type { Matrix } from "./value.ts";

/** The child grid of subquery `n` inside `ev`: start, end and step in ms. */
export function subqueryTimeRange(ev: Evaluator, n: SubqueryNode): { start: number; end: number; interval: number } {
  const offset = n.offset;
  const range = n.range;
  // The parent's last step, not its requested end, bounds the subquery.
  let parentEnd = ev.end;
  if (ev.interval > 0) parentEnd = ev.start + Math.floor((ev.end - ev.start) / ev.interval) * ev.interval;
  const end = parentEnd - offset;
  const interval = n.step !== 0 ? n.step : ev.q.settings.noStepSubqueryInterval;
  // The first multiple of the step after start - offset - range.
  const lower = ev.start - offset - range;
  let start = interval * Math.trunc(lower / interval);
  if (start <= lower) start += interval;
  return { start, end, interval };
}

/** Evaluates the inner expression of `n` over the subquery's own grid. */
export function runSubquery(ev: Evaluator, n: SubqueryNode): Matrix {
  const { start, end, interval } = subqueryTimeRange(ev, n);
  const child = new Evaluator(ev.q, start, end, interval);
  if (start !== ev.start) setOffsetsForAt(start, n.expr);
  return child.eval(n.expr);
}

/** The window parameters of a subquery used as a range argument: offset (ms, adjusted for `@`) and range. */
export function subqueryWindow(ev: Evaluator, n: SubqueryNode): { offset: number; range: number } {
  const offset = n.timestamp !== null ? n.originalOffset + (ev.start - n.timestamp) : n.originalOffset;
  return { offset, range: n.range };
}
