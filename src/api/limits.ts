// Per-org limits as the API applies them, and the gate that counts each org's queries in flight. The limits
// themselves (defaults, units, ranges) are defined once in model/limits.ts; here they are resolved per org and
// checked. Exceeding a limit is a ContrailError with a message naming the limit and its value, never an unbounded
// allocation.

import { ContrailError } from "../model/errors.ts";
import { DEFAULT_ORG_LIMITS, type OrgLimits } from "../model/limits.ts";

export type { OrgLimits } from "../model/limits.ts";

/** The defaults of every limit (model/limits.ts). */
export const DEFAULT_LIMITS: OrgLimits = DEFAULT_ORG_LIMITS;

/** The limits of `org`: the defaults overridden by `overrides(org)`. */
export type LimitsResolver = (org: string) => OrgLimits;

/** A resolver from defaults and optional per-org overrides. */
export function limitsResolver(
  defaults: Partial<OrgLimits> = {},
  perOrg: (org: string) => Partial<OrgLimits> | undefined = () => undefined,
): LimitsResolver {
  const base = { ...DEFAULT_LIMITS, ...defaults };
  return (org) => {
    const o = perOrg(org);
    return o === undefined ? base : { ...base, ...o };
  };
}

/** Counts queries in flight per org. `enter` admits or throws `unavailable`; the returned function leaves. */
export class ConcurrencyGate {
  private readonly inFlight = new Map<string, number>();

  /** Queries of `org` now in flight. */
  count(org: string): number {
    return this.inFlight.get(org) ?? 0;
  }

  /** Queries of every org now in flight. */
  total(): number {
    let n = 0;
    for (const v of this.inFlight.values()) n += v;
    return n;
  }

  /** Admits one query of `org` under `limit`; returns the function that ends it (idempotent). */
  enter(org: string, limit: number): () => void {
    const n = this.count(org);
    if (n >= limit) {
      throw new ContrailError(
        "unavailable",
        `too many concurrent queries for this org (limit ${limit}, max_concurrent_queries); ` +
          "retry when earlier queries have finished",
      );
    }
    this.inFlight.set(org, n + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const m = (this.inFlight.get(org) ?? 1) - 1;
      if (m <= 0) this.inFlight.delete(org);
      else this.inFlight.set(org, m);
    };
  }
}

/** Throws bad_data when `query` is longer than the org's limit. */
export function checkQueryLength(query: string, limits: OrgLimits): void {
  // Each UTF-16 unit is at most 3 UTF-8 bytes: skip the exact count for short queries.
  if (query.length * 3 <= limits.maxQueryLength) return;
  const bytes = Buffer.byteLength(query, "utf8");
  if (bytes > limits.maxQueryLength) {
    throw new ContrailError(
      "bad_data",
      `query is ${bytes} bytes long, more than the limit of ${limits.maxQueryLength} (max_query_length)`,
    );
  }
}

/** Throws bad_data when a request carries more `match[]` selectors than the org's limit. */
export function checkMatcherCount(count: number, limits: OrgLimits): void {
  if (count > limits.maxMatchers) {
    throw new ContrailError(
      "bad_data",
      `${count} match[] selectors given, more than the limit of ${limits.maxMatchers} (max_matchers)`,
    );
  }
}

/** Throws limit_exceeded when a response would carry more series than the org's limit. */
export function checkSeriesCount(count: number, limits: Pick<OrgLimits, "maxSeries">): void {
  if (count > limits.maxSeries) {
    throw new ContrailError(
      "limit_exceeded",
      `the result has more than ${limits.maxSeries} series, the limit of this org (max_series); ` +
        "narrow the selectors or use limit",
    );
  }
}
