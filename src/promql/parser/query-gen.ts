// Test and bench support: a seeded, grammar-based generator of PromQL expressions for fuzzing the engine and the
// API. It follows the value types of the grammar (instant vector, range vector, scalar, string), calls functions
// by their signatures, and mixes ordinary values with hostile ones (extreme floats, huge and tiny durations, `@`
// times out of range, negative offsets), so most queries parse and many stress a limit. Not imported by
// production code.

import type { Random } from "../../testkit/random.ts";
import type { FunctionSignature, ValueType } from "./index.ts";

/** A metric the generated selectors may name, with the labels its series carry. */
export interface GenMetric {
  readonly name: string;
  readonly labels: readonly string[];
}

/** What the generator draws from. */
export interface GenOptions {
  /** The functions calls may use (their signatures decide the arguments). */
  readonly functions: readonly FunctionSignature[];
  /** Metrics for selectors; their label names feed matchers and grouping. */
  readonly metrics: readonly GenMetric[];
  /** Deepest nesting of generated expressions. */
  readonly maxDepth: number;
  /** Probability that a literal, duration or time is a hostile one. */
  readonly hostile: number;
}

const NUMBERS = ["0", "1", "2", "3", "0.5", "10", "100", "0.25", "-1"];
const HOSTILE_NUMBERS = ["NaN", "Inf", "-Inf", "1e308", "-1e308", "5e-324", "1e-300", "9007199254740993", "0x10"];
const DURATIONS = ["1s", "15s", "30s", "1m", "2m", "5m", "10m", "1h", "90", "1m30s"];
const HOSTILE_DURATIONS = [
  "1ms",
  "0.001",
  "1y",
  "292y",
  "106751d",
  "300y",
  "1h * 1e20",
  "1e12",
  "(1h / 0)",
  "2 ^ 62",
  "step()",
  "range()",
  "5m + step()",
  "max_of(1m, range())",
  "0.0000001",
];
const AT_TIMES = ["0", "60", "1800", "3600", "start()", "end()"];
const HOSTILE_AT_TIMES = ["-3600", "1e9", "8640000000000", "8640000000001", "-8640000000001", "1e15", "1e300", "-1e17"];
const STRINGS = ["job", "instance", "le", "a", "dst", "(.*)", "$1", "", "__name__", "x-y", "-", ".+"];
const HOSTILE_STRINGS = ["\\xff", "\\xc3\\x28", "é", "$999", "(a*)*b", "$1x$2".repeat(20), "\\u0000"];
const REGEXES = [".*", ".+", "a|b", "api", "(a+)+", "[a-z]+", "x{1000}", ".*.*.*x"];
const AGGREGATIONS = ["sum", "avg", "count", "min", "max", "group", "stddev", "stdvar"];
const PARAM_AGGREGATIONS = ["topk", "bottomk", "quantile", "limitk", "limit_ratio", "count_values"];
const ARITHMETIC = ["+", "-", "*", "/", "%", "^", "atan2"];
const COMPARISONS = ["==", "!=", ">", "<", ">=", "<="];
const SET_OPS = ["and", "or", "unless"];

/** Generates PromQL texts from one seeded source of choices. */
export class PromqlGenerator {
  private readonly rnd: Random;
  private readonly opts: GenOptions;
  private readonly byType: ReadonlyMap<ValueType, readonly FunctionSignature[]>;

  constructor(rnd: Random, opts: GenOptions) {
    this.rnd = rnd;
    this.opts = opts;
    const byType = new Map<ValueType, FunctionSignature[]>();
    for (const f of opts.functions) {
      const list = byType.get(f.returnType) ?? [];
      list.push(f);
      byType.set(f.returnType, list);
    }
    this.byType = byType;
  }

  /** A query: usually an instant vector or a scalar, sometimes a range vector or a string. */
  query(): string {
    const r = this.rnd.next();
    if (r < 0.7) return this.expr("vector", 0);
    if (r < 0.9) return this.expr("scalar", 0);
    if (r < 0.97) return this.expr("matrix", 0);
    return this.stringLiteral();
  }

  /** An expression of value type `type` at nesting depth `depth`. */
  expr(type: ValueType, depth: number): string {
    switch (type) {
      case "vector":
        return this.vector(depth);
      case "scalar":
        return this.scalar(depth);
      case "matrix":
        return this.matrix(depth);
      case "string":
      case "none":
        return this.stringLiteral();
    }
  }

  private leaf(depth: number): boolean {
    return depth >= this.opts.maxDepth || this.rnd.chance(0.1 + 0.15 * depth);
  }

  private hostile(): boolean {
    return this.rnd.chance(this.opts.hostile);
  }

  private vector(depth: number): string {
    if (this.leaf(depth)) return this.selector(true);
    const d = depth + 1;
    switch (this.rnd.int(0, 6)) {
      case 0:
        return this.selector(true);
      case 1:
      case 2:
        return this.call("vector", d);
      case 3:
        return this.aggregation(d);
      case 4:
        return this.binary(d);
      case 5:
        return `-${this.paren(this.vector(d))}`;
      default:
        return this.paren(this.vector(d));
    }
  }

  private scalar(depth: number): string {
    if (this.leaf(depth)) return this.number();
    const d = depth + 1;
    switch (this.rnd.int(0, 4)) {
      case 0:
        return this.number();
      case 1:
        return this.call("scalar", d);
      case 2:
        return `${this.scalar(d)} ${this.rnd.pick([...ARITHMETIC, ...COMPARISONS.map((c) => `${c} bool`)])} ${this.scalar(d)}`;
      case 3:
        return `-${this.paren(this.scalar(d))}`;
      default:
        return this.paren(this.scalar(d));
    }
  }

  private matrix(depth: number): string {
    if (this.leaf(depth) || this.rnd.chance(0.5)) {
      let s = `${this.selector(false)}[${this.duration()}]`;
      s += this.modifiers();
      if (this.rnd.chance(0.05)) s += this.rnd.pick([" anchored", " smoothed"]);
      return s;
    }
    const inner = this.paren(this.vector(depth + 1));
    const step = this.rnd.chance(0.3) ? "" : this.duration();
    return `${inner}[${this.duration()}:${step}]${this.modifiers()}`;
  }

  private paren(s: string): string {
    return `(${s})`;
  }

  private number(): string {
    return this.hostile() ? this.rnd.pick(HOSTILE_NUMBERS) : this.rnd.pick(NUMBERS);
  }

  /** A duration as written in a range, subquery or offset: literal, number or duration expression. */
  duration(): string {
    return this.hostile() ? this.rnd.pick(HOSTILE_DURATIONS) : this.rnd.pick(DURATIONS);
  }

  private stringLiteral(): string {
    const s = this.hostile() ? this.rnd.pick(HOSTILE_STRINGS) : this.rnd.pick(STRINGS);
    return `"${s}"`;
  }

  private labelName(): string {
    const m = this.rnd.pick(this.opts.metrics);
    return m.labels.length > 0 && this.rnd.chance(0.9) ? this.rnd.pick(m.labels) : this.rnd.pick(["x", "le", "job"]);
  }

  private modifiers(): string {
    let s = "";
    if (this.rnd.chance(0.2)) {
      const d = this.duration();
      s += ` offset ${this.rnd.chance(0.3) ? "-" : ""}${/[ (]/.test(d) ? `(${d})` : d}`;
    }
    if (this.rnd.chance(0.15)) s += ` @ ${this.hostile() ? this.rnd.pick(HOSTILE_AT_TIMES) : this.rnd.pick(AT_TIMES)}`;
    return s;
  }

  /** A series selector, with offset and `@` when `withModifiers`. */
  private selector(withModifiers: boolean): string {
    const m = this.rnd.pick(this.opts.metrics);
    const matchers: string[] = [];
    const n = this.rnd.int(0, 2);
    for (let i = 0; i < n && m.labels.length > 0; i++) {
      const op = this.rnd.pick(["=", "!=", "=~", "!~"]);
      const value = op.endsWith("~") ? this.rnd.pick(REGEXES) : this.rnd.pick(["a", "b", "api", "", "1"]);
      matchers.push(`${this.rnd.pick(m.labels)}${op}"${value}"`);
    }
    let s = matchers.length > 0 ? `${m.name}{${matchers.join(",")}}` : m.name;
    if (withModifiers) s += this.modifiers();
    return s;
  }

  private call(type: ValueType, depth: number): string {
    const candidates = this.byType.get(type);
    if (candidates === undefined) return type === "scalar" ? this.number() : this.selector(true);
    const f = this.rnd.pick(candidates);
    if (f.name === "info") {
      const labels = this.rnd.chance(0.5) ? `, {${this.labelName()}=~".+"}` : "";
      return `info(${this.vector(depth)}${labels})`;
    }
    const types = [...f.argTypes];
    const last = types[types.length - 1];
    if (f.variadic > 0) {
      if (this.rnd.chance(0.5)) types.pop();
      else for (let i = this.rnd.int(0, f.variadic - 1); i > 0; i--) types.push(last);
    } else if (f.variadic < 0) {
      for (let i = this.rnd.int(0, 2); i > 0; i--) types.push(last);
    }
    return `${f.name}(${types.map((t) => this.expr(t, depth)).join(", ")})`;
  }

  private grouping(): string {
    const names: string[] = [];
    for (let i = this.rnd.int(0, 2); i > 0; i--) names.push(this.labelName());
    return ` ${this.rnd.pick(["by", "without"])} (${names.join(", ")})`;
  }

  private aggregation(depth: number): string {
    const group = this.rnd.chance(0.5) ? this.grouping() : "";
    if (this.rnd.chance(0.6)) return `${this.rnd.pick(AGGREGATIONS)}${group}(${this.vector(depth)})`;
    const op = this.rnd.pick(PARAM_AGGREGATIONS);
    const param = op === "count_values" ? this.stringLiteral() : this.scalar(depth);
    return `${op}${group}(${param}, ${this.vector(depth)})`;
  }

  private binary(depth: number): string {
    const lhsScalar = this.rnd.chance(0.25);
    const rhsScalar = !lhsScalar && this.rnd.chance(0.25);
    const lhs = lhsScalar ? this.scalar(depth) : this.vector(depth);
    const rhs = rhsScalar ? this.scalar(depth) : this.vector(depth);
    const kind = this.rnd.int(0, 2);
    if (kind === 2 && !lhsScalar && !rhsScalar) {
      return `${lhs} ${this.rnd.pick(SET_OPS)}${this.matching(false)} ${rhs}`;
    }
    const op =
      kind === 1 ? `${this.rnd.pick(COMPARISONS)}${this.rnd.chance(0.5) ? " bool" : ""}` : this.rnd.pick(ARITHMETIC);
    const vectors = !lhsScalar && !rhsScalar;
    return `${lhs} ${op}${vectors ? this.matching(true) : ""} ${rhs}`;
  }

  // Vector matching modifiers; `grouped` allows group_left/group_right and fill modifiers.
  private matching(grouped: boolean): string {
    let s = "";
    if (this.rnd.chance(0.4)) s += ` ${this.rnd.pick(["on", "ignoring"])}(${this.labelName()})`;
    if (grouped && s !== "" && this.rnd.chance(0.3)) {
      s += ` ${this.rnd.pick(["group_left", "group_right"])}(${this.rnd.chance(0.5) ? this.labelName() : ""})`;
    }
    if (grouped && this.rnd.chance(0.1))
      s += ` ${this.rnd.pick(["fill", "fill_left", "fill_right"])}(${this.number()})`;
    return s;
  }
}
