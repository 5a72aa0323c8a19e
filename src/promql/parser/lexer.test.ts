import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sharedData } from "../../testkit/shared-data.ts";
import { describeToken, lex, type Token } from "./lexer.ts";

interface LexCase {
  readonly input: string;
  readonly input_hex?: string;
  readonly fail: boolean;
  readonly seriesDesc: boolean;
  readonly expected?: Token[];
}

const tables = sharedData("promql-parser-cases");

function inputOf(c: LexCase): string | Uint8Array {
  return c.input_hex !== undefined ? Buffer.from(c.input_hex, "hex") : c.input;
}

describe("lexer: Prometheus's lexer cases", { skip: tables.skip }, () => {
  const groups = tables.json<{ groups: { name: string; tests: LexCase[] }[] }>("lex_test_cases.json").groups;
  let total = 0;
  for (const group of groups) {
    test(group.name, () => {
      for (const c of group.tests) {
        total++;
        const input = inputOf(c);
        const tokens = lex(input, { seriesDesc: c.seriesDesc });
        if (c.fail) {
          assert.ok(
            tokens.some((t) => t.type === "ERROR"),
            `${JSON.stringify(c.input)}: expected a lexing error`,
          );
          continue;
        }
        const last = tokens[tokens.length - 1];
        assert.notEqual(last.type, "ERROR", `${JSON.stringify(c.input)}: unexpected error ${last.val}`);
        const length = typeof input === "string" ? Buffer.byteLength(input) : input.length;
        assert.deepEqual(last, { type: "EOF", pos: length, val: "" }, JSON.stringify(c.input));
        assert.deepEqual(tokens.slice(0, -1), c.expected ?? [], JSON.stringify(c.input));
      }
    });
  }
  test("covers all 157 cases", () => {
    assert.equal(total, 157);
  });
});

describe("lexer: own cases", () => {
  const cases: { input: string; tokens: string }[] = [
    { input: "a </ b", tokens: "IDENTIFIER:a TRIM_UPPER:</ IDENTIFIER:b" },
    { input: "a >/ b", tokens: "IDENTIFIER:a TRIM_LOWER:>/ IDENTIFIER:b" },
    { input: "fill + fill(1)", tokens: "IDENTIFIER:fill ADD:+ FILL:fill LEFT_PAREN:( NUMBER:1 RIGHT_PAREN:)" },
    {
      input: "x[5m+step()]",
      tokens: "IDENTIFIER:x LEFT_BRACKET:[ DURATION:5m ADD:+ STEP:step LEFT_PAREN:( RIGHT_PAREN:) RIGHT_BRACKET:]",
    },
    { input: "1_000", tokens: "NUMBER:1_000" },
    { input: '{"a.b"="c"}', tokens: 'LEFT_BRACE:{ STRING:"a.b" EQL:= STRING:"c" RIGHT_BRACE:}' },
    { input: "é", tokens: "ERROR:unexpected character: 'é'" },
  ];
  for (const c of cases) {
    test(c.input, () => {
      const got = lex(c.input)
        .filter((t) => t.type !== "EOF")
        .map((t) => `${t.type}:${t.val}`)
        .join(" ");
      assert.equal(got, c.tokens);
    });
  }

  test("positions are UTF-8 byte offsets", () => {
    const tokens = lex('{a="é"} + b');
    assert.deepEqual(
      tokens.map((t) => t.pos),
      [0, 1, 2, 3, 7, 9, 11, 12],
    );
  });

  test("describeToken names tokens as Prometheus's syntax errors do", () => {
    const d = (input: string) => describeToken(lex(input)[0]);
    assert.equal(d("*"), "<op:*>");
    assert.equal(d("and"), "<op:and>");
    assert.equal(d("by"), "<by>");
    assert.equal(d("sum"), "<aggr:sum>");
    assert.equal(d("foo"), 'identifier "foo"');
    assert.equal(d("a:b"), 'metric identifier "a:b"');
    assert.equal(d("5"), 'number "5"');
    assert.equal(d("5m"), 'duration "5m"');
    assert.equal(d('"abcdefghijkl"'), 'string "\\"abcdefghi"...');
    assert.equal(d("("), '"("');
    assert.equal(d("="), '"="');
    assert.equal(d("start"), '"start"');
    assert.equal(d(""), "end of input");
  });
});
