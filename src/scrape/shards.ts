// Which scraper scrapes a target when several run, including while their shard counts change. Each scraper has a
// shard `i/n` and scrapes the targets whose hash % n == i. With one count everywhere that is a partition. While the
// count changes (n -> n+1, one process restarted at a time) the live scrapers hold different counts, and a target
// can belong to none of them (its hash % n names a stopped scraper and its hash % (n+1) one not started yet). Every
// scraper sees the same list of live scrapers (their heartbeats in the control database), so each can tell which
// targets nobody claims and they agree, without talking to each other, on which of them takes each such target.
//
// What follows: no target is left unscraped while at least one scraper lives (after the few seconds in which the
// others notice a stop or a crash), and a target may be scraped twice while a scraper that just took it and one that
// still had it overlap (one refresh, about a second, plus a whole rollout for targets a new scraper claims before the
// old owner restarts); both write at the same aligned timestamps, so a store keeps one sample per timestamp.

import { inShard, type ShardSpec } from "./target.ts";

/** The shard specs of the live scrapers (an unsharded one as 0/1), this one's included or not; read at every refresh. */
export type ShardPeers = () => readonly ShardSpec[] | Promise<readonly ShardSpec[]>;

function sameSpec(a: ShardSpec, b: ShardSpec): boolean {
  return a.index === b.index && a.count === b.count;
}

/** The distinct specs of `peers` and `self`, by count then index: the same list in every process with the same view. */
function liveSpecs(self: ShardSpec, peers: readonly ShardSpec[]): ShardSpec[] {
  const out: ShardSpec[] = [self];
  for (const p of peers) if (!out.some((s) => sameSpec(s, p))) out.push(p);
  return out.sort((a, b) => a.count - b.count || a.index - b.index);
}

/** Bits of the hash below those that pick a fallback, so the pick does not follow hash % n (which chose nobody). */
const FALLBACK_SHIFT = 2 ** 20;

/**
 * True when the scraper of shard `self` scrapes the target of `hash` (52 bits, target.ts's `targetHash`), given the
 * live scrapers' shards `peers`: its own share, plus the targets no live shard claims, each given to one live shard
 * picked by the hash. Without a shard (`undefined`) it scrapes everything; with no peers known, its share only.
 */
export function ownsTarget(hash: number, self: ShardSpec | undefined, peers: readonly ShardSpec[]): boolean {
  if (self === undefined || inShard(hash, self)) return true;
  // Nothing known of the others (no view yet, or none given): the shard's own share only, never everything.
  if (peers.length === 0) return false;
  const live = liveSpecs(self, peers);
  if (live.some((s) => inShard(hash, s))) return false;
  return sameSpec(live[Math.floor(hash / FALLBACK_SHIFT) % live.length] as ShardSpec, self);
}

/**
 * True when the scraper of shard `self` scrapes the platform's own processes (edges, agents): shard 0 of any count
 * does, and when no live scraper is shard 0 (its process is restarting), the live shard of the lowest index; with
 * no peers known, shard 0 only.
 */
export function ownsPlatform(self: ShardSpec | undefined, peers: readonly ShardSpec[]): boolean {
  if (self === undefined || self.index === 0) return true;
  if (peers.length === 0) return false;
  return liveSpecs(self, peers).every((s) => s.index >= self.index);
}
