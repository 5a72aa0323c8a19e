import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { isContrailError } from "../model/errors.ts";
import { readyMadeGroup } from "./ready-made.ts";
import { namespacesOf, prepareRuleFile, prepareRuleGroup, rulerListing } from "./stored-groups.ts";

const FILE = `# team rules
groups:
  - name: a   # first
    rules:
      - record: x:sum
        expr: sum(x)
  - name: b
    interval: 1m
    rules:
      - alert: Hot
        expr: temp > 30
        for: 5m
        annotations: { summary: "{{ $value }} degrees" }
`;

describe("stored rule groups", () => {
  test("a file's groups become canonical documents, comments dropped, content kept", () => {
    const groups = prepareRuleFile(FILE, "team.yml");
    assert.deepEqual(
      groups.map((g) => [g.spec.name, g.rules]),
      [
        ["a", 1],
        ["b", 1],
      ],
    );
    assert.doesNotMatch(groups[0].yaml, /#/);
    assert.deepEqual(parse(groups[1].yaml), (parse(FILE) as { groups: unknown[] }).groups[1]);
    // The canonical text is a fixed point: preparing it again gives the same text.
    assert.equal(prepareRuleGroup(groups[1].yaml, "again").yaml, groups[1].yaml);
  });

  test("stored groups come back as namespaces in order, and as the ruler's YAML map", () => {
    const [a, b] = prepareRuleFile(FILE, "team.yml");
    const stored = [
      { namespace: "n1", name: "a", yaml: a.yaml },
      { namespace: "n2", name: "b", yaml: b.yaml },
      { namespace: "n1", name: "b", yaml: b.yaml },
    ];
    const ns = namespacesOf(stored);
    assert.deepEqual(
      ns.map((n) => [n.namespace, n.groups.map((g) => g.name)]),
      [
        ["n1", ["a", "b"]],
        ["n2", ["b"]],
      ],
    );
    assert.equal(ns[0].groups[1].intervalMs, 60_000);
    const listing = parse(rulerListing(stored)) as Record<string, { name: string }[]>;
    assert.deepEqual(Object.keys(listing), ["n1", "n2"]);
    assert.deepEqual(
      listing.n1.map((g) => g.name),
      ["a", "b"],
    );
  });

  test("a bad group is refused with its source and line", () => {
    assert.throws(
      () => prepareRuleGroup("name: g\nrules:\n  - record: 'bad name'\n    expr: up\n", "ns"),
      (e) => isContrailError(e, "bad_data") && /^ns:3:/.test(e.message),
    );
  });

  test("every ready-made group passes the rule-file checks", () => {
    const g = prepareRuleGroup(readyMadeGroup("web"), "contrail-builtin");
    assert.equal(g.rules, 6);
    assert.ok(g.spec.rules.every((r) => r.kind === "alerting" && r.labels.severity !== undefined));
  });
});
