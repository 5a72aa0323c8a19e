// Label matchers `= != =~ !~` with Prometheus semantics: a missing label equals the empty string, and regexes are
// RE2 syntax, fully anchored, with `.` matching newlines (see regex.ts).

import { ContrailError } from "./errors.ts";
import { isValidLegacyLabelName } from "./labels.ts";
import { quoteGo } from "./quote.ts";
import { type CompiledRegex, compileRegex } from "./regex.ts";

/** The four match operators. */
export type MatchType = "=" | "!=" | "=~" | "!~";

/** One label matcher. Immutable; `matches` is safe to call from hot paths (the regex is compiled once). */
export interface Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
  /** True when a label value (`""` for a missing label) satisfies the matcher. */
  matches(value: string): boolean;
  /** The compiled regex for `=~`/`!~` (exposes fast-path facts such as a literal set), else null. */
  readonly regex: CompiledRegex | null;
}

/** Builds a matcher; throws ContrailError `invalid_regex` naming the problem when a regex does not parse. */
export function newMatcher(type: MatchType, name: string, value: string): Matcher {
  switch (type) {
    case "=":
      return { type, name, value, regex: null, matches: (v) => v === value };
    case "!=":
      return { type, name, value, regex: null, matches: (v) => v !== value };
    case "=~": {
      const regex = compileRegex(value);
      return { type, name, value, regex, matches: (v) => regex.test(v) };
    }
    case "!~": {
      const regex = compileRegex(value);
      return { type, name, value, regex, matches: (v) => !regex.test(v) };
    }
  }
}

/** True when the matcher accepts the empty string, i.e. it also selects series that lack the label. */
export function matchesEmpty(m: Matcher): boolean {
  return m.matches("");
}

/** Prometheus's text form of a matcher: `name="value"`, the value quoted as a Go string; a name that is not a
 * legacy label name is quoted too (`"my.label"="x"`). */
export function matcherString(m: Matcher): string {
  const name = isValidLegacyLabelName(m.name) ? m.name : quoteGo(m.name);
  return `${name}${m.type}${quoteGo(m.value)}`;
}

/** The matcher selecting the opposite (`=` and `!=`, `=~` and `!~` swapped). */
export function inverseMatcher(m: Matcher): Matcher {
  const inverse: Record<MatchType, MatchType> = { "=": "!=", "!=": "=", "=~": "!~", "!~": "=~" };
  return newMatcher(inverse[m.type], m.name, m.value);
}

/** Asserts `type` is one of the four operators; throws `bad_data` naming it otherwise. */
export function parseMatchType(type: string): MatchType {
  if (type === "=" || type === "!=" || type === "=~" || type === "!~") return type;
  throw new ContrailError("bad_data", `unknown match type ${JSON.stringify(type)}`);
}
