// Public surface of the machines layer: the local runner (child processes, restarts, health checks, external
// instances) and the instance agent (`fly_instance_*`).

export { type AgentOptions, InstanceAgent, type InstanceSource, type ProxiedBytes } from "./agent.ts";
export { parseCommandLine } from "./argv.ts";
export { type Address, type ProbeResult, parseAddress, probe } from "./health.ts";
export { backoffDelay, DEFAULT_RESTART, type RestartOptions } from "./local-instance.ts";
export type { LogLine, LogRingOptions, LogStream } from "./log-ring.ts";
export { reapInstanceProcesses, running, type StopPlan } from "./orphans.ts";
export { DEFAULT_STOP_GRACE_MS, DEFAULT_STOP_SIGNAL, Runner, type RunnerOptions } from "./runner.ts";
export {
  type AppSpec,
  type CheckTiming,
  type ExitRecord,
  type ExternalInstanceSpec,
  exitStatus,
  type Health,
  type HealthCheck,
  type HttpCheck,
  IMPLICIT_CHECK,
  type InstanceEvent,
  type InstanceInfo,
  type InstanceKind,
  type InstanceListener,
  type InstanceState,
  type InstanceStatus,
  type ProcessGroupSpec,
  type RestartPolicy,
  type TcpCheck,
} from "./spec.ts";
