// Per-org admission of PromQL queries to a remote backend, in place of the query pool's fair queue: at most
// `maxConcurrent` queries of an org at once, up to `maxQueued` more waiting in order (a dashboard refreshing all its
// panels waits instead of being refused), and anything beyond refused with 503. A query waits at most its own
// timeout, and not at all once its client has gone away.

import { ContrailError } from "../../model/errors.ts";

/** An org's bounds: queries running at once, and queries waiting for a place. */
export interface Admission {
  readonly maxConcurrent: number;
  readonly maxQueued: number;
}

interface Waiter {
  readonly grant: () => void;
}

interface OrgLine {
  running: number;
  readonly waiting: Waiter[];
}

/** The queues of every org of a node; `enter` resolves with the function that leaves (idempotent). */
export class OrgQueue {
  private readonly lines = new Map<string, OrgLine>();

  /** Queries of `org` running now. */
  running(org: string): number {
    return this.lines.get(org)?.running ?? 0;
  }

  /**
   * Waits for a place of `org` under `bounds`, at most `timeoutMs`; rejects with `unavailable` when the waiting line
   * is full, `query_timeout` when the wait ran out, `query_canceled` when `signal` aborted.
   */
  async enter(org: string, bounds: Admission, timeoutMs: number, signal?: AbortSignal): Promise<() => void> {
    const line = this.lines.get(org) ?? { running: 0, waiting: [] };
    this.lines.set(org, line);
    if (line.running < bounds.maxConcurrent && line.waiting.length === 0) {
      line.running++;
      return this.leaver(org, line);
    }
    if (line.waiting.length >= bounds.maxQueued) {
      throw new ContrailError(
        "unavailable",
        `too many queries of this org waiting (limit ${bounds.maxQueued}, max_queued_queries); ` +
          "retry when earlier queries have finished",
      );
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          cleanup();
          resolve();
        },
      };
      const drop = (err: ContrailError) => {
        cleanup();
        const i = line.waiting.indexOf(waiter);
        if (i >= 0) line.waiting.splice(i, 1);
        this.forget(org, line);
        reject(err);
      };
      const timer = setTimeout(
        () => drop(new ContrailError("query_timeout", "query timed out in query queue")),
        timeoutMs,
      );
      const onAbort = () => drop(new ContrailError("query_canceled", "the client went away"));
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      line.waiting.push(waiter);
    });
    return this.leaver(org, line);
  }

  // The function that gives the place back: to the next waiter in line, or to nobody.
  private leaver(org: string, line: OrgLine): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = line.waiting.shift();
      // The place passes on as it is: `running` stays counted for the next query.
      if (next !== undefined) next.grant();
      else {
        line.running--;
        this.forget(org, line);
      }
    };
  }

  private forget(org: string, line: OrgLine): void {
    if (line.running === 0 && line.waiting.length === 0) this.lines.delete(org);
  }
}
