// The functions an alert template can call: Go text/template's builtins (but `and`/`or`, which the executor
// short-circuits) and Prometheus's template functions (template/template.go), with their argument checks and
// error texts. `query` is asynchronous; the rest compute at once.

import { parseDuration } from "../../promql/parser/index.ts";
import { sprintf } from "./gofmt.ts";
import {
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
  humanizeTimestamp,
  toFloat,
} from "./humanize.ts";
import { matchRegex, replaceAllRegex } from "./regex.ts";
import { isTrue, printValue, TStruct, type TValue, typeName } from "./values.ts";

/** What functions may reach: the query seam (null: `query` fails) and the server's external URL. */
export interface FuncContext {
  /** Runs a PromQL instant query at the evaluation's time; results are `sample` structs. */
  readonly query: ((expr: string) => Promise<readonly TValue[]>) | null;
  readonly externalUrl: string;
  /** The evaluation's time, ms since the epoch (`now`). */
  readonly evalTimeMs: number;
}

/** A template function; throws Error with Go's message (the executor adds `error calling NAME:`). */
export type TemplateFunc = (ctx: FuncContext, args: readonly TValue[]) => TValue | Promise<TValue>;

/** The Go type name of a query result sample. */
export const SAMPLE_TYPE = "*template.sample";

/** A query result sample: `.Labels` (map) and `.Value` (a float64, or a histogram: histogram.ts). */
export function sampleValue(labels: Readonly<Record<string, string>>, value: TValue): TStruct {
  return new TStruct(
    SAMPLE_TYPE,
    new Map<string, TValue>([
      ["Labels", new Map(Object.entries(labels))],
      ["Value", value],
    ]),
  );
}

function arity(name: string, args: readonly TValue[], want: number): void {
  if (args.length !== want) throw new Error(`wrong number of args for ${name}: want ${want} got ${args.length}`);
}

function str(v: TValue): string {
  if (typeof v !== "string") throw new Error(`wrong type for value; expected string; got ${typeName(v)}`);
  return v;
}

function sample(v: TValue): TStruct {
  if (!(v instanceof TStruct) || v.typeName !== SAMPLE_TYPE) {
    throw new Error(`wrong type for value; expected ${SAMPLE_TYPE}; got ${typeName(v)}`);
  }
  return v;
}

function samples(v: TValue): readonly TValue[] {
  if (!Array.isArray(v)) throw new Error(`wrong type for value; expected template.queryResult; got ${typeName(v)}`);
  return v;
}

function labelOf(s: TStruct, name: string): string {
  const labels = s.fields.get("Labels") as ReadonlyMap<string, TValue>;
  return (labels.get(name) as string | undefined) ?? "";
}

/** Go's basic kinds, for comparisons: values of different kinds (int vs float64) do not compare. */
function kind(v: TValue): "bool" | "int" | "float" | "string" | "other" {
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "bigint":
      return "int";
    case "number":
      return "float";
    case "string":
      return "string";
    default:
      return "other";
  }
}

function equal(a: TValue, b: TValue): boolean {
  if (a === null || b === null) return a === b;
  const ka = kind(a);
  if (ka === "other") throw new Error(`invalid type for comparison`);
  if (ka !== kind(b)) throw new Error("incompatible types for comparison");
  return a === b;
}

function less(a: TValue, b: TValue): boolean {
  const ka = kind(a);
  if (ka === "bool" || ka === "other") throw new Error("invalid type for comparison");
  if (ka !== kind(b)) throw new Error("incompatible types for comparison");
  return (a as string | number | bigint) < (b as string | number | bigint);
}

/** A function of exactly `n` arguments. */
function fixed(name: string, n: number, fn: TemplateFunc): TemplateFunc {
  return (ctx, args) => {
    arity(name, args, n);
    return fn(ctx, args);
  };
}

function compare(name: string, test: (a: TValue, b: TValue) => boolean): TemplateFunc {
  return (_ctx, args) => {
    arity(name, args, 2);
    return test(args[0], args[1]);
  };
}

/** Go's fmt.Sprint: a space between operands when neither is a string. */
function sprint(args: readonly TValue[]): string {
  let out = "";
  args.forEach((v, i) => {
    if (i > 0 && typeof v !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += printValue(v);
  });
  return out;
}

function stringFn(name: string, fn: (s: string) => string): TemplateFunc {
  return (_ctx, args) => {
    arity(name, args, 1);
    return fn(str(args[0]));
  };
}

function floatFn(name: string, fn: (v: TValue) => string): TemplateFunc {
  return (_ctx, args) => {
    arity(name, args, 1);
    return fn(args[0]);
  };
}

/** strings.Title: the first letter of each word upper-cased. */
function title(s: string): string {
  let prev = " ";
  let out = "";
  for (const ch of s) {
    out += /[\p{L}\p{N}_']/u.test(prev) ? ch : ch.toUpperCase();
    prev = ch;
  }
  return out;
}

/** net.SplitHostPort, or null when `s` is not host:port. */
function splitHostPort(s: string): { host: string; port: string } | null {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(s);
  if (bracketed !== null) return { host: bracketed[1], port: bracketed[2] };
  const plain = /^([^:[\]]*):([^:]*)$/.exec(s);
  return plain === null ? null : { host: plain[1], port: plain[2] };
}

function isIp(s: string): boolean {
  return /^(\d{1,3}\.){3}\d{1,3}$/.test(s) || (s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s));
}

/** Go's html/template escaping of text (`html`). */
function escapeHtml(s: string): string {
  return s.replace(/[&'<>"\u0000]/g, (c) => HTML_ESCAPES[c] ?? c);
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "'": "&#39;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&#34;",
  "\u0000": "\uFFFD",
};

/** Go's template.JSEscapeString (`js`). */
function escapeJs(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === "\\" || ch === "'" || ch === '"') out += `\\${ch}`;
    else if (ch === "<" || ch === ">" || ch === "&" || ch === "=" || c < 0x20) {
      out += `\\u${c.toString(16).toUpperCase().padStart(4, "0")}`;
    } else out += ch;
  }
  return out;
}

const NS_PER_MS = 1_000_000n;
const DURATION_UNITS: readonly [bigint, string][] = [
  [3_600_000_000_000n, "h"],
  [60_000_000_000n, "m"],
];

/** Go's time.Duration.String of a duration in nanoseconds (`1h2m3.5s`, `150ms`, `0s`). */
function goDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const sign = ns < 0n ? "-" : "";
  let rest = ns < 0n ? -ns : ns;
  if (rest < 1_000_000_000n) {
    const [unit, div] = rest < 1000n ? ["ns", 1n] : rest < NS_PER_MS ? ["µs", 1000n] : ["ms", NS_PER_MS];
    return `${sign}${fraction(rest, div)}${unit}`;
  }
  let out = "";
  for (const [size, unit] of DURATION_UNITS) {
    if (rest >= size || out !== "") {
      out += `${rest / size}${unit}`;
      rest %= size;
    }
  }
  return `${sign}${out}${fraction(rest, 1_000_000_000n)}s`;
}

/** `n / div` in decimal without trailing zeros. */
function fraction(n: bigint, div: bigint): string {
  const whole = n / div;
  const frac = (n % div)
    .toString()
    .padStart(div.toString().length - 1, "0")
    .replace(/0+$/, "");
  return frac === "" ? whole.toString() : `${whole}.${frac}`;
}

/** Go's time.Time.String of a UTC time given in seconds, at nanosecond precision (as Prometheus's toTime). */
function goTimeString(seconds: number): string {
  if (!Number.isFinite(seconds) || Math.abs(seconds) > MAX_TIME_SECONDS) {
    throw new Error(`${seconds} cannot be represented as a nanoseconds timestamp since it overflows int64`);
  }
  const ns = BigInt(Math.trunc(seconds * 1e9));
  let secs = ns / 1_000_000_000n;
  let rest = ns % 1_000_000_000n;
  if (rest < 0n) {
    secs -= 1n;
    rest += 1_000_000_000n;
  }
  const iso = new Date(Number(secs) * 1000).toISOString();
  const frac = rest.toString().padStart(9, "0").replace(/0+$/, "");
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac === "" ? "" : `.${frac}`} +0000 UTC`;
}

/** Largest time in seconds whose nanoseconds fit Go's int64. */
const MAX_TIME_SECONDS = 9_223_372_036;

/** Prometheus's link to an expression in its UI: `/graph?g0.expr=...&g0.tab=` 0 (graph) or 1 (table). */
export function graphLink(expr: string, tab: number): string {
  return `/graph?g0.expr=${encodeURIComponent(expr).replace(/%20/g, "+")}&g0.tab=${tab}`;
}

/** Every function by name. */
export const FUNCS: ReadonlyMap<string, TemplateFunc> = new Map<string, TemplateFunc>([
  ["not", fixed("not", 1, (_c, a) => !isTrue(a[0]))],
  [
    "len",
    (_c, a) => {
      arity("len", a, 1);
      const v = a[0];
      if (typeof v === "string") return BigInt(Buffer.byteLength(v, "utf8"));
      if (Array.isArray(v)) return BigInt(v.length);
      if (v instanceof Map) return BigInt(v.size);
      throw new Error(`len of type ${typeName(v)}`);
    },
  ],
  [
    "index",
    (_c, a) => {
      if (a.length === 0) throw new Error("wrong number of args for index: want at least 1 got 0");
      let v = a[0];
      for (const k of a.slice(1)) {
        if (Array.isArray(v)) {
          if (typeof k !== "bigint") throw new Error(`cannot index slice/array with type ${typeName(k)}`);
          if (k < 0n || k >= BigInt(v.length)) throw new Error(`index out of range: ${k}`);
          v = v[Number(k)];
        } else if (v instanceof Map) {
          v = v.get(str(k)) ?? "";
        } else throw new Error(`can't index item of type ${typeName(v)}`);
      }
      return v;
    },
  ],
  [
    "eq",
    (_c, a) => {
      if (a.length < 2) throw new Error("missing argument for comparison");
      return a.slice(1).some((b) => equal(a[0], b));
    },
  ],
  ["ne", compare("ne", (x, y) => !equal(x, y))],
  ["lt", compare("lt", less)],
  ["le", compare("le", (x, y) => less(x, y) || equal(x, y))],
  ["gt", compare("gt", (x, y) => !less(x, y) && !equal(x, y))],
  ["ge", compare("ge", (x, y) => !less(x, y))],
  ["print", (_c, a) => sprint(a)],
  ["println", (_c, a) => `${a.map(printValue).join(" ")}\n`],
  [
    "printf",
    (_c, a) => {
      if (a.length === 0) throw new Error("wrong number of args for printf: want at least 1 got 0");
      return sprintf(str(a[0]), a.slice(1));
    },
  ],
  ["urlquery", (_c, a) => encodeURIComponent(sprint(a)).replace(/%20/g, "+")],
  ["html", (_c, a) => escapeHtml(sprint(a))],
  ["js", (_c, a) => escapeJs(sprint(a))],
  [
    "slice",
    (_c, a) => {
      if (a.length === 0) throw new Error("wrong number of args for slice: want at least 1 got 0");
      const [v, ...idx] = a;
      const bounds = idx.map((i) => {
        if (typeof i !== "bigint") throw new Error(`cannot index slice/array with type ${typeName(i)}`);
        return Number(i);
      });
      if (typeof v !== "string" && !Array.isArray(v)) throw new Error(`can't slice item of type ${typeName(v)}`);
      const len = typeof v === "string" ? Buffer.byteLength(v, "utf8") : v.length;
      const [from = 0, to = len] = bounds;
      if (bounds.length > 2 || from < 0 || to < from || to > len)
        throw new Error(`index out of range: ${bounds.join(":")}`);
      return typeof v === "string" ? Buffer.from(v, "utf8").subarray(from, to).toString("utf8") : v.slice(from, to);
    },
  ],
  [
    "call",
    (_c, a) => {
      throw new Error(
        `non-function ${a.length > 0 ? printValue(a[0]) : ""} of type ${a.length > 0 ? typeName(a[0]) : "<nil>"}`,
      );
    },
  ],
  ["toTime", fixed("toTime", 1, (_c, a) => goTimeString(toFloat(a[0])))],
  ["toDuration", fixed("toDuration", 1, (_c, a) => goDuration(BigInt(Math.round(toFloat(a[0]) * 1e9))))],
  ["now", fixed("now", 0, (ctx) => ctx.evalTimeMs / 1000)],
  [
    "query",
    async (ctx, a) => {
      arity("query", a, 1);
      if (ctx.query === null) throw new Error("queries are not available here");
      return await ctx.query(str(a[0]));
    },
  ],
  [
    "first",
    (_c, a) => {
      arity("first", a, 1);
      const v = samples(a[0]);
      if (v.length === 0) throw new Error("first() called on vector with no elements");
      return v[0];
    },
  ],
  ["label", fixed("label", 2, (_c, a) => labelOf(sample(a[1]), str(a[0])))],
  ["value", fixed("value", 1, (_c, a) => sample(a[0]).fields.get("Value") as TValue)],
  ["strvalue", fixed("strvalue", 1, (_c, a) => labelOf(sample(a[0]), "__value__"))],
  ["args", (_c, a) => new Map(a.map((v, i) => [`arg${i}`, v]))],
  [
    "reReplaceAll",
    (_c, a) => {
      arity("reReplaceAll", a, 3);
      return replaceAllRegex(str(a[0]), str(a[1]), str(a[2]));
    },
  ],
  ["match", fixed("match", 2, (_c, a) => matchRegex(str(a[0]), str(a[1])))],
  ["safeHtml", stringFn("safeHtml", (s) => s)],
  ["title", stringFn("title", title)],
  ["toUpper", stringFn("toUpper", (s) => s.toUpperCase())],
  ["toLower", stringFn("toLower", (s) => s.toLowerCase())],
  ["graphLink", stringFn("graphLink", (s) => graphLink(s, 0))],
  ["tableLink", stringFn("tableLink", (s) => graphLink(s, 1))],
  [
    "sortByLabel",
    (_c, a) => {
      arity("sortByLabel", a, 2);
      const name = str(a[0]);
      return [...samples(a[1])].sort((x, y) => {
        const lx = labelOf(sample(x), name);
        const ly = labelOf(sample(y), name);
        return lx < ly ? -1 : lx > ly ? 1 : 0;
      });
    },
  ],
  ["humanize", floatFn("humanize", humanize)],
  ["humanize1024", floatFn("humanize1024", humanize1024)],
  ["humanizeDuration", floatFn("humanizeDuration", humanizeDuration)],
  ["humanizePercentage", floatFn("humanizePercentage", humanizePercentage)],
  ["humanizeTimestamp", floatFn("humanizeTimestamp", humanizeTimestamp)],
  [
    "pathPrefix",
    fixed("pathPrefix", 0, (ctx) =>
      URL.canParse(ctx.externalUrl) ? new URL(ctx.externalUrl).pathname.replace(/\/$/, "") : "",
    ),
  ],
  ["externalURL", fixed("externalURL", 0, (ctx) => ctx.externalUrl)],
  [
    "parseDuration",
    (_c, a) => {
      arity("parseDuration", a, 1);
      return parseDuration(str(a[0])) / 1000;
    },
  ],
  ["stripPort", stringFn("stripPort", (s) => splitHostPort(s)?.host ?? s)],
  [
    "stripDomain",
    stringFn("stripDomain", (s) => {
      const hp = splitHostPort(s);
      const host = hp?.host ?? s;
      if (isIp(host)) return s;
      const short = host.split(".")[0];
      if (hp === null || hp.port === "") return short;
      return short.includes(":") ? `[${short}]:${hp.port}` : `${short}:${hp.port}`;
    }),
  ],
]);

/** Names the executor implements itself (short-circuit evaluation). */
export const SPECIAL_FUNCS: ReadonlySet<string> = new Set(["and", "or"]);

/** True when `name` is a function templates may call. */
export function isTemplateFunc(name: string): boolean {
  return FUNCS.has(name) || SPECIAL_FUNCS.has(name);
}
