// Label-set helpers for evaluated series: the empty set, dropping the metadata labels (`__name__`, `__type__`,
// `__unit__`), and merging series whose label sets became equal.

import type { Histogram } from "../../model/histogram.ts";
import { Labels, LabelsBuilder } from "../../model/labels.ts";
import { evalError } from "./context.ts";
import { type Matrix, Series } from "./value.ts";

/** The empty label set. */
export function emptyLabels(): Labels {
  return Labels.EMPTY;
}

const METADATA_LABELS = ["__name__", "__type__", "__unit__"];

/** `labels` without `__name__`, `__type__` and `__unit__` (Prometheus's DropReserved(IsMetadataLabel)). */
export function dropMetadata(labels: Labels): Labels {
  if (!labels.has("__name__") && !labels.has("__type__") && !labels.has("__unit__")) return labels;
  return new LabelsBuilder(labels).del(...METADATA_LABELS).labels();
}

/**
 * Merges series whose label sets became equal (after names were dropped); their points must not share a timestamp,
 * else Prometheus's "same labelset" error.
 */
export function mergeSameLabelset(m: Matrix): Matrix {
  if (m.length <= 1) return m;
  const byHash = new Map<string, Series[]>();
  let dup = false;
  for (const s of m) {
    const h = s.labels.hash();
    const g = byHash.get(h);
    if (g) {
      g.push(s);
      dup = true;
    } else byHash.set(h, [s]);
  }
  if (!dup) return m;
  const out: Matrix = [];
  for (const g of byHash.values()) {
    if (g.length === 1) {
      out.push(g[0]);
      continue;
    }
    const pts: [number, number, Histogram | undefined][] = [];
    for (const s of g) for (let i = 0; i < s.n; i++) pts.push([s.t[i], s.v[i], s.histAt(i)]);
    pts.sort((a, b) => a[0] - b[0]);
    const merged = new Series(g[0].labels, g[0].dropName, pts.length);
    for (let i = 0; i < pts.length; i++) {
      if (i > 0 && pts[i][0] === pts[i - 1][0]) evalError("vector cannot contain metrics with the same labelset");
      const h = pts[i][2];
      if (h !== undefined) merged.pushH(pts[i][0], h);
      else merged.push(pts[i][0], pts[i][1]);
    }
    out.push(merged);
  }
  return out;
}
