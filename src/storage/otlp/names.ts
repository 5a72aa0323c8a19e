// OTLP metric and attribute names as Prometheus names, following Prometheus 3's default OTLP translation strategy,
// `UnderscoreEscapingWithSuffixes`: every character outside the legacy charset becomes `_` (runs of them one `_`),
// the unit is appended as a word (`s` -> `seconds`, `By/s` -> `bytes_per_second`, annotations in braces dropped),
// monotonic sums end in `_total` and gauges of unit `1` in `_ratio`. So dashboards written for Prometheus 3 fed by
// OTLP work unchanged. Reference: the OpenTelemetry spec's "Prometheus and OpenMetrics compatibility" and
// Prometheus's otlptranslator (metric and label namers).

/** What a metric becomes, for its name: the type suffixes depend on it. */
export type NameType = "counter" | "gauge" | "other";

// OTLP units (UCUM) and the words Prometheus appends for them; units not listed are appended as they are.
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: "days",
  h: "hours",
  min: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  By: "bytes",
  KiBy: "kibibytes",
  MiBy: "mebibytes",
  GiBy: "gibibytes",
  TiBy: "tibibytes",
  KBy: "kilobytes",
  MBy: "megabytes",
  GBy: "gigabytes",
  TBy: "terabytes",
  m: "meters",
  V: "volts",
  A: "amperes",
  J: "joules",
  W: "watts",
  g: "grams",
  Cel: "celsius",
  Hz: "hertz",
  "1": "",
  "%": "percent",
};

// The denominators of "per" units, in the singular: `By/s` is bytes per second.
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: "second",
  m: "minute",
  h: "hour",
  d: "day",
  w: "week",
  mo: "month",
  y: "year",
};

/** The main and "per" parts of a UCUM unit as words, before character cleanup: `By/s` -> ["bytes", "per_second"]. */
function unitWords(unit: string): [main: string, per: string] {
  const slash = unit.indexOf("/");
  const mainText = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const perText = slash < 0 ? "" : unit.slice(slash + 1).trim();
  const main = mainText !== "" && !/[{}]/.test(mainText) ? (UNIT_WORDS[mainText] ?? mainText) : "";
  const perWord = perText !== "" && !/[{}]/.test(perText) ? (PER_UNIT_WORDS[perText] ?? perText) : "";
  return [main, perWord === "" ? "" : `per_${perWord}`];
}

// Characters outside [a-zA-Z0-9:] to `_`, runs of `_` to one, no leading `_`.
function cleanUnit(word: string): string {
  return word
    .replace(/[^a-zA-Z0-9:]/gu, "_")
    .replace(/_{2,}/g, "_")
    .replace(/^_/, "");
}

function without(tokens: string[], word: string): string[] {
  return tokens.filter((t) => t !== word);
}

/**
 * The Prometheus name of OTLP metric `name` with UCUM `unit` becoming a metric of `type`; "" when nothing of the
 * name survives (a name of only invalid characters), which the caller refuses.
 */
export function metricName(name: string, unit: string, type: NameType): string {
  // Words of the legacy metric charset; every other character separates words (so runs of `_` become one).
  let tokens = name.split(/[^a-zA-Z0-9:]+/u).filter((t) => t !== "");
  const [mainWord, perWord] = unitWords(unit);
  let main = cleanUnit(mainWord);
  let per = cleanUnit(perWord);
  if (tokens.includes(main)) main = "";
  if (per === "per_") per = "";
  else {
    per = per.replace(/_$/, "");
    if (tokens.includes(per)) per = "";
  }
  if (per !== "") main = main.replace(/_$/, "");
  if (main !== "") tokens.push(main);
  if (per !== "") tokens.push(per);
  if (type === "counter") tokens = [...without(tokens, "total"), "total"];
  if (unit === "1" && type === "gauge") tokens = [...without(tokens, "ratio"), "ratio"];
  const joined = tokens.join("_");
  const out = /^[0-9]/.test(joined) ? `_${joined}` : joined;
  return /^_*$/.test(out) ? "" : out;
}

/** The unit of a metric as its metadata says it: the words the name got (`bytes_per_second`), "" for none. */
export function unitName(unit: string): string {
  const [main, per] = unitWords(unit).map(cleanUnit);
  const u = main !== "" && per !== "" ? `${main}_${per}` : main !== "" ? main : per;
  return u.replace(/^_/, "").replace(/_$/, "");
}

/**
 * The Prometheus label name of attribute `key`: characters outside [a-zA-Z0-9] to `_` (runs to one), `key_` before
 * a leading digit, names of the form `__x__` kept reserved; "" when nothing but underscores is left.
 */
export function labelName(key: string): string {
  const reserved = key.length >= 4 && key.startsWith("__") && key.endsWith("__");
  const inner = (reserved ? key.slice(2, -2) : key).replace(/[^a-zA-Z0-9]+/gu, "_");
  let out = reserved ? `__${inner}__` : inner;
  if (/^[0-9]/.test(out)) out = `key_${out}`;
  return /^_*$/.test(out) ? "" : out;
}

/** A float as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it (no exponent), for `le` and `quantile`. */
export function formatPlain(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  const s = String(v);
  const e = s.indexOf("e");
  if (e < 0) return s;
  // Shortest digits with an exponent: move the decimal point instead.
  const sign = s.startsWith("-") ? "-" : "";
  const mantissa = s.slice(sign.length, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf(".");
  const digits = mantissa.replace(".", "");
  const point = (dot < 0 ? mantissa.length : dot) + exp;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
