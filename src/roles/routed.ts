// Whether the edges route an app's instances yet: `deploy --wait` (and the demo) ask every live edge over HTTP
// (`/routes/<app>` on its metrics listener), so that the first request after "healthy" already finds the new
// instances. An edge reads its routes from the control database every few hundred milliseconds.

import type { ControlDb } from "../control/index.ts";
import { liveEdges } from "./heartbeat.ts";

/** How long one edge may take to answer, ms. */
const ROUTES_TIMEOUT_MS = 1_000;

/** One edge's answer: the ids of the app's instances it routes to, or null when it did not answer. */
async function healthyAt(metrics: string, app: string): Promise<Set<string> | null> {
  try {
    const res = await fetch(`${metrics}/routes/${encodeURIComponent(app)}`, {
      signal: AbortSignal.timeout(ROUTES_TIMEOUT_MS),
    });
    if (res.status === 404) return new Set();
    if (!res.ok) return null;
    const body = (await res.json()) as { instances?: { id: string; healthy: boolean }[] };
    return new Set((body.instances ?? []).filter((i) => i.healthy).map((i) => i.id));
  } catch {
    return null;
  }
}

/**
 * True when every live edge of the data directory routes each of `ids` (instances of `app`). An edge that does not
 * answer is passed over: one that is starting reads every route before it listens.
 */
export async function routedByEdges(db: ControlDb, app: string, ids: readonly string[]): Promise<boolean> {
  const answers = await Promise.all(liveEdges(db).map((e) => healthyAt(e.metrics, app)));
  return answers.every((set) => set === null || ids.every((id) => set.has(id)));
}
