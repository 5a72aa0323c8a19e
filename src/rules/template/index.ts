// Alert templates, as Prometheus expands the labels and annotations of alerting rules: `$labels`, `$value`,
// `$externalLabels`, `$externalURL` (and `.Labels`, `.Value`...) over Go's text/template syntax with Prometheus's
// functions. The public surface of this folder.

import type { Histogram } from "../../model/histogram.ts";
import type { ParsedTemplate } from "./ast.ts";
import { executeTemplate } from "./exec.ts";
import { isTemplateFunc, sampleValue } from "./funcs.ts";
import { histogramValue } from "./histogram.ts";
import { parseTemplate, TemplateSyntaxError } from "./parse.ts";
import { stringMap, TStruct, type TValue } from "./values.ts";

export {
  MAX_RANGE_ITERATIONS,
  MAX_TEMPLATE_CALL_DEPTH,
  MAX_TEMPLATE_OUTPUT,
  MAX_TEMPLATE_QUERIES,
} from "./exec.ts";
export { graphLink } from "./funcs.ts";
export { MAX_TEMPLATE_DEPTH, MAX_TEMPLATE_LENGTH } from "./parse.ts";

/** The variables Prometheus defines before every alert template. */
const ALERT_VARS = ["$labels", "$externalLabels", "$externalURL", "$value"];
/** Parsed templates kept for reuse, by name and text; a rule's templates are expanded every evaluation. */
const CACHE_LIMIT = 4096;
const cache = new Map<string, ParsedTemplate>();

function parseCached(text: string, name: string): ParsedTemplate {
  const key = `${name}\u0000${text}`;
  let nodes = cache.get(key);
  if (nodes === undefined) {
    nodes = parseTemplate(text, name, isTemplateFunc, ALERT_VARS);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, nodes);
  }
  return nodes;
}

/** Null when `text` parses as an alert template named `name`; otherwise Go's error text. */
export function checkTemplate(text: string, name: string): string | null {
  if (!text.includes("{{")) return null;
  try {
    parseCached(text, name);
    return null;
  } catch (err) {
    if (err instanceof TemplateSyntaxError) return err.message;
    throw err;
  }
}

/** A query result row for templates: a series' labels and value, a float or (when `h` is set) a native histogram. */
export interface TemplateSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly h?: Histogram;
}

/** What an alert's templates see. */
export interface AlertTemplateData {
  readonly labels: Readonly<Record<string, string>>;
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly externalUrl: string;
  /** The alert's value (the sample's value at the evaluation). */
  readonly value: number;
  /** The sample's native histogram, when it is one: templates then see it as `$value`, as in Prometheus 3. */
  readonly h?: Histogram;
  /** The evaluation's time, ms since the epoch (`now`); default: the clock's. */
  readonly evalTimeMs?: number;
  /** Runs `query` at the evaluation's time; omitted: `query` fails with an error. */
  readonly query?: (expr: string) => Promise<readonly TemplateSample[]>;
}

/** A sample's value as templates see it: its float, or its histogram when it has one. */
function templateValue(v: number, h: Histogram | undefined): TValue {
  return h === undefined ? v : histogramValue(h);
}

/**
 * Expands an alert template; on an error returns `<error expanding template: ...>` as Prometheus does, so one bad
 * template never stops an alert. Never rejects.
 */
export async function expandAlertTemplate(text: string, name: string, data: AlertTemplateData): Promise<string> {
  if (!text.includes("{{")) return text;
  try {
    const nodes = parseCached(text, name);
    const labels = stringMap(data.labels);
    const external = stringMap(data.externalLabels);
    const value = templateValue(data.value, data.h);
    const root = new TStruct(
      "template.tmplData",
      new Map<string, TValue>([
        ["Labels", labels],
        ["ExternalLabels", external],
        ["ExternalURL", data.externalUrl],
        ["Value", value],
      ]),
    );
    const vars = new Map<string, TValue>([
      ["$labels", labels],
      ["$externalLabels", external],
      ["$externalURL", data.externalUrl],
      ["$value", value],
    ]);
    const query = data.query;
    return await executeTemplate(nodes, name, root, vars, {
      externalUrl: data.externalUrl,
      evalTimeMs: data.evalTimeMs ?? Date.now(),
      query:
        query === undefined
          ? null
          : async (expr) => (await query(expr)).map((s) => sampleValue(s.labels, templateValue(s.value, s.h))),
    });
  } catch (err) {
    return `<error expanding template: ${(err as Error).message}>`;
  }
}
