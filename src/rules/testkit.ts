// Test support for the rule manager: a real in-memory store and PromQL engine behind the seams, a clock the test
// moves, timers the test fires, and the alerts the sink received.

import { Labels } from "../model/labels.ts";
import { Engine, type VectorSample } from "../promql/engine/index.ts";
import { MemoryStore } from "../storage/memory.ts";
import { appendRuleSample } from "./append.ts";
import { engineQueryFn } from "./engine-query.ts";
import { RuleManager, type RuleManagerOptions } from "./manager.ts";
import { parseRuleFile } from "./rule-file.ts";
import type { OutgoingAlert, RuleQueryFn } from "./types.ts";

/** The org every harness evaluates for, and the namespace of its rules. */
export const ORG = "acme";
export const NAMESPACE = "rules.yml";

/** A timer of the manual scheduler. */
interface Timer {
  readonly fn: () => void;
  readonly dueMs: number;
  cancelled: boolean;
}

/** A RuleManager over one MemoryStore (shared by every org), with a controlled clock and timers. */
export class RuleHarness {
  readonly store: MemoryStore;
  readonly engine = new Engine();
  nowMs: number;
  readonly sent: OutgoingAlert[][] = [];
  readonly timers: Timer[] = [];
  readonly manager: RuleManager;

  constructor(startMs: number, opts: Partial<RuleManagerOptions> = {}, store = new MemoryStore()) {
    this.store = store;
    this.nowMs = startMs;
    this.manager = new RuleManager({
      query: engineQueryFn(this.engine, () => this.store),
      append: async (_org, samples) => {
        const app = this.store.appender();
        for (const s of samples) appendRuleSample(app, s);
        app.commit();
      },
      alertSink: (_org, alerts) => {
        this.sent.push([...alerts]);
      },
      now: () => this.nowMs,
      schedule: (fn, delayMs) => {
        const timer = { fn, dueMs: this.nowMs + delayMs, cancelled: false };
        this.timers.push(timer);
        return () => {
          timer.cancelled = true;
        };
      },
      ...opts,
    });
  }

  /** The engine-backed query seam, for tests that wrap it. */
  engineQuery(): RuleQueryFn {
    return engineQueryFn(this.engine, () => this.store);
  }

  /** Writes `value(t)` for `labels` every `stepMs` over [fromMs, toMs]; null values are skipped. */
  load(
    labels: Record<string, string>,
    fromMs: number,
    toMs: number,
    stepMs: number,
    value: (t: number) => number | null,
  ): void {
    const app = this.store.appender();
    const l = Labels.fromRecord(labels);
    for (let t = fromMs; t <= toMs; t += stepMs) {
      const v = value(t);
      if (v !== null) app.append(l, t, v);
    }
    app.commit();
  }

  /** Replaces the org's rules with those of a rule file. */
  async rules(text: string): Promise<void> {
    await this.manager.sync(ORG, [{ namespace: NAMESPACE, groups: parseRuleFile(text, NAMESPACE) }]);
  }

  /** Moves the clock to `tMs` and evaluates `group` there. */
  async evalAt(tMs: number, group = "g"): Promise<void> {
    this.nowMs = tMs;
    await this.manager.evaluateGroup(ORG, NAMESPACE, group, tMs);
  }

  /** The instant vector of `expr` at `tMs`, as `labels => value` strings sorted. */
  async at(expr: string, tMs: number): Promise<string[]> {
    const r = await this.engine.instantQuery(this.store, expr, tMs);
    if (r.value.type !== "vector") throw new Error(`not a vector: ${r.value.type}`);
    return r.value.samples.map((s: VectorSample) => `${s.labels.toString()} => ${s.v}`).sort();
  }

  /** Moves the clock to `tMs` and fires the timers due by then, in order (timers they start included). */
  async advanceTo(tMs: number): Promise<void> {
    this.nowMs = tMs;
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.dueMs <= tMs).sort((a, b) => a.dueMs - b.dueMs)[0];
      if (due === undefined) return;
      due.cancelled = true;
      due.fn();
      // Let the evaluation the timer started run to its end before looking for the next timer.
      await new Promise((resolve) => setImmediate(resolve));
      await this.manager.idle();
    }
  }
}

/** Pieces of template syntax, valid and not, that random templates are made of (no newlines: YAML-safe in a block). */
const TEMPLATE_TOKENS = [
  "{{",
  "}}",
  "{{-",
  "-}}",
  " ",
  "if",
  "else",
  "end",
  "range",
  "with",
  "break",
  "continue",
  "$x",
  "$",
  ":=",
  "=",
  ",",
  "|",
  "(",
  ")",
  ".",
  ".Labels",
  ".Value",
  "$labels",
  "$value",
  "$labels.job",
  '"s"',
  "`raw`",
  "'c'",
  "1",
  "-1",
  "1.5",
  "1e3",
  "0x1f",
  "true",
  "nil",
  "eq",
  "lt",
  "and",
  "or",
  "not",
  "len",
  "index",
  "printf",
  '"%d %s %v"',
  "humanize",
  "humanizeDuration",
  "query",
  '"up"',
  "first",
  "value",
  "label",
  "reReplaceAll",
  '"(a+)"',
  '"$1"',
  "match",
  "title",
  "/*",
  "*/",
  "text",
  "{",
  "}",
  "\\",
  "define",
  "template",
  "block",
  '"n"',
  "slice",
];
/** Most tokens in one random template. */
const MAX_TEMPLATE_TOKENS = 24;

/** A random soup of template tokens; `action` starts it inside an action, so most of it is template syntax. */
export function randomTemplate(rand: () => number, action = false): string {
  const n = 1 + Math.floor(rand() * (action ? MAX_TEMPLATE_TOKENS / 4 : MAX_TEMPLATE_TOKENS));
  let text = action ? (rand() < 0.5 ? "{{ " : "{{ if ") : "";
  for (let j = 0; j < n; j++) text += TEMPLATE_TOKENS[Math.floor(rand() * TEMPLATE_TOKENS.length)];
  if (action) text += rand() < 0.5 ? " }}" : " }}{{ end }}";
  return text;
}
