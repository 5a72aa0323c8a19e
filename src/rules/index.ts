// The public surface of the rules module: rule files, templates, the rule manager and its status shapes.

export type { AlertState } from "./alerting.ts";
export { appendRuleSample } from "./append.ts";
export { engineQueryFn } from "./engine-query.ts";
export type { RuleHealth } from "./group.ts";
export {
  DEFAULT_FOR_GRACE_PERIOD_MS,
  DEFAULT_INTERVAL_MS,
  DEFAULT_OUTAGE_TOLERANCE_MS,
  DEFAULT_RESEND_DELAY_MS,
  DEFAULT_RULE_LIMITS,
  type RuleLimits,
  RuleManager,
  type RuleManagerOptions,
} from "./manager.ts";
export {
  MAX_GROUPS_PER_FILE,
  MAX_RULE_FILE_BYTES,
  MAX_RULES_PER_GROUP,
  parseRuleFile,
  parseRuleGroup,
  RULE_PARSER_OPTIONS,
} from "./rule-file.ts";
export type {
  AlertingRuleStatus,
  AlertStatus,
  RecordingRuleStatus,
  RuleGroupStatus,
  RulesFilter,
  RulesStatus,
} from "./status.ts";
export { type AlertTemplateData, checkTemplate, expandAlertTemplate } from "./template/index.ts";
export * from "./types.ts";
