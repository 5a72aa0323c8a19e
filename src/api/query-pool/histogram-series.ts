// A series received as samples in a query worker that holds native histograms: its floats in typed arrays and its
// histograms by sample index. Read sample by sample (no float batches), so the engine sees each sample's kind.

import { ContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import type { SampleIterator, Series, ValueKind } from "../../storage/interface.ts";

/** A series of samples `t` (ms) and `v`, sample `i` being the histogram `hs.get(i)` when there is one. */
export class HistogramSeriesView implements Series {
  readonly labels: Labels;
  private readonly t: Float64Array;
  private readonly v: Float64Array;
  private readonly hs: ReadonlyMap<number, Histogram>;

  /** Views `t` and `v` (not copied; they must not change) and the histograms `hs` by index into them. */
  constructor(labels: Labels, t: Float64Array, v: Float64Array, hs: ReadonlyMap<number, Histogram>) {
    this.labels = labels;
    this.t = t;
    this.v = v;
    this.hs = hs;
  }

  iterator(): SampleIterator {
    return new HistogramSamplesIterator(this.t, this.v, this.hs);
  }
}

class HistogramSamplesIterator implements SampleIterator {
  private i = -1;

  constructor(
    private readonly t: Float64Array,
    private readonly v: Float64Array,
    private readonly hs: ReadonlyMap<number, Histogram>,
  ) {}

  private kind(): ValueKind {
    if (this.i >= this.t.length) return "none";
    return this.hs.has(this.i) ? "histogram" : "float";
  }

  next(): ValueKind {
    if (this.i < this.t.length) this.i++;
    return this.kind();
  }

  seek(t: number): ValueKind {
    if (this.i < 0) this.i = 0;
    while (this.i < this.t.length && this.t[this.i] < t) this.i++;
    return this.kind();
  }

  atT(): number {
    return this.t[this.i];
  }

  atV(): number {
    return this.v[this.i];
  }

  atH(): Histogram {
    const h = this.hs.get(this.i);
    if (h === undefined) throw new ContrailError("internal", "atH() called on a float sample");
    return h;
  }
}
