// Series and label lookups: `series`, `labels`, `label/<name>/values`, `metadata`. Each reads one org's querier
// over [start, end] (the whole database when absent), merges the answers of several `match[]` selectors, and
// applies the `limit` parameter (truncating with a warning) and the org's series limit (an error).

import { ContrailError } from "../model/errors.ts";
import { compareStrings, isValidUtf8LabelName, type Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import { quoteGo } from "../model/quote.ts";
import type { Querier } from "../storage/interface.ts";
import { type Answer, dataAnswer, type OrgRequest } from "./context.ts";
import { labelsJson, stringsJson } from "./json.ts";
import { checkMatcherCount, checkSeriesCount } from "./limits.ts";
import { invalidParam, limitParam, MAX_TIME_MS, MIN_TIME_MS, parseMatcherSets, timeParam } from "./params.ts";

/** The warning Prometheus gives when `limit` cut an answer. */
export const TRUNCATED = "results truncated due to limit";

/** The parameters every lookup shares: `limit`, the time range (ms; the whole database when absent), selectors. */
export interface Lookup {
  readonly limit: number;
  readonly start: number;
  readonly end: number;
  readonly sets: Matcher[][];
}

/** The parameters every lookup shares, checked. `wrapMatchErrors` selects Prometheus's two wordings of a bad match[]. */
export function lookupParams(req: OrgRequest, wrapMatchErrors: boolean): Lookup {
  const { form } = req;
  const limit = limitParam(form);
  const start = timeParam(form, "start", MIN_TIME_MS);
  const end = timeParam(form, "end", MAX_TIME_MS);
  const selectors = form.all("match[]");
  checkMatcherCount(selectors.length, req.limits);
  try {
    return { limit, start, end, sets: parseMatcherSets(selectors) };
  } catch (err) {
    if (!wrapMatchErrors) throw new ContrailError("bad_data", (err as Error).message, { cause: err });
    throw invalidParam("match[]", err);
  }
}

function withQuerier<T>(req: OrgRequest, p: Lookup, fn: (q: Querier) => T): T {
  const q = req.store.querier(req.org, p.start, p.end);
  try {
    return fn(q);
  } finally {
    q.close();
  }
}

// The sorted union of string lists from several selector sets (one set: the list as the store returned it).
function union(lists: readonly string[][]): string[] {
  if (lists.length === 1) return lists[0];
  const all = new Set<string>();
  for (const l of lists) for (const v of l) all.add(v);
  return [...all].sort(compareStrings);
}

/** `values` cut to `limit` (0: no limit), with Prometheus's warning when cut. */
export function truncated(values: string[], limit: number): { values: string[]; warnings: string[] } {
  if (limit > 0 && values.length > limit) return { values: values.slice(0, limit), warnings: [TRUNCATED] };
  return { values, warnings: [] };
}

// The store is asked for one more than the API limit, so truncation can be detected and reported.
function hintLimit(limit: number): number {
  return limit > 0 ? limit + 1 : 0;
}

/**
 * The checked parameters of a series lookup, and `storeLimit`: the series to ask the store for, one more than the
 * answer may hold (the smaller of `limit` and the org's series limit), so that truncation can be detected.
 */
export function seriesParams(req: OrgRequest): Lookup & { readonly storeLimit: number } {
  if (req.form.all("match[]").length === 0) throw new ContrailError("bad_data", "no match[] parameter provided");
  const p = lookupParams(req, true);
  const max = req.limits.maxSeries;
  return { ...p, storeLimit: p.limit > 0 ? Math.min(p.limit, max) + 1 : max + 1 };
}

/** `GET|POST /api/v1/series`: the label sets of the series matching any `match[]`. */
export function series(req: OrgRequest): Answer {
  const p = seriesParams(req);
  const storeLimit = p.storeLimit;
  return withQuerier(req, p, (q) => {
    const warnings: string[] = [];
    let found: Labels[] = [];
    const byHash = new Map<string, Labels[]>();
    for (const set of p.sets) {
      const ss = q.select(set, {
        start: p.start,
        end: p.end,
        func: "series",
        limit: storeLimit,
        sorted: p.sets.length > 1,
      });
      warnings.push(...ss.warnings);
      for (const s of ss) {
        if (p.sets.length > 1) {
          const h = s.labels.hash();
          const same = byHash.get(h);
          if (same?.some((l) => l.equals(s.labels))) continue;
          if (same === undefined) byHash.set(h, [s.labels]);
          else same.push(s.labels);
        }
        found.push(s.labels);
        if (found.length > storeLimit) break;
      }
    }
    if (p.sets.length > 1) found.sort((a, b) => a.compare(b));
    if (p.limit > 0 && found.length > p.limit) {
      found = found.slice(0, p.limit);
      warnings.push(TRUNCATED);
    }
    checkSeriesCount(found.length, req.limits);
    const parts: string[] = ["["];
    found.forEach((l, i) => {
      parts.push(i > 0 ? `,${labelsJson(l)}` : labelsJson(l));
    });
    parts.push("]");
    return { kind: "data", data: parts, warnings };
  });
}

/** `GET|POST /api/v1/labels`: label names of the series matching `match[]` (all series without it). */
export function labelNames(req: OrgRequest): Answer {
  const p = lookupParams(req, false);
  return withQuerier(req, p, (q) => {
    const hints = { limit: hintLimit(p.limit) };
    const lists = p.sets.length === 0 ? [q.labelNames([], hints)] : p.sets.map((set) => q.labelNames(set, hints));
    const { values, warnings } = truncated(union(lists), p.limit);
    return dataAnswer(stringsJson(values), warnings);
  });
}

/** Prometheus's `U__` escaping of label names that are not legacy names (model.UnescapeName, value encoding). */
export function unescapeLabelName(name: string): string {
  if (!name.startsWith("U__")) return name;
  const s = name.slice(3);
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "_") {
      out += s[i];
      continue;
    }
    if (i + 1 >= s.length) return name;
    if (s[i + 1] === "_") {
      out += "_";
      i++;
      continue;
    }
    const close = s.indexOf("_", i + 1);
    if (close < 0 || !/^[0-9a-fA-F]+$/.test(s.slice(i + 1, close))) return name;
    const code = Number.parseInt(s.slice(i + 1, close), 16);
    if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) return name;
    out += String.fromCodePoint(code);
    i = close;
  }
  return out;
}

/** The label name of a label values request, unescaped and checked; throws `bad_data` for an invalid one. */
export function labelValuesName(req: OrgRequest): string {
  const name = unescapeLabelName(req.params.name ?? "");
  if (!isValidUtf8LabelName(name)) throw new ContrailError("bad_data", `invalid label name: ${quoteGo(name)}`);
  return name;
}

/** `GET /api/v1/label/<name>/values`: the values of one label among the series matching `match[]`. */
export function labelValues(req: OrgRequest): Answer {
  const name = labelValuesName(req);
  const p = lookupParams(req, false);
  return withQuerier(req, p, (q) => {
    const hints = { limit: hintLimit(p.limit) };
    const lists =
      p.sets.length === 0 ? [q.labelValues(name, [], hints)] : p.sets.map((set) => q.labelValues(name, set, hints));
    const { values, warnings } = truncated(union(lists), p.limit);
    return dataAnswer(stringsJson(values), warnings);
  });
}

/** An integer parameter, or -1 when absent; throws Prometheus's "must be a number" otherwise. */
function intParam(req: OrgRequest, name: string): number {
  const s = req.form.get(name);
  if (s === "") return -1;
  if (!/^[+-]?\d+$/.test(s)) throw new ContrailError("bad_data", `${name} must be a number`);
  return Number(s);
}

/**
 * `GET /api/v1/metadata`: metric metadata of the org's scrapes and remote writes, by family name. `metric` keeps
 * one family; `limit` caps the families and `limit_per_metric` the entries per family (positive values only, as
 * Prometheus applies them).
 */
export function metadata(req: OrgRequest): Answer {
  const limit = intParam(req, "limit");
  const perMetric = intParam(req, "limit_per_metric");
  const metric = req.form.get("metric");
  const parts: string[] = ["{"];
  let families = 0;
  for (const [name, entries] of req.status.metadataFor(req.org)) {
    if (metric !== "" && name !== metric) continue;
    if (limit >= 0 && families >= limit) break;
    const kept = perMetric > 0 ? entries.slice(0, perMetric) : entries;
    const list = kept.map((m) => JSON.stringify({ type: m.type, help: m.help, unit: m.unit })).join(",");
    parts.push(`${families > 0 ? "," : ""}${JSON.stringify(name)}:[${list}]`);
    families++;
  }
  parts.push("}");
  return { kind: "data", data: parts };
}
