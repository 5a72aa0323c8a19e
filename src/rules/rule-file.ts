// Prometheus rule files (`groups:` of rule groups) and single rule groups (the body of the ruler API's POST), read
// from YAML with the validation of promtool: every problem is collected and reported as `source:line: message`,
// then thrown as one ContrailError `bad_data`. Names follow the legacy (pre-UTF-8) scheme and expressions strict
// PromQL, so a file accepted here is accepted by every Prometheus and promtool.

import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ContrailError } from "../model/errors.ts";
import { isValidLegacyLabelName, isValidLegacyMetricName, isWellFormed, METRIC_NAME } from "../model/labels.ts";
import { formatParseError, type ParseOptions, parseDuration, parseExprDetailed } from "../promql/parser/index.ts";

import { checkTemplate } from "./template/index.ts";
import type { AlertingRuleSpec, RecordingRuleSpec, RuleGroupSpec, RuleSpec } from "./types.ts";

/** Largest rule file or group body accepted, in bytes of UTF-8. */
export const MAX_RULE_FILE_BYTES = 4 * 1024 * 1024;
/** Most groups one rule file may hold. */
export const MAX_GROUPS_PER_FILE = 1000;
/** Most rules one group may hold in a file (the evaluator's per-org limits are usually lower). */
export const MAX_RULES_PER_GROUP = 2000;
/** Most errors listed in one report; the rest are counted. */
const MAX_REPORTED_ERRORS = 100;

/** Strict PromQL, as every Prometheus accepts it: no experimental functions, modifiers or duration arithmetic. */
export const RULE_PARSER_OPTIONS: ParseOptions = {
  experimentalFunctions: false,
  durationExpressions: false,
  extendedRangeSelectors: false,
  binopFillModifiers: false,
};

const GROUP_FIELDS = new Set(["name", "interval", "query_offset", "limit", "rules", "labels"]);
const RULE_FIELDS = new Set(["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"]);

/** Reads a Prometheus rule file; throws one ContrailError `bad_data` listing every problem as `source:line: ...`. */
export function parseRuleFile(text: string, source: string): RuleGroupSpec[] {
  const r = new Reader(text, source);
  const root = r.document();
  const groups: RuleGroupSpec[] = [];
  if (root !== null) {
    const fields = r.map(root, "rule file", new Set(["groups"]));
    const list = fields.get("groups");
    if (list !== undefined && !r.isNull(list)) {
      if (!isSeq(list)) r.error(list, "'groups' must be a list of rule groups");
      else {
        if (list.items.length > MAX_GROUPS_PER_FILE) {
          r.error(list, `${list.items.length} groups, more than the limit of ${MAX_GROUPS_PER_FILE}`);
        }
        const seen = new Set<string>();
        for (const item of list.items.slice(0, MAX_GROUPS_PER_FILE)) {
          const g = r.group(item as Node);
          if (g === null) continue;
          if (seen.has(g.name)) r.error(item as Node, `groupname: "${g.name}" is repeated in the same file`);
          seen.add(g.name);
          groups.push(g);
        }
      }
    }
  }
  r.finish();
  return groups;
}

/** Reads one rule group written as a YAML document (the ruler API's body); throws like `parseRuleFile`. */
export function parseRuleGroup(text: string, source: string): RuleGroupSpec {
  const r = new Reader(text, source);
  const root = r.document();
  if (root === null) r.error(null, "empty rule group");
  const g = root === null ? null : r.group(root);
  r.finish();
  if (g === null) throw new ContrailError("bad_data", `${source}: not a rule group`);
  return g;
}

/** Walks one YAML document, collecting errors with their lines. One per parse. */
class Reader {
  private readonly lines = new LineCounter();
  /** Problems found, with their lines (0: none), reported in line order. */
  private readonly errors: { line: number; text: string }[] = [];
  private doc: Document | null = null;

  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  /** Parses the text; returns the root node, or null for an empty document or one that failed to parse. */
  document(): Node | null {
    const bytes = Buffer.byteLength(this.text, "utf8");
    if (bytes > MAX_RULE_FILE_BYTES) {
      throw new ContrailError(
        "bad_data",
        `${this.source}: ${bytes} bytes, more than the limit of ${MAX_RULE_FILE_BYTES} bytes for a rule file`,
      );
    }
    this.doc = parseDocument(this.text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    for (const e of this.doc.errors) {
      const line = this.lineOf(e.pos[0]);
      this.errors.push({ line, text: `${this.source}:${line}: yaml: ${e.message.split("\n")[0]}` });
    }
    if (this.doc.errors.length > 0) return null;
    const root = this.doc.contents as Node | null;
    return root === null || this.isNull(root) ? null : root;
  }

  /** Records an error at `node`'s line (or without a line). */
  error(node: Node | null, msg: string): void {
    const line = node?.range ? this.lineOf(node.range[0]) : 0;
    this.errors.push({ line, text: `${this.source}${line > 0 ? `:${line}` : ""}: ${msg}` });
  }

  /** Throws the collected errors, if any. */
  finish(): void {
    if (this.errors.length === 0) return;
    const sorted = [...this.errors].sort((a, b) => a.line - b.line).map((e) => e.text);
    const shown = sorted.slice(0, MAX_REPORTED_ERRORS);
    if (sorted.length > shown.length) shown.push(`(${sorted.length - shown.length} more errors)`);
    throw new ContrailError("bad_data", shown.join("\n"));
  }

  isNull(node: Node): boolean {
    return isScalar(node) && node.value === null;
  }

  /** A mapping's fields by key; reports unknown keys, a non-mapping and aliases. */
  map(node: Node, what: string, known: ReadonlySet<string>, where = ""): Map<string, Node> {
    const out = new Map<string, Node>();
    if (!isMap(node)) {
      this.error(node, `${what} must be a mapping`);
      return out;
    }
    for (const pair of node.items) {
      const key = pair.key as Node;
      const name = isScalar(key) ? String(key.value) : "";
      if (!known.has(name)) {
        this.error(key, `${where}field ${name} not found in ${what}`);
        continue;
      }
      const value = (pair.value ?? null) as Node | null;
      if (value !== null && isAlias(value)) this.error(value, "YAML aliases are not supported in rule files");
      else if (value !== null) out.set(name, value);
    }
    return out;
  }

  /** A string field: any scalar (as written), "" when absent or null. */
  str(node: Node | undefined, field: string): string {
    if (node === undefined || this.isNull(node)) return "";
    if (!isScalar(node)) {
      this.error(node, `'${field}' must be a string`);
      return "";
    }
    return typeof node.value === "string" ? node.value : (node.source ?? String(node.value));
  }

  /** A duration field in ms; 0 when absent. `where` prefixes its error. */
  duration(node: Node | undefined, field: string, where: string): number {
    const s = this.str(node, field);
    if (s === "" || node === undefined) return 0;
    try {
      return parseDuration(s);
    } catch (err) {
      this.error(node, `${where}'${field}': ${(err as Error).message}`);
      return 0;
    }
  }

  /** A string-to-string mapping (labels, annotations); names and values checked by the caller. */
  strMap(node: Node | undefined, field: string): Record<string, string> {
    const out: Record<string, string> = {};
    if (node === undefined || this.isNull(node)) return out;
    if (!isMap(node)) {
      this.error(node, `'${field}' must be a mapping of names to strings`);
      return out;
    }
    for (const pair of node.items) {
      const name = this.str(pair.key as Node, field);
      out[name] = this.str((pair.value ?? undefined) as Node | undefined, field);
    }
    return out;
  }

  /** Checks label names and values; `where` prefixes the messages. */
  labels(node: Node | undefined, labels: Record<string, string>, where: string): void {
    for (const [k, v] of Object.entries(labels)) {
      if (!isValidLegacyLabelName(k) || k === METRIC_NAME) this.error(node ?? null, `${where}invalid label name: ${k}`);
      if (!isWellFormed(v)) this.error(node ?? null, `${where}invalid label value: ${v}`);
    }
  }

  /** One rule group; null when it is not a mapping. */
  group(node: Node): RuleGroupSpec | null {
    if (!isMap(node)) {
      this.error(node, "a rule group must be a mapping");
      return null;
    }
    const f = this.map(node, "rule group", GROUP_FIELDS);
    const name = this.str(f.get("name"), "name");
    const where = `group "${name}": `;
    if (name === "") this.error(node, "Groupname must not be empty");
    const intervalMs = this.duration(f.get("interval"), "interval", where);
    const offsetNode = f.get("query_offset");
    const queryOffsetMs = offsetNode === undefined ? undefined : this.duration(offsetNode, "query_offset", where);
    const limit = this.limit(f.get("limit"), where);
    const labels = this.strMap(f.get("labels"), "labels");
    this.labels(f.get("labels"), labels, where);
    const rules: RuleSpec[] = [];
    const list = f.get("rules");
    if (list !== undefined && !this.isNull(list)) {
      if (!isSeq(list)) this.error(list, `group "${name}": 'rules' must be a list`);
      else {
        if (list.items.length > MAX_RULES_PER_GROUP) {
          this.error(
            list,
            `group "${name}": ${list.items.length} rules, more than the limit of ${MAX_RULES_PER_GROUP}`,
          );
        }
        list.items.slice(0, MAX_RULES_PER_GROUP).forEach((item, i) => {
          const rule = this.rule(item as Node, name, i + 1);
          if (rule !== null) rules.push(rule);
        });
      }
    }
    return {
      name,
      ...(intervalMs > 0 ? { intervalMs } : {}),
      limit,
      ...(queryOffsetMs !== undefined ? { queryOffsetMs } : {}),
      labels,
      rules,
    };
  }

  private limit(node: Node | undefined, where: string): number {
    if (node === undefined || this.isNull(node)) return 0;
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      this.error(node, `${where}'limit' must be a non-negative integer`);
      return 0;
    }
    return v;
  }

  /** One rule; null when it is not a mapping. Errors read `group "g", rule N, "name": msg` as promtool's do. */
  private rule(node: Node, group: string, index: number): RuleSpec | null {
    if (!isMap(node)) {
      this.error(node, `group "${group}", rule ${index}: a rule must be a mapping`);
      return null;
    }
    const f = this.map(node, "rule", RULE_FIELDS, `group "${group}", rule ${index}: `);
    const record = this.str(f.get("record"), "record");
    const alert = this.str(f.get("alert"), "alert");
    const where = `group "${group}", rule ${index}, "${alert || record}": `;
    const at = (field: string): Node => f.get(field) ?? node;
    const err = (field: string, msg: string): void => this.error(at(field), where + msg);
    if (record !== "" && alert !== "") err("record", "only one of 'record' and 'alert' must be set");
    if (record === "" && alert === "") err("record", "one of 'record' or 'alert' must be set");
    const expr = this.str(f.get("expr"), "expr");
    if (expr === "") err("expr", "field 'expr' must be set in rule");
    else {
      const parsed = parseExprDetailed(expr, RULE_PARSER_OPTIONS);
      if (!parsed.ok) err("expr", `could not parse expression: ${formatParseError(expr, parsed.errors[0])}`);
    }
    const forMs = this.duration(f.get("for"), "for", where);
    const keepFiringForMs = this.duration(f.get("keep_firing_for"), "keep_firing_for", where);
    const labels = this.strMap(f.get("labels"), "labels");
    const annotations = this.strMap(f.get("annotations"), "annotations");
    this.labels(at("labels"), labels, where);
    for (const k of Object.keys(annotations)) {
      if (!isValidLegacyLabelName(k)) err("annotations", `invalid annotation name: ${k}`);
    }
    const line = node.range ? this.lineOf(node.range[0]) : 0;
    if (alert === "") {
      if (Object.keys(annotations).length > 0) err("record", "invalid field 'annotations' in recording rule");
      if (forMs !== 0) err("record", "invalid field 'for' in recording rule");
      if (keepFiringForMs !== 0) err("record", "invalid field 'keep_firing_for' in recording rule");
      if (record !== "" && !isValidLegacyMetricName(record)) err("record", `invalid recording rule name: ${record}`);
      const spec: RecordingRuleSpec = { kind: "recording", record, expr, labels, line };
      return spec;
    }
    const templateName = `__alert_${alert}`;
    for (const [k, v] of Object.entries(labels)) {
      const problem = checkTemplate(v, templateName);
      if (problem !== null) err("labels", `label "${k}": ${problem}`);
    }
    for (const [k, v] of Object.entries(annotations)) {
      const problem = checkTemplate(v, templateName);
      if (problem !== null) err("annotations", `annotation "${k}": ${problem}`);
    }
    const spec: AlertingRuleSpec = { kind: "alerting", alert, expr, forMs, keepFiringForMs, labels, annotations, line };
    return spec;
  }

  private lineOf(offset: number): number {
    return this.lines.linePos(Math.min(offset, this.text.length)).line;
  }
}
