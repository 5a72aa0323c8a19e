// `GET /api/v1/rules` and `GET /api/v1/alerts`: the org's rule groups and alerts as Prometheus lists them, read
// from the node's rule manager; with no manager, empty lists as a Prometheus without rules answers.

import { ContrailError } from "../model/errors.ts";
import type { AlertStatus, RulesFilter, RulesStatus } from "../rules/index.ts";
import { type Answer, dataAnswer, type OrgRequest } from "./context.ts";
import { parseMatcherSets } from "./params.ts";

/** What the API reads of rules, per org: the RuleManager's status methods. */
export interface RulesSource {
  rulesStatus(org: string, filter: RulesFilter): RulesStatus;
  alerts(org: string): { alerts: AlertStatus[] };
}

/** The source of a server without rules. */
export const NO_RULES: RulesSource = {
  rulesStatus: () => ({ groups: [] }),
  alerts: () => ({ alerts: [] }),
};

/** Prometheus's parsing of a boolean parameter (strconv.ParseBool); "" is false. */
function parseBool(name: string, s: string): boolean {
  if (s === "") return false;
  if (["1", "t", "T", "true", "TRUE", "True"].includes(s)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(s)) return false;
  throw new ContrailError(
    "bad_data",
    `invalid parameter "${name}": strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`,
  );
}

/** `GET /api/v1/rules`, with `type`, `rule_name[]`, `rule_group[]`, `file[]`, `exclude_alerts` and `match[]`. */
export function rules(req: OrgRequest): Answer {
  const type = req.form.get("type").toLowerCase();
  if (type !== "" && type !== "alert" && type !== "record") {
    throw new ContrailError("bad_data", `invalid parameter "type": not supported value ${JSON.stringify(type)}`);
  }
  const filter: RulesFilter = {
    ...(type === "" ? {} : { type }),
    ruleName: req.form.all("rule_name[]"),
    ruleGroup: req.form.all("rule_group[]"),
    file: req.form.all("file[]"),
    excludeAlerts: parseBool("exclude_alerts", req.form.get("exclude_alerts")),
    matchers: parseMatcherSets(req.form.all("match[]")),
  };
  return dataAnswer(JSON.stringify(req.rules.rulesStatus(req.org, filter)));
}

/** `GET /api/v1/alerts`: the org's pending and firing alerts. */
export function alerts(req: OrgRequest): Answer {
  return dataAnswer(JSON.stringify(req.rules.alerts(req.org)));
}
