// `GET /prometheus/<org>/federate?match[]=…`: the org's series for another Prometheus to scrape, answered as
// Prometheus 3's own /federate answers (web/federate.go): every series matching any selector that has a sample
// within the lookback delta before now, with its newest such sample and that sample's timestamp; a series whose
// newest sample is a staleness marker is left out (the exposition formats cannot carry markers). The format follows
// the Accept header: the protobuf exposition format (delimited MetricFamily messages) when the client prefers it, as
// a Prometheus scraping with native histograms enabled does; Prometheus text 0.0.4 otherwise. Floats are untyped
// families. Native histograms are written only in protobuf, as histogram (gauge histogram for the gauge hint)
// families: exponential schemas as native histograms (integer ones keep their integer counts), custom-bucket ones as
// classic histograms (cumulative buckets, count and sum), which text can carry too. Families are sorted by name,
// then kind (floats, histograms, gauge histograms; Prometheus also gives each kind its own family), series by labels.
// A series' labels are written as they are stored (`job`, `instance`, … for `honor_labels: true`), and `instance=""`
// is added to those without one, as Prometheus adds it, so the scraper does not attach its own. Nameless series are
// skipped.

import {
  formatGoFloat,
  headerName,
  PROTOBUF_CONTENT_TYPE,
  ProtobufFamilyWriter,
  type ProtoMetric,
  prefersProtobuf,
  seriesText,
} from "../exposition/index.ts";
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA, type Histogram } from "../model/histogram.ts";
import { compareStrings, type Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import { isStaleNaN } from "../model/sample.ts";
import type { Series } from "../storage/interface.ts";
import type { Answer, OrgRequest } from "./context.ts";
import { checkMatcherCount, checkSeriesCount } from "./limits.ts";
import { invalidParam, parseMatcherSets } from "./params.ts";

/** How far back federation looks for a series' newest sample, ms (Prometheus's default lookback delta). */
export const FEDERATE_LOOKBACK_MS = 300_000;

/** The Content-Type of federation answers: Prometheus text 0.0.4. */
export const FEDERATE_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The label Prometheus adds, empty, to federated series without it. */
const INSTANCE = "instance";
const EMPTY_INSTANCE: readonly (readonly [string, string])[] = [[INSTANCE, ""]];

/** One federated series: its name, labels, and newest sample (ms, and its float value or native histogram). */
export interface FederatedSample {
  readonly name: string;
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
  /** The sample's native histogram, when it is one (`v` is then NaN); owned by the sample. */
  readonly h?: Histogram;
}

/** The newest sample of a series: its time (ms), float value, native histogram when it is one, staleness. */
interface Newest {
  readonly t: number;
  readonly v: number;
  readonly h: Histogram | undefined;
  /** A staleness marker (a float's value or a histogram's sum is StaleNaN). */
  readonly stale: boolean;
}

// The newest sample of `s` at or before `maxt` (ms), or null when it has none in the queried range. A histogram is
// taken from a second iterator stopped on it (an iterator's histogram is valid only until it moves), and judged
// stale before it is copied (a copy need not keep the marker's NaN bits).
function newestSample(s: Series, maxt: number): Newest | null {
  const it = s.iterator();
  let t = Number.NaN;
  let v = Number.NaN;
  let histogram = false;
  for (let k = it.next(); k !== "none"; k = it.next()) {
    if (it.atT() > maxt) break;
    t = it.atT();
    histogram = k === "histogram" && it.atH !== undefined;
    v = histogram ? Number.NaN : it.atV();
  }
  if (Number.isNaN(t)) return null;
  if (!histogram) return { t, v, h: undefined, stale: isStaleNaN(v) };
  const at = s.iterator();
  at.seek(t);
  const h = at.atH?.();
  if (h === undefined || isStaleNaN(h.sum)) return { t, v, h: undefined, stale: true };
  return { t, v, h: structuredClone(h), stale: false };
}

/** The checked `match[]` selectors of a federation request. */
export function federateSelectors(req: OrgRequest): Matcher[][] {
  const selectors = req.form.all("match[]");
  checkMatcherCount(selectors.length, req.limits);
  try {
    return parseMatcherSets(selectors);
  } catch (err) {
    throw invalidParam("match[]", err);
  }
}

/** The federation answer for `req`. */
export function federate(req: OrgRequest): Answer {
  const sets = federateSelectors(req);
  const maxt = req.now;
  const mint = maxt - FEDERATE_LOOKBACK_MS;
  // With several selectors, the series seen so far by label hash, so one matched by several is written once.
  const seen = sets.length > 1 ? new Map<string, Labels[]>() : null;
  let matched = 0;
  const found: FederatedSample[] = [];
  const q = req.store.querier(req.org, mint, maxt);
  try {
    for (const set of sets) {
      // No `func` hint: federation needs the samples, not only the labels.
      for (const s of q.select(set, { start: mint, end: maxt })) {
        if (seen !== null) {
          const h = s.labels.hash();
          const same = seen.get(h);
          if (same?.some((l) => l.equals(s.labels))) continue;
          if (same === undefined) seen.set(h, [s.labels]);
          else same.push(s.labels);
        }
        // Every matched series costs work and (with several selectors) memory, fresh or not: all count.
        if (++matched > req.limits.maxSeries) checkSeriesCount(matched, req.limits);
        const name = s.labels.metricName();
        const newest = newestSample(s, maxt);
        if (name === "" || newest === null || newest.t < mint || newest.stale) continue;
        found.push({ name, labels: s.labels, t: newest.t, v: newest.v, h: newest.h });
      }
    }
  } finally {
    q.close();
  }
  return federationAnswer(found, prefersProtobuf(req.accept));
}

/** The kind of family a federated sample goes in: its exposition type, one family per name and kind. */
type FamilyKind = "untyped" | "histogram" | "gaugehistogram";
const KIND_ORDER: Readonly<Record<FamilyKind, number>> = { untyped: 0, histogram: 1, gaugehistogram: 2 };

function kindOf(n: FederatedSample): FamilyKind {
  if (n.h === undefined) return "untyped";
  return n.h.counterResetHint === CounterResetHint.gauge ? "gaugehistogram" : "histogram";
}

function usesCustomBuckets(h: Histogram): boolean {
  return h.schema === CUSTOM_BUCKETS_SCHEMA;
}

/** The cumulative classic buckets (upper bound, count) of a custom-buckets histogram, +Inf left out. */
function classicBuckets(h: Histogram): [number, number][] {
  const perBucket = new Array<number>(h.customValues.length).fill(0);
  let index = 0;
  let k = 0;
  for (const span of h.positiveSpans) {
    index += span.offset;
    for (let j = 0; j < span.length; j++, index++, k++) {
      if (index >= 0 && index < perBucket.length) perBucket[index] += h.positiveBuckets[k] ?? 0;
    }
  }
  let cumulative = 0;
  return h.customValues.map((le, i) => {
    cumulative += perBucket[i];
    return [le, cumulative];
  });
}

/**
 * The federation answer for its series (sorted here: families by name and kind, series by labels): protobuf
 * (`protobuf`, native histograms included) or Prometheus text (floats and custom-bucket histograms only).
 */
export function federationAnswer(found: FederatedSample[], protobuf = false): Answer {
  found.sort(
    (a, b) =>
      compareStrings(a.name, b.name) || KIND_ORDER[kindOf(a)] - KIND_ORDER[kindOf(b)] || a.labels.compare(b.labels),
  );
  if (protobuf) return { kind: "bytes", body: protobufBody(found), contentType: PROTOBUF_CONTENT_TYPE };
  return { kind: "text", body: textBody(found), contentType: FEDERATE_CONTENT_TYPE };
}

// The Prometheus text body of sorted samples: exponential native histograms are left out.
function textBody(found: readonly FederatedSample[]): string {
  let body = "";
  let family = "";
  let familyKind: FamilyKind | "" = "";
  for (const n of found) {
    if (n.h !== undefined && !usesCustomBuckets(n.h)) continue;
    const kind = kindOf(n);
    if (n.name !== family || kind !== familyKind) {
      family = n.name;
      familyKind = kind;
      // Text 0.0.4 has no gauge histograms: they are histograms there.
      body += `# TYPE ${headerName(n.name)} ${kind === "untyped" ? "untyped" : "histogram"}\n`;
    }
    const extra = n.labels.has(INSTANCE) ? [] : EMPTY_INSTANCE;
    const ts = Math.trunc(n.t);
    if (n.h === undefined) {
      body += `${seriesText(n.name, n.labels, extra)} ${formatGoFloat(n.v)} ${ts}\n`;
      continue;
    }
    for (const [le, count] of [...classicBuckets(n.h), [Number.POSITIVE_INFINITY, n.h.count]]) {
      const labels = [...extra, ["le", formatGoFloat(le)] as const];
      body += `${seriesText(`${n.name}_bucket`, n.labels, labels)} ${formatGoFloat(count)} ${ts}\n`;
    }
    body += `${seriesText(`${n.name}_sum`, n.labels, extra)} ${formatGoFloat(n.h.sum)} ${ts}\n`;
    body += `${seriesText(`${n.name}_count`, n.labels, extra)} ${formatGoFloat(n.h.count)} ${ts}\n`;
  }
  return body;
}

// The metric of one federated sample in a MetricFamily message.
function protoMetric(n: FederatedSample): ProtoMetric {
  const h = n.h;
  const custom = h !== undefined && usesCustomBuckets(h);
  return {
    labels: n.labels,
    extra: n.labels.has(INSTANCE) ? [] : EMPTY_INSTANCE,
    value: n.v,
    timestampMs: Math.trunc(n.t),
    count: h?.count ?? 0,
    sum: h?.sum ?? 0,
    buckets: custom ? classicBuckets(h) : [],
    quantiles: [],
    native: custom ? undefined : h,
  };
}

// The delimited protobuf body of sorted samples: one MetricFamily per run of the same name and kind.
function protobufBody(found: readonly FederatedSample[]): Uint8Array {
  const w = new ProtobufFamilyWriter();
  let start = 0;
  while (start < found.length) {
    const first = found[start];
    const kind = kindOf(first);
    let end = start + 1;
    while (end < found.length && found[end].name === first.name && kindOf(found[end]) === kind) end++;
    const type = kind === "untyped" ? "unknown" : kind;
    w.add({ name: first.name, type }, found.slice(start, end).map(protoMetric));
    start = end;
  }
  return w.finish();
}
