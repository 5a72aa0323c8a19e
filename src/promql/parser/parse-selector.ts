// Vector selectors (`name{label="value", "utf8.name"=~"re"}`), and the label lists of `by (...)`, `on (...)` and
// friends, with Prometheus's syntax-error contexts ("in label matching", "in grouping opts").

import { isWellFormed, METRIC_NAME } from "../../model/labels.ts";
import { type Matcher, type MatchType, newMatcher } from "../../model/matcher.ts";
import type { PosRange, VectorSelector } from "./ast.ts";
import type { SpannedToken, TokenType } from "./lexer.ts";
import { quoteString } from "./literals.ts";
import type { Parser } from "./parser.ts";

const LABEL_MATCHING = "label matching";
const GROUPING = "grouping opts";

const MATCH_OPS: ReadonlyMap<TokenType, MatchType> = new Map<TokenType, MatchType>([
  ["EQL", "="],
  ["NEQ", "!="],
  ["EQL_REGEX", "=~"],
  ["NEQ_REGEX", "!~"],
]);

// Keywords that may name a label in a grouping list (every keyword but `without`).
const GROUPING_LABEL_TOKENS: ReadonlySet<TokenType> = new Set<TokenType>([
  "IDENTIFIER",
  "METRIC_IDENTIFIER",
  "AVG",
  "BOOL",
  "BOTTOMK",
  "BY",
  "COUNT",
  "COUNT_VALUES",
  "GROUP",
  "GROUP_LEFT",
  "GROUP_RIGHT",
  "FILL",
  "FILL_LEFT",
  "FILL_RIGHT",
  "IGNORING",
  "LAND",
  "LOR",
  "LUNLESS",
  "MAX",
  "MIN",
  "OFFSET",
  "ON",
  "QUANTILE",
  "STDDEV",
  "STDVAR",
  "SUM",
  "TOPK",
  "START",
  "END",
  "ATAN2",
  "LIMITK",
  "LIMIT_RATIO",
  "STEP",
  "RANGE",
  "ANCHORED",
  "SMOOTHED",
  "MAX_OF",
  "MIN_OF",
]);

/** The matchers written between braces, and the braces' range. */
export interface Braces {
  readonly matchers: Matcher[];
  readonly range: PosRange;
}

/** Parses `{ matcher, ... }` (the next token is `{`). */
export function parseLabelMatchers(p: Parser): Braces {
  const open = p.next();
  const matchers: Matcher[] = [];
  let close = p.accept("RIGHT_BRACE");
  while (close === null) {
    const m = parseLabelMatcher(p);
    if (m !== null) matchers.push(m);
    const t = p.peek();
    if (t.type === "RIGHT_BRACE") {
      close = p.next();
    } else if (t.type === "COMMA") {
      p.next();
      close = p.accept("RIGHT_BRACE");
    } else {
      p.unexpected({ context: LABEL_MATCHING, expected: '"," or "}"' });
    }
  }
  return { matchers, range: { start: open.pos, end: close.end } };
}

function parseLabelMatcher(p: Parser): Matcher | null {
  const t = p.peek();
  p.steps++;
  if (t.type === "IDENTIFIER") {
    p.next();
    const op = MATCH_OPS.get(p.peek().type);
    if (op === undefined) p.unexpected({ context: LABEL_MATCHING, expected: "label matching operator" });
    p.next();
    return matcherValue(p, t, t.val, op);
  }
  if (t.type === "STRING") {
    p.next();
    const name = p.unquote(t);
    const op = MATCH_OPS.get(p.peek().type);
    if (op === undefined) return buildMatcher(p, { start: t.pos, end: t.end }, "=", METRIC_NAME, name);
    p.next();
    return matcherValue(p, t, name, op);
  }
  return p.unexpected({ context: LABEL_MATCHING, expected: 'identifier or "}"' });
}

function matcherValue(p: Parser, label: SpannedToken, name: string, op: MatchType): Matcher | null {
  const v = p.peek();
  if (v.type !== "STRING") p.unexpected({ context: LABEL_MATCHING, expected: "string" });
  p.next();
  return buildMatcher(p, { start: label.pos, end: v.end }, op, name, p.unquote(v));
}

function buildMatcher(p: Parser, range: PosRange, op: MatchType, name: string, value: string): Matcher | null {
  try {
    return newMatcher(op, name, value);
  } catch (err) {
    p.error(range, err instanceof Error ? err.message : String(err));
    return null;
  }
}

/** A vector selector from an optional metric-name token and optional braces (at least one is given). */
export function vectorSelectorNode(p: Parser, name: SpannedToken | null, braces: Braces | null): VectorSelector {
  const matchers = braces?.matchers ?? [];
  if (name !== null) {
    const m = buildMatcher(p, { start: name.pos, end: name.end }, "=", METRIC_NAME, name.val);
    if (m !== null) matchers.push(m);
  }
  const start = name?.pos ?? braces!.range.start;
  const end = braces?.range.end ?? name!.end;
  return {
    kind: "VectorSelector",
    name: name?.val ?? "",
    matchers,
    originalOffset: 0,
    originalOffsetExpr: null,
    timestamp: null,
    startOrEnd: null,
    anchored: false,
    smoothed: false,
    bypassEmptyMatcherCheck: false,
    pos: { start, end },
  };
}

/** Parses `( label, ... )` of by/without/on/ignoring/group_left/group_right; returns the names and the `)` end. */
export function parseGroupingLabels(p: Parser): { labels: string[]; end: number } {
  if (p.peek().type !== "LEFT_PAREN") p.unexpected({ context: GROUPING, expected: '"("' });
  p.next();
  const labels: string[] = [];
  let close = p.accept("RIGHT_PAREN");
  while (close === null) {
    const t = p.peek();
    p.steps++;
    if (GROUPING_LABEL_TOKENS.has(t.type)) {
      p.next();
      labels.push(t.val);
    } else if (t.type === "STRING") {
      p.next();
      const name = p.unquote(t);
      if (name === "" || !isWellFormed(name)) {
        p.error({ start: t.pos, end: t.end }, `invalid label name for grouping: ${quoteString(name)}`);
      }
      labels.push(name);
    } else {
      p.unexpected({ context: GROUPING, expected: "label" });
    }
    const sep = p.peek();
    if (sep.type === "RIGHT_PAREN") {
      close = p.next();
    } else if (sep.type === "COMMA") {
      p.next();
      close = p.accept("RIGHT_PAREN");
    } else {
      p.unexpected({ context: GROUPING, expected: '"," or ")"' });
    }
  }
  return { labels, end: close.end };
}
