// Instance choice: least load first, the edge's own region first while it has room.
//
// 1. The "first choice" is the least-loaded healthy instance in the edge's region, or anywhere when the region has
//    none. Under its soft limit, it is taken.
// 2. Otherwise the first choice has reached its soft limit (the caller counts `fly_app_soft_limit_reached_count` on
//    it) and the least-loaded instance still under its soft limit elsewhere is taken.
// 3. When every instance is at or over its soft limit, the least-loaded one under its hard limit is taken (the edge's
//    region wins ties).
// 4. When every instance is at its hard limit the answer is "full": the caller counts
//    `fly_app_hard_limit_reached_count` on the first choice and queues.
// Ties are broken by scanning from a rotating start index, so equal instances share the load.

import type { ConcurrencyLimits, InstanceRoute } from "./routes.ts";

/** What the balancer decided. `softLimited` is the first choice when it was passed over or overloaded. */
export type Pick =
  | { readonly kind: "instance"; readonly instance: InstanceRoute; readonly softLimited: InstanceRoute | null }
  | { readonly kind: "full"; readonly first: InstanceRoute }
  | { readonly kind: "none" };

/** Inputs of one decision. `loadOf` returns the instance's current load in the unit of `limits.type`. */
export interface PickInput {
  readonly instances: readonly InstanceRoute[];
  readonly region: string;
  readonly limits: ConcurrencyLimits;
  readonly loadOf: (instance: InstanceRoute) => number;
  /** Rotation offset for breaking ties (any integer; callers pass a counter). */
  readonly start: number;
  /** Ids not to choose (instances already tried for this request), or null. */
  readonly exclude: ReadonlySet<string> | null;
}

const NONE: Pick = { kind: "none" };

/** Chooses an instance for one request or connection; see the file comment for the rules. */
export function pickInstance(input: PickInput): Pick {
  const { instances, region, limits, loadOf, exclude } = input;
  const n = instances.length;
  if (n === 0) return NONE;
  const soft = limits.softLimit;
  const hard = limits.hardLimit;
  const start = ((input.start % n) + n) % n;

  let local: InstanceRoute | null = null;
  let localLoad = 0;
  let any: InstanceRoute | null = null;
  let anyLoad = 0;
  let underSoft: InstanceRoute | null = null;
  let underSoftLoad = 0;
  let underHard: InstanceRoute | null = null;
  let underHardLoad = 0;
  let underHardLocal = false;

  for (let k = 0; k < n; k++) {
    const inst = instances[(start + k) % n];
    if (!inst.healthy || exclude?.has(inst.id)) continue;
    const load = loadOf(inst);
    const isLocal = inst.region === region;
    if (isLocal && (local === null || load < localLoad)) {
      local = inst;
      localLoad = load;
    }
    if (any === null || load < anyLoad) {
      any = inst;
      anyLoad = load;
    }
    if (load < soft && (underSoft === null || load < underSoftLoad)) {
      underSoft = inst;
      underSoftLoad = load;
    }
    if (
      load < hard &&
      (underHard === null || load < underHardLoad || (load === underHardLoad && isLocal && !underHardLocal))
    ) {
      underHard = inst;
      underHardLoad = load;
      underHardLocal = isLocal;
    }
  }

  if (any === null) return NONE;
  const first = local ?? any;
  const firstLoad = local !== null ? localLoad : anyLoad;
  if (firstLoad < soft) return { kind: "instance", instance: first, softLimited: null };
  if (underSoft !== null) return { kind: "instance", instance: underSoft, softLimited: first };
  if (underHard !== null) return { kind: "instance", instance: underHard, softLimited: first };
  return { kind: "full", first };
}
