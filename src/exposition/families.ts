// Metric family metadata as a parser meets it: HELP, TYPE and UNIT lines fill one record per family name, and
// the family of the latest metadata line is "current" so samples can be matched to their family's type.

import type { MetricMetadata, MetricType } from "./types.ts";

interface FamilyRecord {
  type: MetricType;
  help: string;
  unit: string;
}

// Sample-name suffixes a family's samples may carry (`foo` family: `foo_total`, `foo_bucket`, ...).
const SUFFIXES = ["_total", "_created", "_bucket", "_count", "_sum", "_gcount", "_gsum", "_info"];

/** Metadata of the families one parser has read, and the current family. Owned by one parser. */
export class Families {
  private readonly byName = new Map<string, FamilyRecord>();
  // Name of the current family without a `_total` suffix: Prometheus text names counters `x_total`, while
  // their `x_created` samples belong to them too.
  private currentBase = "";
  private current: FamilyRecord | undefined;

  /** The metadata map (owned by the parser; grows as it reads). */
  get metadata(): ReadonlyMap<string, MetricMetadata> {
    return this.byName;
  }

  private record(name: string): FamilyRecord {
    let r = this.byName.get(name);
    if (r === undefined) {
      r = { type: "unknown", help: "", unit: "" };
      this.byName.set(name, r);
    }
    this.currentBase = name.endsWith("_total") ? name.slice(0, -6) : name;
    this.current = r;
    return r;
  }

  /** Records a TYPE line. */
  setType(name: string, type: MetricType): void {
    this.record(name).type = type;
  }

  /** Records a HELP line. */
  setHelp(name: string, help: string): void {
    this.record(name).help = help;
  }

  /** Records a UNIT line. */
  setUnit(name: string, unit: string): void {
    this.record(name).unit = unit;
  }

  /** The type of the current family if the metric name `s[start..end)` belongs to it, else `unknown`.
   * Allocation-free. */
  typeOf(s: string, start: number, end: number): MetricType {
    const r = this.current;
    if (r === undefined) return "unknown";
    const fam = this.currentBase;
    const len = end - start;
    if (len < fam.length || !s.startsWith(fam, start)) return "unknown";
    if (len === fam.length) return r.type;
    const at = start + fam.length;
    for (const suffix of SUFFIXES) {
      if (len - fam.length === suffix.length && s.startsWith(suffix, at)) return r.type;
    }
    return "unknown";
  }
}
