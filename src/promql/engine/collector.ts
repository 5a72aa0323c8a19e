// Collects the output of a node evaluated step by step into series. Callers ask once for a slot per output label
// set (per input series, per group, per matched pair) and then add points to slots, so labels are built once per
// series and not per step. In a range evaluation slots are shared by label set and a second point of one label set
// at one step is Prometheus's "same labelset" error; in an instant evaluation each slot is a new series, which
// keeps the order in which samples were produced (sort(), topk() ...).

import type { Histogram } from "../../model/histogram.ts";
import { histogramVectorSamples } from "../../model/histogram-size.ts";
import type { Labels } from "../../model/labels.ts";
import { evalError } from "./context.ts";
import { INITIAL_POINTS, type Matrix, Series } from "./value.ts";

/** Output series of one node, addressed by slot number. */
export class Collector {
  private readonly series: Series[] = [];
  private readonly byHash: Map<string, number> | null;
  private readonly capacity: number;
  /** What the points added so far weigh in the sample limit as the instant vectors of their steps: 1 per float,
   * a histogram by histogramVectorSamples (Prometheus's Vector.TotalSamples). */
  samples = 0;

  /** `instant` is true when the evaluator has a single step; `steps` sizes new series. */
  constructor(instant: boolean, steps: number) {
    this.byHash = instant ? null : new Map();
    this.capacity = Math.min(steps, INITIAL_POINTS);
  }

  /** The slot for output labels `labels`; `dropName` is kept from the first sample of the series. */
  slot(labels: Labels, dropName: boolean): number {
    if (this.byHash !== null) {
      const h = labels.hash();
      const got = this.byHash.get(h);
      if (got !== undefined) return got;
      this.byHash.set(h, this.series.length);
    }
    this.series.push(new Series(labels, dropName, this.capacity));
    return this.series.length - 1;
  }

  /** Adds the point (ts, v) to slot `slot`; throws if that series already has a point at `ts`. */
  add(slot: number, ts: number, v: number): void {
    const s = this.series[slot];
    if (s.n > 0 && s.t[s.n - 1] === ts) evalError("vector cannot contain metrics with the same labelset");
    s.push(ts, v);
    this.samples++;
  }

  /** Adds the histogram point (ts, h) to slot `slot`; throws if that series already has a point at `ts`. */
  addH(slot: number, ts: number, h: Histogram): void {
    const s = this.series[slot];
    if (s.n > 0 && s.t[s.n - 1] === ts) evalError("vector cannot contain metrics with the same labelset");
    s.pushH(ts, h);
    this.samples += histogramVectorSamples(h);
  }

  /** Overrides the delayed-name-removal mark of slot `slot`. */
  setDropName(slot: number, dropName: boolean): void {
    this.series[slot].dropName = dropName;
  }

  /** The series that received points. */
  result(): Matrix {
    return this.series.filter((s) => s.n > 0);
  }
}
