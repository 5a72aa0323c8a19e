// Test support for the rule manager: a real in-memory store and PromQL engine behind the seams, a clock the test
// moves, timers the test fires, and the alerts the sink received.

import { Labels } from "../model/labels.ts";
import { Engine, type VectorSample } from "../promql/engine/index.ts";
import { MemoryStore } from "../storage/memory.ts";
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
        for (const s of samples) app.append(s.labels, s.tMs, s.value);
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
