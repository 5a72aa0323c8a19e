// Writing one sample of a rule through a store's Appender: a float with `append`, a native histogram with
// `appendHistogram` (as Prometheus's rule group does), refused by name where the store keeps no histograms.

import { ContrailError } from "../model/errors.ts";
import type { Appender } from "../storage/interface.ts";
import type { RuleSample } from "./types.ts";

/**
 * Adds `s` to `app`'s batch. Throws the appender's own errors (series limit, ...), and `execution` for a histogram
 * when `app` has no `appendHistogram`: the caller then drops the batch rather than record part of a rule's result.
 */
export function appendRuleSample(app: Appender, s: RuleSample): void {
  if (s.h === undefined) {
    app.append(s.labels, s.tMs, s.value);
    return;
  }
  if (app.appendHistogram === undefined) {
    throw new ContrailError(
      "execution",
      `cannot record the native histogram of ${s.labels.toString()}: this store keeps float samples only`,
    );
  }
  app.appendHistogram(s.labels, s.tMs, s.h);
}
