// The series notation of the PromQL test DSL: `metric{a="b"} 1+2x3 _ _x2 stale -Inf {{schema:0 sum:1}}`.
// Labels and float values are decoded; native histogram literals are checked for syntax and kept as text
// (histograms are not evaluated yet, so a runner can recognise and skip them).

import { ContrailError } from "../../model/errors.ts";
import { Labels, METRIC_NAME } from "../../model/labels.ts";
import { STALE_NAN } from "../../model/sample.ts";
import type { SpannedToken, TokenType } from "./lexer.ts";
import { toBytes } from "./lexer.ts";
import { errorPosition, Parser } from "./parser.ts";
import { isAggregatorToken, METRIC_NAME_TOKENS } from "./tokens.ts";

/** One item of a value sequence. `float` values include StaleNaN for `stale`; histograms keep their literal text. */
export type SeriesValue =
  | { readonly kind: "omitted" }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "histogram"; readonly text: string };

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

function bucketSet(p: Parser): void {
  p.expect("LEFT_BRACKET");
  signedNumber(p);
  for (;;) {
    if (p.accept("RIGHT_BRACKET")) return;
    p.expect("SPACE", { context: "histogram description", expected: "" });
    if (p.accept("RIGHT_BRACKET")) return;
    signedNumber(p);
  }
}

// `{{key:value ...}}`; checks the syntax and returns the literal text.
function histogram(p: Parser): string {
  const open = p.expect("OPEN_HIST");
  const seen = new Set<TokenType>();
  p.accept("SPACE");
  while (p.peek().type !== "CLOSE_HIST") {
    const key = p.next();
    if (seen.has(key.type)) p.error({ start: 0, end: 0 }, `duplicate key "${key.val}" in histogram`);
    seen.add(key.type);
    p.expect("COLON");
    if (INT_KEYS.has(key.type)) {
      p.accept("SUB");
      uint(p);
    } else if (FLOAT_KEYS.has(key.type)) {
      signedNumber(p);
    } else if (BUCKET_KEYS.has(key.type)) {
      bucketSet(p);
    } else if (key.type === "COUNTER_RESET_HINT_DESC" && HINTS.has(p.peek().type)) {
      p.next();
    } else {
      p.unexpected({ context: "histogram description", expected: "histogram description key, e.g. buckets:[5 10 7]" });
    }
    if (p.peek().type !== "CLOSE_HIST") p.expect("SPACE", { context: "histogram description", expected: "" });
  }
  const close = p.next();
  return p.lexer.text(open.pos, close.end);
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
    const op = p.peek().type;
    if (op === "TIMES") {
      p.next();
      repeat(out, { kind: "histogram", text: h }, uint(p) + 1, t, p);
    } else if (op === "ADD" || op === "SUB") {
      p.next();
      const h2 = histogram(p);
      p.expect("TIMES");
      const text = `${h}${op === "ADD" ? "+" : "-"}${h2}`;
      repeat(out, { kind: "histogram", text }, uint(p) + 1, t, p);
    } else {
      out.push({ kind: "histogram", text: h });
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
