// Functions on label sets: label_replace and label_join (which rewrite series once, not per step),
// sort_by_label(_desc) with natural ordering, and absent(), whose output labels come from the selector.

import { compareStrings, isValidUtf8LabelName, type Labels, LabelsBuilder } from "../../../model/labels.ts";
import { quoteGo } from "../../../model/quote.ts";
import { type CaptureRegex, compileCaptureRegex } from "../../../model/regex.ts";
import { evalError } from "../context.ts";
import type { Evaluator } from "../evaluator.ts";
import { goSortFunc } from "../gosort.ts";
import { emptyLabels, mergeSameLabelset } from "../labelsets.ts";
import type { CallNode, PlanNode } from "../plan.ts";
import type { Matrix } from "../value.ts";
import { reorder } from "./math.ts";
import type { VectorFn } from "./types.ts";

/** Longest label value label_replace and label_join may build, in UTF-16 code units: far beyond real label values,
 * and a cap on what one template or join can multiply (nested joins double a value at every level). */
const MAX_BUILT_VALUE = 65_536;
/** UTF-16 code units of built label values counted as one sample against the query's sample limit (a sample
 * takes 16 bytes), so many long values cannot hold more memory than the samples the query may hold. */
const CHARS_PER_SAMPLE = 8;

function tooLong(fn: string, dst: string): never {
  evalError(
    `${fn}(): the value of label ${quoteGo(dst)} would be longer than the limit of ${MAX_BUILT_VALUE} characters`,
  );
}

// Counts a built label value of `length` code units against the query's sample limit.
function charge(ev: Evaluator, length: number): void {
  ev.q.add(Math.ceil(length / CHARS_PER_SAMPLE));
}

function stringArg(n: PlanNode): string {
  return n.kind === "string" ? n.value : "";
}

// The RE2 pattern compiled for submatches, or null when it is not valid RE2.
function captureRegex(pattern: string): CaptureRegex | null {
  try {
    return compileCaptureRegex(pattern);
  } catch {
    return null;
  }
}

// Go's regexp template expansion (Regexp.ExpandString): $1, ${1}, $name, ${name}; $$ is a literal $. A name
// is the longest run of letters, digits and underscores; an unknown group expands to "". Returns null once the
// value grows past MAX_BUILT_VALUE.
function expand(template: string, re: CaptureRegex, m: readonly (string | undefined)[]): string | null {
  let out = "";
  let i = 0;
  while (i < template.length) {
    if (out.length > MAX_BUILT_VALUE) return null;
    const d = template.indexOf("$", i);
    if (d < 0) break;
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === "$") {
      out += "$";
      i++;
      continue;
    }
    const brace = template[i] === "{";
    let j = brace ? i + 1 : i;
    const nameStart = j;
    while (j < template.length && /[\p{L}\p{N}_]/u.test(template[j])) j++;
    const name = template.slice(nameStart, j);
    if (name === "" || (brace && template[j] !== "}")) {
      out += "$";
      continue;
    }
    i = brace ? j + 1 : j;
    let num = -1;
    if (/^[0-9]+$/.test(name) && !(name.length > 1 && name[0] === "0") && name.length <= 8) num = Number(name);
    if (num < 0) num = re.names.indexOf(name);
    if (num >= 0) out += m[num] ?? "";
  }
  out += template.slice(i);
  return out.length > MAX_BUILT_VALUE ? null : out;
}

/** label_replace(v, dst, replacement, src, regex): sets `dst` from a match of `regex` against `src`. */
export function evalLabelReplace(ev: Evaluator, n: CallNode): Matrix {
  const [, dstN, replN, srcN, reN] = n.args;
  const dst = stringArg(dstN);
  const repl = stringArg(replN);
  const src = stringArg(srcN);
  const pattern = stringArg(reN);
  const re = captureRegex(pattern);
  if (re === null) evalError(`invalid regular expression in label_replace(): ${pattern}`);
  if (!isValidUtf8LabelName(dst)) evalError(`invalid destination label name in label_replace(): ${dst}`);
  const m = ev.eval(n.args[0]);
  for (const s of m) {
    ev.q.tick();
    const match = re.exec(s.labels.get(src));
    if (match === null) continue;
    const value = expand(repl, re, match);
    if (value === null) tooLong("label_replace", dst);
    charge(ev, value.length);
    s.labels = new LabelsBuilder(s.labels).set(dst, value).labels();
    if (dst === "__name__") s.dropName = false;
  }
  return mergeSameLabelset(m);
}

/** label_join(v, dst, separator, src...): sets `dst` to the source labels' values joined. */
export function evalLabelJoin(ev: Evaluator, n: CallNode): Matrix {
  const dst = stringArg(n.args[1]);
  const sep = stringArg(n.args[2]);
  const srcs = n.args.slice(3).map(stringArg);
  for (const src of srcs) {
    if (!isValidUtf8LabelName(src)) evalError(`invalid source label name in label_join(): ${src}`);
  }
  if (!isValidUtf8LabelName(dst)) evalError(`invalid destination label name in label_join(): ${dst}`);
  const m = ev.eval(n.args[0]);
  for (const s of m) {
    ev.q.tick();
    const parts = srcs.map((l) => s.labels.get(l));
    const length = parts.reduce((sum, p) => sum + p.length, Math.max(0, parts.length - 1) * sep.length);
    if (length > MAX_BUILT_VALUE) tooLong("label_join", dst);
    charge(ev, length);
    const value = parts.join(sep);
    s.labels = new LabelsBuilder(s.labels).set(dst, value).labels();
    if (dst === "__name__") s.dropName = false;
  }
  return mergeSameLabelset(m);
}

const CHUNK = /\d+|\D+/g;

// facette/natsort's Compare: true when a sorts before b, comparing digit runs as integers.
function natLess(a: string, b: string): boolean {
  const ca = a.match(CHUNK) ?? [];
  const cb = b.match(CHUNK) ?? [];
  for (let i = 0; i < ca.length; i++) {
    if (i >= cb.length) return false;
    const ia = /^[0-9]+$/.test(ca[i]) && ca[i].length < 19 ? Number(ca[i]) : Number.NaN;
    const ib = /^[0-9]+$/.test(cb[i]) && cb[i].length < 19 ? Number(cb[i]) : Number.NaN;
    if (!Number.isNaN(ia) && !Number.isNaN(ib)) {
      if (ia === ib) {
        if (i === ca.length - 1) return true;
        if (i === cb.length - 1) return false;
        continue;
      }
      return ia < ib;
    }
    if (ca[i] === cb[i]) {
      if (i === ca.length - 1) return true;
      if (i === cb.length - 1) return false;
      continue;
    }
    return compareStrings(ca[i], cb[i]) < 0;
  }
  return false;
}

function byLabels(desc: boolean): VectorFn {
  return (setup) => {
    const names = setup.node.args.slice(1).map(stringArg);
    return reorder((order, vec, args) => {
      const m = args[0]!;
      const cmp = (x: number, y: number): number => {
        const a = m[vec.ids[x]].labels;
        const b = m[vec.ids[y]].labels;
        for (const name of names) {
          const va = a.get(name);
          const vb = b.get(name);
          if (va === vb) continue;
          const less = natLess(va, vb);
          return desc ? (less ? 1 : -1) : less ? -1 : 1;
        }
        return desc ? -a.compare(b) : a.compare(b);
      };
      goSortFunc(order, cmp);
    })(setup);
  };
}

/** sort_by_label(v, label...): natural order of the given labels, then of the whole label set. */
export const sortByLabel: VectorFn = byLabels(false);
/** sort_by_label_desc(v, label...). */
export const sortByLabelDesc: VectorFn = byLabels(true);

/** The labels absent()/absent_over_time() report: the equality matchers of the selector (names given twice are
 * dropped), never the metric name. */
export function absentLabels(arg: PlanNode): Labels {
  const sel = arg.kind === "selector" ? arg : arg.kind === "matrix" ? arg.selector : null;
  if (sel === null) return emptyLabels();
  const b = new LabelsBuilder();
  const seen = new Set<string>();
  for (const m of sel.matchers) {
    if (m.name === "__name__") continue;
    if (m.type === "=" && !seen.has(m.name)) {
      b.set(m.name, m.value);
      seen.add(m.name);
    } else b.del(m.name);
  }
  return b.labels();
}

/** absent(v): one sample with the selector's labels when `v` is empty at the step. */
export const absent: VectorFn = ({ node }) => {
  const labels = absentLabels(node.args[0]);
  let slot = -1;
  return (ts, inputs, out) => {
    if (inputs[0]!.n > 0) return;
    if (slot < 0) slot = out.slot(labels, false);
    out.add(slot, ts, 1);
  };
};
