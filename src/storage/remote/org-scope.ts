// Confining reads of a single-tenant backend (VictoriaMetrics single-node) to one org. Every series written there
// carries ORG_LABEL=<org>; a read is confined by adding the matcher ORG_LABEL="<org>" to every vector and matrix
// selector of the query (inside subqueries, calls, aggregations and binary operations, whatever their `@` and
// offset), printed back with Contrail's printer. A selector that names ORG_LABEL itself is refused: the label is the
// platform's, and a user's matcher on it could only widen or contradict the org's. Answers come back with the
// label, which `withoutOrgLabel` and friends remove so users see the same series as with the embedded store.

import { ContrailError } from "../../model/errors.ts";
import { type Matcher, matcherString, newMatcher } from "../../model/matcher.ts";
import {
  type Expr,
  exprToString,
  type MatrixSelector,
  type ParseOptions,
  parseExpr,
  type VectorSelector,
} from "../../promql/parser/index.ts";

/** The label that confines a read, and the org it confines it to. */
export interface OrgLabel {
  readonly name: string;
  readonly value: string;
}

// The refusal of a selector that names the org label: platform-owned, never a user's to match on.
function orgLabelRefusal(name: string): ContrailError {
  return new ContrailError(
    "bad_data",
    `selectors may not name the label ${JSON.stringify(name)}: the platform sets it to keep orgs apart`,
  );
}

// The selector's matchers with the org's added; throws when one already names the label.
function scopedMatchers(matchers: readonly Matcher[], label: OrgLabel): Matcher[] {
  for (const m of matchers) if (m.name === label.name) throw orgLabelRefusal(label.name);
  return [...matchers, newMatcher("=", label.name, label.value)];
}

function scopeSelector(vs: VectorSelector, label: OrgLabel): VectorSelector {
  return { ...vs, matchers: scopedMatchers(vs.matchers, label) };
}

// `expr` with the org's matcher added to every selector; throws `bad_data` for a selector naming the label.
function scopeExpr(expr: Expr, label: OrgLabel): Expr {
  const scope = (e: Expr): Expr => scopeExpr(e, label);
  switch (expr.kind) {
    case "VectorSelector":
      return scopeSelector(expr, label);
    case "MatrixSelector": {
      const m: MatrixSelector = { ...expr, vectorSelector: scopeSelector(expr.vectorSelector, label) };
      return m;
    }
    case "AggregateExpr":
      return { ...expr, expr: scope(expr.expr), param: expr.param === null ? null : scope(expr.param) };
    case "BinaryExpr":
      return { ...expr, lhs: scope(expr.lhs), rhs: scope(expr.rhs) };
    case "Call":
      return { ...expr, args: expr.args.map(scope) };
    case "SubqueryExpr":
    case "ParenExpr":
    case "UnaryExpr":
    case "StepInvariantExpr":
      return { ...expr, expr: scope(expr.expr) };
    // Durations and literals hold no selector.
    case "DurationExpr":
    case "NumberLiteral":
    case "StringLiteral":
      return expr;
  }
}

/** The query text confined to the org: parsed with `opts`, scoped, printed. Throws the parser's `parse_error`. */
export function scopeQuery(query: string, label: OrgLabel, opts?: ParseOptions): string {
  return exprToString(scopeExpr(parseExpr(query, opts), label));
}

/** One selector's text for matchers already parsed (a `match[]`), confined to the org when `label` is given. */
export function scopeMatcherSet(matchers: readonly Matcher[], label: OrgLabel | null): string {
  const all = label === null ? matchers : scopedMatchers(matchers, label);
  return `{${all.map(matcherString).join(",")}}`;
}

/** VictoriaMetrics' `extra_label` parameter value that makes the backend enforce the org too: `name=value`. */
export function extraLabelParam(label: OrgLabel): string {
  return `${label.name}=${label.value}`;
}

/** A label set as the backend's JSON gives it, without the org label (a new object; the input is not changed). */
export function withoutOrgLabel(labels: Readonly<Record<string, string>>, name: string): Record<string, string> {
  if (!Object.hasOwn(labels, name)) return labels as Record<string, string>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (k !== name) out[k] = v;
  return out;
}
