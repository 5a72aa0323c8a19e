// The PromQL function table of Prometheus 3.14: every function with its argument types, arity and result type.
// The parser checks calls against it; the engine looks implementations up by `name`.

import type { FunctionSignature, ValueType } from "./ast.ts";

// Argument types in one letter each: V instant vector, M range vector, S scalar, T string.
const TYPE_CODES: Readonly<Record<string, ValueType>> = { V: "vector", M: "matrix", S: "scalar", T: "string" };

// name, argument types, variadic (0 fixed; n up to n more of the last type; -1 unbounded), result, experimental.
type Row = readonly [string, string, number, ValueType, boolean];

const ROWS: readonly Row[] = [
  ["abs", "V", 0, "vector", false],
  ["absent", "V", 0, "vector", false],
  ["absent_over_time", "M", 0, "vector", false],
  ["acos", "V", 0, "vector", false],
  ["acosh", "V", 0, "vector", false],
  ["asin", "V", 0, "vector", false],
  ["asinh", "V", 0, "vector", false],
  ["atan", "V", 0, "vector", false],
  ["atanh", "V", 0, "vector", false],
  ["avg_over_time", "M", 0, "vector", false],
  ["ceil", "V", 0, "vector", false],
  ["changes", "M", 0, "vector", false],
  ["clamp", "VSS", 0, "vector", false],
  ["clamp_max", "VS", 0, "vector", false],
  ["clamp_min", "VS", 0, "vector", false],
  ["cos", "V", 0, "vector", false],
  ["cosh", "V", 0, "vector", false],
  ["count_over_time", "M", 0, "vector", false],
  ["day_of_month", "V", 1, "vector", false],
  ["day_of_week", "V", 1, "vector", false],
  ["day_of_year", "V", 1, "vector", false],
  ["days_in_month", "V", 1, "vector", false],
  ["deg", "V", 0, "vector", false],
  ["delta", "M", 0, "vector", false],
  ["deriv", "M", 0, "vector", false],
  ["double_exponential_smoothing", "MSS", 0, "vector", true],
  ["end", "", 0, "scalar", true],
  ["exp", "V", 0, "vector", false],
  ["first_over_time", "M", 0, "vector", false],
  ["floor", "V", 0, "vector", false],
  ["histogram_avg", "V", 0, "vector", false],
  ["histogram_count", "V", 0, "vector", false],
  ["histogram_fraction", "SSV", 0, "vector", false],
  ["histogram_quantile", "SV", 0, "vector", false],
  ["histogram_quantiles", "VTSS", 9, "vector", true],
  ["histogram_stddev", "V", 0, "vector", false],
  ["histogram_stdvar", "V", 0, "vector", false],
  ["histogram_sum", "V", 0, "vector", false],
  ["hour", "V", 1, "vector", false],
  ["idelta", "M", 0, "vector", false],
  ["increase", "M", 0, "vector", false],
  ["info", "VV", 1, "vector", true],
  ["irate", "M", 0, "vector", false],
  ["label_join", "VTTT", -1, "vector", false],
  ["label_replace", "VTTTT", 0, "vector", false],
  ["last_over_time", "M", 0, "vector", false],
  ["ln", "V", 0, "vector", false],
  ["log10", "V", 0, "vector", false],
  ["log2", "V", 0, "vector", false],
  ["mad_over_time", "M", 0, "vector", true],
  ["max_of", "SS", 0, "scalar", true],
  ["max_over_time", "M", 0, "vector", false],
  ["min_of", "SS", 0, "scalar", true],
  ["min_over_time", "M", 0, "vector", false],
  ["minute", "V", 1, "vector", false],
  ["month", "V", 1, "vector", false],
  ["pi", "", 0, "scalar", false],
  ["predict_linear", "MS", 0, "vector", false],
  ["present_over_time", "M", 0, "vector", false],
  ["quantile_over_time", "SM", 0, "vector", false],
  ["rad", "V", 0, "vector", false],
  ["range", "", 0, "scalar", true],
  ["rate", "M", 0, "vector", false],
  ["resets", "M", 0, "vector", false],
  ["round", "VS", 1, "vector", false],
  ["scalar", "V", 0, "scalar", false],
  ["sgn", "V", 0, "vector", false],
  ["sin", "V", 0, "vector", false],
  ["sinh", "V", 0, "vector", false],
  ["sort", "V", 0, "vector", false],
  ["sort_by_label", "VT", -1, "vector", true],
  ["sort_by_label_desc", "VT", -1, "vector", true],
  ["sort_desc", "V", 0, "vector", false],
  ["sqrt", "V", 0, "vector", false],
  ["start", "", 0, "scalar", true],
  ["start_timestamp", "V", 0, "vector", true],
  ["stddev_over_time", "M", 0, "vector", false],
  ["stdvar_over_time", "M", 0, "vector", false],
  ["step", "", 0, "scalar", true],
  ["sum_over_time", "M", 0, "vector", false],
  ["tan", "V", 0, "vector", false],
  ["tanh", "V", 0, "vector", false],
  ["time", "", 0, "scalar", false],
  ["timestamp", "V", 0, "vector", false],
  ["ts_of_first_over_time", "M", 0, "vector", true],
  ["ts_of_last_over_time", "M", 0, "vector", true],
  ["ts_of_max_over_time", "M", 0, "vector", true],
  ["ts_of_min_over_time", "M", 0, "vector", true],
  ["vector", "S", 0, "vector", false],
  ["year", "V", 1, "vector", false],
];

/** Every function by name. Experimental ones are accepted only when the parser enables experimental functions. */
export const FUNCTIONS: ReadonlyMap<string, FunctionSignature> = new Map(
  ROWS.map(([name, args, variadic, returnType, experimental]): [string, FunctionSignature] => [
    name,
    { name, argTypes: Array.from(args, (c) => TYPE_CODES[c]), variadic, returnType, experimental },
  ]),
);

/** The signature of the function called `name` (case-sensitive), or undefined. */
export function getFunction(name: string): FunctionSignature | undefined {
  return FUNCTIONS.get(name);
}
