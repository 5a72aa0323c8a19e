// The step grid of a subquery: its inner expression is evaluated (by a child of the evaluator, evaluator.ts) on
// multiples of the subquery step, as Prometheus aligns them, and the result is read like stored series. This file
// holds only that arithmetic, so it needs the evaluator's type and never the evaluator itself.

import type { Evaluator } from "./evaluator.ts";
import { implicitStep, MAX_SILENCE_MS } from "./implicit-window.ts";
import type { SubqueryNode } from "./plan.ts";

/** The child grid of subquery `n` inside `ev`: start, end and step in ms. */
export function subqueryTimeRange(ev: Evaluator, n: SubqueryNode): { start: number; end: number; interval: number } {
  const offset = n.offset;
  let range = n.range;
  // The parent's last step, not its requested end, bounds the subquery.
  let parentEnd = ev.end;
  if (ev.interval > 0) parentEnd = ev.start + Math.floor((ev.end - ev.start) / ev.interval) * ev.interval;
  const end = parentEnd - offset;
  let interval = n.step !== 0 ? n.step : ev.q.settings.noStepSubqueryInterval;
  if (n.implicitStep === true) {
    // As VictoriaMetrics evaluates it: at the query's step, from far enough back for a widened window.
    interval = implicitStep(ev);
    range += MAX_SILENCE_MS + interval;
  }
  // The first multiple of the step after start - offset - range.
  const lower = ev.start - offset - range;
  let start = interval * Math.trunc(lower / interval);
  if (start <= lower) start += interval;
  return { start, end, interval };
}

/** The window parameters of a subquery used as a range argument: offset (ms, adjusted for `@`) and range. */
export function subqueryWindow(ev: Evaluator, n: SubqueryNode): { offset: number; range: number } {
  const offset = n.timestamp !== null ? n.originalOffset + (ev.start - n.timestamp) : n.originalOffset;
  return { offset, range: n.range };
}
