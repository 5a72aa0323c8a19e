// Appending a histogram sample to a histogram chunk the way Prometheus's head does: the sample fits the chunk, or
// the chunk is recoded with the new buckets the sample brings (it replaces the old bytes), or a new chunk is cut
// with a counter-reset header saying why (a reset, a schema or zero-threshold change, a gauge/counter switch, a
// sample after a stale marker).

import type { BucketSpan, Histogram } from "../../model/histogram.ts";
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA } from "../../model/histogram.ts";
import { isStaleNaN } from "../../model/sample.ts";
import { FloatHistogramAppender, FloatHistogramIterator } from "./float-histogram.ts";
import { IntHistogramAppender, IntHistogramIterator } from "./histogram.ts";
import {
  CounterResetHeader,
  expandSide,
  relayout,
  type SideExpansion,
  sameBounds,
  spansOf,
} from "./histogram-layout.ts";

/** An appender of either histogram chunk encoding. */
export type HistogramChunkAppender = IntHistogramAppender | FloatHistogramAppender;

/** A new empty appender of the encoding for integer (`float` false) or float histograms. */
export function newHistogramAppender(float: boolean): HistogramChunkAppender {
  return float ? new FloatHistogramAppender() : new IntHistogramAppender();
}

/** What happened to the chunk: the sample was appended to it, to a recoded copy of it, or to a new chunk. */
export type HistogramAppendKind = "appended" | "recoded" | "cut";

/** The result of `appendHistogramSample`: the appender now holding the sample, and how it relates to the old. */
export interface HistogramAppendOutcome {
  /** "recoded": `appender` holds the old chunk's samples re-encoded plus the sample; it replaces the old chunk. */
  readonly kind: HistogramAppendKind;
  readonly appender: HistogramChunkAppender;
}

interface Appendable {
  readonly ok: boolean;
  readonly header: CounterResetHeader;
  readonly pos: SideExpansion | null;
  readonly neg: SideExpansion | null;
}

const NOT_OK = (header: CounterResetHeader): Appendable => ({ ok: false, header, pos: null, neg: null });

/** Whether a counter histogram `h` can go into `a`'s chunk, and the header a chunk cut for it gets. */
function appendable(a: HistogramChunkAppender, h: Histogram): Appendable {
  if (a.numSamples > 0 && a.header === CounterResetHeader.gauge) return NOT_OK(CounterResetHeader.notCounterReset);
  if (h.counterResetHint === CounterResetHint.counterReset) return NOT_OK(CounterResetHeader.counterReset);
  if (isStaleNaN(h.sum)) return { ok: true, header: CounterResetHeader.notCounterReset, pos: null, neg: null };
  if (isStaleNaN(a.lastSum)) return NOT_OK(CounterResetHeader.unknown);
  if (h.count < a.lastCount) return NOT_OK(CounterResetHeader.counterReset);
  const l = a.layout;
  // A schema or threshold change may or may not hide a reset; Prometheus does not look further.
  if (h.schema !== l.schema || h.zeroThreshold !== l.zeroThreshold) return NOT_OK(CounterResetHeader.unknown);
  if (h.schema === CUSTOM_BUCKETS_SCHEMA && !sameBounds(h.customValues, l.customValues)) {
    return NOT_OK(CounterResetHeader.counterReset);
  }
  if (h.zeroCount < a.lastZeroCount) return NOT_OK(CounterResetHeader.counterReset);
  const pos = expandSide(l.positiveSpans, h.positiveSpans, a.lastPositive, h.positiveBuckets, false);
  const neg = expandSide(l.negativeSpans, h.negativeSpans, a.lastNegative, h.negativeBuckets, false);
  if (pos === null || neg === null) return NOT_OK(CounterResetHeader.counterReset);
  return { ok: true, header: CounterResetHeader.notCounterReset, pos, neg };
}

/** Whether a gauge histogram `h` can go into `a`'s chunk. */
function appendableGauge(a: HistogramChunkAppender, h: Histogram): Appendable {
  if (a.numSamples > 0 && a.header !== CounterResetHeader.gauge) return NOT_OK(CounterResetHeader.gauge);
  if (isStaleNaN(h.sum)) return { ok: true, header: CounterResetHeader.gauge, pos: null, neg: null };
  if (isStaleNaN(a.lastSum)) return NOT_OK(CounterResetHeader.gauge);
  const l = a.layout;
  if (h.schema !== l.schema || h.zeroThreshold !== l.zeroThreshold) return NOT_OK(CounterResetHeader.gauge);
  if (h.schema === CUSTOM_BUCKETS_SCHEMA && !sameBounds(h.customValues, l.customValues)) {
    return NOT_OK(CounterResetHeader.gauge);
  }
  const pos = expandSide(l.positiveSpans, h.positiveSpans, a.lastPositive, h.positiveBuckets, true);
  const neg = expandSide(l.negativeSpans, h.negativeSpans, a.lastNegative, h.negativeBuckets, true);
  return { ok: true, header: CounterResetHeader.gauge, pos, neg };
}

/**
 * Appends `h` at `t` ms to `app`'s chunk, whose encoding must match `h.integer` (the caller cuts a new chunk when
 * it does not). `prev` is the appender of the series' previous chunk when `app` was just cut after it, so the new
 * chunk's counter-reset header can be told; null otherwise. `h` is not kept.
 */
export function appendHistogramSample(
  app: HistogramChunkAppender,
  prev: HistogramChunkAppender | null,
  t: number,
  h: Histogram,
): HistogramAppendOutcome {
  const gauge = h.counterResetHint === CounterResetHint.gauge;
  if (app.numSamples === 0) {
    app.appendRaw(t, h);
    if (gauge) app.header = CounterResetHeader.gauge;
    else if (h.counterResetHint === CounterResetHint.counterReset) app.header = CounterResetHeader.counterReset;
    else if (prev !== null) app.header = appendable(prev, h).header;
    return { kind: "appended", appender: app };
  }
  const r = gauge ? appendableGauge(app, h) : appendable(app, h);
  if (!r.ok || (!gauge && r.header !== CounterResetHeader.notCounterReset)) {
    const fresh = newHistogramAppender(app.float);
    fresh.header = r.header;
    fresh.appendRaw(t, h);
    return { kind: "cut", appender: fresh };
  }
  if (r.pos === null || r.neg === null) {
    app.appendRaw(t, h);
    return { kind: "appended", appender: app };
  }
  const forward = r.pos.forward || r.neg.forward;
  const backward = r.pos.backward || r.neg.backward;
  const l = app.layout;
  // The spans the chunk ends up with, as Prometheus picks them: on a counter, the chunk's own when the sample only
  // lacks buckets; the sample's, merged with the chunk's on each side where it lacks some, when it brings new ones.
  // On a gauge, the merged spans of both whenever the sample lacks buckets.
  const target = (side: SideExpansion, chunk: readonly BucketSpan[], sample: readonly BucketSpan[]) => {
    if (!backward) return sample;
    if (!forward && !gauge) return chunk;
    return gauge || side.backward ? spansOf(side.union) : sample;
  };
  const pSpans = target(r.pos, l.positiveSpans, h.positiveSpans);
  const nSpans = target(r.neg, l.negativeSpans, h.negativeSpans);
  const sample: Histogram = backward
    ? {
        ...h,
        positiveSpans: pSpans,
        negativeSpans: nSpans,
        positiveBuckets: relayout(h.positiveBuckets, h.positiveSpans, pSpans),
        negativeBuckets: relayout(h.negativeBuckets, h.negativeSpans, nSpans),
      }
    : h;
  if (!forward) {
    app.appendRaw(t, sample);
    return { kind: "appended", appender: app };
  }
  const recoded = recode(app, pSpans, nSpans);
  recoded.appendRaw(t, sample);
  return { kind: "recoded", appender: recoded };
}

/** A new appender holding `app`'s samples re-encoded with the given spans (a superset of the chunk's buckets). */
function recode(
  app: HistogramChunkAppender,
  pSpans: readonly BucketSpan[],
  nSpans: readonly BucketSpan[],
): HistogramChunkAppender {
  const out = newHistogramAppender(app.float);
  const it = app.float ? new FloatHistogramIterator(app.bytes()) : new IntHistogramIterator(app.bytes());
  while (it.next() !== "none") {
    const old = it.atH();
    if (isStaleNaN(old.sum)) {
      out.appendRaw(it.atT(), old);
      continue;
    }
    out.appendRaw(it.atT(), {
      ...old,
      positiveSpans: pSpans,
      negativeSpans: nSpans,
      positiveBuckets: relayout(old.positiveBuckets, old.positiveSpans, pSpans),
      negativeBuckets: relayout(old.negativeBuckets, old.negativeSpans, nSpans),
    });
  }
  out.header = app.header;
  return out;
}
