// Label sets: sorted by name, names unique, no empty values, immutable, hashed once. The representation is private
// (today one flat array name0, value0, name1, value1, ...) so it can change without touching callers.
// Ordering is Go's string order, i.e. UTF-8 byte order, so sorted output matches Prometheus's byte for byte.

import { ContrailError } from "./errors.ts";
import { quoteGo } from "./quote.ts";
import { writeUtf8, xxh64 } from "./xxhash.ts";

/** The label that holds the metric name. */
export const METRIC_NAME = "__name__";

/** Compares two strings in UTF-8 byte order (Go's `<` on strings); returns -1, 0 or 1. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca !== cb) {
      // UTF-16 puts surrogates (astral code points) below U+E000..U+FFFF; UTF-8 puts them above.
      if (ca >= 0xd800 && cb >= 0xd800) {
        ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
        cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
      }
      return ca < cb ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : 1;
}

// Shared scratch for hashing: grown on demand, never shrunk. Hashing is synchronous, so one buffer suffices.
let scratch = new Uint8Array(1024);

function ensureScratch(chars: number): Uint8Array {
  // Each UTF-16 unit becomes at most 3 UTF-8 bytes.
  const need = chars * 3;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  return scratch;
}

// `names` given to the hash helpers are usually a handful; large ones get a cached Set.
const nameSets = new WeakMap<readonly string[], Set<string>>();

function nameFilter(names: readonly string[]): (name: string) => boolean {
  if (names.length <= 8) return (n) => names.includes(n);
  let set = nameSets.get(names);
  if (set === undefined) {
    set = new Set(names);
    nameSets.set(names, set);
  }
  const s = set;
  return (n) => s.has(n);
}

/** An immutable, sorted set of label pairs. Build with the static constructors or `LabelsBuilder`. */
export class Labels {
  /** The empty label set. */
  static readonly EMPTY: Labels = new Labels([]);

  // name0, value0, name1, value1, ... sorted by name, no empty values.
  private readonly flat: readonly string[];
  private cachedHash: string | undefined;

  protected constructor(flat: readonly string[]) {
    this.flat = flat;
    this.cachedHash = undefined;
  }

  /** Labels from a record; empty values are dropped. */
  static fromRecord(rec: Readonly<Record<string, string>>): Labels {
    const pairs: [string, string][] = [];
    for (const name of Object.keys(rec)) {
      const value = rec[name];
      if (value !== "") pairs.push([name, value]);
    }
    return Labels.fromCheckedPairs(pairs);
  }

  /** Labels from pairs in any order; empty values are dropped; throws `bad_data` on a duplicate name. */
  static fromPairs(pairs: readonly (readonly [string, string])[]): Labels {
    if (pairs.length === 0) return Labels.EMPTY;
    const sorted = pairs.slice().sort((x, y) => compareStrings(x[0], y[0]));
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i][0] === sorted[i - 1][0]) {
        throw new ContrailError("bad_data", `duplicate label name ${quoteGo(sorted[i][0])}`);
      }
    }
    const flat: string[] = [];
    for (const [n, v] of sorted) {
      if (v !== "") flat.push(n, v);
    }
    return flat.length === 0 ? Labels.EMPTY : new Labels(flat);
  }

  /** Labels from alternating names and values (`"job", "x", "le", "1"`); same rules as `fromPairs`. */
  static fromStrings(...nameValues: string[]): Labels {
    if (nameValues.length % 2 !== 0) throw new ContrailError("bad_data", "odd number of label strings");
    const pairs: [string, string][] = [];
    for (let i = 0; i < nameValues.length; i += 2) pairs.push([nameValues[i], nameValues[i + 1]]);
    return Labels.fromPairs(pairs);
  }

  /** Labels from a flat name/value array the caller guarantees is sorted, unique and free of empty values
   * (decoders of data Contrail wrote itself). Takes ownership of `flat`: the caller must not mutate it. */
  static fromSortedUnchecked(flat: string[]): Labels {
    return flat.length === 0 ? Labels.EMPTY : new Labels(flat);
  }

  /**
   * As `fromSortedUnchecked`, for names and values that are the canonical copies of a long-lived StringInterner
   * (shared by many label sets, not copies of their own): a store may keep such a set as it is instead of a copy.
   */
  static fromInternedUnchecked(flat: string[]): Labels {
    return flat.length === 0 ? Labels.EMPTY : new InternedLabels(flat);
  }

  /** True for a set made by `fromInternedUnchecked` (its strings are shared canonical copies). */
  get interned(): boolean {
    return this instanceof InternedLabels;
  }

  private static fromCheckedPairs(pairs: [string, string][]): Labels {
    if (pairs.length === 0) return Labels.EMPTY;
    pairs.sort((x, y) => compareStrings(x[0], y[0]));
    const flat: string[] = new Array(pairs.length * 2);
    for (let i = 0; i < pairs.length; i++) {
      flat[2 * i] = pairs[i][0];
      flat[2 * i + 1] = pairs[i][1];
    }
    return new Labels(flat);
  }

  /** Compares two label sets like Prometheus's labels.Compare: pairwise by name then value, a prefix first. */
  static compare(a: Labels, b: Labels): number {
    return a.compare(b);
  }

  /** Number of labels. */
  get size(): number {
    return this.flat.length >> 1;
  }

  /** True when there are no labels. */
  isEmpty(): boolean {
    return this.flat.length === 0;
  }

  /** The value of `name`, or `""` when absent. */
  get(name: string): string {
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) {
      if (f[i] === name) return f[i + 1];
    }
    return "";
  }

  /** True when the label is present. */
  has(name: string): boolean {
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) {
      if (f[i] === name) return true;
    }
    return false;
  }

  /** The metric name (`__name__`), or `""`. */
  metricName(): string {
    return this.get(METRIC_NAME);
  }

  /** Name of the `i`th label in order (0 ≤ i < size): for loops over two sets in step, without a callback. */
  nameAt(i: number): string {
    return this.flat[2 * i];
  }

  /** Value of the `i`th label in order (0 ≤ i < size). */
  valueAt(i: number): string {
    return this.flat[2 * i + 1];
  }

  /** Calls `fn` for every label in order. */
  forEach(fn: (name: string, value: string) => void): void {
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) fn(f[i], f[i + 1]);
  }

  /** The label names in order (a new array). */
  names(): string[] {
    const out: string[] = new Array(this.flat.length >> 1);
    for (let i = 0; i < out.length; i++) out[i] = this.flat[2 * i];
    return out;
  }

  /** Iterates `[name, value]` pairs in order. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) yield [f[i], f[i + 1]];
  }

  /** A plain object of the labels (a new object). */
  toRecord(): Record<string, string> {
    const rec: Record<string, string> = {};
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) {
      if (f[i] === "__proto__") Object.defineProperty(rec, f[i], { value: f[i + 1], enumerable: true, writable: true });
      else rec[f[i]] = f[i + 1];
    }
    return rec;
  }

  /** The same labels without `__name__`. */
  withoutMetricName(): Labels {
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) {
      if (f[i] === METRIC_NAME) {
        if (f.length === 2) return Labels.EMPTY;
        return new Labels([...f.slice(0, i), ...f.slice(i + 2)]);
      }
    }
    return this;
  }

  /** True when both sets hold the same pairs. */
  equals(other: Labels): boolean {
    if (this === other) return true;
    const a = this.flat;
    const b = other.flat;
    if (a.length !== b.length) return false;
    if (this.cachedHash !== undefined && other.cachedHash !== undefined && this.cachedHash !== other.cachedHash) {
      return false;
    }
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) return false;
    }
    return true;
  }

  /** Orders like Prometheus's labels.Compare; returns negative, zero or positive. */
  compare(other: Labels): number {
    const a = this.flat;
    const b = other.flat;
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (a[i] !== b[i]) return compareStrings(a[i], b[i]);
    }
    return (a.length - b.length) >> 1;
  }

  /** XXH64 of `name 0xff value 0xff ...` (UTF-8), as 16 hex digits; equals Prometheus's Labels.Hash. Cached.
   * Distinct label sets may collide (rarely); callers that must be exact confirm with `equals`. */
  hash(): string {
    if (this.cachedHash === undefined) this.cachedHash = hashFlat(this.flat, null, false);
    return this.cachedHash;
  }

  /** Hash over only the labels named in `names` (any order), as Prometheus's HashForLabels. */
  hashForLabels(names: readonly string[]): string {
    return hashFlat(this.flat, nameFilter(names), false);
  }

  /** Hash over all labels except `__name__` and those in `names` (any order), as Prometheus's HashWithoutLabels. */
  hashWithoutLabels(names: readonly string[]): string {
    return hashFlat(this.flat, nameFilter(names), true);
  }

  /** Prometheus's labels.String(): `{__name__="up", job="x"}`. */
  toString(): string {
    const f = this.flat;
    let out = "{";
    for (let i = 0; i < f.length; i += 2) {
      if (i > 0) out += ", ";
      out += `${formatName(f[i])}=${quoteGo(f[i + 1])}`;
    }
    return `${out}}`;
  }

  /** The series form `up{job="x"}`; a name that is not a legacy metric name goes quoted inside the braces:
   * `{"my.metric", job="x"}`. */
  toMetricString(): string {
    const name = this.metricName();
    const f = this.flat;
    const parts: string[] = [];
    const outside = name !== "" && isValidLegacyMetricName(name);
    if (name !== "" && !outside) parts.push(quoteGo(name));
    for (let i = 0; i < f.length; i += 2) {
      if (f[i] !== METRIC_NAME) parts.push(`${formatName(f[i])}=${quoteGo(f[i + 1])}`);
    }
    if (outside) return parts.length === 0 ? name : `${name}{${parts.join(", ")}}`;
    return `{${parts.join(", ")}}`;
  }
}

function formatName(name: string): string {
  return isValidLegacyLabelName(name) ? name : quoteGo(name);
}

// Hashes the pairs of `flat` selected by `filter` (all when null; `invert` selects those NOT matched and also
// skips __name__).
function hashFlat(flat: readonly string[], filter: ((name: string) => boolean) | null, invert: boolean): string {
  let chars = 0;
  for (let i = 0; i < flat.length; i++) chars += flat[i].length + 1;
  const buf = ensureScratch(chars);
  let pos = 0;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i];
    if (filter !== null) {
      if (invert ? name === METRIC_NAME || filter(name) : !filter(name)) continue;
    }
    pos = writeUtf8(buf, pos, name);
    buf[pos++] = 0xff;
    pos = writeUtf8(buf, pos, flat[i + 1]);
    buf[pos++] = 0xff;
  }
  return xxh64(buf, 0, pos);
}

/** Incrementally edits a label set. Reusable: `reset` it per series instead of allocating a new builder. */
export class LabelsBuilder {
  private base: Labels;
  // Names removed from base (or not to be taken from it).
  private readonly deleted: string[] = [];
  // Added or overriding pairs, flat name/value, unsorted.
  private readonly added: string[] = [];

  /** Starts from `base` (empty by default). */
  constructor(base: Labels = Labels.EMPTY) {
    this.base = base;
  }

  /** Starts over from `base`. */
  reset(base: Labels): this {
    this.base = base;
    this.deleted.length = 0;
    this.added.length = 0;
    return this;
  }

  /** The current value of `name`, or `""`. */
  get(name: string): string {
    const a = this.added;
    for (let i = 0; i < a.length; i += 2) {
      if (a[i] === name) return a[i + 1];
    }
    return this.deleted.includes(name) ? "" : this.base.get(name);
  }

  /** Sets `name` to `value`; an empty value deletes the label. */
  set(name: string, value: string): this {
    if (value === "") return this.del(name);
    const a = this.added;
    for (let i = 0; i < a.length; i += 2) {
      if (a[i] === name) {
        a[i + 1] = value;
        return this;
      }
    }
    const d = this.deleted.indexOf(name);
    if (d >= 0) this.deleted.splice(d, 1);
    a.push(name, value);
    return this;
  }

  /** Deletes the named labels. */
  del(...names: string[]): this {
    for (const name of names) {
      const a = this.added;
      for (let i = 0; i < a.length; i += 2) {
        if (a[i] === name) {
          a.splice(i, 2);
          break;
        }
      }
      if (!this.deleted.includes(name)) this.deleted.push(name);
    }
    return this;
  }

  /** Deletes every label except the named ones. */
  keep(...names: string[]): this {
    this.base.forEach((name) => {
      if (!names.includes(name) && !this.deleted.includes(name)) this.deleted.push(name);
    });
    const a = this.added;
    for (let i = a.length - 2; i >= 0; i -= 2) {
      if (!names.includes(a[i])) a.splice(i, 2);
    }
    return this;
  }

  /** The resulting label set; returns the base itself when nothing changed. */
  labels(): Labels {
    const a = this.added;
    if (a.length === 0 && this.deleted.length === 0) return this.base;
    const pairs: [string, string][] = [];
    for (let i = 0; i < a.length; i += 2) pairs.push([a[i], a[i + 1]]);
    pairs.sort((x, y) => compareStrings(x[0], y[0]));
    const flat: string[] = [];
    let j = 0;
    this.base.forEach((name, value) => {
      while (j < pairs.length && compareStrings(pairs[j][0], name) < 0) {
        flat.push(pairs[j][0], pairs[j][1]);
        j++;
      }
      if (j < pairs.length && pairs[j][0] === name) {
        flat.push(name, pairs[j][1]);
        j++;
      } else if (!this.deleted.includes(name)) {
        flat.push(name, value);
      }
    });
    for (; j < pairs.length; j++) flat.push(pairs[j][0], pairs[j][1]);
    return Labels.fromSortedUnchecked(flat);
  }
}

/** A label set whose strings are an interner's canonical copies; a distinct class so the mark costs no field. */
class InternedLabels extends Labels {}

/** True for a legacy metric name `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export function isValidLegacyMetricName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x41 && c <= 0x5a) ||
      c === 0x5f ||
      c === 0x3a ||
      (i > 0 && c >= 0x30 && c <= 0x39);
    if (!ok) return false;
  }
  return true;
}

/** True for a legacy label name `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function isValidLegacyLabelName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (i > 0 && c >= 0x30 && c <= 0x39);
    if (!ok) return false;
  }
  return true;
}

/** True when `s` is non-empty and valid Unicode (no lone surrogates), the UTF-8 name scheme of Prometheus 3. */
export function isValidUtf8LabelName(s: string): boolean {
  return s.length > 0 && isWellFormed(s);
}

/** True when `s` has no lone surrogates, i.e. encodes to valid UTF-8. */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c >= 0xe000) continue;
    if (c >= 0xdc00) return false;
    const d = s.charCodeAt(i + 1);
    if (!(d >= 0xdc00 && d < 0xe000)) return false;
    i++;
  }
  return true;
}
