// Token checks answered from memory. Every request to the API presents a token; looking it up means hashing it and
// reading SQLite, although tokens change rarely. The cache keeps the stored credential of each recently presented
// hash (never the token itself), valid or not, and drops everything when the database's token-change counter moves:
// triggers bump it in the transaction of every insert, delete and grant-changing update of `tokens` (migration 3), in
// whichever process makes the change. The counter is read whenever anything has committed to the database since the
// last check (ControlDb.commitEpoch, which reads no table), which keeps a revoke from any process effective on the
// very next request; expiry is still decided per check, to the millisecond, by `verifyCredential`.

import { ContrailError } from "../model/errors.ts";
import type { ControlDb } from "./connection.ts";
import {
  type Authenticated,
  authenticate,
  findCredential,
  hashToken,
  isWellFormedToken,
  type TokenCredential,
  verifyCredential,
} from "./tokens.ts";

/** Default bound on cached hashes of tokens that were valid when looked up. */
export const DEFAULT_MAX_VALID_ENTRIES = 10_000;
/**
 * Default bound on cached hashes of refused tokens (unknown, revoked, expired). Kept apart from valid ones, so a
 * flood of made-up tokens evicts only other refusals, never a real client's entry.
 */
export const DEFAULT_MAX_REFUSED_ENTRIES = 4_096;

/** Options of {@link TokenCache}. */
export interface TokenCacheOptions {
  /** Most hashes of valid tokens kept; the oldest entry goes first. Defaults to {@link DEFAULT_MAX_VALID_ENTRIES}. */
  readonly maxValid?: number;
  /** Most hashes of refused tokens kept; the oldest entry goes first. Defaults to {@link DEFAULT_MAX_REFUSED_ENTRIES}. */
  readonly maxRefused?: number;
}

/** How many hashes the cache holds, and how many checks it answered from memory or from the database. */
export interface TokenCacheStats {
  readonly valid: number;
  readonly refused: number;
  readonly hits: number;
  readonly lookups: number;
  /** Reads of the token-change counter: one per check after any commit to the database, none while nothing commits. */
  readonly counterReads: number;
}

/** A stored credential, or `null` for a hash no token has. */
type Entry = TokenCredential | null;

/** Reads the token-change counter; undefined only when its row was removed by hand. */
const GENERATION_SQL = "SELECT generation FROM token_changes WHERE id = 1";

/**
 * Answers `authenticate(db, token)` from memory while no token changes. Bound to one connection (and so to one
 * thread); lives as long as the caller keeps it, and holds at most `maxValid + maxRefused` entries.
 */
export class TokenCache {
  readonly #db: ControlDb;
  readonly #maxValid: number;
  readonly #maxRefused: number;
  /** Hash (base64) → credential; Map order is insertion order, so the first key is the oldest. */
  readonly #valid = new Map<string, Entry>();
  readonly #refused = new Map<string, Entry>();
  /** The token-change counter the entries were read under; -1 before the first check. */
  #generation = -1;
  /** The database's commit epoch when the counter was last read; -1 before the first read. */
  #epoch = -1;
  #hits = 0;
  #lookups = 0;
  #counterReads = 0;

  constructor(db: ControlDb, options: TokenCacheOptions = {}) {
    this.#db = db;
    this.#maxValid = positive("maxValid", options.maxValid ?? DEFAULT_MAX_VALID_ENTRIES);
    this.#maxRefused = positive("maxRefused", options.maxRefused ?? DEFAULT_MAX_REFUSED_ENTRIES);
  }

  /** Same answer as `authenticate(db, token)` for the current state of the database: the grant, or null. */
  authenticate(token: string): Authenticated | null {
    if (!isWellFormedToken(token)) return null;
    const hash = hashToken(token);
    // The counter is read before any credential: a change committed after this read moves the commit epoch and the
    // counter past the values the entries are filed under, so the next check drops them, and no entry is older than
    // its label.
    const epoch = this.#db.commitEpoch();
    if (epoch !== this.#epoch) {
      const generation = this.#db.stmt<[], number>(GENERATION_SQL).pluck().get();
      this.#counterReads++;
      // Without the counter no change could be seen: answer from the database alone.
      if (generation === undefined) return authenticate(this.#db, token);
      if (generation !== this.#generation) {
        this.#valid.clear();
        this.#refused.clear();
        this.#generation = generation;
      }
      this.#epoch = epoch;
    }
    const key = hash.toString("base64");
    let entry = this.#valid.get(key) ?? this.#refused.get(key);
    if (entry === undefined) {
      entry = findCredential(this.#db, hash);
      this.#lookups++;
      const grants = entry !== null && entry.revokedAt === null && !expired(entry, this.#db.now());
      if (grants) remember(this.#valid, key, entry, this.#maxValid);
      else remember(this.#refused, key, entry, this.#maxRefused);
    } else {
      this.#hits++;
    }
    return verifyCredential(this.#db, entry, hash);
  }

  /** Entry counts and how checks were answered, for tests and benchmarks. */
  stats(): TokenCacheStats {
    return {
      valid: this.#valid.size,
      refused: this.#refused.size,
      hits: this.#hits,
      lookups: this.#lookups,
      counterReads: this.#counterReads,
    };
  }
}

function expired(credential: TokenCredential, now: number): boolean {
  return credential.expiresAt !== null && now >= credential.expiresAt;
}

/** Adds an entry, first evicting the oldest when `map` is at `max`. */
function remember(map: Map<string, Entry>, key: string, entry: Entry, max: number): void {
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, entry);
}

function positive(name: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new ContrailError("bad_data", `token cache ${name}: expected a positive integer, got ${n}`);
  }
  return n;
}
