// The database's appender: the head's appender, plus a compaction check after each commit (a commit that makes the
// head compactable schedules a compaction run).

import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import type { Appender, CommitReport, SeriesRef } from "../storage/interface.ts";
import type { HeadAppender } from "./head/appender.ts";

/** What the appender tells after each commit, committed or not. */
export interface CommitListener {
  afterCommit(): void;
}

/** The database's appender: the head's, plus a compaction check after each commit. */
export class DbAppender implements Appender {
  private readonly db: CommitListener;
  private readonly app: HeadAppender;
  /** The head's ref space (refs stay valid while the database is open). */
  readonly refScope: object | undefined;

  /** Wraps `app`; `db` hears of every commit. */
  constructor(db: CommitListener, app: HeadAppender) {
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

  /** Adds a native histogram sample (ms); see HeadAppender.appendHistogram. */
  appendHistogram(labels: Labels, t: number, h: Histogram): SeriesRef {
    return this.app.appendHistogram(labels, t, h);
  }

  /** Adds a native histogram sample (ms) to the series `ref`. */
  appendHistogramRef(ref: SeriesRef, t: number, h: Histogram): SeriesRef {
    return this.app.appendHistogramRef(ref, t, h);
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
