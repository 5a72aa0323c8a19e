// The one convention every benchmark follows: measure a case several times, print the median and the spread of
// each figure, and when a peer (Prometheus, VictoriaMetrics, nginx, ...) ran on the same data, the ratio to it.

/** One measured case: its name, the per-run values (in `unit`), and whether larger values are better. */
export interface Figure {
  readonly name: string;
  readonly unit: string;
  readonly runs: readonly number[];
  readonly higherIsBetter: boolean;
}

/** Median of `values` (not modified); NaN for an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `fn` `runs` times after `warmup` untimed runs; returns the wall time of each timed run in milliseconds. */
export async function timeRuns(fn: () => unknown, opts: { runs?: number; warmup?: number } = {}): Promise<number[]> {
  const { runs = 5, warmup = 1 } = opts;
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 1e6) return v.toExponential(3);
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/**
 * Prints a benchmark's figures as a table: median, min and max of each, and for every figure with a peer figure
 * of the same name, the ratio ours/peer expressed so that > 1 means Contrail is better.
 */
export function printFigures(title: string, ours: readonly Figure[], peers: Record<string, readonly Figure[]> = {}) {
  console.log(`\n== ${title} ==`);
  const rows: string[][] = [["case", "who", "median", "min", "max", "unit", "vs ours"]];
  for (const f of ours) {
    const m = median(f.runs);
    rows.push([f.name, "contrail", fmt(m), fmt(Math.min(...f.runs)), fmt(Math.max(...f.runs)), f.unit, ""]);
    for (const [peer, figs] of Object.entries(peers)) {
      const p = figs.find((x) => x.name === f.name);
      if (!p) continue;
      const pm = median(p.runs);
      const ratio = f.higherIsBetter ? m / pm : pm / m;
      rows.push([f.name, peer, fmt(pm), fmt(Math.min(...p.runs)), fmt(Math.max(...p.runs)), p.unit, `x${fmt(ratio)}`]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  "));
  if (Object.keys(peers).length > 0) console.log("(vs ours: > 1 means Contrail is better by that factor)");
}
