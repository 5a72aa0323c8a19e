// The control plane's public surface: orgs, users, memberships, tokens, console sessions, apps, instances and
// notification receivers in `<data>/control.db`, and fly.toml parsing. Other layers import from here, not from the files behind it.

export {
  type App,
  type CreateAppOptions,
  createApp,
  deleteApp,
  getApp,
  listApps,
  requireApp,
  setAppConfig,
} from "./apps.ts";
export { ControlDb } from "./connection.ts";
export { CONTROL_DB_FILE, type OpenControlDbOptions, openControlDb } from "./db.ts";
export {
  type Deployment,
  type DeployOptions,
  type DeployResult,
  deployApp,
  getDeployment,
  listDeployments,
  markDeploymentApplied,
  resetAppliedDeployments,
} from "./deployments.ts";
export {
  type BuildConfig,
  type Concurrency,
  type ConcurrencyType,
  DEFAULT_METRICS_PATH,
  DEFAULT_PROCESS_GROUP,
  type FlyConfig,
  type FlyTomlResult,
  type HttpCheck,
  type HttpService,
  type MetricsEndpoint,
  metricsFor,
  parseFlyToml,
  processGroups,
  type Service,
  type ServicePort,
  type VmConfig,
  validateFlyToml,
} from "./flytoml.ts";
export {
  type BeatOptions,
  beat,
  claimHeartbeat,
  clearHeartbeat,
  type Heartbeat,
  isFresh,
  listHeartbeats,
  readHeartbeat,
  releaseHeartbeat,
  renewHeartbeat,
} from "./heartbeats.ts";
export {
  checkInstanceState,
  findInstanceByAddress,
  getInstance,
  hostIdOf,
  type Instance,
  type InstanceFilter,
  type InstanceKind,
  type InstanceState,
  listInstances,
  type RegisterInstanceOptions,
  registerInstance,
  removeInstance,
  setInstanceState,
} from "./instances.ts";
export {
  addMember,
  checkRole,
  listMembers,
  type MemberRef,
  type Membership,
  membershipsOf,
  type Role,
  removeMember,
  roleOf,
  setRole,
} from "./memberships.ts";
export {
  getOrgLimitOverrides,
  type LimitChanges,
  type LimitOverrides,
  OrgLimitsCache,
  updateOrgLimits,
} from "./org-limits.ts";
export {
  type CreateOrgOptions,
  createOrg,
  deleteOrg,
  getOrg,
  listOrgs,
  type Org,
  renameOrg,
  requireOrg,
} from "./orgs.ts";
export {
  deleteReceiver,
  getReceiverInfo,
  listReceiverInfos,
  listReceivers,
  putReceiver,
} from "./receivers.ts";
export {
  checkRuleGroupKey,
  deleteRuleGroup,
  deleteRuleNamespace,
  getRuleGroup,
  listRuleGroups,
  MAX_RULE_GROUP_BYTES,
  orgsWithRuleGroups,
  putRuleGroup,
  type RuleGroupChange,
  type RuleGroupChangeKind,
  type RuleGroupLimits,
  type RuleGroupWrite,
  ruleGroupsGeneration,
  type StoredRuleGroup,
  type SyncRuleGroupsOptions,
  syncRuleGroups,
} from "./rule-groups.ts";
export {
  addressOf,
  clearLocalInstances,
  type InstanceHealth,
  type InstanceReport,
  type InstanceRuntime,
  type InstanceWithRuntime,
  type LocalInstanceIdentity,
  listInstancesWithRuntime,
  recordInstanceReport,
} from "./runtime.ts";
export {
  checkSession,
  createSignInLink,
  endSession,
  LINK_PREFIX,
  LINK_TTL_MS,
  type LinkRefusal,
  type RedeemResult,
  redeemSignInLink,
  SESSION_PREFIX,
  SESSION_TTL_MS,
  type SessionGrant,
  startSessionWithToken,
} from "./sessions.ts";
export {
  DEFAULT_MAX_REFUSED_ENTRIES,
  DEFAULT_MAX_VALID_ENTRIES,
  TokenCache,
  type TokenCacheOptions,
  type TokenCacheStats,
} from "./token-cache.ts";
export {
  type Authenticated,
  allows,
  authenticate,
  type CreateTokenOptions,
  createToken,
  deleteToken,
  listTokens,
  parseScopes,
  parseTokenTtl,
  revokeToken,
  SCOPES,
  type Scope,
  TOKEN_PREFIX,
  type TokenInfo,
  tokenIdOf,
} from "./tokens.ts";
export {
  type CreateUserOptions,
  createUser,
  deleteUser,
  findUserByEmail,
  getUser,
  LOCAL_USER_EMAIL,
  listUsers,
  localUser,
  PERSONAL_ORG,
  renameUser,
  type User,
} from "./users.ts";
export { LIMITS } from "./validate.ts";
export { MAX_ACCOUNT_ID, vmAccountId } from "./vm-accounts.ts";
