// The modifiers written after a selector or subquery: `offset <duration>`, `@ <time>` / `@ start()` / `@ end()`,
// `anchored` and `smoothed`. They set fields of the node they follow and extend its position; on anything else
// they record Prometheus's error for that case.

import type { DurationExpr, Expr, MatrixSelector, SubqueryExpr, VectorSelector } from "./ast.ts";
import { secondsToMs } from "./duration.ts";
import { formatFloatFixed6 } from "./literals.ts";
import { type DurationNode, parseOffsetDuration } from "./parse-duration.ts";
import type { Mutable, Parser } from "./parser.ts";

type Target = Mutable<VectorSelector> | Mutable<SubqueryExpr>;

// The node whose modifier fields an offset or @ sets, and the node whose end position grows; null after an error.
function modifierTarget(p: Parser, e: Expr, what: string): { target: Target; owner: Mutable<Expr> } | null {
  switch (e.kind) {
    case "VectorSelector":
    case "SubqueryExpr":
      return { target: e as Target, owner: e as Mutable<Expr> };
    case "MatrixSelector": {
      const base: Expr = e.vectorSelector;
      if (base.kind !== "VectorSelector") {
        p.error(e.pos, "ranges only allowed for vector selectors");
        return null;
      }
      return { target: base as Mutable<VectorSelector>, owner: e as Mutable<MatrixSelector> };
    }
    default:
      p.error(e.pos, `${what} must be preceded by an instant vector selector or range vector selector or a subquery`);
      return null;
  }
}

function extend(owner: Mutable<Expr>, end: number): void {
  owner.pos = { start: owner.pos.start, end };
}

/** Parses the duration after `offset` (already consumed) and applies it to `e`. */
export function parseOffset(p: Parser, e: Expr): void {
  const d: DurationNode = p.within({ context: "offset", expected: "number, duration, step(), or range()" }, () =>
    parseOffsetDuration(p),
  );
  const found = modifierTarget(p, e, "offset modifier");
  if (found === null) return;
  const { target, owner } = found;
  if (target.originalOffset !== 0 || target.originalOffsetExpr !== null) {
    p.error(e.pos, "offset may not be set multiple times");
  } else if (d.kind === "NumberLiteral") {
    target.originalOffset = secondsToMs(d.value);
  } else {
    target.originalOffsetExpr = d as DurationExpr;
  }
  extend(owner, p.prevEnd);
}

function atModifierTarget(p: Parser, e: Expr): { target: Target; owner: Mutable<Expr> } | null {
  const found = modifierTarget(p, e, "@ modifier");
  if (found === null) return null;
  if (found.target.timestamp !== null || found.target.startOrEnd !== null) {
    p.error(e.pos, "@ <timestamp> may not be set multiple times");
    return null;
  }
  return found;
}

/** Parses what follows `@` (already consumed) and applies it to `e`. */
export function parseAt(p: Parser, e: Expr): void {
  p.within({ context: "@", expected: "timestamp" }, () => {
    const t = p.peek();
    if (t.type === "START" || t.type === "END") {
      p.next();
      p.expect("LEFT_PAREN");
      const close = p.expect("RIGHT_PAREN");
      const found = atModifierTarget(p, e);
      if (found === null) return;
      found.target.startOrEnd = t.type === "START" ? "start" : "end";
      extend(found.owner, close.end);
      return;
    }
    let sign = 1;
    if (t.type === "ADD" || t.type === "SUB") {
      p.next();
      sign = t.type === "SUB" ? -1 : 1;
    }
    const n = p.peek();
    if (n.type !== "NUMBER" && n.type !== "DURATION") p.unexpected();
    p.next();
    const seconds = sign * (n.type === "NUMBER" ? p.numberValue(n) : p.numberLiteral(n).value);
    setTimestamp(p, e, seconds, n.end);
  });
}

function setTimestamp(p: Parser, e: Expr, seconds: number, end: number): void {
  if (!Number.isFinite(seconds) || seconds >= 2 ** 63 || seconds <= -(2 ** 63)) {
    p.error(e.pos, `timestamp out of bounds for @ modifier: ${formatFloatFixed6(seconds)}`);
  }
  const found = atModifierTarget(p, e);
  if (found === null) return;
  const x = seconds * 1000;
  found.target.timestamp = Number.isFinite(x) ? (x < 0 ? -Math.round(-x) : Math.round(x)) : 0;
  extend(found.owner, end);
}

function extendedModifier(p: Parser, e: Expr, name: "anchored" | "smoothed"): void {
  if (!p.extendedRangeSelectors) {
    p.error(e.pos, `${name} modifier is experimental and not enabled`);
    return;
  }
  let vs: Mutable<VectorSelector>;
  switch (e.kind) {
    case "VectorSelector":
      vs = e as Mutable<VectorSelector>;
      break;
    case "MatrixSelector": {
      const base: Expr = e.vectorSelector;
      if (base.kind !== "VectorSelector") return;
      vs = base as Mutable<VectorSelector>;
      break;
    }
    case "SubqueryExpr":
      p.error(e.pos, `${name} modifier is not supported for subqueries`);
      return;
    default:
      p.error(e.pos, `${name} modifier not implemented`);
      return;
  }
  if (name === "anchored") vs.anchored = true;
  else vs.smoothed = true;
  if (vs.anchored && vs.smoothed) p.error(e.pos, "anchored and smoothed modifiers cannot be used together");
}

/** Applies `anchored` (already consumed) to `e`. */
export function setAnchored(p: Parser, e: Expr): void {
  extendedModifier(p, e, "anchored");
}

/** Applies `smoothed` (already consumed) to `e`. */
export function setSmoothed(p: Parser, e: Expr): void {
  extendedModifier(p, e, "smoothed");
}
