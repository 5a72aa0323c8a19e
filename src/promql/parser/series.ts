// The series notation of the PromQL test DSL: `metric{a="b"} 1+2x3 _ _x2 stale -Inf {{schema:0 sum:1}}`.
// Labels, float values and native histogram literals are decoded; `{{a}}+{{b}}xN` expands to a, a+b, a+2b, ...

import { ContrailError } from "../../model/errors.ts";
import { type BucketSpan, CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { addHistograms } from "../../model/histogram-arith.ts";
import { Labels, METRIC_NAME } from "../../model/labels.ts";
import { STALE_NAN } from "../../model/sample.ts";
import type { SpannedToken, TokenType } from "./lexer.ts";
import { toBytes } from "./lexer.ts";
import { errorPosition, Parser } from "./parser.ts";
import { isAggregatorToken, METRIC_NAME_TOKENS } from "./tokens.ts";

/**
 * One item of a value sequence. `float` values include StaleNaN for `stale`. A histogram keeps its literal text
 * and its value; `hintSet` says whether the literal wrote its counter reset hint out (an expected value then
 * checks it).
 */
export type SeriesValue =
  | { readonly kind: "omitted" }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "histogram"; readonly text: string; readonly value: Histogram; readonly hintSet: boolean };

/** A decoded `{{...}}` literal. */
interface HistogramLiteral {
  readonly text: string;
  readonly value: Histogram;
  readonly hintSet: boolean;
}

/** A parsed series line: its labels and expanded values. */
export interface SeriesDesc {
  readonly labels: Labels;
  readonly values: SeriesValue[];
}

/** The most values one line may expand to (a guard against `1x99999999999`). */
const MAX_VALUES = 1_000_000;

const OMITTED: SeriesValue = { kind: "omitted" };

const LABEL_SET = "label set";

const INT_KEYS: ReadonlySet<TokenType> = new Set<TokenType>(["SCHEMA_DESC", "OFFSET_DESC", "NEGATIVE_OFFSET_DESC"]);
const FLOAT_KEYS: ReadonlySet<TokenType> = new Set<TokenType>([
  "SUM_DESC",
  "COUNT_DESC",
  "ZERO_BUCKET_DESC",
  "ZERO_BUCKET_WIDTH_DESC",
]);
const BUCKET_KEYS: ReadonlySet<TokenType> = new Set<TokenType>([
  "BUCKETS_DESC",
  "NEGATIVE_BUCKETS_DESC",
  "CUSTOM_VALUES_DESC",
]);
const HINTS: ReadonlySet<TokenType> = new Set<TokenType>([
  "UNKNOWN_COUNTER_RESET",
  "COUNTER_RESET",
  "NOT_COUNTER_RESET",
  "GAUGE_TYPE",
]);

function parseLabelSet(p: Parser): [string, string][] {
  const pairs: [string, string][] = [];
  if (p.accept("LEFT_BRACE") === null) return pairs;
  let done = p.accept("RIGHT_BRACE") !== null;
  while (!done) {
    const t = p.peek();
    if (t.type === "IDENTIFIER" || t.type === "STRING") {
      p.next();
      const name = t.type === "STRING" ? p.unquote(t) : t.val;
      if (t.type === "STRING" && p.peek().type !== "EQL") {
        pairs.push([METRIC_NAME, name]);
      } else {
        p.expect("EQL", { context: LABEL_SET, expected: '"="' });
        const v = p.expect("STRING", { context: LABEL_SET, expected: "string" });
        pairs.push([name, p.unquote(v)]);
      }
    } else {
      p.unexpected({ context: LABEL_SET, expected: 'identifier or "}"' });
    }
    const sep = p.peek();
    if (sep.type === "RIGHT_BRACE") {
      p.next();
      done = true;
    } else if (sep.type === "COMMA") {
      p.next();
      done = p.accept("RIGHT_BRACE") !== null;
    } else {
      p.unexpected({ context: LABEL_SET, expected: '"," or "}"' });
    }
  }
  return pairs;
}

function uint(p: Parser): number {
  const t = p.expect("NUMBER", { context: "series values", expected: "" });
  if (!/^[0-9]+$/.test(t.val)) {
    p.error(
      { start: t.pos, end: t.end },
      `invalid repetition in series values: strconv.ParseUint: parsing "${t.val}": invalid syntax`,
    );
    return 0;
  }
  const n = Number(t.val);
  if (n > MAX_VALUES) p.fatal({ start: t.pos, end: t.end }, `series description has more than ${MAX_VALUES} values`);
  return n;
}

// number | ADD number | SUB number, where number is NUMBER or DURATION (seconds).
function signedNumber(p: Parser): number {
  const t = p.peek();
  let sign = 1;
  if (t.type === "ADD" || t.type === "SUB") {
    p.next();
    sign = t.type === "SUB" ? -1 : 1;
  }
  const n = p.peek();
  if (n.type !== "NUMBER" && n.type !== "DURATION") p.unexpected();
  p.next();
  return sign * (n.type === "NUMBER" ? p.numberValue(n) : p.numberLiteral(n).value);
}

function seriesValue(p: Parser): number {
  const t = p.peek();
  if (t.type === "IDENTIFIER") {
    p.next();
    if (t.val !== "stale") {
      p.error(
        { start: t.pos, end: t.end },
        `unexpected identifier "${t.val}" in series values, expected number or "stale"`,
      );
    }
    return STALE_NAN;
  }
  return signedNumber(p);
}

function bucketSet(p: Parser): number[] {
  p.expect("LEFT_BRACKET");
  const out = [signedNumber(p)];
  for (;;) {
    if (p.accept("RIGHT_BRACKET")) return out;
    p.expect("SPACE", { context: "histogram description", expected: "" });
    if (p.accept("RIGHT_BRACKET")) return out;
    out.push(signedNumber(p));
  }
}

const HINT_OF: Partial<Record<TokenType, CounterResetHint>> = {
  UNKNOWN_COUNTER_RESET: CounterResetHint.unknown,
  COUNTER_RESET: CounterResetHint.counterReset,
  NOT_COUNTER_RESET: CounterResetHint.notCounterReset,
  GAUGE_TYPE: CounterResetHint.gauge,
};

function oneSpan(offset: number, buckets: readonly number[]): BucketSpan[] {
  return buckets.length > 0 ? [{ offset, length: buckets.length }] : [];
}

// `{{key:value ...}}`: its text and the float histogram it describes (every key optional, default 0).
function histogram(p: Parser): HistogramLiteral {
  const open = p.expect("OPEN_HIST");
  const seen = new Set<TokenType>();
  const nums = new Map<TokenType, number>();
  const lists = new Map<TokenType, number[]>();
  let hint: CounterResetHint | null = null;
  p.accept("SPACE");
  while (p.peek().type !== "CLOSE_HIST") {
    const key = p.next();
    if (seen.has(key.type)) p.error({ start: 0, end: 0 }, `duplicate key "${key.val}" in histogram`);
    seen.add(key.type);
    p.expect("COLON");
    if (INT_KEYS.has(key.type)) {
      const neg = p.accept("SUB") !== null;
      const n = uint(p);
      nums.set(key.type, neg ? -n : n);
    } else if (FLOAT_KEYS.has(key.type)) {
      nums.set(key.type, signedNumber(p));
    } else if (BUCKET_KEYS.has(key.type)) {
      lists.set(key.type, bucketSet(p));
    } else if (key.type === "COUNTER_RESET_HINT_DESC" && HINTS.has(p.peek().type)) {
      hint = HINT_OF[p.next().type] ?? CounterResetHint.unknown;
    } else {
      p.unexpected({ context: "histogram description", expected: "histogram description key, e.g. buckets:[5 10 7]" });
    }
    if (p.peek().type !== "CLOSE_HIST") p.expect("SPACE", { context: "histogram description", expected: "" });
  }
  const close = p.next();
  const pos = lists.get("BUCKETS_DESC") ?? [];
  const neg = lists.get("NEGATIVE_BUCKETS_DESC") ?? [];
  const value: Histogram = {
    integer: false,
    counterResetHint: hint ?? CounterResetHint.unknown,
    schema: nums.get("SCHEMA_DESC") ?? 0,
    zeroThreshold: nums.get("ZERO_BUCKET_WIDTH_DESC") ?? 0,
    zeroCount: nums.get("ZERO_BUCKET_DESC") ?? 0,
    count: nums.get("COUNT_DESC") ?? 0,
    sum: nums.get("SUM_DESC") ?? 0,
    positiveSpans: oneSpan(nums.get("OFFSET_DESC") ?? 0, pos),
    negativeSpans: oneSpan(nums.get("NEGATIVE_OFFSET_DESC") ?? 0, neg),
    positiveBuckets: pos,
    negativeBuckets: neg,
    customValues: lists.get("CUSTOM_VALUES_DESC") ?? [],
  };
  return { text: p.lexer.text(open.pos, close.end), value, hintSet: hint !== null };
}

// `{{base}}+{{inc}}xN` (or `-`): N+1 histograms, each the previous one plus (minus) `inc`.
function histogramSteps(
  base: HistogramLiteral,
  inc: HistogramLiteral,
  subtract: boolean,
  times: number,
  at: SpannedToken,
  p: Parser,
): SeriesValue[] {
  const text = `${base.text}${subtract ? "-" : "+"}${inc.text}`;
  const out: SeriesValue[] = [{ kind: "histogram", text, value: base.value, hintSet: inc.hintSet }];
  let cur = base.value;
  for (let i = 1; i <= times; i++) {
    if (cur.schema > inc.value.schema) {
      p.fatal(
        { start: at.pos, end: at.end },
        `error combining histograms: cannot merge from schema ${inc.value.schema} to ${cur.schema}`,
      );
    }
    const sum = addHistograms(cur, inc.value, subtract);
    if (sum === null) {
      p.fatal({ start: at.pos, end: at.end }, "histograms with exponential and custom buckets cannot be combined");
    }
    cur = sum.h;
    out.push({ kind: "histogram", text, value: cur, hintSet: inc.hintSet });
  }
  return out;
}

function repeat(out: SeriesValue[], v: SeriesValue, n: number, at: SpannedToken, p: Parser): void {
  if (out.length + n > MAX_VALUES)
    p.fatal({ start: at.pos, end: at.end }, `series description has more than ${MAX_VALUES} values`);
  for (let i = 0; i < n; i++) out.push(v);
}

function seriesItem(p: Parser, out: SeriesValue[]): void {
  const t = p.peek();
  if (t.type === "BLANK") {
    p.next();
    if (p.accept("TIMES")) repeat(out, OMITTED, uint(p), t, p);
    else out.push(OMITTED);
    return;
  }
  if (t.type === "OPEN_HIST") {
    const h = histogram(p);
    const item: SeriesValue = { kind: "histogram", text: h.text, value: h.value, hintSet: h.hintSet };
    const op = p.peek().type;
    if (op === "TIMES") {
      p.next();
      repeat(out, item, uint(p) + 1, t, p);
    } else if (op === "ADD" || op === "SUB") {
      p.next();
      const h2 = histogram(p);
      p.expect("TIMES");
      const times = uint(p);
      if (out.length + times + 1 > MAX_VALUES)
        p.fatal({ start: t.pos, end: t.end }, `series description has more than ${MAX_VALUES} values`);
      out.push(...histogramSteps(h, h2, op === "SUB", times, t, p));
    } else {
      out.push(item);
    }
    return;
  }
  let v = seriesValue(p);
  const op = p.peek().type;
  if (op === "TIMES") {
    p.next();
    repeat(out, { kind: "float", value: v }, uint(p) + 1, t, p);
  } else if (op === "ADD" || op === "SUB") {
    const delta = signedNumber(p);
    p.expect("TIMES");
    const n = uint(p);
    if (out.length + n + 1 > MAX_VALUES)
      p.fatal({ start: t.pos, end: t.end }, `series description has more than ${MAX_VALUES} values`);
    for (let i = 0; i <= n; i++) {
      out.push({ kind: "float", value: v });
      v += delta;
    }
  } else {
    out.push({ kind: "float", value: v });
  }
}

/** Parses a series line of the test notation; throws ContrailError `parse_error` with Prometheus's message. */
export function parseSeriesDesc(input: string): SeriesDesc {
  const src = toBytes(input);
  const p = new Parser(src, {}, true);
  const parsed = p.guard(() => {
    let name: string | null = null;
    const first = p.peek().type;
    if (METRIC_NAME_TOKENS.has(first) || isAggregatorToken(first)) name = p.next().val;
    const pairs = parseLabelSet(p);
    const values: SeriesValue[] = [];
    for (;;) {
      const t = p.peek();
      if (t.type === "EOF") break;
      if (t.type !== "SPACE") p.unexpected({ context: "series values", expected: "" });
      p.next();
      const n = p.peek().type;
      if (n === "SPACE" || n === "EOF") continue;
      seriesItem(p, values);
    }
    return { name, pairs, values };
  });
  if (parsed === null || p.errors.length > 0) {
    const e = p.errors[0] ?? { start: 0, end: 0, msg: "invalid series description" };
    throw new ContrailError("parse_error", `${errorPosition(src, e.start)}: parse error: ${e.msg}`);
  }
  const pairs = parsed.pairs.filter(([n]) => parsed.name === null || n !== METRIC_NAME);
  if (parsed.name !== null) pairs.push([METRIC_NAME, parsed.name]);
  let labels: Labels;
  try {
    labels = Labels.fromPairs(pairs);
  } catch (err) {
    throw new ContrailError("parse_error", `1:1: parse error: ${(err as Error).message}`, { cause: err });
  }
  return { labels, values: parsed.values };
}

export { STALE_NAN };
