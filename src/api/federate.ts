// `GET /prometheus/<org>/federate?match[]=…`: the newest sample (within the lookback delta) of every series of the
// org matching any selector, as Prometheus text with timestamps, so another Prometheus can scrape the org.

import type { FamilySample, MetricFamily } from "../exposition/index.ts";
import { writePrometheusText } from "../exposition/index.ts";
import { compareStrings, type Labels } from "../model/labels.ts";
import { isStaleNaN } from "../model/sample.ts";
import type { Answer, OrgRequest } from "./context.ts";
import { checkMatcherCount, checkSeriesCount } from "./limits.ts";
import { invalidParam, parseMatcherSets } from "./params.ts";

/** How far back federation looks for a series' newest sample, ms (Prometheus's default lookback delta). */
export const FEDERATE_LOOKBACK_MS = 300_000;

/** The Content-Type of federation answers: Prometheus text 0.0.4. */
export const FEDERATE_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

interface Newest {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

/** The federation answer for `req`. */
export function federate(req: OrgRequest): Answer {
  const selectors = req.form.all("match[]");
  checkMatcherCount(selectors.length, req.limits);
  let sets: ReturnType<typeof parseMatcherSets>;
  try {
    sets = parseMatcherSets(selectors);
  } catch (err) {
    throw invalidParam("match[]", err);
  }
  const maxt = req.now;
  const mint = maxt - FEDERATE_LOOKBACK_MS;
  const newest = new Map<string, Newest[]>();
  let count = 0;
  const q = req.store.querier(req.org, mint, maxt);
  try {
    for (const set of sets) {
      for (const s of q.select(set, { start: mint, end: maxt, func: "series", sorted: false })) {
        const h = s.labels.hash();
        const same = newest.get(h);
        if (same?.some((n) => n.labels.equals(s.labels))) continue;
        const it = s.iterator();
        let t = Number.NaN;
        let v = Number.NaN;
        while (it.next() !== "none") {
          if (it.atT() > maxt) break;
          t = it.atT();
          v = it.atV();
        }
        if (Number.isNaN(t) || t < mint || isStaleNaN(v)) continue;
        if (same === undefined) newest.set(h, [{ labels: s.labels, t, v }]);
        else same.push({ labels: s.labels, t, v });
        count++;
        if (count > req.limits.maxSeries) checkSeriesCount(count, req.limits);
      }
    }
  } finally {
    q.close();
  }
  const families = new Map<string, FamilySample[]>();
  for (const list of newest.values()) {
    for (const n of list) {
      const name = n.labels.metricName();
      // A series without a name cannot be written in the text format; Prometheus skips it too.
      if (name === "") continue;
      let samples = families.get(name);
      if (samples === undefined) {
        samples = [];
        families.set(name, samples);
      }
      samples.push({ labels: n.labels, value: n.v, timestampMs: n.t });
    }
  }
  const out: MetricFamily[] = [...families.keys()]
    .sort(compareStrings)
    .map((name) => ({ name, type: "unknown", samples: families.get(name)! }));
  return { kind: "text", body: writePrometheusText(out), contentType: FEDERATE_CONTENT_TYPE };
}
