// Go's float formatting (strconv.FormatFloat 'g' and 'f'), which Prometheus uses in annotation texts, in
// count_values labels and in quantile labels. JS's shortest round-trip digits are the same digits Go picks; only
// the layout differs.

function special(v: number): string | null {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return null;
}

// Decimal digits (no dot, no leading zeros) and the exponent of the first digit, for |v| > 0.
function digitsOf(abs: number, precision: number): { digits: string; exp: number } {
  const e = precision > 0 ? abs.toExponential(precision - 1) : abs.toExponential();
  const [mant, ex] = e.split("e");
  let digits = mant.replace(".", "");
  if (precision <= 0) digits = digits.replace(/0+$/, "") || "0";
  return { digits, exp: Number(ex) };
}

function expForm(sign: string, digits: string, exp: number): string {
  const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const es = exp < 0 ? "-" : "+";
  const ea = Math.abs(exp);
  return `${sign}${mant}e${es}${ea < 10 ? "0" : ""}${ea}`;
}

function fixedForm(sign: string, digits: string, exp: number): string {
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${"0".repeat(exp + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** Go's `%g` (precision -1: shortest) or `%.<precision>g`. */
export function formatG(v: number, precision = -1): string {
  const sp = special(v);
  if (sp !== null) return sp;
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const sign = v < 0 ? "-" : "";
  let { digits, exp } = digitsOf(Math.abs(v), precision);
  let eprec = precision > 0 ? precision : 6;
  if (precision > 0) {
    // %.Ng drops trailing zeros of the mantissa.
    digits = digits.replace(/0+$/, "") || "0";
    if (eprec > digits.length && digits.length >= exp + 1) eprec = digits.length;
  }
  if (exp < -4 || exp >= eprec) return expForm(sign, digits, exp);
  return fixedForm(sign, digits, exp);
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent. */
export function formatF(v: number): string {
  const sp = special(v);
  if (sp !== null) return sp;
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const { digits, exp } = digitsOf(Math.abs(v), -1);
  return fixedForm(v < 0 ? "-" : "", digits, exp);
}

/** Prometheus's labels.FormatOpenMetricsFloat: `%g` with a `.0` added to integral values. */
export function formatOpenMetricsFloat(v: number): string {
  const s = formatG(v);
  if (Number.isNaN(v) || !Number.isFinite(v)) return s;
  return /[e.]/.test(s) ? s : `${s}.0`;
}
