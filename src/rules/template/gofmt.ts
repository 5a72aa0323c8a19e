// Go's fmt for template values: `printf`'s verbs (%v %s %q %d %f %e %g %x %t %c %%, flags, width, precision) and
// the `%.4g` formatting the humanize functions rely on, with Go's spellings of wrong and missing arguments.

import { formatFloat, pad2, printValue, type TValue, typeName } from "./values.ts";

/** Most digits JavaScript's toExponential and toFixed print: enough to see whether a value is an exact tie. */
const MAX_JS_DIGITS = 100;

/** True when `digits` (a decimal expansion) past index `keep` is exactly 5 then zeros, with an even last kept digit. */
function evenTie(digits: string, keep: number): boolean {
  return digits[keep] === "5" && /^0*$/.test(digits.slice(keep + 1)) && Number(digits[keep - 1] ?? "0") % 2 === 0;
}

/** `x.toExponential(d)` with Go's rounding: JavaScript rounds exact ties up, Go to the even digit. */
function toExponentialEven(x: number, d: number): string {
  const s = x.toExponential(d);
  if (d + 1 >= MAX_JS_DIGITS) return s;
  const long = Math.abs(x).toExponential(MAX_JS_DIGITS);
  const e = long.indexOf("e");
  const digits = long.slice(0, e).replace(".", "");
  if (!evenTie(digits, d + 1)) return s;
  const kept = digits.slice(0, d + 1);
  return `${x < 0 ? "-" : ""}${d > 0 ? `${kept[0]}.${kept.slice(1)}` : kept}${long.slice(e)}`;
}

/** `x.toFixed(d)` with Go's rounding of exact ties to the even digit. */
function toFixedEven(x: number, d: number): string {
  const s = x.toFixed(d);
  if (d >= MAX_JS_DIGITS) return s;
  const long = Math.abs(x).toFixed(MAX_JS_DIGITS);
  const point = long.indexOf(".");
  const digits = long.replace(".", "");
  if (!evenTie(digits, point + d)) return s;
  return `${x < 0 ? "-" : ""}${long.slice(0, d > 0 ? point + 1 + d : point)}`;
}

/** Go's `%.<prec>e` of a float. */
export function formatE(x: number, prec: number, upper = false): string {
  if (!Number.isFinite(x)) return formatFloat(x);
  const [mant, exp] = toExponentialEven(x, prec).split("e");
  const e = Number(exp);
  const s = `${mant}e${e < 0 ? "-" : "+"}${pad2(Math.abs(e))}`;
  return upper ? s.toUpperCase() : s;
}

/** Go's `%.<prec>f` of a float. */
export function formatF(x: number, prec: number): string {
  if (!Number.isFinite(x)) return formatFloat(x);
  if (Math.abs(x) < 1e21) return toFixedEven(x, prec);
  const int = BigInt(x).toString();
  return prec > 0 ? `${int}.${"0".repeat(prec)}` : int;
}

function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

/** Go's `%.<prec>g` of a float (`prec` < 0: shortest, as `%v`): trailing zeros dropped, exponent from 10^prec. */
export function formatG(x: number, prec: number, upper = false): string {
  if (prec < 0 || !Number.isFinite(x)) return formatFloat(x);
  const p = prec === 0 ? 1 : prec;
  const [mant, expText] = toExponentialEven(x, p - 1).split("e");
  const exp = Number(expText);
  let out: string;
  if (exp < -4 || exp >= p) out = `${trimZeros(mant)}e${exp < 0 ? "-" : "+"}${pad2(Math.abs(exp))}`;
  else {
    const sign = mant.startsWith("-") ? "-" : "";
    const digits = mant.replace(/^-/, "").replace(".", "");
    const fixed =
      exp < 0 ? `0.${"0".repeat(-exp - 1)}${digits}` : `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    out = sign + trimZeros(fixed);
  }
  return upper ? out.toUpperCase() : out;
}

/** Go's `%!verb(type=value)` for an argument the verb cannot format. */
function badVerb(verb: string, v: TValue): string {
  return v === null ? `%!${verb}(<nil>)` : `%!${verb}(${typeName(v)}=${printValue(v)})`;
}

/** Go's strconv.Quote, for printable text: JSON's escapes match Go's for everything but a few control characters. */
function quote(s: string): string {
  return JSON.stringify(s).replace(/\\u007f/g, "\\x7f");
}

interface Spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  width: number;
  prec: number;
}

function pad(s: string, spec: Spec): string {
  if (s.length >= spec.width) return s;
  const fill = spec.width - s.length;
  if (spec.minus) return s + " ".repeat(fill);
  if (spec.zero && /^[+-]?[0-9]/.test(s)) {
    const sign = /^[+-]/.test(s) ? s[0] : "";
    return sign + "0".repeat(fill) + s.slice(sign.length);
  }
  return " ".repeat(fill) + s;
}

function signed(s: string, spec: Spec): string {
  if (s.startsWith("-")) return s;
  if (spec.plus) return `+${s}`;
  return spec.space ? ` ${s}` : s;
}

function formatOne(verb: string, v: TValue, spec: Spec): string {
  switch (verb) {
    case "v":
      if (typeof v === "number" && spec.prec >= 0) return signed(formatG(v, spec.prec), spec);
      return typeof v === "number" || typeof v === "bigint" ? signed(printValue(v), spec) : printValue(v);
    case "s":
      if (typeof v === "string") return spec.prec >= 0 ? [...v].slice(0, spec.prec).join("") : v;
      return typeof v === "object" && v !== null ? printValue(v) : badVerb(verb, v);
    case "q":
      if (typeof v === "string") return quote(v);
      if (typeof v === "bigint") return `'${String.fromCodePoint(Number(v))}'`;
      return badVerb(verb, v);
    case "d":
      return typeof v === "bigint" ? signed(v.toString(), spec) : badVerb(verb, v);
    case "c":
      return typeof v === "bigint" ? String.fromCodePoint(Number(v)) : badVerb(verb, v);
    case "t":
      return typeof v === "boolean" ? String(v) : badVerb(verb, v);
    case "x":
    case "X": {
      let s: string;
      if (typeof v === "bigint") s = v < 0n ? `-${(-v).toString(16)}` : v.toString(16);
      else if (typeof v === "string") s = Buffer.from(v, "utf8").toString("hex");
      else return badVerb(verb, v);
      return verb === "X" ? s.toUpperCase() : s;
    }
    case "f":
    case "F":
      return typeof v === "number" ? signed(formatF(v, spec.prec < 0 ? 6 : spec.prec), spec) : badVerb(verb, v);
    case "e":
    case "E":
      return typeof v === "number"
        ? signed(formatE(v, spec.prec < 0 ? 6 : spec.prec, verb === "E"), spec)
        : badVerb(verb, v);
    case "g":
    case "G":
      return typeof v === "number" ? signed(formatG(v, spec.prec, verb === "G"), spec) : badVerb(verb, v);
    default:
      return badVerb(verb, v);
  }
}

/** Go's fmt.Sprintf for template values. */
export function sprintf(format: string, args: readonly TValue[]): string {
  let out = "";
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf("%", i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { minus: false, plus: false, space: false, zero: false, width: 0, prec: -1 };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === "-") spec.minus = true;
      else if (c === "+") spec.plus = true;
      else if (c === " ") spec.space = true;
      else if (c === "0") spec.zero = true;
      else if (c !== "#") break;
    }
    const width = /^[0-9]+/.exec(format.slice(i));
    if (width !== null) {
      spec.width = Math.min(Number(width[0]), MAX_PRINTF_WIDTH);
      i += width[0].length;
    }
    if (format[i] === ".") {
      const prec = /^[0-9]*/.exec(format.slice(i + 1))?.[0] ?? "";
      spec.prec = Math.min(Number(prec || "0"), MAX_PRINTF_PRECISION);
      i += 1 + prec.length;
    }
    const verb = format[i];
    if (verb === undefined) {
      out += "%!(NOVERB)";
      break;
    }
    i += verb.length;
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += pad(formatOne(verb, args[argi++], spec), spec);
  }
  if (argi < args.length) {
    const extra = args.slice(argi).map((v) => (v === null ? "<nil>" : `${typeName(v)}=${printValue(v)}`));
    out += `%!(EXTRA ${extra.join(", ")})`;
  }
  return out;
}

/** Widest field `printf` pads to: a hostile width must not allocate without bound. */
const MAX_PRINTF_WIDTH = 4096;
/** Most digits after the point `printf` prints (JavaScript's toFixed and toExponential accept at most 100). */
const MAX_PRINTF_PRECISION = 100;
