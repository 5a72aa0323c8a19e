// Time functions: time(), timestamp() of computed vectors, and the calendar functions (hour, day_of_week, ...)
// which read a sample's value as Unix seconds, or the evaluation time when called without argument.

import { emptyLabels } from "../labelsets.ts";
import { map, scalarResult } from "./math.ts";
import type { FunctionImpl, VectorFn } from "./types.ts";

/** time(): the evaluation time in seconds. */
export const time: VectorFn = scalarResult((_, ts) => ts / 1000);

/** timestamp(v) of a computed vector: the evaluation time of each sample, in seconds. */
export const timestamp: FunctionImpl = map((_v, _p, ts) => ts / 1000);

/** start_timestamp(v): stores keep no start timestamps yet, so there is no output (as Prometheus without them). */
export const startTimestamp: VectorFn = () => () => {};

// A Date for Unix seconds `sec` truncated to an integer, as Go's time.Unix(int64(f), 0).UTC().
function dateOf(sec: number): Date {
  return new Date(Math.trunc(sec) * 1000);
}

function calendar(fn: (d: Date) => number): FunctionImpl {
  const noArgs: VectorFn = () => {
    let slot = -1;
    return (ts, _inputs, out) => {
      if (slot < 0) slot = out.slot(emptyLabels(), false);
      out.add(slot, ts, fn(dateOf(Math.trunc(ts / 1000))));
    };
  };
  return { kind: "map", fn: (v) => fn(dateOf(v)), noArgs };
}

/** The calendar functions by name. */
export const CALENDAR_FUNCTIONS: Record<string, FunctionImpl> = {
  days_in_month: calendar((d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()),
  day_of_month: calendar((d) => d.getUTCDate()),
  day_of_week: calendar((d) => d.getUTCDay()),
  day_of_year: calendar((d) => {
    const start = Date.UTC(d.getUTCFullYear(), 0, 1);
    return Math.floor((d.getTime() - start) / 86_400_000) + 1;
  }),
  hour: calendar((d) => d.getUTCHours()),
  minute: calendar((d) => d.getUTCMinutes()),
  month: calendar((d) => d.getUTCMonth() + 1),
  year: calendar((d) => d.getUTCFullYear()),
};
