// Deterministic fuzzing: 100,000 mutated and random queries. The parser may only ever fail with its parse_error,
// whatever parses must print to a form that parses to the same form, and the work done (tokens lexed plus parser
// steps) stays within a fixed multiple of the input length, adversarial inputs included.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { xorshift32 } from "../../testkit/random.ts";
import { sharedData } from "../../testkit/shared-data.ts";
import { exprToString, parseExpr } from "./index.ts";
import { parseWithStats } from "./parser.ts";

// Work per input byte, plus a constant for tiny inputs.
const WORK_PER_BYTE = 8;
const WORK_BASE = 64;

const tables = sharedData("promql-parser-cases");

function corpus(): string[] {
  const out: string[] = [];
  for (const c of tables.json<{ cases: { input: string }[] }>("parse_test_cases.json").cases) {
    if (c.input.length < 2000) out.push(c.input);
  }
  for (const c of tables.json<{ cases: { in: string }[] }>("printer_test_cases.json").cases) out.push(c.in);
  for (const g of tables.json<{ groups: { tests: { input: string }[] }[] }>("lex_test_cases.json").groups) {
    for (const t of g.tests) out.push(t.input);
  }
  return out;
}

const TOKENS = [
  "sum",
  "avg",
  "topk",
  "count_values",
  "quantile",
  "limitk",
  "(",
  ")",
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  "=",
  "!=",
  "=~",
  "!~",
  "+",
  "-",
  "*",
  "/",
  "%",
  "^",
  "==",
  "<",
  ">=",
  "</",
  ">/",
  "and",
  "or",
  "unless",
  "atan2",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "offset",
  "@",
  "start()",
  "end()",
  "step()",
  "range()",
  "min_of",
  "max_of",
  "anchored",
  "smoothed",
  "fill",
  "fill_left",
  "fill_right",
  "rate",
  "info",
  "label_replace",
  "time",
  "foo",
  "x",
  "a:b",
  '"a"',
  "'b'",
  "`c`",
  '"\\x"',
  "5m",
  "1h30m",
  "1",
  "1.5",
  "0x1f",
  "1e3",
  "Inf",
  "NaN",
  "#c\n",
  " ",
  "\n",
  "é",
  "__name__",
  '"a.b"',
];

const CHARS = "(){}[],:=!~+-*/%^<>@#\"'`\\_ .0123456789abcxyzeEpP\n\té台😀\u0000\uFFFD";

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function chunks(s: string): string[] {
  return s.match(/[A-Za-z_:][\w:]*|\d[\w.]*|\s+|"(?:[^"\\]|\\.)*"|./gsu) ?? [];
}

function mutate(r: () => number, s: string): string {
  const rounds = 1 + Math.floor(r() * 3);
  for (let i = 0; i < rounds; i++) {
    const k = Math.floor(r() * 7);
    if (k <= 2) {
      // Character edits: insert, delete, swap.
      const at = Math.floor(r() * (s.length + 1));
      if (k === 0) s = s.slice(0, at) + pick(r, [...CHARS]) + s.slice(at);
      else if (k === 1) s = s.slice(0, at) + s.slice(at + 1);
      else if (at + 1 < s.length) s = s.slice(0, at) + s[at + 1] + s[at] + s.slice(at + 2);
    } else {
      // Token edits: insert, delete, swap, duplicate.
      const parts = chunks(s);
      const at = Math.floor(r() * (parts.length + 1));
      if (k === 3) parts.splice(at, 0, pick(r, TOKENS));
      else if (k === 4) parts.splice(at, 1);
      else if (k === 5 && at + 1 < parts.length) [parts[at], parts[at + 1]] = [parts[at + 1], parts[at]];
      else if (parts.length > 0) parts.splice(at, 0, ...parts.slice(Math.max(0, at - 3), at));
      s = parts.join("");
    }
  }
  return s;
}

function randomTokens(r: () => number): string {
  const n = 1 + Math.floor(r() * 12);
  let s = "";
  for (let i = 0; i < n; i++) s += pick(r, TOKENS) + (r() < 0.5 ? " " : "");
  return s;
}

function byteLength(s: string): number {
  return Buffer.byteLength(s);
}

/** Parses `input` and checks every property; returns whether it parsed. */
function check(input: string): boolean {
  const { work } = parseWithStats(input);
  const bound = WORK_BASE + WORK_PER_BYTE * byteLength(input);
  assert.ok(work <= bound, `work ${work} > ${bound} for ${JSON.stringify(input.slice(0, 200))}`);
  let printed: string;
  try {
    printed = exprToString(parseExpr(input));
  } catch (err) {
    if (isContrailError(err, "parse_error")) return false;
    throw new Error(`${JSON.stringify(input)} threw ${String(err)}`, { cause: err });
  }
  let again: string;
  try {
    again = exprToString(parseExpr(printed));
  } catch (err) {
    // Like Prometheus, a positive range below a millisecond (`foo[0.0001]`) is accepted and prints as `[0s]`.
    if (/\[0s[\]:]/.test(printed) && String(err).includes("duration must be greater than 0")) return true;
    throw new Error(`${JSON.stringify(input)} printed as ${JSON.stringify(printed)}, which fails: ${String(err)}`);
  }
  assert.equal(again, printed, `${JSON.stringify(input)} printed as ${JSON.stringify(printed)}`);
  return true;
}

describe("parser fuzzing", () => {
  test("100,000 mutated and random queries", { skip: tables.skip }, () => {
    const r = xorshift32(20_240_601);
    const seeds = corpus();
    let parsed = 0;
    for (let i = 0; i < 100_000; i++) {
      const input = i % 4 === 3 ? randomTokens(r) : mutate(r, pick(r, seeds));
      if (check(input)) parsed++;
    }
    // A healthy mix: a good share of mutants still parse, most do not.
    assert.ok(parsed > 10_000 && parsed < 90_000, `parsed ${parsed}`);
  });

  test("adversarial inputs stay within the work bound and fail cleanly", () => {
    const labels = Array.from({ length: 3000 }, (_, i) => `l${i}="v${i}"`).join(",");
    const inputs = [
      `${"(".repeat(5000)}1${")".repeat(5000)}`,
      "(".repeat(5000),
      `${"1+".repeat(3000)}1`,
      `${"x ^ ".repeat(3000)}x`,
      `${"-".repeat(5000)}1`,
      `${"abs(".repeat(3000)}x${")".repeat(3000)}`,
      `${"sum(".repeat(3000)}x${")".repeat(3000)}`,
      `x${"[1m:]".repeat(3000)}`,
      `x[${"(".repeat(3000)}1s${")".repeat(3000)}]`,
      `x offset ${"(".repeat(3000)}1s${")".repeat(3000)}`,
      `x{${labels}}`,
      `sum by (${Array.from({ length: 3000 }, (_, i) => `l${i}`).join(",")}) (x)`,
      "{".repeat(5000),
      `"${"a".repeat(20000)}"`,
      `${"x offset 1m ".repeat(1000)}`,
      `${"fill ".repeat(2000)}(`,
      `a ${"+ on(x) group_left(y) fill(1) ".repeat(500)}b`,
      `f(${",".repeat(5000)})`,
      `${"# comment\n".repeat(2000)}x`,
    ];
    for (const input of inputs) check(input);
  });
});
