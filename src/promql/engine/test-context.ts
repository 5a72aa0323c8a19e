// Test support for the engine's unit tests: a query context over a querier that selects nothing, for tests that
// call evaluation pieces (range functions, subquery ranges, bounds) directly. Not imported by production code.

import { QueryContext } from "./context.ts";

/** A context with no data, a 5 min lookback, a deadline a minute away, the given sample limit and `held` samples held. */
export function emptyContext(maxSamples = 1e9, held = 0): QueryContext {
  const q = new QueryContext(
    { select: () => Object.assign([], { warnings: [] }), labelNames: () => [], labelValues: () => [], close: () => {} },
    {
      lookbackDelta: 300_000,
      maxSamples,
      deadline: Date.now() + 60_000,
      signal: undefined,
      noStepSubqueryInterval: 60_000,
      enableDelayedNameRemoval: true,
    },
  );
  q.set(held);
  return q;
}
