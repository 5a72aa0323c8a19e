// Which evals the runner skips: only those whose data or expected result involves native histograms, which the
// engine and the memory store do not hold yet. An eval is skipped when its expected output has a `{{...}}` value, or
// when one of its query's selectors matches a series that holds histogram samples since the last `clear` (a `{{`
// load line, or the native histogram that `load_with_nhcb` builds from classic `_bucket`/`_count`/`_sum` series).

import { type Labels, LabelsBuilder, METRIC_NAME } from "../../model/labels.ts";
import type { Expr, VectorSelector } from "../parser/ast.ts";
import { walk } from "../parser/ast.ts";
import { parseGoFloat } from "../parser/literals.ts";
import type { EvalCommand, LoadCommand } from "./dsl.ts";

const CLASSIC_SUFFIXES = ["_bucket", "_count", "_sum"] as const;

/** The native histogram series `load_with_nhcb` derives from a classic histogram series, or null if it is none. */
export function nhcbSeries(labels: Labels): Labels | null {
  const name = labels.metricName();
  const suffix = CLASSIC_SUFFIXES.find((s) => name.endsWith(s) && name.length > s.length);
  if (suffix === undefined) return null;
  if (suffix === "_bucket") {
    if (!labels.has("le")) return null;
    const le = parseGoFloat(labels.get("le"));
    if (typeof le !== "number" || Number.isNaN(le)) return null;
  }
  return new LabelsBuilder(labels).set(METRIC_NAME, name.slice(0, -suffix.length)).del("le").labels();
}

/** Tracks the series holding native histograms since the last `clear`. */
export class HistogramSeriesTracker {
  private series = new Map<string, Labels>();

  /** Forgets everything (a `clear`). */
  clear(): void {
    this.series = new Map();
  }

  /** Records the histogram series a load block creates. */
  load(cmd: LoadCommand): void {
    for (const s of cmd.series) {
      if (s.hasHistograms) this.series.set(s.labels.hash(), s.labels);
      if (cmd.withNhcb && s.values.some((v) => v.kind === "float")) {
        const h = nhcbSeries(s.labels);
        if (h !== null) this.series.set(h.hash(), h);
      }
    }
  }

  /** The histogram series a selector matches, or null. */
  matching(vs: VectorSelector): Labels | null {
    for (const labels of this.series.values()) {
      if (vs.matchers.every((m) => m.matches(labels.get(m.name)))) return labels;
    }
    return null;
  }

  /** Histogram metric names (for queries that could not be parsed). */
  names(): Set<string> {
    const out = new Set<string>();
    for (const l of this.series.values()) out.add(l.metricName());
    return out;
  }

  /** True when no histogram series is loaded. */
  get empty(): boolean {
    return this.series.size === 0;
  }
}

/** Why `ev` is skipped, or null when it runs. `expr` is its parsed query, or null when the query did not parse. */
export function skipReason(ev: EvalCommand, expr: Expr | null, histograms: HistogramSeriesTracker): string | null {
  if (ev.histogramExpected) return "native histogram in the expected result";
  if (histograms.empty) return null;
  if (expr === null) {
    for (const name of histograms.names()) {
      if (new RegExp(`(^|[^a-zA-Z0-9_:])${escapeRegExp(name)}($|[^a-zA-Z0-9_:])`).test(ev.query)) {
        return `query reads native histogram metric ${name}`;
      }
    }
    return null;
  }
  let hit: Labels | null = null;
  walk(expr, (node) => {
    if (hit === null && node.kind === "VectorSelector") hit = histograms.matching(node);
  });
  return hit === null ? null : `query reads native histogram series ${(hit as Labels).toString()}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
