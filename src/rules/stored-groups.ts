// Rule groups between their text and their stored form: a group posted to the ruler API or read from a rule file is
// checked (rule-file.ts), then kept as canonical YAML, one document per group (comments and layout dropped, keys
// and values as written), so listings re-assemble stored groups without re-reading what a client sent. The ruler
// API, `contrail rules` and the metrics node all go through here, so a group means the same to each of them.

import { parse, stringify } from "yaml";
import { parseRuleFile, parseRuleGroup } from "./rule-file.ts";
import type { RuleGroupSpec, RuleNamespace } from "./types.ts";

/** A checked group, ready to store: its spec, its canonical YAML text and how many rules it holds. */
export interface PreparedRuleGroup {
  readonly spec: RuleGroupSpec;
  readonly yaml: string;
  readonly rules: number;
}

/** A stored group as the ruler's listings need it. */
export interface GroupText {
  readonly namespace: string;
  readonly name: string;
  readonly yaml: string;
}

const YAML_OUT = { lineWidth: 0 } as const;

/** The canonical YAML of one group document (a plain value read from checked text). */
function canonical(doc: unknown): string {
  return stringify(doc, YAML_OUT);
}

/** Checks one group document (the ruler API's body); throws ContrailError `bad_data` with `source:line:` messages. */
export function prepareRuleGroup(text: string, source: string): PreparedRuleGroup {
  const spec = parseRuleGroup(text, source);
  return { spec, yaml: canonical(parse(text)), rules: spec.rules.length };
}

/** Checks a whole rule file (`groups:`); its groups in file order, each prepared as {@link prepareRuleGroup}. */
export function prepareRuleFile(text: string, source: string): PreparedRuleGroup[] {
  const specs = parseRuleFile(text, source);
  const docs = ((parse(text) as { groups?: unknown[] } | null)?.groups ?? []) as unknown[];
  return specs.map((spec, i) => ({ spec, yaml: canonical(docs[i]), rules: spec.rules.length }));
}

/**
 * The evaluator's view of stored groups: namespaces in first-seen order, groups in the given order. Stored text was
 * checked when it was written; a group that no longer passes (a stricter version) throws `bad_data` naming it.
 */
export function namespacesOf(groups: readonly GroupText[]): RuleNamespace[] {
  const out = new Map<string, RuleGroupSpec[]>();
  for (const g of groups) {
    const list = out.get(g.namespace) ?? [];
    list.push(parseRuleGroup(g.yaml, `${g.namespace}/${g.name}`));
    out.set(g.namespace, list);
  }
  return [...out].map(([namespace, list]) => ({ namespace, groups: list }));
}

/** The ruler API's listing: a YAML map from namespace to its list of groups, in the given order. */
export function rulerListing(groups: readonly GroupText[]): string {
  // A Map, not an object: a namespace may be any text, `__proto__` included.
  const out = new Map<string, unknown[]>();
  for (const g of groups) {
    const list = out.get(g.namespace) ?? [];
    list.push(parse(g.yaml));
    out.set(g.namespace, list);
  }
  return stringify(out, YAML_OUT);
}
