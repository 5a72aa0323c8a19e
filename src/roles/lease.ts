// A role that exactly one process among all those on one control database may hold at a time, such as evaluating
// the rules: every candidate tries to claim its heartbeat row; the holder renews it on each beat, the others try
// again on each beat and take it over once the holder is gone (stopped cleanly: at once; killed on this machine: at
// the next try; on another machine or hung: once its row is stale). A holder that finds its row taken (it was hung
// long enough to be taken for gone) stops at its next beat, and one that cannot renew for half the stale time lets
// go before anyone may take its row, so two holders act together for at most one beat.

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type ControlDb, claimHeartbeat, releaseHeartbeat, renewHeartbeat } from "../control/index.ts";
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_STALE_MS, isLive } from "./heartbeat.ts";

/** A holder that could not renew for this long lets go: others may take it for gone at the stale time, ms. */
const GIVE_UP_MS = HEARTBEAT_STALE_MS / 2;

/** Options of a {@link RoleLease}. */
export interface RoleLeaseOptions {
  readonly db: ControlDb;
  /** The heartbeat role claimed, e.g. `rules`. */
  readonly role: string;
  /** What the holder's heartbeat says (its API address…). */
  readonly info: Readonly<Record<string, unknown>>;
  /** Called once this process holds the role; the lease waits for it before the next beat. */
  readonly onAcquire: () => Promise<void>;
  /** Called when this process no longer holds the role (taken over, or the lease stops). */
  readonly onRelease: () => Promise<void>;
  /** Time between two claims or renewals, ms (default the heartbeat interval). */
  readonly intervalMs?: number;
  /** Receives failures (a busy database: the next beat tries again). */
  readonly warn: (line: string) => void;
}

/** Claims and holds one role in the control database until stopped; see the file comment. */
export class RoleLease {
  /** This claimant's id in the row (unique even for several leases in one process). */
  readonly holder = randomUUID();
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private holding = false;
  /** When the row was last claimed or renewed, ms since the epoch. */
  private renewedAt = 0;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: RoleLeaseOptions) {}

  /** True while this process holds the role (between `onAcquire` and `onRelease`). */
  get held(): boolean {
    return this.holding;
  }

  /** Claims now, then renews or claims again every interval; resolves after the first try. */
  start(): Promise<void> {
    this.schedule();
    return this.tick();
  }

  /** One claim or renewal now, after any still running; for tests and for a node that knows the holder left. */
  tick(): Promise<void> {
    this.chain = this.chain.then(() => this.step());
    return this.chain;
  }

  /** Stops trying; a holder calls `onRelease` and deletes its row, so a standby takes over at its next try. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.chain;
    if (!this.holding) return;
    this.holding = false;
    await this.o.onRelease();
    try {
      releaseHeartbeat(this.o.db, this.o.role, this.holder);
    } catch (err) {
      this.o.warn(`${this.o.role}: ${(err as Error).message}`);
    }
  }

  private schedule(): void {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs ?? HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  private async step(): Promise<void> {
    if (this.stopped) return;
    let holds: boolean;
    try {
      holds = this.holding
        ? renewHeartbeat(this.o.db, this.o.role, this.holder)
        : claimHeartbeat(this.o.db, this.beat(), this.holder, (hb) => isLive(this.o.db, hb));
    } catch (err) {
      // Unknown: a holder keeps acting for a while (well before others may take its row for stale), a standby waits.
      this.o.warn(`${this.o.role}: ${(err as Error).message}`);
      holds = this.holding && Date.now() - this.renewedAt < GIVE_UP_MS;
    }
    if (holds && this.holding) this.renewedAt = Date.now();
    if (holds === this.holding) return;
    if (holds) this.renewedAt = Date.now();
    this.holding = holds;
    try {
      await (holds ? this.o.onAcquire() : this.o.onRelease());
    } catch (err) {
      this.o.warn(`${this.o.role}: ${(err as Error).message}`);
    }
  }

  private beat() {
    return { role: this.o.role, pid: process.pid, hostname: hostname(), info: this.o.info, startedAt: this.startedAt };
  }
}
