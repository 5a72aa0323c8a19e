// `GET /prometheus/<org>/federate?match[]=…`: the org's series for another Prometheus to scrape, answered as
// Prometheus's own /federate answers (web/federate.go): every series matching any selector that has a sample
// within the lookback delta before now, with its newest such sample and that sample's timestamp; a series whose
// newest sample is a staleness marker is left out (the text format cannot carry markers). Prometheus text 0.0.4,
// one `# TYPE <name> untyped` family per metric name, families sorted by name and series by labels. A series'
// labels are written as they are stored (`job`, `instance`, … for `honor_labels: true`), and `instance=""` is added
// to those without one, as Prometheus adds it, so the scraper does not attach its own. Nameless series are skipped.

import { formatGoFloat, headerName, seriesText } from "../exposition/index.ts";
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

/** One federated series: its name, labels, and newest sample (ms, value). */
export interface FederatedSample {
  readonly name: string;
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

// The newest sample of `s` at or before `maxt` (ms), or null when it has none in the queried range.
function newestSample(s: Series, maxt: number): { t: number; v: number } | null {
  const it = s.iterator();
  let t = Number.NaN;
  let v = Number.NaN;
  while (it.next() !== "none") {
    if (it.atT() > maxt) break;
    t = it.atT();
    v = it.atV();
  }
  return Number.isNaN(t) ? null : { t, v };
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
        if (name === "" || newest === null || newest.t < mint || isStaleNaN(newest.v)) continue;
        found.push({ name, labels: s.labels, t: newest.t, v: newest.v });
      }
    }
  } finally {
    q.close();
  }
  return federationAnswer(found);
}

/** The text answer of federation for its series (sorted here: families by name, series by labels). */
export function federationAnswer(found: FederatedSample[]): Answer {
  found.sort((a, b) => compareStrings(a.name, b.name) || a.labels.compare(b.labels));
  let body = "";
  let family = "";
  for (const n of found) {
    if (n.name !== family || body === "") {
      family = n.name;
      body += `# TYPE ${headerName(n.name)} untyped\n`;
    }
    const extra = n.labels.has(INSTANCE) ? [] : EMPTY_INSTANCE;
    body += `${seriesText(n.name, n.labels, extra)} ${formatGoFloat(n.v)} ${Math.trunc(n.t)}\n`;
  }
  return { kind: "text", body, contentType: FEDERATE_CONTENT_TYPE };
}
