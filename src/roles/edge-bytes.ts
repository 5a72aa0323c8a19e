// The bytes the edges proxied for each instance, as the agent publishes them in `fly_instance_net_*`: read over
// HTTP from every live edge's `/proxied-bytes` (found through the edges' heartbeats) and summed over edges. Each
// edge's counts start at zero when it starts, so the last counts of an edge that restarted or left are carried into
// a base that later counts add to: the sums stay monotonic, as counters must. An edge that does not answer keeps
// its last counts.

import type { ControlDb } from "../control/index.ts";
import type { ProxiedBytes } from "../machines/index.ts";
import { EDGE_ROLE_PREFIX, liveHeartbeats } from "./heartbeat.ts";

/** How long one edge may take to answer, ms. */
const EDGE_BYTES_TIMEOUT_MS = 1_000;

type Counts = Map<string, { sent: number; recv: number }>;

interface EdgeCounts {
  /** The edge process these counts are from: role, pid and start time. */
  readonly incarnation: string;
  readonly counts: Counts;
}

function add(to: Counts, id: string, sent: number, recv: number): void {
  const c = to.get(id);
  if (c === undefined) to.set(id, { sent, recv });
  else {
    c.sent += sent;
    c.recv += recv;
  }
}

/** Proxied bytes per instance, summed over the edges of a data directory. Single-threaded. */
export class EdgeBytes {
  /** Counts of edge processes that are gone. */
  private readonly base: Counts = new Map();
  /** The last counts of each live edge, by heartbeat role. */
  private readonly edges = new Map<string, EdgeCounts>();
  private sums: Counts = new Map();

  constructor(private readonly db: ControlDb) {}

  /** The summed bytes of an instance as of the last refresh (the agent's `proxiedBytes`). */
  readonly of: ProxiedBytes = (id) => this.sums.get(id);

  /**
   * Reads every live edge's counts (in parallel, each bounded in time) and recomputes the sums; counts of
   * instances not in `keep` are dropped (the agent no longer publishes them). Never throws.
   */
  async refresh(keep: ReadonlySet<string>): Promise<void> {
    let beats: { role: string; incarnation: string; url: string }[] = [];
    try {
      beats = liveHeartbeats(this.db, EDGE_ROLE_PREFIX).map((hb) => ({
        role: hb.role,
        incarnation: `${hb.role}/${hb.pid}/${hb.startedAt}`,
        url: `${String(hb.info.metrics ?? "")}/proxied-bytes`,
      }));
    } catch {
      // A busy database: keep the edges as they were.
      beats = [...this.edges].map(([role, e]) => ({ role, incarnation: e.incarnation, url: "" }));
    }
    const fetched = await Promise.all(beats.map((b) => (b.url === "" ? null : fetchCounts(b.url))));
    const seen = new Set<string>();
    beats.forEach((b, i) => {
      seen.add(b.role);
      const old = this.edges.get(b.role);
      if (old !== undefined && old.incarnation !== b.incarnation) this.retire(old);
      const counts = old !== undefined && old.incarnation === b.incarnation ? old.counts : new Map();
      for (const [id, c] of fetched[i] ?? []) counts.set(id, c);
      this.edges.set(b.role, { incarnation: b.incarnation, counts });
    });
    for (const [role, e] of this.edges) {
      if (seen.has(role)) continue;
      this.retire(e);
      this.edges.delete(role);
    }
    for (const id of this.base.keys()) if (!keep.has(id)) this.base.delete(id);
    const sums: Counts = new Map();
    for (const [id, c] of this.base) add(sums, id, c.sent, c.recv);
    for (const e of this.edges.values()) {
      for (const [id, c] of e.counts) {
        if (keep.has(id)) add(sums, id, c.sent, c.recv);
        else e.counts.delete(id);
      }
    }
    this.sums = sums;
  }

  private retire(e: EdgeCounts): void {
    for (const [id, c] of e.counts) add(this.base, id, c.sent, c.recv);
  }
}

/** GETs one edge's `/proxied-bytes`; null when it does not answer in time or answers nonsense. */
async function fetchCounts(url: string): Promise<Counts | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(EDGE_BYTES_TIMEOUT_MS) });
    if (!res.ok) return null;
    const body = (await res.json()) as Record<string, { sent?: unknown; recv?: unknown }>;
    const out: Counts = new Map();
    for (const [id, c] of Object.entries(body)) {
      const sent = Number(c?.sent);
      const recv = Number(c?.recv);
      if (Number.isFinite(sent) && Number.isFinite(recv)) out.set(id, { sent, recv });
    }
    return out;
  } catch {
    return null;
  }
}
