// Linear interpolation between two histogram samples, for `smoothed` selectors and ranges.

import type { Histogram } from "../../model/histogram.ts";
import { addHistograms, detectReset, mulHistogram, withHint } from "../../model/histogram-arith.ts";
import type { PosRange } from "../parser/ast.ts";
import {
  type Annotation,
  mismatchedCustomBucketsHistogramsInfo,
  mixedExponentialCustomHistogramsWarning,
} from "./annotations.ts";

/**
 * The histogram at `t` between samples (t1, h1) and (t2, h2), linearly; for a counter that was reset between them,
 * h2 scaled as if it had started from zero. Null (annotated) for incompatible schemas.
 */
export function interpolateHistograms(
  h1: Histogram,
  t1: number,
  h2: Histogram,
  t2: number,
  t: number,
  isCounter: boolean,
  note: (a: Annotation) => void,
  metric: string,
  pos: PosRange | null,
): Histogram | null {
  if (t === t1) return h1;
  if (t === t2) return h2;
  const fraction = (t - t1) / (t2 - t1);
  if (isCounter && detectReset(h2, h1)) return mulHistogram(h2, fraction);
  const diff = addHistograms(h2, h1, true);
  if (diff === null) {
    note(mixedExponentialCustomHistogramsWarning(metric, pos));
    return null;
  }
  if (diff.nhcbBoundsReconciled) note(mismatchedCustomBucketsHistogramsInfo("subtraction", pos));
  const sum = addHistograms(mulHistogram(diff.h, fraction), h1);
  if (sum === null) {
    note(mixedExponentialCustomHistogramsWarning(metric, pos));
    return null;
  }
  if (sum.nhcbBoundsReconciled) note(mismatchedCustomBucketsHistogramsInfo("addition", pos));
  // The interpolation is the later sample's value as far as counter resets go.
  return withHint(sum.h, h2.counterResetHint);
}
