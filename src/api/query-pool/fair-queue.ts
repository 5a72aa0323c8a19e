// Which waiting query runs next: first in, first out within an org, round robin between orgs, and never more of
// one org at once than its job allows. The queue knows nothing of workers; the pool asks it for a job whenever a
// worker is free.

/** What the queue needs of a job: its org and how many jobs of that org may run at once when it starts. */
export interface Queueable {
  readonly org: string;
  /** Running jobs of the org (this one included) allowed when this job starts; at least 1. */
  readonly maxRunning: number;
}

interface OrgState<J> {
  running: number;
  readonly waiting: J[];
}

/** Per-org FIFO queues served round robin. Single-threaded. */
export class FairQueue<J extends Queueable> {
  private readonly orgs = new Map<string, OrgState<J>>();
  /** Orgs with waiting jobs, the next to be served first. */
  private readonly ring: string[] = [];

  /** Adds `job` behind the org's other waiting jobs. */
  enqueue(job: J): void {
    const s = this.state(job.org);
    if (s.waiting.length === 0) this.ring.push(job.org);
    s.waiting.push(job);
  }

  /** Removes a waiting job (canceled, timed out); false when it was not waiting. */
  remove(job: J): boolean {
    const s = this.orgs.get(job.org);
    const i = s?.waiting.indexOf(job) ?? -1;
    if (s === undefined || i < 0) return false;
    s.waiting.splice(i, 1);
    if (s.waiting.length === 0) this.ring.splice(this.ring.indexOf(job.org), 1);
    this.forget(job.org, s);
    return true;
  }

  /**
   * The next job to start, counted as running from now on, or null when no org with waiting jobs may start one.
   * Orgs take turns: the org served goes to the back of the line; an org at its limit keeps its place.
   */
  next(): J | null {
    for (let i = 0; i < this.ring.length; i++) {
      const org = this.ring[i];
      const s = this.orgs.get(org) as OrgState<J>;
      const job = s.waiting[0];
      if (s.running >= Math.max(1, job.maxRunning)) continue;
      s.waiting.shift();
      s.running++;
      this.ring.splice(i, 1);
      if (s.waiting.length > 0) this.ring.push(org);
      return job;
    }
    return null;
  }

  /** A running job of `org` ended. */
  finished(org: string): void {
    const s = this.orgs.get(org);
    if (s === undefined || s.running === 0) return;
    s.running--;
    this.forget(org, s);
  }

  /** Waiting jobs of `org`, or of every org. */
  waiting(org?: string): number {
    if (org !== undefined) return this.orgs.get(org)?.waiting.length ?? 0;
    let n = 0;
    for (const s of this.orgs.values()) n += s.waiting.length;
    return n;
  }

  /** Running jobs of `org`, or of every org. */
  running(org?: string): number {
    if (org !== undefined) return this.orgs.get(org)?.running ?? 0;
    let n = 0;
    for (const s of this.orgs.values()) n += s.running;
    return n;
  }

  /** Every waiting job, oldest org turn first (for shutting down). */
  drain(): J[] {
    const out: J[] = [];
    for (const org of this.ring) out.push(...(this.orgs.get(org)?.waiting.splice(0) ?? []));
    this.ring.length = 0;
    for (const [org, s] of this.orgs) this.forget(org, s);
    return out;
  }

  private state(org: string): OrgState<J> {
    let s = this.orgs.get(org);
    if (s === undefined) {
      s = { running: 0, waiting: [] };
      this.orgs.set(org, s);
    }
    return s;
  }

  private forget(org: string, s: OrgState<J>): void {
    if (s.running === 0 && s.waiting.length === 0) this.orgs.delete(org);
  }
}
