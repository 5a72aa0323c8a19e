// Rule files and ruler-API group bodies: what a valid file becomes, and every problem reported with its file and
// line, all at once, in one bad_data error. The promtool comparison over a corpus is in cli/rules.test.ts.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import {
  MAX_GROUPS_PER_FILE,
  MAX_RULE_FILE_BYTES,
  MAX_RULES_PER_GROUP,
  parseRuleFile,
  parseRuleGroup,
} from "./rule-file.ts";

/** The error lines of parsing `text`, or [] when it parses. */
function problems(text: string, source = "f.yml"): string[] {
  try {
    parseRuleFile(text, source);
    return [];
  } catch (err) {
    assert.ok(isContrailError(err, "bad_data"), String(err));
    return err.message.split("\n");
  }
}

describe("valid files", () => {
  test("groups and rules with durations, labels and annotations", () => {
    const groups = parseRuleFile(
      `groups:
- name: g
  interval: 30s
  limit: 5
  query_offset: 1m
  labels: {team: storage}
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
    labels: {env: prod}
  - alert: Down
    expr: up == 0
    for: 1h30m
    keep_firing_for: 5m
    labels: {severity: "{{ if true }}page{{ end }}"}
    annotations: {summary: "{{ $labels.job }} down"}
`,
      "f.yml",
    );
    assert.deepEqual(groups, [
      {
        name: "g",
        intervalMs: 30_000,
        limit: 5,
        queryOffsetMs: 60_000,
        labels: { team: "storage" },
        rules: [
          { kind: "recording", record: "job:up:sum", expr: "sum by (job) (up)", labels: { env: "prod" }, line: 8 },
          {
            kind: "alerting",
            alert: "Down",
            expr: "up == 0",
            forMs: 5_400_000,
            keepFiringForMs: 300_000,
            labels: { severity: "{{ if true }}page{{ end }}" },
            annotations: { summary: "{{ $labels.job }} down" },
            line: 11,
          },
        ],
      },
    ]);
  });

  test("an empty file, a null group list and an empty list have no groups", () => {
    assert.deepEqual(parseRuleFile("", "f"), []);
    assert.deepEqual(parseRuleFile("# only a comment\n", "f"), []);
    assert.deepEqual(parseRuleFile("groups:\n", "f"), []);
    assert.deepEqual(parseRuleFile("groups: []\n", "f"), []);
  });

  test("a group without interval or offset leaves them to the evaluator", () => {
    const [g] = parseRuleFile("groups:\n- name: g\n  rules:\n  - record: a\n    expr: '1'\n", "f");
    assert.equal(g.intervalMs, undefined);
    assert.equal(g.queryOffsetMs, undefined);
    assert.equal(g.limit, 0);
  });

  test("parseRuleGroup reads one group document, as the ruler API posts it", () => {
    const g = parseRuleGroup("name: g\ninterval: 1m\nrules:\n- alert: A\n  expr: up == 0\n", "api");
    assert.equal(g.name, "g");
    assert.equal(g.intervalMs, 60_000);
    assert.equal(g.rules[0].kind, "alerting");
  });
});

describe("every problem with its file and line", () => {
  const cases: readonly (readonly [string, string, readonly string[]])[] = [
    ["unknown group field", "groups:\n- name: g\n  bogus: 1\n", ["f.yml:3: field bogus not found in rule group"]],
    [
      "unknown rule field",
      "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n    help: x\n",
      ['f.yml:6: group "g", rule 1: field help not found in rule'],
    ],
    [
      "duplicate group",
      "groups:\n- name: g\n- name: h\n- name: g\n",
      ['f.yml:4: groupname: "g" is repeated in the same file'],
    ],
    ["empty group name", "groups:\n- rules: []\n", ["f.yml:2: Groupname must not be empty"]],
    [
      "neither record nor alert",
      "groups:\n- name: g\n  rules:\n  - expr: up\n",
      ["f.yml:4: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set"],
    ],
    [
      "both record and alert",
      "groups:\n- name: g\n  rules:\n  - record: a\n    alert: B\n    expr: up\n",
      ["f.yml:4: group \"g\", rule 1, \"B\": only one of 'record' and 'alert' must be set"],
    ],
    [
      "invalid names",
      "groups:\n- name: g\n  labels: {bad-g: x}\n  rules:\n  - record: a-b\n    expr: up\n    labels: {__name__: x, 1x: y}\n",
      [
        'f.yml:3: group "g": invalid label name: bad-g',
        'f.yml:5: group "g", rule 1, "a-b": invalid recording rule name: a-b',
        'f.yml:7: group "g", rule 1, "a-b": invalid label name: __name__',
        'f.yml:7: group "g", rule 1, "a-b": invalid label name: 1x',
      ],
    ],
    [
      "bad durations",
      "groups:\n- name: g\n  interval: 1x\n  query_offset: -1m\n  rules:\n  - alert: A\n    expr: up\n    for: 5 m\n    keep_firing_for: 1h1h\n",
      [
        'f.yml:3: group "g": \'interval\': unknown unit "x" in duration "1x"',
        'f.yml:4: group "g": \'query_offset\': not a valid duration string: "-1m"',
        'f.yml:8: group "g", rule 1, "A": \'for\': unknown unit " m" in duration "5 m"',
        'f.yml:9: group "g", rule 1, "A": \'keep_firing_for\': not a valid duration string: "1h1h"',
      ],
    ],
    [
      "expressions that do not parse, in strict PromQL",
      "groups:\n- name: g\n  rules:\n  - record: a\n    expr: sum(\n  - record: b\n    expr: limitk(1, up)\n  - alert: C\n",
      [
        'f.yml:5: group "g", rule 1, "a": could not parse expression: 1:5: parse error: unclosed left parenthesis',
        'f.yml:7: group "g", rule 2, "b": could not parse expression: 1:1: parse error: limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions',
        'f.yml:8: group "g", rule 3, "C": field \'expr\' must be set in rule',
      ],
    ],
    [
      "alerting fields on a recording rule",
      "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n    for: 1m\n    keep_firing_for: 1m\n    annotations: {x: y}\n",
      [
        'f.yml:4: group "g", rule 1, "a": invalid field \'annotations\' in recording rule',
        'f.yml:4: group "g", rule 1, "a": invalid field \'for\' in recording rule',
        'f.yml:4: group "g", rule 1, "a": invalid field \'keep_firing_for\' in recording rule',
      ],
    ],
    [
      "templates that do not parse, and annotation names",
      "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels: {l: '{{ nope }}'}\n    annotations: {a: '{{ if }}', bad-a: x}\n",
      [
        'f.yml:6: group "g", rule 1, "A": label "l": template: __alert_A:1: function "nope" not defined',
        'f.yml:7: group "g", rule 1, "A": invalid annotation name: bad-a',
        'f.yml:7: group "g", rule 1, "A": annotation "a": template: __alert_A:1: missing value for if',
      ],
    ],
    [
      "limit",
      "groups:\n- name: g\n  limit: -1\n- name: h\n  limit: 1.5\n",
      [
        "f.yml:3: group \"g\": 'limit' must be a non-negative integer",
        "f.yml:5: group \"h\": 'limit' must be a non-negative integer",
      ],
    ],
    ["not a mapping", "- a\n- b\n", ["f.yml:1: rule file must be a mapping"]],
    ["groups not a list", "groups: {name: g}\n", ["f.yml:1: 'groups' must be a list of rule groups"]],
    [
      "a string where a mapping belongs",
      "groups:\n- name: g\n  labels: x\n",
      ["f.yml:3: 'labels' must be a mapping of names to strings"],
    ],
    [
      "YAML syntax",
      "groups:\n- name: [g\n",
      ["f.yml:3: yaml: Flow sequence in block collection must be sufficiently indented and end with a ]"],
    ],
    ["duplicate keys", "groups:\n- name: g\n  name: h\n", ["f.yml:3: yaml: Map keys must be unique"]],
    [
      "aliases",
      "groups:\n- name: &n g\n  rules:\n  - record: *n\n    expr: up\n",
      [
        "f.yml:4: YAML aliases are not supported in rule files",
        "f.yml:4: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set",
      ],
    ],
  ];
  for (const [name, text, want] of cases) test(name, () => assert.deepEqual(problems(text), want));

  test("the source names the file or namespace in every line", () => {
    assert.deepEqual(problems("groups:\n- name: g\n  x: 1\n", "ns/team.yml"), [
      "ns/team.yml:3: field x not found in rule group",
    ]);
  });
});

describe("bounds", () => {
  test("file size", () => {
    const big = `# ${"x".repeat(MAX_RULE_FILE_BYTES)}\n`;
    assert.throws(() => parseRuleFile(big, "big.yml"), /big.yml: \d+ bytes, more than the limit of 4194304 bytes/);
  });

  test("groups per file and rules per group", () => {
    const groups = Array.from({ length: MAX_GROUPS_PER_FILE + 1 }, (_, i) => `- name: g${i}\n`).join("");
    assert.deepEqual(problems(`groups:\n${groups}`), [
      `f.yml:2: ${MAX_GROUPS_PER_FILE + 1} groups, more than the limit of ${MAX_GROUPS_PER_FILE}`,
    ]);
    const rules = Array.from({ length: MAX_RULES_PER_GROUP + 1 }, (_, i) => `  - record: r${i}\n    expr: up\n`).join(
      "",
    );
    assert.deepEqual(problems(`groups:\n- name: g\n  rules:\n${rules}`), [
      `f.yml:4: group "g": ${MAX_RULES_PER_GROUP + 1} rules, more than the limit of ${MAX_RULES_PER_GROUP}`,
    ]);
  });

  test("at most 100 problems are listed, the rest counted", () => {
    const rules = Array.from({ length: 150 }, () => "  - expr: up\n").join("");
    const lines = problems(`groups:\n- name: g\n  rules:\n${rules}`);
    assert.equal(lines.length, 101);
    assert.equal(lines[100], "(50 more errors)");
  });
});

describe("hostile input", () => {
  const VALID = `groups:
- name: g
  interval: 30s
  rules:
  - record: job:up:sum
    expr: sum by (job) (rate(up[5m]))
    labels: {env: prod}
  - alert: Down
    expr: up == 0
    for: 5m
    annotations: {summary: "{{ $labels.job }} {{ $value | humanize }}"}
`;
  const INSERTS = ["{", "}", "[", "]", ":", "-", " ", "\n", "'", '"', "&a", "*a", "!!map", "{{", "}}", "\t", "#"];

  test("every mutation of a valid file parses or fails with bad_data", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    let failed = 0;
    for (let i = 0; i < 2_000; i++) {
      let text = VALID;
      for (let k = 0; k < 1 + rand(4); k++) {
        const at = rand(text.length);
        text =
          rand(2) === 0
            ? text.slice(0, at) + text.slice(at + 1)
            : text.slice(0, at) + INSERTS[rand(INSERTS.length)] + text.slice(at);
      }
      try {
        parseRuleFile(text, "m.yml");
      } catch (err) {
        assert.ok(isContrailError(err, "bad_data"), `${String(err)}\n${text}`);
        assert.match(err.message, /^m\.yml/, text);
        failed++;
      }
    }
    assert.ok(failed > 0);
  });
});
