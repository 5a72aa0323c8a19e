import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "./errors.ts";
import { Labels } from "./labels.ts";
import { inverseMatcher, type MatchType, matcherString, matchesEmpty, newMatcher, parseMatchType } from "./matcher.ts";

// A series is selected when every matcher accepts its label value, "" standing for a missing label.
function selects(labels: Labels, ...ms: ReturnType<typeof newMatcher>[]): boolean {
  return ms.every((m) => m.matches(labels.get(m.name)));
}

describe("matchers", () => {
  const cases: [MatchType, string, string, boolean][] = [
    ["=", "job", "api", true],
    ["=", "job", "ap", false],
    ["=", "job", "", false],
    ["!=", "job", "api", false],
    ["!=", "job", "web", true],
    ["=~", "job", "a.*", true],
    ["=~", "job", "p.*", false],
    ["=~", "job", "ap", false],
    ["=~", "job", "api|web", true],
    ["!~", "job", "a.*", false],
    ["!~", "job", "web|db", true],
    ["!~", "job", "ap", true],
  ];
  const series = Labels.fromStrings("__name__", "up", "job", "api");
  for (const [type, name, value, want] of cases) {
    test(`${name}${type}${JSON.stringify(value)} on ${series}`, () => {
      assert.equal(selects(series, newMatcher(type, name, value)), want);
    });
  }

  test("an empty value matches a missing label", () => {
    const series = Labels.fromStrings("__name__", "up");
    const cases: [MatchType, string, boolean][] = [
      ["=", "", true],
      ["!=", "", false],
      ["=~", "", true],
      ["=~", ".*", true],
      ["=~", ".+", false],
      ["=~", "x|", true],
      ["!~", ".+", true],
      ["!~", "", false],
      ["=", "x", false],
      ["!=", "x", true],
    ];
    for (const [type, value, want] of cases) {
      const m = newMatcher(type, "env", value);
      assert.equal(selects(series, m), want, `env${type}${JSON.stringify(value)}`);
      assert.equal(matchesEmpty(m), want);
    }
  });

  test("regexes are anchored and dot matches newline", () => {
    const cases: [string, string, boolean][] = [
      ["api", "my-api-1", false],
      [".*api.*", "my-api-1", true],
      ["a.b", "a\nb", true],
      ["a$", "a\n", false],
      ["(?i)API", "api", true],
    ];
    for (const [re, value, want] of cases) {
      assert.equal(newMatcher("=~", "x", re).matches(value), want, `${re} on ${JSON.stringify(value)}`);
      assert.equal(newMatcher("!~", "x", re).matches(value), !want);
    }
  });

  test("invalid regexes throw invalid_regex with Go's message", () => {
    for (const type of ["=~", "!~"] as const) {
      assert.throws(
        () => newMatcher(type, "job", "a(b"),
        (e) => isContrailError(e, "invalid_regex") && e.message === "error parsing regexp: missing closing ): `a(b`",
      );
    }
    assert.doesNotThrow(() => newMatcher("=", "job", "a(b"));
  });

  test("regex matchers expose the compiled regex", () => {
    assert.deepEqual(newMatcher("=~", "job", "a|b").regex?.setMatches(), ["a", "b"]);
    assert.equal(newMatcher("=", "job", "a").regex, null);
  });
});

describe("matcher helpers", () => {
  test("matcherString quotes like Prometheus", () => {
    const cases: [MatchType, string, string, string][] = [
      ["=", "job", "api", 'job="api"'],
      ["!~", "job", 'a"b\\.*', 'job!~"a\\"b\\\\.*"'],
      ["=~", "path", "a\nb", 'path=~"a\\nb"'],
      ["=", "my.label", "x", '"my.label"="x"'],
      ["!=", "ü", "é", '"ü"!="é"'],
    ];
    for (const [type, name, value, want] of cases) assert.equal(matcherString(newMatcher(type, name, value)), want);
  });

  test("inverseMatcher", () => {
    const pairs: [MatchType, MatchType][] = [
      ["=", "!="],
      ["!=", "="],
      ["=~", "!~"],
      ["!~", "=~"],
    ];
    for (const [from, to] of pairs) {
      const inv = inverseMatcher(newMatcher(from, "a", "b.*"));
      assert.equal(inv.type, to);
      for (const v of ["", "b", "bx", "c"]) {
        assert.equal(inv.matches(v), !newMatcher(from, "a", "b.*").matches(v));
      }
    }
  });

  test("parseMatchType", () => {
    for (const t of ["=", "!=", "=~", "!~"]) assert.equal(parseMatchType(t), t);
    assert.throws(
      () => parseMatchType("=="),
      (e) => isContrailError(e, "bad_data"),
    );
  });
});
