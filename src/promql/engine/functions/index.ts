// The function table: every PromQL function by name with its implementation kind. start(), end(), range() and
// step() never get here (the plan folds them into numbers).

import { histogramFraction, histogramQuantile, histogramQuantiles } from "./histogram.ts";
import { absent, sortByLabel, sortByLabelDesc } from "./labels.ts";
import { MATH_FUNCTIONS, maxOf, minOf, pi, scalar, sort, sortDesc, vector } from "./math.ts";
import { METRICSQL_IMPLS } from "./metricsql.ts";
import { histogramAvg, histogramCount, histogramStddev, histogramStdvar, histogramSum } from "./native-histogram.ts";
import {
  absentOverTime,
  avgOverTime,
  countOverTime,
  doubleExponentialSmoothing,
  firstOverTime,
  lastOverTime,
  madOverTime,
  maxOverTime,
  minOverTime,
  presentOverTime,
  quantileOverTime,
  stddevOverTime,
  stdvarOverTime,
  sumOverTime,
  tsOfFirstOverTime,
  tsOfLastOverTime,
  tsOfMaxOverTime,
  tsOfMinOverTime,
} from "./over-time.ts";
import { changes, delta, deriv, idelta, increase, irate, predictLinear, rate, resets } from "./rate.ts";
import { CALENDAR_FUNCTIONS, startTimestamp, time, timestamp } from "./time.ts";
import type { FunctionImpl, RangeFn, VectorFn } from "./types.ts";

const range = (fn: RangeFn): FunctionImpl => ({ kind: "range", fn });
const vec = (fn: VectorFn): FunctionImpl => ({ kind: "vector", fn });
const special: FunctionImpl = { kind: "special" };

const TABLE = new Map<string, FunctionImpl>([
  ["rate", range(rate)],
  ["increase", range(increase)],
  ["delta", range(delta)],
  ["irate", range(irate)],
  ["idelta", range(idelta)],
  ["resets", range(resets)],
  ["changes", range(changes)],
  ["deriv", range(deriv)],
  ["predict_linear", range(predictLinear)],
  ["avg_over_time", range(avgOverTime)],
  ["sum_over_time", range(sumOverTime)],
  ["count_over_time", range(countOverTime)],
  ["min_over_time", range(minOverTime)],
  ["max_over_time", range(maxOverTime)],
  ["first_over_time", range(firstOverTime)],
  ["last_over_time", range(lastOverTime)],
  // MetricsQL's reading of a range where an instant vector is expected; range-call.ts widens its window.
  ["default_rollup", range(lastOverTime)],
  ["ts_of_first_over_time", range(tsOfFirstOverTime)],
  ["ts_of_last_over_time", range(tsOfLastOverTime)],
  ["ts_of_max_over_time", range(tsOfMaxOverTime)],
  ["ts_of_min_over_time", range(tsOfMinOverTime)],
  ["stddev_over_time", range(stddevOverTime)],
  ["stdvar_over_time", range(stdvarOverTime)],
  ["quantile_over_time", range(quantileOverTime)],
  ["mad_over_time", range(madOverTime)],
  ["present_over_time", range(presentOverTime)],
  ["absent_over_time", range(absentOverTime)],
  ["double_exponential_smoothing", range(doubleExponentialSmoothing)],
  ["scalar", vec(scalar)],
  ["vector", vec(vector)],
  ["pi", vec(pi)],
  ["max_of", vec(maxOf)],
  ["min_of", vec(minOf)],
  ["time", vec(time)],
  ["timestamp", timestamp],
  ["start_timestamp", vec(startTimestamp)],
  ["sort", vec(sort)],
  ["sort_desc", vec(sortDesc)],
  ["sort_by_label", vec(sortByLabel)],
  ["sort_by_label_desc", vec(sortByLabelDesc)],
  ["absent", vec(absent)],
  ["histogram_quantile", vec(histogramQuantile)],
  ["histogram_quantiles", vec(histogramQuantiles)],
  ["histogram_fraction", vec(histogramFraction)],
  ["histogram_count", vec(histogramCount)],
  ["histogram_sum", vec(histogramSum)],
  ["histogram_avg", vec(histogramAvg)],
  ["histogram_stddev", vec(histogramStddev)],
  ["histogram_stdvar", vec(histogramStdvar)],
  ["label_replace", special],
  ["label_join", special],
  ["info", special],
]);
for (const [name, impl] of Object.entries(MATH_FUNCTIONS)) TABLE.set(name, impl);
for (const [name, impl] of Object.entries(CALENDAR_FUNCTIONS)) TABLE.set(name, impl);
for (const [name, fn] of METRICSQL_IMPLS) TABLE.set(name, { kind: "whole", fn });

/** The implementation of function `name`, or undefined for an unknown name. */
export function lookupFunction(name: string): FunctionImpl | undefined {
  return TABLE.get(name);
}

/** Functions allowed on an `anchored` range. */
export const ANCHORED_SAFE = ["changes", "delta", "increase", "rate", "resets"];
/** Functions allowed on a `smoothed` range. */
export const SMOOTHED_SAFE = ["delta", "increase", "rate"];
