// A checked reader over one parsed TOML table, used by the fly.toml schema. Each accessor validates one key and
// on a bad value records an error naming the full key path (`services[0].ports[1].port: expected …, got "x"`)
// and returns undefined, so one pass reports every problem. Keys nobody read are collected as ignored.

import type { TomlTable } from "smol-toml";

/** One problem: the full key path it is about (the table's own for a problem of the table) and what is wrong. */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

/** Problems found while reading one document: `errors` reject it, `ignored` lists keys kept but not used. */
export interface Issues {
  readonly errors: Issue[];
  readonly ignored: string[];
}

/** Bounds of an integer key, inclusive. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

const BYTE_SIZE = /^\s*([0-9]{1,16})\s*([A-Za-z]*)\s*$/;
/** Byte units by lower-case name; decimal-looking names mean powers of 1024, as in Prometheus's configuration. */
const BYTE_UNITS: ReadonlyMap<string, number> = new Map([
  ["", 1],
  ["b", 1],
  ["kb", 1024],
  ["kib", 1024],
  ["mb", 1024 ** 2],
  ["mib", 1024 ** 2],
  ["gb", 1024 ** 3],
  ["gib", 1024 ** 3],
]);

/** Describes a TOML value for an error message: strings quoted, tables and arrays by kind. */
export function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (v instanceof Date) return `a date (${v.toISOString()})`;
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object" && v !== null) return "a table";
  return String(v);
}

function isTable(v: unknown): v is TomlTable {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

const DURATION_PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/y;
const DURATION_UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration (`"10s"`, `"1m30s"`, `"500ms"`) to milliseconds; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  if (text === "") return undefined;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const m = DURATION_PART.exec(text);
    if (m === null) return undefined;
    total += Number(m[1]) * DURATION_UNIT_MS[m[2]];
  }
  return Math.round(total);
}

/** One TOML table at `path` (empty for the document root) with checked accessors. */
export class TableReader {
  readonly path: string;
  readonly issues: Issues;
  readonly #table: TomlTable;
  readonly #used = new Set<string>();

  /** Reads `table`, reporting into `issues` under the key prefix `path`. */
  constructor(path: string, table: TomlTable, issues: Issues) {
    this.path = path;
    this.#table = table;
    this.issues = issues;
  }

  /** The full path of `key` inside this table, as shown in messages. */
  keyPath(key: string): string {
    return this.path === "" ? key : `${this.path}.${key}`;
  }

  /** Records an error about `key` (or about the table itself when `key` is empty). */
  error(key: string, message: string): void {
    this.issues.errors.push({ path: key === "" ? this.path : this.keyPath(key), message });
  }

  /** The raw value of `key`, marking it used; undefined when absent. */
  raw(key: string): unknown {
    this.#used.add(key);
    return Object.hasOwn(this.#table, key) ? this.#table[key] : undefined;
  }

  /** The keys of this table, marking all used (for free-form tables like `[env]`). */
  entries(): [string, unknown][] {
    for (const k of Object.keys(this.#table)) this.#used.add(k);
    return Object.entries(this.#table);
  }

  #expected(key: string, what: string, v: unknown): undefined {
    this.error(key, `expected ${what}, got ${describe(v)}`);
    return undefined;
  }

  /** A string of at most `max` characters, matching `pattern` if given (`rule` describes it). */
  string(key: string, options: { max: number; pattern?: RegExp; rule?: string }): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== "string") return this.#expected(key, "a string", v);
    if (v.length > options.max) {
      this.error(key, `expected at most ${options.max} characters, got ${v.length}`);
      return undefined;
    }
    if (options.pattern !== undefined && !options.pattern.test(v)) {
      return this.#expected(key, options.rule ?? `a string matching ${options.pattern}`, v);
    }
    return v;
  }

  /** One of `choices`, compared case-insensitively and returned as written in `choices`. */
  choice<const T extends string>(key: string, choices: readonly T[]): T | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const found = typeof v === "string" ? choices.find((c) => c.toLowerCase() === v.toLowerCase()) : undefined;
    if (found === undefined) return this.#expected(key, `one of ${choices.map((c) => `"${c}"`).join(", ")}`, v);
    return found;
  }

  /** An integer in `range` (TOML floats with an integral value count as integers). */
  int(key: string, range: IntRange): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < range.min || v > range.max) {
      return this.#expected(key, `an integer ${range.min}-${range.max}`, v);
    }
    return v;
  }

  /**
   * A size in bytes, at least 1 and at most `max`: an integer, or a string of one with a unit, B, KB or KiB, MB or
   * MiB, GB or GiB, powers of 1024 either way (as Prometheus reads its `body_size_limit`), e.g. `"512KiB"`.
   */
  bytes(key: string, max: number): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const m = typeof v === "string" ? BYTE_SIZE.exec(v) : null;
    const unit = m === null ? undefined : BYTE_UNITS.get(m[2].toLowerCase());
    const n = typeof v === "number" ? v : m === null || unit === undefined ? Number.NaN : Number(m[1]) * unit;
    if (!Number.isSafeInteger(n) || n < 1 || n > max) {
      return this.#expected(key, `a size from 1 byte to ${max} bytes, like 1048576 or "1MiB"`, v);
    }
    return n;
  }

  /** A boolean. */
  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") return this.#expected(key, "true or false", v);
    return v;
  }

  /** A duration in milliseconds: a Go-style string (`"15s"`, `"1m30s"`) or an integer of milliseconds. */
  duration(key: string, maxMs: number): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const ms =
      typeof v === "number" && Number.isInteger(v) && v >= 0
        ? v
        : typeof v === "string"
          ? parseGoDuration(v)
          : undefined;
    if (ms === undefined || ms > maxMs) {
      return this.#expected(key, `a duration like "10s" or "1m30s" (at most ${maxMs / 1000}s)`, v);
    }
    return ms;
  }

  /** An array of strings, each checked by `item` when given (returns an error message or undefined). */
  strings(key: string, item?: (s: string) => string | undefined): string[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.#expected(key, "an array of strings", v);
    const out: string[] = [];
    let ok = true;
    v.forEach((s, i) => {
      const problem = typeof s !== "string" ? `expected a string, got ${describe(s)}` : item?.(s);
      if (problem === undefined) out.push(s as string);
      else {
        this.error(`${key}[${i}]`, problem);
        ok = false;
      }
    });
    return ok ? out : undefined;
  }

  /** The sub-table `key` (`[a.key]` or an inline table). */
  table(key: string): TableReader | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isTable(v)) return this.#expected(key, "a table", v);
    return new TableReader(this.keyPath(key), v, this.issues);
  }

  /**
   * The array of tables `key` (`[[a.key]]`). With `single`, a plain table is accepted too and read as a
   * one-element list under the unindexed path, so `[metrics]` reports `metrics.port` and `[[metrics]]`
   * reports `metrics[0].port`.
   */
  tables(key: string, options: { single?: boolean } = {}): TableReader[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (options.single === true && isTable(v)) return [new TableReader(this.keyPath(key), v, this.issues)];
    if (!Array.isArray(v)) {
      this.#expected(key, `an array of tables ([[${this.keyPath(key)}]])`, v);
      return [];
    }
    const out: TableReader[] = [];
    v.forEach((t, i) => {
      if (isTable(t)) out.push(new TableReader(`${this.keyPath(key)}[${i}]`, t, this.issues));
      else this.error(`${key}[${i}]`, `expected a table, got ${describe(t)}`);
    });
    return out;
  }

  /** Records every key of this table that no accessor read as ignored. Call once, after reading. */
  finish(): void {
    for (const k of Object.keys(this.#table)) if (!this.#used.has(k)) this.issues.ignored.push(this.keyPath(k));
  }
}
