// Public surface of the scraper: the manager the wiring layer runs, the target source it fills from the control
// plane (with a helper that builds targets from apps and instances), the platform processes' targets and their
// collection by app, and the status shapes the API serves.

export {
  type AppMetricsSpec,
  endpointUrl,
  type InstanceSpec,
  type MetricsEndpointSpec,
  targetsFromApps,
} from "./app-targets.ts";
export { SCRAPE_USER_AGENT } from "./http.ts";
export {
  type CollectOutcome,
  type InProcessSource,
  type InProcessStatus,
  type OrgOfApp,
  RegistryCollector,
  type SampleSource,
} from "./inprocess.ts";
export { REPORT_SERIES, ScrapeLoop, type ScrapeOutcome, type TargetHealth, type TargetStatus } from "./loop.ts";
export { type PlatformTargetStatus, type RefreshResult, ScrapeManager, type ScrapeManagerOptions } from "./manager.ts";
export {
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_SCRAPE_OPTIONS,
  formatDuration,
  type LabelLimits,
  resolveScrapeOptions,
  type ScrapeOptions,
  type ScrapeOptionsInput,
} from "./options.ts";
export { type PlatformTarget, type PlatformTargetSource, ScrapedSamples } from "./platform.ts";
export { ownsPlatform, ownsTarget, type ShardPeers } from "./shards.ts";
export { type ActiveTarget, activeTarget } from "./status.ts";
export {
  inShard,
  PLATFORM_LABELS,
  parseShard,
  type ScrapeTarget,
  type ShardSpec,
  scrapeOffset,
  type TargetLimits,
  type TargetSource,
  targetHash,
} from "./target.ts";
