// The metrics node's rules: one RuleManager over every org's stored rule groups (control's rule_groups), its
// queries on the API's query pool (on the storage backend with remote storage), its results appended to the org's
// own TSDB, its alerts handed to one AlertSink.
// Groups reach the manager at start, after every change through the ruler API (`syncOrg`, awaited before the API
// answers), and after changes by other processes (`contrail rules sync`), found by `poll` through the table's change
// counter. An org is re-synced only when its stored groups differ from what it was last given.

import { createHash } from "node:crypto";
import type { ReadBackend } from "../api/backend-read/read-backend.ts";
import type { QueryPool } from "../api/query-pool/pool.ts";
import { backendRuleQuery, poolRuleQuery } from "../api/rule-queries.ts";
import { type ControlDb, listRuleGroups, orgsWithRuleGroups, ruleGroupsGeneration } from "../control/index.ts";
import { ContrailError, isContrailError } from "../model/errors.ts";
import type { OrgLimits } from "../model/limits.ts";
import {
  type AlertSink,
  appendRuleSample,
  DEFAULT_RULE_LIMITS,
  type RuleAppendFn,
  type RuleLimits,
  RuleManager,
  type RuleManagerOptions,
} from "../rules/index.ts";
import { namespacesOf } from "../rules/stored-groups.ts";
import type { TenantStore } from "../storage/interface.ts";

/** Settings of the evaluator a node may change (tests shorten them); durations in ms. */
export type RuleSettings = Pick<
  RuleManagerOptions,
  "defaultIntervalMs" | "forGracePeriodMs" | "resendDelayMs" | "outageToleranceMs" | "externalUrl" | "externalLabels"
> & {
  /** Shortest interval a group may ask for; default the manager's (10 s). */
  readonly minIntervalMs?: number;
};

/** What {@link ServeRules} runs on; all owned by the caller and outliving it. */
export interface ServeRulesOptions {
  readonly control: ControlDb;
  readonly store: TenantStore;
  readonly pool: QueryPool;
  /** Remote storage's reads: when set, the rules' queries run on it instead of on the pool. */
  readonly backend?: ReadBackend;
  readonly limitsFor: (org: string) => OrgLimits;
  /** Where alerts go (the node's notifiers). */
  readonly alertSink: AlertSink;
  readonly settings?: RuleSettings;
  readonly warn: (line: string) => void;
}

/** The evaluator's limits of an org: its per-org rule limits, and the node's shortest interval. */
export function rulerLimits(limits: OrgLimits, minIntervalMs = DEFAULT_RULE_LIMITS.minIntervalMs): RuleLimits {
  return {
    maxGroups: limits.maxRuleGroups,
    maxRulesPerGroup: limits.maxRulesPerGroup,
    maxEvalTimeMs: limits.maxRuleGroupEvaluationMs,
    minIntervalMs,
  };
}

/**
 * Appends rule results (floats and native histograms) as one batch per call; samples the store rejects (out of
 * order…) are dropped, not errors. New series over the org's series limit are left out and the rest committed; then
 * the first such refusal is thrown, so the rule shows it as its last error. Any other error drops the whole batch.
 */
export function storeAppendFn(store: TenantStore): RuleAppendFn {
  return async (org, samples) => {
    const app = store.appender(org);
    let limited: ContrailError | null = null;
    let refused = 0;
    try {
      for (const s of samples) {
        try {
          appendRuleSample(app, s);
        } catch (err) {
          if (!isContrailError(err, "series_limit")) throw err;
          limited ??= err;
          refused++;
        }
      }
    } catch (err) {
      app.rollback();
      throw err;
    }
    app.commit();
    if (limited !== null) {
      throw new ContrailError(
        "series_limit",
        `${refused} of ${samples.length} results not recorded: ${limited.message}`,
        { cause: limited },
      );
    }
  };
}

/** The node's rule evaluator and the keeping of its groups in step with the control database. */
export class ServeRules {
  /** The evaluator; the API reads `/api/v1/rules` and `/api/v1/alerts` from it. */
  readonly manager: RuleManager;
  private readonly opts: ServeRulesOptions;
  /** Per org, a digest of the groups it was last synced with. */
  private readonly synced = new Map<string, string>();
  private generation = -1;
  private polling: Promise<void> | null = null;

  constructor(opts: ServeRulesOptions) {
    this.opts = opts;
    const minIntervalMs = opts.settings?.minIntervalMs;
    this.manager = new RuleManager({
      ...opts.settings,
      query:
        opts.backend === undefined
          ? poolRuleQuery({ pool: opts.pool, store: opts.store, limitsFor: opts.limitsFor })
          : backendRuleQuery(opts.backend, opts.limitsFor),
      append: storeAppendFn(opts.store),
      alertSink: opts.alertSink,
      limits: (org) => rulerLimits(opts.limitsFor(org), minIntervalMs),
    });
  }

  /** Loads every org's groups without evaluating them (a node that lists them but does not hold the rules lease). */
  load(): Promise<void> {
    return this.poll();
  }

  /** Loads every org's groups, then starts evaluating; after `stop`, starts again. */
  async start(): Promise<void> {
    await this.syncChanged();
    this.manager.start();
  }

  /** Gives the manager the org's stored groups if they changed since its last sync; logs (never throws) a failure. */
  async syncOrg(org: string): Promise<void> {
    try {
      const stored = listRuleGroups(this.opts.control, org);
      const digest = createHash("sha256");
      for (const g of stored) digest.update(`${g.namespace}\0${g.name}\0${g.yaml}\0`);
      const d = digest.digest("hex");
      if ((this.synced.get(org) ?? "none") === (stored.length === 0 ? "none" : d)) return;
      await this.manager.sync(org, namespacesOf(stored));
      if (stored.length === 0) this.synced.delete(org);
      else this.synced.set(org, d);
    } catch (err) {
      this.opts.warn(`rules of org "${org}": ${(err as Error).message}`);
    }
  }

  /** Re-syncs the orgs whose groups changed when the change counter moved; one check at a time. */
  poll(): Promise<void> {
    this.polling ??= this.syncChanged().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async syncChanged(): Promise<void> {
    try {
      const g = ruleGroupsGeneration(this.opts.control);
      if (g === this.generation) return;
      this.generation = g;
      const orgs = new Set([...orgsWithRuleGroups(this.opts.control), ...this.synced.keys()]);
      for (const org of orgs) await this.syncOrg(org);
    } catch (err) {
      this.opts.warn(`rules: ${(err as Error).message}`);
    }
  }

  /** Stops evaluating; resolves when the rounds in flight (and a poll) have ended. */
  async stop(): Promise<void> {
    await this.polling;
    await this.manager.stop();
  }
}
