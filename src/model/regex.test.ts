import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "./errors.ts";
import { emitAnchored } from "./regex/emit.ts";
import { Nfa } from "./regex/nfa.ts";
import { parseRegex } from "./regex/parse.ts";
import { compileRegex } from "./regex.ts";

// Every way we can run a pattern must agree: the chosen strategy, V8 on the emitted source, and the NFA.
function allEngines(pattern: string): ((s: string) => boolean)[] {
  const node = parseRegex(pattern);
  const re = new RegExp(emitAnchored(node));
  const nfa = new Nfa(node);
  const compiled = compileRegex(pattern);
  return [(s) => compiled.test(s), (s) => re.test(s), (s) => nfa.test(s)];
}

// (pattern, input, RE2 full-match result). Mostly cases where a plain JS RegExp would answer differently.
const MATCH_CASES: [string, string, boolean][] = [
  // Anchoring: the whole value must match.
  ["abc", "xabcx", false],
  ["abc", "abc", true],
  ["a|ab", "ab", true],
  ["foo|bar", "foobar", false],
  ["", "", true],
  ["", "a", false],
  ["()", "", true],
  ["a|", "", true],
  ["(|a)b", "b", true],
  // `.` matches newline (Prometheus 3); (?-s) turns that off; negated classes always match newline.
  [".", "\n", true],
  ["a.c", "a\nc", true],
  [".*", "line1\nline2", true],
  ["(?-s)a.c", "a\nc", false],
  ["(?-s:.)", "\n", false],
  ["(?s-s:.)", "\n", false],
  ["[^a]", "\n", true],
  // Code points, not UTF-16 units.
  ["^.$", "😀", true],
  ["..", "😀", false],
  [".{2}", "a😀", true],
  ["[^a]", "😀", true],
  ["[^😀]", "😁", true],
  ["[^😀]", "😀", false],
  ["[😀-😂]", "😁", true],
  ["[😀-😂]", "😃", false],
  ["\\x{1F600}", "😀", true],
  ["😀+", "😀😀", true],
  ["😀{2}", "😀😀", true],
  ["[\\x{10000}-\\x{10FFFF}]", "\u{10FFFF}", true],
  ["[\\x{10000}-\\x{10FFFF}]", "\uffff", false],
  ["\\D", "😀", true],
  // Case folding (Go's simple folding orbits).
  ["(?i)abc", "AbC", true],
  ["(?i)k", "\u212a", true],
  ["(?i)s", "\u017f", true],
  ["(?i)ß", "ẞ", true],
  ["(?i)σ", "ς", true],
  ["(?i)ı", "I", false],
  ["(?i)i", "İ", false],
  ["(?i)[a-z]+", "HeLLo", true],
  ["(?i)[^k]", "K", false],
  ["(?i)[^k]", "\u212a", false],
  ["(?i:a)b", "Ab", true],
  ["(?i:a)b", "AB", false],
  ["(?i)a(?-i)b", "Ab", true],
  ["(?i)a(?-i)b", "AB", false],
  ["(?i)\\w", "\u017f", true],
  ["\\w", "\u017f", false],
  ["(?i)\\W", "\u212a", false],
  ["(?i)\\p{Lu}", "a", true],
  ["(?i)[[:upper:]]", "a", true],
  ["(?i)😀", "😀", true],
  // Text and line anchors: `$` never matches before a trailing newline unless (?m).
  ["a$", "a\n", false],
  ["a\\z", "a", true],
  ["^a", "a", true],
  ["a^b", "ab", false],
  ["a\\Ab", "ab", false],
  ["^*a", "a", true],
  ["$^", "", true],
  ["(?m)^a$", "a", true],
  ["(?m)a$\\n^b", "a\nb", true],
  ["(?m)a$", "a\n", false],
  ["(?m)a\\n$", "a\n", true],
  ["(?m)a$\\r\\nb", "a\r\nb", false],
  ["(?m)(?:^a\\n?)+", "a\na\na", true],
  // ASCII word boundaries.
  ["a\\b", "a", true],
  ["\\ba\\b", "a", true],
  ["a\\bb", "ab", false],
  ["a\\Bb", "ab", true],
  ["\\bé", "é", false],
  ["é\\B", "é", true],
  ["a\\b-", "a-", true],
  // \Q...\E quotes everything, to \E or the end.
  ["\\Q.*\\E", ".*", true],
  ["\\Q.*\\E", "ab", false],
  ["\\Qa|b", "a|b", true],
  ["\\Qab\\E+", "abbb", true],
  ["\\Q\\\\E", "\\", true],
  // POSIX and Perl classes (ASCII only; \s has no \v, [:space:] does).
  ["[[:digit:]]+", "123", true],
  ["[[:^digit:]]", "a", true],
  ["[[:^digit:]]", "1", false],
  ["[[:upper:][:digit:]]+", "A1", true],
  ["[[:word:]]+", "a_1", true],
  ["[[:punct:]]", "!", true],
  ["[[:space:]]", "\v", true],
  ["\\s", "\v", false],
  ["\\s", "\f", true],
  ["\\d", "٣", false],
  ["\\W", "é", true],
  ["[\\d\\s]+", "1 2", true],
  ["[^\\D]", "5", true],
  // Unicode classes.
  ["\\pL", "é", true],
  ["\\pL", "1", false],
  ["\\pL", "😀", false],
  ["\\p{L}+", "日本語", true],
  ["\\PL", "1", true],
  ["\\p{^L}", "a", false],
  ["\\P{^L}", "a", true],
  ["\\p{Greek}+", "αβγ", true],
  ["\\p{Greek}", "a", false],
  ["\\pN", "٣", true],
  ["\\p{Han}", "字", true],
  ["[\\p{Lu}\\d]+", "AB12", true],
  ["[^\\pL]", "a", false],
  ["\\p{Any}", "\n", true],
  ["\\p{So}", "😀", true],
  ["\\p{Cc}", "\u0001", true],
  ["\\pC", "\u0378", false],
  // Escapes.
  ["\\x41", "A", true],
  ["\\x{41}", "A", true],
  ["\\101", "A", true],
  ["\\0", "\u0000", true],
  ["\\08", "\u00008", true],
  ["\\a\\f\\t\\n\\r\\v", "\u0007\f\t\n\r\v", true],
  ["\\.", ".", true],
  ["\\.", "a", false],
  ["\\_", "_", true],
  ["[\\]]", "]", true],
  // Repetition.
  ["a{2}", "aa", true],
  ["a{2}", "aaa", false],
  ["a{2,}", "aaaa", true],
  ["a{,2}", "a{,2}", true],
  ["a{1001", "a{1001", true],
  ["a{2,3}?", "aa", true],
  ["x*?y", "xxy", true],
  ["(?U)a+", "aaa", true],
  ["a{0}", "", true],
  ["(?:a{2}){3}", "aaaaaa", true],
  ["(?:a{2}){3}", "aaaaa", false],
  ["(a|b){20}", "ab".repeat(10), true],
  ["(a|b){20}", `${"ab".repeat(10)}a`, false],
  // Groups.
  ["(?P<name>a)b", "ab", true],
  ["(?<name>a)b", "ab", true],
  ["(?P<n>a)(?P<n>b)", "ab", true],
  ["(?:ab)+", "abab", true],
  ["(?)a", "a", true],
  // Bracket edge cases.
  ["[]a]", "]", true],
  ["[]a]", "a", true],
  ["[a-]", "-", true],
  ["[-a]", "-", true],
  ["[a-c-e]", "-", true],
  ["[a-c-e]", "d", false],
  ["[^]a]", "b", true],
  ["[^]a]", "]", false],
  // Globs and the fast paths.
  [".*foo.*", "xfooy", true],
  [".*foo.*", "xfoy", false],
  ["foo.+", "foo", false],
  [".+foo", "foo", false],
  [".+foo", "😀foo", true],
  ["a.*b.*c", "abc", true],
  ["a.*b.*c", "acb", false],
  [".*a.+b.*", "ab", false],
  [".*a.+b.*", "axb", true],
  ["foo.*bar", "foobar", true],
  ["foo.*bar", "fooba", false],
  ["aa.*aa", "aaa", false],
  ["aa.*aa", "aaaa", true],
  ["^(foo|bar)$", "bar", true],
  ["(api|web)-\\d+", "web-12", true],
  ["(api|web)-\\d+", "web-", false],
];

describe("RE2 semantics", () => {
  for (const [pattern, input, want] of MATCH_CASES) {
    test(`${JSON.stringify(pattern)} on ${JSON.stringify(input)} is ${want}`, () => {
      const engines = allEngines(pattern);
      engines.forEach((run, k) => {
        assert.equal(run(input), want, `engine ${k}`);
      });
    });
  }
});

// Invalid patterns with the exact message Go's regexp/syntax gives.
const INVALID_CASES: [string, string][] = [
  ["(", "missing closing ): `(`"],
  ["(a|b", "missing closing ): `(a|b`"],
  ["(?P<name>a", "missing closing ): `(?P<name>a`"],
  [")", "unexpected ): `)`"],
  ["a)", "unexpected ): `a)`"],
  ["(a))", "unexpected ): `(a))`"],
  ["[a-z", "missing closing ]: `[a-z`"],
  ["([a-z)", "missing closing ]: `[a-z)`"],
  ["[]", "missing closing ]: `[]`"],
  ["[^]", "missing closing ]: `[^]`"],
  ["x{1001}", "invalid repeat count: `{1001}`"],
  ["x{2,1}", "invalid repeat count: `{2,1}`"],
  ["x{1,9876543210}", "invalid repeat count: `{1,9876543210}`"],
  ["a{100000,}", "invalid repeat count: `{100000,}`"],
  ["((((((((((x{2}){2}){2}){2}){2}){2}){2}){2}){2}){2})", "invalid repeat count: `{2}`"],
  ["(a{2}){600}", "invalid repeat count: `{600}`"],
  ["(?P<name", "invalid named capture: `(?P<name`"],
  ["(?P<x y>a)", "invalid named capture: `(?P<x y>`"],
  ["(?P<>a)", "invalid named capture: `(?P<>`"],
  ["(?<>a)", "invalid named capture: `(?<>`"],
  ["(?<=a)", "invalid named capture: `(?<=a)`"],
  ["[a-Z]", "invalid character class range: `a-Z`"],
  ["[z-a]", "invalid character class range: `z-a`"],
  ["(?i)[a-Z]", "invalid character class range: `a-Z`"],
  ["[[:foo:]]", "invalid character class range: `[:foo:]`"],
  ["\\p{Foo}", "invalid character class range: `\\p{Foo}`"],
  ["\\pX", "invalid character class range: `\\pX`"],
  ["\\p{Greek", "invalid character class range: `\\p{Greek`"],
  ["\\p{Grek}", "invalid character class range: `\\p{Grek}`"],
  ["\\Q\\E*", "missing argument to repetition operator: `*`"],
  ["*", "missing argument to repetition operator: `*`"],
  ["a|*", "missing argument to repetition operator: `*`"],
  ["(*)", "missing argument to repetition operator: `*`"],
  ["(?i)*", "missing argument to repetition operator: `*`"],
  ["+?", "missing argument to repetition operator: `+?`"],
  ["{2}", "missing argument to repetition operator: `{2}`"],
  ["a**", "invalid nested repetition operator: `**`"],
  ["a*+", "invalid nested repetition operator: `*+`"],
  ["a??*", "invalid nested repetition operator: `??*`"],
  ["x{2}{3}", "invalid nested repetition operator: `{2}{3}`"],
  ["(?=a)", "invalid or unsupported Perl syntax: `(?=`"],
  ["(?!a)", "invalid or unsupported Perl syntax: `(?!`"],
  ["(?P=name)", "invalid or unsupported Perl syntax: `(?P`"],
  ["(?", "invalid or unsupported Perl syntax: `(?`"],
  ["(?i", "invalid or unsupported Perl syntax: `(?i`"],
  ["(?-)", "invalid or unsupported Perl syntax: `(?-)`"],
  ["(?i-)", "invalid or unsupported Perl syntax: `(?i-)`"],
  ["(?x)", "invalid or unsupported Perl syntax: `(?x`"],
  ["\\1", "invalid escape sequence: `\\1`"],
  ["\\8", "invalid escape sequence: `\\8`"],
  ["\\C", "invalid escape sequence: `\\C`"],
  ["\\q", "invalid escape sequence: `\\q`"],
  ["\\é", "invalid escape sequence: `\\é`"],
  ["[\\b]", "invalid escape sequence: `\\b`"],
  ["\\x", "invalid escape sequence: `\\x`"],
  ["\\xZ", "invalid escape sequence: `\\xZ`"],
  ["\\x4", "invalid escape sequence: `\\x4`"],
  ["\\x{}", "invalid escape sequence: `\\x{}`"],
  ["\\x{12", "invalid escape sequence: `\\x{12`"],
  ["\\x{110000}", "invalid escape sequence: `\\x{110000`"],
  ["a\\", "trailing backslash at end of expression: ``"],
  ["\ud800", "invalid UTF-8: `\ud800`"],
  [`${"(".repeat(1000)}${")".repeat(1000)}`, `expression nests too deeply: \`${"(".repeat(1000)}${")".repeat(1000)}\``],
  [
    `${"(?:".repeat(1000)}${")*".repeat(1000)}`,
    `expression nests too deeply: \`${"(?:".repeat(1000)}${")*".repeat(1000)}\``,
  ],
  ["(xx?){1000}".repeat(1000), `expression too large: \`${"(xx?){1000}".repeat(1000)}\``],
];

describe("invalid patterns", () => {
  for (const [pattern, message] of INVALID_CASES) {
    test(`${JSON.stringify(pattern.slice(0, 40))} is rejected`, () => {
      assert.throws(
        () => compileRegex(pattern),
        (e) => isContrailError(e, "invalid_regex") && e.message === `error parsing regexp: ${message}`,
      );
    });
  }

  test("Go's valid limits are accepted", () => {
    for (const p of [
      "((((((((((x{2}){2}){2}){2}){2}){2}){2}){2}){2}))",
      `${"(".repeat(999)}${")".repeat(999)}`,
      `${"(?:".repeat(999)}${")*".repeat(999)}`,
      `(${"|".repeat(12345)})`,
      "x{1000}",
      "(?:a{10}){100}",
      `${"(?:".repeat(5000)}a${")".repeat(5000)}`,
    ]) {
      assert.doesNotThrow(() => compileRegex(p), p.slice(0, 30));
    }
  });
});

describe("fast paths", () => {
  test("setMatches", () => {
    const cases: [string, string[] | null][] = [
      ["a|b|c", ["a", "b", "c"]],
      ["foo", ["foo"]],
      ["foo(bar|baz)", ["foobar", "foobaz"]],
      ["[ab]c", ["ac", "bc"]],
      ["^(a|b)$", ["a", "b"]],
      ["(a|b)\\z", ["a", "b"]],
      ["a|a", ["a"]],
      ["a.*", null],
      ["", null],
      ["a|", null],
      ["a?", null],
      ["a^b", null],
      [Array.from({ length: 300 }, (_, i) => `v${i}`).join("|"), null],
    ];
    for (const [pattern, want] of cases) {
      assert.deepEqual(compileRegex(pattern).setMatches(), want, pattern);
    }
  });

  test("prefix and strategy", () => {
    const cases: [string, string, string][] = [
      ["foo", "foo", "set"],
      ["foo|foobar", "foo", "set"],
      ["foo.*", "foo", "glob"],
      [".*foo", "", "glob"],
      [".*", "", "glob"],
      [".+", "", "glob"],
      ["(?s:.*)foo.*bar", "", "glob"],
      ["foo\\d+", "foo", "v8"],
      ["(foo)\\d+", "foo", "v8"],
      ["a+", "", "v8"],
      ["a{20}", "", "nfa"],
      ["(?m)^a", "", "nfa"],
      ["\\pL+", "", "nfa"],
    ];
    for (const [pattern, prefix, strategy] of cases) {
      const re = compileRegex(pattern);
      assert.equal(re.prefix, prefix, pattern);
      assert.equal(re.strategy, strategy, pattern);
    }
  });

  test("compiled patterns are cached", () => {
    assert.equal(compileRegex("cache.*me"), compileRegex("cache.*me"));
  });
});

describe("linear time", () => {
  // Each would take effectively forever in a backtracking engine. The bound guards against exponential blow-up.
  const cases: [string, string][] = [
    ["(a*)*b", "a".repeat(10000)],
    ["(a*)*b", `${"a".repeat(10000)}cb`],
    ["(a|a)*b", `${"a".repeat(10000)}cb`],
    ["(x+x+)+y", `${"x".repeat(10000)}zy`],
    ["(a*)*[bc]", `${"a".repeat(10000)}d`],
    ["(a|a){0,100}[bc]", "a".repeat(10000)],
    ["(?m)(a*)*$[bc]", "a".repeat(10000)],
    ["(?i)(a*)*[bc]", "A".repeat(10000)],
    ["\\pL*\\pL*\\pL*[!?]", "é".repeat(10000)],
    ["(😀*)*[bc]", "😀".repeat(10000)],
    ["(.*a){20}", "a".repeat(10000)],
  ];
  for (const [pattern, input] of cases) {
    test(`${pattern} on ${input.length} chars`, () => {
      const re = compileRegex(pattern);
      const t0 = performance.now();
      re.test(input);
      const ms = performance.now() - t0;
      assert.ok(ms < 2000, `${pattern} took ${ms.toFixed(0)} ms with ${re.strategy}`);
    });
  }
});

describe("fuzz", () => {
  test("random patterns either fail with invalid_regex or agree across engines", () => {
    const alphabet = ["a", "b", "(", ")", "|", "*", "+", "?", "{", "}", "1", ",", "[", "]", "^", "$", ".", "\\", "-"];
    const extra = ["?:", "?i)", "\\b", "\\d", "\\pL", "[:alpha:]", "\\Q", "\\E", "\\z", "(?m)", "😀", "\n"];
    const inputs = ["", "a", "b", "ab", "ba", "aab", "a\nb", "😀", "a😀b", "1,2", "{1}"];
    let seed = 42;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    let valid = 0;
    for (let k = 0; k < 2000; k++) {
      let p = "";
      const len = 1 + rnd(10);
      for (let j = 0; j < len; j++) p += rnd(5) === 0 ? extra[rnd(extra.length)] : alphabet[rnd(alphabet.length)];
      let engines: ((s: string) => boolean)[];
      try {
        engines = allEngines(p);
      } catch (e) {
        assert.ok(isContrailError(e, "invalid_regex"), `${p}: ${e}`);
        assert.match((e as Error).message, /^error parsing regexp: [a-zA-Z0-9 ():,\]-]+: `/);
        continue;
      }
      valid++;
      for (const s of inputs) {
        const results = engines.map((run) => run(s));
        assert.ok(
          results.every((r) => r === results[0]),
          `${JSON.stringify(p)} on ${JSON.stringify(s)}: ${results}`,
        );
      }
    }
    assert.ok(valid > 200, `only ${valid} valid patterns`);
  });
});
