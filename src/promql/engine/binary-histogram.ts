// One element of a binary operation where a native histogram (or a trim operator) is involved, with Prometheus's
// rules: histogram ± histogram, histogram × / ÷ scalar, scalar × histogram, == and != between histograms, the trim
// operators `</` and `>/` of a histogram by a float; every other combination drops the element with an info.
// Float-only elements never come here: the operators' float paths stay as they are.

import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { addHistograms, divHistogram, histogramsEqual, mulHistogram, withHint } from "../../model/histogram-arith.ts";
import { compact } from "../../model/histogram-buckets.ts";
import { trimHistogram } from "../../model/histogram-trim.ts";
import type { BinaryOp, PosRange } from "../parser/ast.ts";
import {
  type Annotation,
  histogramCounterResetCollisionWarning,
  incompatibleBucketLayoutInBinOpWarning,
  incompatibleTypesInBinOpInfo,
  mismatchedCustomBucketsHistogramsInfo,
} from "./annotations.ts";
import { arith, compare } from "./binary-ops.ts";

/**
 * The outcome of one element: the value (`h` set for a histogram result), whether the element is kept, and at most
 * one annotation. `dropped` is set when Prometheus's vector/vector operation drops the element because of it.
 */
export interface ElemResult {
  f: number;
  h: Histogram | undefined;
  keep: boolean;
  annotation: Annotation | null;
  dropped: boolean;
}

function result(f: number, h: Histogram | undefined, keep: boolean): ElemResult {
  return { f, h, keep, annotation: null, dropped: false };
}

function incompatible(l: string, op: BinaryOp, r: string, pos: PosRange): ElemResult {
  return { f: 0, h: undefined, keep: false, annotation: incompatibleTypesInBinOpInfo(l, op, r, pos), dropped: true };
}

/** True for the trim operators. */
export function isTrim(op: BinaryOp): boolean {
  return op === "</" || op === ">/";
}

/** `l op r` where `hl`/`hr` are the histograms of the sides that are ones (undefined for floats). */
export function elemBinop(
  op: BinaryOp,
  fl: number,
  fr: number,
  hl: Histogram | undefined,
  hr: Histogram | undefined,
  pos: PosRange,
): ElemResult {
  if (hl === undefined && hr === undefined) {
    if (isTrim(op)) return incompatible("float", op, "float", pos);
    return result(arith(op, fl, fr), undefined, compare(op, fl, fr));
  }
  if (hl === undefined) {
    if (op === "*") return result(0, compact(mulHistogram(hr as Histogram, fl)), true);
    return incompatible("float", op, "histogram", pos);
  }
  if (hr === undefined) {
    switch (op) {
      case "*":
        return result(0, compact(mulHistogram(hl, fr)), true);
      case "/":
        return result(0, compact(divHistogram(hl, fr)), true);
      case "</":
        return result(0, trimHistogram(hl, fr, true), true);
      case ">/":
        return result(0, trimHistogram(hl, fr, false), true);
      default:
        return incompatible("histogram", op, "float", pos);
    }
  }
  switch (op) {
    case "+":
    case "-": {
      const sum = addHistograms(hl, hr, op === "-");
      if (sum === null) {
        return {
          f: 0,
          h: undefined,
          keep: false,
          annotation: incompatibleBucketLayoutInBinOpWarning(op, pos),
          dropped: true,
        };
      }
      const h = op === "-" ? withHint(sum.h, CounterResetHint.gauge) : sum.h;
      const operation = op === "-" ? "subtraction" : "addition";
      if (sum.counterResetCollision) {
        return {
          f: 0,
          h,
          keep: true,
          annotation: histogramCounterResetCollisionWarning(operation, pos),
          dropped: true,
        };
      }
      const info = sum.nhcbBoundsReconciled ? mismatchedCustomBucketsHistogramsInfo(operation, pos) : null;
      return { f: 0, h, keep: true, annotation: info, dropped: false };
    }
    case "==":
      return result(0, hl, histogramsEqual(hl, hr));
    case "!=":
      return result(0, hl, !histogramsEqual(hl, hr));
    default:
      return incompatible("histogram", op, "histogram", pos);
  }
}
