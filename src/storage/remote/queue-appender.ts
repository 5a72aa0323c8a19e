// The Appender of a remote storage backend: samples (floats and native histograms) are encoded as they arrive into
// one `prometheus.WriteRequest` (remote write 1.0), a TimeSeries per run of samples of one series, and `commit()`
// hands the encoded batch to the org's disk queue. Nothing is checked against stored data (the backend judges order
// and duplicates), so the report always says every sample was appended. For single-tenant backends the org label is
// written into every series here, in its sorted place, replacing any value the series arrived with.

import { ContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import { compareStrings, type Labels } from "../../model/labels.ts";
import type { Appender, CommitReport, SeriesRef } from "../interface.ts";
import { writeSample } from "./codec-v1-encode.ts";
import { writeWireHistogram } from "./histogram-wire.ts";
import { ProtoWriter, WIRE_LEN } from "./protobuf.ts";

/** Receives a committed batch: its sample count and the encoded WriteRequest (a view, valid during the call). */
export type BatchSink = (samples: number, request: Uint8Array) => void;

/** Options of a {@link QueueAppender}. */
export interface QueueAppenderOptions {
  /** Where `commit()` puts the batch; throws to refuse it (queue full), and then nothing of it is kept. */
  readonly sink: BatchSink;
  /** The label written into every series (single-tenant backends), or null. */
  readonly orgLabel: { readonly name: string; readonly value: string } | null;
}

/** Initial size of an appender's encoding buffer, bytes; it grows as needed. */
const INITIAL_BUFFER_BYTES = 4096;

/** Appends into an encoded WriteRequest; see the file comment. One batch, then spent. */
export class QueueAppender implements Appender {
  private readonly o: QueueAppenderOptions;
  private readonly w = new ProtoWriter(INITIAL_BUFFER_BYTES);
  /** Labels of each ref handed out (refs are indexes here, valid for this appender only). */
  private readonly refs: Labels[] = [];
  /** The ref whose TimeSeries is open, -1 when none is, and the mark that closes it. */
  private openRef = -1;
  private openMark = 0;
  private samples = 0;
  private spent = false;

  constructor(o: QueueAppenderOptions) {
    this.o = o;
  }

  append(labels: Labels, t: number, v: number): SeriesRef {
    this.check();
    const ref = this.refs.length;
    this.refs.push(labels);
    this.sample(ref, t, v);
    return ref as SeriesRef;
  }

  appendRef(ref: SeriesRef, t: number, v: number): SeriesRef {
    this.check();
    this.sample(this.known(ref), t, v);
    return ref;
  }

  appendHistogram(labels: Labels, t: number, h: Histogram): SeriesRef {
    this.check();
    const ref = this.refs.length;
    this.refs.push(labels);
    this.histogram(ref, t, h);
    return ref as SeriesRef;
  }

  appendHistogramRef(ref: SeriesRef, t: number, h: Histogram): SeriesRef {
    this.check();
    this.histogram(this.known(ref), t, h);
    return ref;
  }

  commit(): CommitReport {
    this.check();
    this.spent = true;
    this.closeSeries();
    if (this.samples > 0) this.o.sink(this.samples, this.w.finish());
    return { appended: this.samples, outOfOrder: 0, duplicate: 0, outOfBounds: 0, firstRejection: null };
  }

  rollback(): void {
    this.check();
    this.spent = true;
  }

  private check(): void {
    if (this.spent) throw new ContrailError("internal", "appender used after commit or rollback");
  }

  private closeSeries(): void {
    if (this.openRef >= 0) this.w.end(this.openMark);
    this.openRef = -1;
  }

  private known(ref: SeriesRef): number {
    if (!Number.isInteger(ref) || ref < 0 || ref >= this.refs.length) {
      throw new ContrailError("not_found", `series ref ${ref} is not one of this appender's`);
    }
    return ref;
  }

  // Opens the TimeSeries of `ref` for a sample at `t` unless it is the open one (a TimeSeries per run of samples).
  private series(ref: number, t: number): ProtoWriter {
    if (!Number.isSafeInteger(t)) throw new ContrailError("bad_data", `sample time ${t} is not an integer of ms`);
    const w = this.w;
    if (ref !== this.openRef) {
      this.closeSeries();
      this.openMark = w.begin(1);
      this.openRef = ref;
      writeLabels(w, this.refs[ref], this.o.orgLabel);
    }
    return w;
  }

  private sample(ref: number, t: number, v: number): void {
    writeSample(this.series(ref, t), t, v);
    this.samples++;
  }

  // Histograms are TimeSeries field 4; floats and histograms of one series may share its TimeSeries.
  private histogram(ref: number, t: number, h: Histogram): void {
    writeWireHistogram(this.series(ref, t), 4, t, h);
    this.samples++;
  }
}

function writeLabel(w: ProtoWriter, name: string, value: string): void {
  const m = w.begin(1);
  w.tag(1, WIRE_LEN);
  w.string(name);
  w.tag(2, WIRE_LEN);
  w.string(value);
  w.end(m);
}

/** The TimeSeries' labels in name order, `org` put in its place (replacing one of that name); empty values left out. */
function writeLabels(w: ProtoWriter, labels: Labels, org: QueueAppenderOptions["orgLabel"]): void {
  let orgDone = org === null;
  labels.forEach((name, value) => {
    if (!orgDone && compareStrings(name, org!.name) >= 0) {
      writeLabel(w, org!.name, org!.value);
      orgDone = true;
    }
    if (value === "" || (org !== null && name === org.name)) return;
    writeLabel(w, name, value);
  });
  if (!orgDone) writeLabel(w, org!.name, org!.value);
}
