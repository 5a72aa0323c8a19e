// The PromQL engine's public surface. Everything else in this folder is internal.

export { evalTimeProblem } from "./bounds.ts";
export {
  Engine,
  type EngineOptions,
  type Grid,
  type MatrixSeries,
  type QueryOptions,
  type QueryResult,
  type QueryValue,
  type VectorSample,
} from "./engine.ts";
export type { PlannedReads, PlannedSelect } from "./reads.ts";
