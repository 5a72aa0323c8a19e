// An in-process metric registry: counters, gauges and histograms with pre-bound children. Hot paths (the edge proxy
// per request, the instance agent per tick) bind a child once (`family.labels(...)`) and then only add to numbers:
// no label set is built per event. A histogram family may keep native (exponential) buckets beside its classic ones.
// The registry is read two ways: `collect()` renders families for the writers (our /metrics), and `forEachSample()`
// (floats) and `forEachHistogram()` (native histograms) hand every sample with a stable Labels object to the
// in-process scraper, which can cache series refs by that object.

import { ContrailError } from "../model/errors.ts";
import {
  MAX_EXPONENTIAL_SCHEMA,
  MIN_EXPONENTIAL_SCHEMA,
  type Histogram as NativeHistogram,
} from "../model/histogram.ts";
import { Labels, METRIC_NAME } from "../model/labels.ts";
import { type NativeBucketOptions, NativeBuckets } from "./native-buckets.ts";
import type { FamilySample, MetricFamily } from "./writer.ts";

/** Options of a metric family. `labelNames` fixes the order of values given to `labels(...)`. */
export interface FamilyOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
}

/**
 * Options of a histogram family: ascending finite upper bounds (+Inf is implicit); with `native`, the family keeps
 * exponential buckets too and exposes each child also as a native histogram (the classic series stay).
 */
export interface HistogramOptions extends FamilyOptions {
  readonly buckets: readonly number[];
  readonly native?: NativeBucketOptions;
}

/** Visits one sample: its full name, its labels (stable object, `__name__` included) and its value. */
export type SampleVisitor = (labels: Labels, value: number) => void;

/** Visits one native histogram sample: its labels (stable object, `__name__` the family name) and a fresh value. */
export type HistogramVisitor = (labels: Labels, h: NativeHistogram) => void;

/** A monotonically increasing counter bound to one label set. */
export interface Counter {
  /** Adds `n` (default 1); negative amounts are ignored, as counters never decrease. */
  inc(n?: number): void;
  readonly value: number;
}

/** A gauge bound to one label set. */
export interface Gauge {
  set(v: number): void;
  inc(n?: number): void;
  dec(n?: number): void;
  readonly value: number;
}

/** A histogram bound to one label set; `observe` is O(log buckets) and allocation-free. */
export interface Histogram {
  observe(v: number): void;
  readonly count: number;
  readonly sum: number;
}

abstract class Family<C> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly children = new Map<string, C>();

  constructor(opts: FamilyOptions) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
  }

  /** The child for these label values (in `labelNames` order), created on first use and kept until `remove`. */
  labels(...values: string[]): C {
    const key = values.join("\xff");
    let child = this.children.get(key);
    if (child === undefined) {
      if (values.length !== this.labelNames.length) {
        throw new ContrailError(
          "bad_data",
          `metric ${this.name}: expected ${this.labelNames.length} label values, got ${values.length}`,
        );
      }
      child = this.create(values);
      this.children.set(key, child);
    }
    return child;
  }

  /** Forgets the child for these label values (e.g. when an instance goes away); its series then go stale. */
  remove(...values: string[]): void {
    this.children.delete(values.join("\xff"));
  }

  /** Number of bound children. */
  get size(): number {
    return this.children.size;
  }

  protected labelSet(values: readonly string[], name: string, extra?: readonly [string, string]): Labels {
    const pairs: [string, string][] = [[METRIC_NAME, name]];
    for (let i = 0; i < values.length; i++) pairs.push([this.labelNames[i], values[i]]);
    if (extra) pairs.push([extra[0], extra[1]]);
    return Labels.fromPairs(pairs);
  }

  protected abstract create(values: readonly string[]): C;
  abstract visit(fn: SampleVisitor): void;
  abstract family(): MetricFamily;
  /** Visits the family's native histograms; none but for histogram families with native buckets. */
  visitHistograms(_fn: HistogramVisitor): void {}
}

class CounterChild implements Counter {
  value = 0;
  constructor(readonly series: Labels) {}
  inc(n = 1): void {
    if (n > 0) this.value += n;
  }
}

/** A family of counters. */
export class CounterFamily extends Family<CounterChild> {
  protected create(values: readonly string[]): CounterChild {
    return new CounterChild(this.labelSet(values, this.name));
  }
  visit(fn: SampleVisitor): void {
    for (const c of this.children.values()) fn(c.series, c.value);
  }
  family(): MetricFamily {
    const samples: FamilySample[] = [];
    this.visit((labels, value) => samples.push({ labels, value }));
    return { name: this.name, type: "counter", help: this.help, samples };
  }
}

class GaugeChild implements Gauge {
  value = 0;
  constructor(readonly series: Labels) {}
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

/** A family of gauges. */
export class GaugeFamily extends Family<GaugeChild> {
  protected create(values: readonly string[]): GaugeChild {
    return new GaugeChild(this.labelSet(values, this.name));
  }
  visit(fn: SampleVisitor): void {
    for (const c of this.children.values()) fn(c.series, c.value);
  }
  family(): MetricFamily {
    const samples: FamilySample[] = [];
    this.visit((labels, value) => samples.push({ labels, value }));
    return { name: this.name, type: "gauge", help: this.help, samples };
  }
}

class HistogramChild implements Histogram {
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    private readonly bounds: readonly number[],
    readonly bucketSeries: readonly Labels[],
    readonly sumSeries: Labels,
    readonly countSeries: Labels,
    /** The native histogram's series and buckets, or null when the family keeps none. */
    readonly nativeSeries: Labels | null,
    private readonly native: NativeBuckets | null,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    // Binary search for the first bound >= v (upper bounds are inclusive, as `le` says).
    let lo = 0;
    let hi = this.bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.bounds[mid] >= v) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]++;
    this.sum += v;
    this.count++;
    this.native?.observe(v);
  }
  /** The native histogram now, or null when the family keeps none. */
  nativeHistogram(): NativeHistogram | null {
    return this.native === null ? null : this.native.histogram(this.count, this.sum);
  }
  visit(fn: SampleVisitor): void {
    let cumulative = 0;
    for (let i = 0; i < this.counts.length; i++) {
      cumulative += this.counts[i];
      fn(this.bucketSeries[i], cumulative);
    }
    fn(this.sumSeries, this.sum);
    fn(this.countSeries, this.count);
  }
}

/** A family of histograms with fixed buckets, exposed as `_bucket{le}`, `_sum` and `_count` series. */
export class HistogramFamily extends Family<HistogramChild> {
  readonly buckets: readonly number[];
  /** Options of the native buckets, or null when the family keeps only classic ones. */
  readonly native: NativeBucketOptions | null;
  private readonly leValues: readonly string[];

  constructor(opts: HistogramOptions) {
    super(opts);
    const schema = opts.native?.schema;
    if (
      schema !== undefined &&
      !(Number.isInteger(schema) && schema >= MIN_EXPONENTIAL_SCHEMA && schema <= MAX_EXPONENTIAL_SCHEMA)
    ) {
      throw new ContrailError(
        "bad_data",
        `histogram ${opts.name}: native schema ${schema} is not in ${MIN_EXPONENTIAL_SCHEMA}..${MAX_EXPONENTIAL_SCHEMA}`,
      );
    }
    this.native = opts.native ?? null;
    for (let i = 0; i < opts.buckets.length; i++) {
      const b = opts.buckets[i];
      if (!Number.isFinite(b) || (i > 0 && b <= opts.buckets[i - 1])) {
        throw new ContrailError("bad_data", `histogram ${opts.name}: buckets must be finite and ascending`);
      }
    }
    this.buckets = [...opts.buckets];
    this.leValues = [...this.buckets.map((b) => formatBound(b)), "+Inf"];
  }

  protected create(values: readonly string[]): HistogramChild {
    const bucketName = `${this.name}_bucket`;
    return new HistogramChild(
      this.buckets,
      this.leValues.map((le) => this.labelSet(values, bucketName, ["le", le])),
      this.labelSet(values, `${this.name}_sum`),
      this.labelSet(values, `${this.name}_count`),
      this.native === null ? null : this.labelSet(values, this.name),
      this.native === null ? null : new NativeBuckets(this.native),
    );
  }
  visit(fn: SampleVisitor): void {
    for (const c of this.children.values()) c.visit(fn);
  }
  override visitHistograms(fn: HistogramVisitor): void {
    if (this.native === null) return;
    for (const c of this.children.values()) fn(c.nativeSeries!, c.nativeHistogram()!);
  }
  family(): MetricFamily {
    const samples: FamilySample[] = [];
    this.visit((labels, value) => samples.push({ labels, value }));
    this.visitHistograms((labels, histogram) => samples.push({ labels, value: histogram.count, histogram }));
    return { name: this.name, type: "histogram", help: this.help, samples };
  }
}

/** A bound as client libraries print `le`: the shortest decimal that round-trips ("0.005", "1", "120"). */
function formatBound(b: number): string {
  return String(b);
}

/**
 * A source of families computed at collection time (e.g. figures read from /proc). Its samples' labels must carry
 * `__name__`, since in-process scraping reads them without the family.
 */
export type Collector = () => readonly MetricFamily[];

/** Holds metric families by name. One registry per role; pass it explicitly, never as a global. */
export class Registry {
  private readonly families = new Map<string, Family<unknown>>();
  private readonly collectors: Collector[] = [];

  /** Registers a counter family; throws `conflict` when the name is taken. */
  counter(opts: FamilyOptions): CounterFamily {
    return this.add(new CounterFamily(opts));
  }

  /** Registers a gauge family; throws `conflict` when the name is taken. */
  gauge(opts: FamilyOptions): GaugeFamily {
    return this.add(new GaugeFamily(opts));
  }

  /** Registers a histogram family; throws `conflict` when the name is taken. */
  histogram(opts: HistogramOptions): HistogramFamily {
    return this.add(new HistogramFamily(opts));
  }

  /** Adds a collector called on every read; its families are not cached. */
  addCollector(c: Collector): void {
    this.collectors.push(c);
  }

  /** Every family with its current values, for the writers. */
  collect(): MetricFamily[] {
    const out: MetricFamily[] = [];
    for (const f of this.families.values()) out.push(f.family());
    for (const c of this.collectors) out.push(...c());
    return out;
  }

  /**
   * Visits every current sample. Samples of registered families carry stable Labels objects (the same object
   * for the same child on every call), so a caller may cache per object; collector samples are fresh each call.
   */
  forEachSample(fn: SampleVisitor): void {
    for (const f of this.families.values()) f.visit(fn);
    for (const c of this.collectors) {
      for (const fam of c()) for (const s of fam.samples) fn(s.labels, s.value);
    }
  }

  /** Visits every current native histogram sample (registered families only), with stable Labels objects. */
  forEachHistogram(fn: HistogramVisitor): void {
    for (const f of this.families.values()) f.visitHistograms(fn);
  }

  private add<F extends Family<unknown>>(f: F): F {
    if (this.families.has(f.name)) throw new ContrailError("conflict", `metric ${f.name} is already registered`);
    this.families.set(f.name, f);
    return f;
  }
}
