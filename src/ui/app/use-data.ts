// Loading a panel's data: the state every panel shows (and carries in `data-state`), cancellation of a load made
// stale by new inputs, and the auto-refresh tick.

import { useEffect, useState } from "preact/hooks";

/** A panel's state: `ok` when it shows data, `empty` when the answer had none. */
export type PanelState = "loading" | "ok" | "empty" | "error";

/** What a panel has: its state, the data of its last load, and the error message when it failed. */
export interface Loaded<T> {
  readonly state: PanelState;
  readonly data: T | null;
  readonly error: string | null;
}

/**
 * Runs `load` whenever `deps` change, aborting the previous run. While a reload runs, the last data stays shown
 * (a refresh does not blank the panel); `isEmpty` decides between `ok` and `empty`.
 */
export function useData<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  isEmpty: (data: T) => boolean,
): Loaded<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading", data: null, error: null });
  // The caller names what the load depends on.
  useEffect(() => {
    const abort = new AbortController();
    setLoaded((prev) => (prev.state === "error" ? { state: "loading", data: null, error: null } : prev));
    load(abort.signal).then(
      (data) => {
        if (!abort.signal.aborted) setLoaded({ state: isEmpty(data) ? "empty" : "ok", data, error: null });
      },
      (err: Error) => {
        if (!abort.signal.aborted) setLoaded({ state: "error", data: null, error: err.message });
      },
    );
    return () => abort.abort();
  }, deps);
  return loaded;
}

/** A number that grows every `periodMs` (never when 0): put it in `deps` to reload on a refresh. */
export function useTick(periodMs: number): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (periodMs <= 0) return;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") setTick((t) => t + 1);
    }, periodMs);
    return () => clearInterval(timer);
  }, [periodMs]);
  return tick;
}
