// What the query pool's tests share: waiting for a pool to reach a state, seen in its figures.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { PoolFigures } from "./figures.ts";
import type { QueryPool } from "./pool.ts";

/** How often the figures are looked at while waiting, ms. */
const POLL_MS = 20;

/** Resolves with the figures of `pool` once `cond` holds for them; fails, naming `what`, after `withinMs`. */
export async function poolReaches(
  pool: QueryPool,
  what: string,
  cond: (f: PoolFigures) => boolean,
  withinMs: number,
): Promise<PoolFigures> {
  const end = performance.now() + withinMs;
  for (;;) {
    const f = pool.figures();
    if (cond(f)) return f;
    if (performance.now() > end) assert.fail(`the pool never got to: ${what} (${JSON.stringify(f)})`);
    await sleep(POLL_MS);
  }
}
