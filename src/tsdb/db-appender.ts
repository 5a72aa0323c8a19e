// The database's appender: the head's appender, plus a compaction check after each commit (a commit that makes the
// head compactable schedules a compaction run).

import type { Labels } from "../model/labels.ts";
import type { Appender, CommitReport, SeriesRef } from "../storage/interface.ts";

/** What the appender tells after each commit, committed or not. */
export interface CommitListener {
  afterCommit(): void;
}

/** The database's appender: the head's, plus a compaction check after each commit. */
export class DbAppender implements Appender {
  private readonly db: CommitListener;
  private readonly app: Appender;
  /** The head's ref space (refs stay valid while the database is open). */
  readonly refScope: object | undefined;

  /** Wraps `app`; `db` hears of every commit. */
  constructor(db: CommitListener, app: Appender) {
    this.db = db;
    this.app = app;
    this.refScope = app.refScope;
  }

  append(labels: Labels, t: number, v: number): SeriesRef {
    return this.app.append(labels, t, v);
  }

  appendRef(ref: SeriesRef, t: number, v: number): SeriesRef {
    return this.app.appendRef(ref, t, v);
  }

  commit(): CommitReport {
    try {
      return this.app.commit();
    } finally {
      this.db.afterCommit();
    }
  }

  rollback(): void {
    this.app.rollback();
  }
}
