// Hostile templates: thousands of random token soups must parse or fail with a parse error (never throw anything
// else), and every template that parses must expand (or fail into its error text) without hanging.

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTemplate, expandAlertTemplate } from "./index.ts";

const TOKENS = [
  "{{",
  "}}",
  "{{-",
  "-}}",
  " ",
  "\n",
  "if",
  "else",
  "end",
  "range",
  "with",
  "break",
  "continue",
  "$x",
  "$",
  ":=",
  "=",
  ",",
  "|",
  "(",
  ")",
  ".",
  ".Labels",
  ".Value",
  "$labels",
  "$value",
  "$labels.job",
  '"s"',
  "`raw`",
  "'c'",
  "1",
  "-1",
  "1.5",
  "1e3",
  "0x1f",
  "true",
  "nil",
  "eq",
  "lt",
  "and",
  "or",
  "not",
  "len",
  "index",
  "printf",
  '"%d %s %v"',
  "humanize",
  "humanizeDuration",
  "query",
  '"up"',
  "first",
  "value",
  "label",
  "reReplaceAll",
  '"(a+)"',
  '"$1"',
  "match",
  "title",
  "/*",
  "*/",
  "text",
  "{",
  "}",
  "\\",
  "define",
  "template",
  "block",
  '"n"',
  "slice",
];
const CASES = 3_000;
const MAX_TOKENS = 24;

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("random templates parse or report a parse error, and expand without throwing", async () => {
  const rand = prng(16);
  let parsed = 0;
  for (let i = 0; i < CASES; i++) {
    const n = 1 + Math.floor(rand() * MAX_TOKENS);
    let text = "";
    for (let j = 0; j < n; j++) text += TOKENS[Math.floor(rand() * TOKENS.length)];
    const problem = checkTemplate(text, "__alert_Fuzz");
    if (problem !== null) {
      assert.match(problem, /^template: __alert_Fuzz:\d+: /, text);
      continue;
    }
    parsed++;
    const out = await expandAlertTemplate(text, "__alert_Fuzz", {
      labels: { job: "api" },
      externalLabels: {},
      externalUrl: "",
      value: 1,
      query: async () => [{ labels: { job: "api" }, value: 2 }],
    });
    assert.equal(typeof out, "string");
  }
  assert.ok(parsed > CASES / 10, `only ${parsed} of ${CASES} parsed: the generator is too hostile to test expansion`);
});
