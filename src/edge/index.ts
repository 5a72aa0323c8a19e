// Public surface of the edge proxy: `startEdge` with its options, the RouteTable the wiring layer fills from the
// control plane, and the metric buckets.

export { type Pick, type PickInput, pickInstance } from "./balancer.ts";
export { CA_DIR, LocalCa } from "./cert-authority.ts";
export type { EdgeTuning } from "./core.ts";
export {
  type Edge,
  type EdgeAddress,
  type EdgeOptions,
  type ProxiedBytes,
  startEdge,
  type TcpBinding,
} from "./edge.ts";
export type { EdgeListenerSpec } from "./listener.ts";
export { RESPONSE_TIME_BUCKETS } from "./metrics.ts";
export {
  type AppRoute,
  type ConcurrencyLimits,
  type ConcurrencyType,
  DEFAULT_CONCURRENCY,
  type InstanceRoute,
  type RouteTable,
  splitAddress,
  type TcpServiceRoute,
} from "./routes.ts";
export { HANDSHAKE_TIME_BUCKETS } from "./tls-metrics.ts";
