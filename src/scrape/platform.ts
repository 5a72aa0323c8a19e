// The platform's own processes (edge proxies, instance agents) as scrape targets. Their `/metrics` is fetched over
// HTTP like any target's, but unlike an app's endpoint it serves many apps of many orgs at once and its samples
// already carry the platform labels: each sample goes to the org that owns its `app` label (RegistryCollector does
// the routing and staleness), nothing is relabelled, and samples no org claims are dropped. A failed fetch counts
// as an empty scrape, so every series of the target gets a stale marker, as Prometheus marks a target that is down.

import { type MetricFamily, type MetricMetadata, parserForContentType } from "../exposition/index.ts";
import type { Histogram } from "../model/histogram.ts";
import { type Labels, LabelsBuilder } from "../model/labels.ts";
import type { SampleSource } from "./inprocess.ts";

/** A platform process to scrape: a stable name (its heartbeat role, e.g. `edge/ord`) and its metrics URL. */
export interface PlatformTarget {
  readonly name: string;
  /** Absolute http URL of its `/metrics`. */
  readonly url: string;
}

/** Where the scrape manager learns the platform targets; read on every target refresh. */
export interface PlatformTargetSource {
  targets(): readonly PlatformTarget[] | Promise<readonly PlatformTarget[]>;
}

/** Suffixes of the samples of a family whose name differs from the family's (histograms, summaries, counters). */
const SAMPLE_SUFFIXES = ["_bucket", "_count", "_sum", "_total", "_created", "_info", "_gcount", "_gsum"];

/** True when sample `name` belongs to family `family`. */
function inFamily(name: string, family: string): boolean {
  if (name === family) return true;
  if (!name.startsWith(family)) return false;
  const rest = name.slice(family.length);
  return SAMPLE_SUFFIXES.includes(rest);
}

/**
 * The samples of the last body fetched from one platform target, as a {@link SampleSource}. Label sets are cached
 * by their raw series text and reused while the series stays in the body, so the collector finds them by object
 * identity and a steady scrape builds no label set. A protobuf body's native histograms are kept beside the
 * classic buckets of the same histograms (the platform's dashboards read those). Single-threaded; owned by one
 * collection.
 */
export class ScrapedSamples implements SampleSource {
  /** Raw series text → its label set, with the key in a string of its own (not a slice of an old body). */
  private byText = new Map<string, { readonly key: string; readonly labels: Labels }>();
  private labels: Labels[] = [];
  private values: number[] = [];
  private histogramLabels: Labels[] = [];
  private histograms: Histogram[] = [];
  /** Family name of each sample (index-aligned with `labels`). */
  private familyOf: string[] = [];
  private metadata: ReadonlyMap<string, MetricMetadata> = new Map();
  private readonly builder = new LabelsBuilder();

  /** Number of samples of the last body. */
  get size(): number {
    return this.labels.length;
  }

  /** Replaces the samples with those of `body`. Throws `bad_data` on a malformed body (the samples are then empty). */
  load(body: Uint8Array, contentType: string | undefined): void {
    this.clear();
    const parser = parserForContentType(contentType, { classicHistograms: true }).newParser(body);
    const next = new Map<string, { readonly key: string; readonly labels: Labels }>();
    let family = "";
    for (;;) {
      const kind = parser.next();
      if (kind === "eof") break;
      if (kind === "help" || kind === "type" || kind === "unit") {
        family = parser.metricName();
        continue;
      }
      if (kind !== "series" && kind !== "histogram") continue;
      const text = parser.series();
      let entry = this.byText.get(text) ?? next.get(text);
      if (entry === undefined) entry = { key: parser.ownedSeries(), labels: parser.labels(this.builder) };
      next.set(entry.key, entry);
      if (kind === "histogram") {
        this.histogramLabels.push(entry.labels);
        this.histograms.push(parser.histogram());
        continue;
      }
      const name = parser.metricName();
      this.labels.push(entry.labels);
      this.values.push(parser.value());
      this.familyOf.push(inFamily(name, family) ? family : name);
    }
    this.byText = next;
    this.metadata = new Map(parser.metadata());
  }

  /** Forgets every sample (a failed scrape: the collector then marks every series stale). */
  clear(): void {
    this.labels = [];
    this.values = [];
    this.familyOf = [];
    this.histogramLabels = [];
    this.histograms = [];
  }

  /** Visits every sample of the last body, in body order. */
  forEachSample(fn: (labels: Labels, value: number) => void): void {
    for (let i = 0; i < this.labels.length; i++) fn(this.labels[i], this.values[i]);
  }

  /** Visits every native histogram sample of the last body, in body order. */
  forEachHistogram(fn: (labels: Labels, h: Histogram) => void): void {
    for (let i = 0; i < this.histograms.length; i++) fn(this.histogramLabels[i], this.histograms[i]);
  }

  /** The families of the last body with their samples (for metadata; built on each call). */
  collect(): readonly MetricFamily[] {
    const byName = new Map<string, { labels: Labels; value: number }[]>();
    for (let i = 0; i < this.labels.length; i++) {
      const name = this.familyOf[i];
      let list = byName.get(name);
      if (list === undefined) {
        list = [];
        byName.set(name, list);
      }
      list.push({ labels: this.labels[i], value: this.values[i] });
    }
    const out: MetricFamily[] = [];
    for (const [name, samples] of byName) {
      const md = this.metadata.get(name);
      out.push({ name, type: md?.type ?? "unknown", help: md?.help ?? "", unit: md?.unit ?? "", samples });
    }
    return out;
  }
}
