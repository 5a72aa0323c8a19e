// Numbers as people read them, by unit: rates, ratios, durations, bits and bytes.

/** The units charts and tables know. */
export type Unit = "short" | "reqps" | "ratio" | "seconds" | "bits" | "bytes" | "cores";

const SI = ["", "k", "M", "G", "T", "P"];
const IEC = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

function scaled(v: number, base: number, names: readonly string[], sep = ""): string {
  let i = 0;
  let x = Math.abs(v);
  while (x >= base && i < names.length - 1) {
    x /= base;
    i++;
  }
  const digits = x >= 100 ? 0 : x >= 10 ? 1 : 2;
  return `${v < 0 ? "-" : ""}${Number(x.toFixed(digits))}${sep}${names[i]}`;
}

/** `v` in `unit`, short enough for an axis or a table cell; "–" for no value. */
export function formatValue(v: number | null | undefined, unit: Unit = "short"): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  switch (unit) {
    case "short":
      return scaled(v, 1000, SI);
    case "reqps":
      return `${scaled(v, 1000, SI)} req/s`;
    case "ratio":
      return `${Number((v * 100).toFixed(v < 0.01 && v > 0 ? 3 : 1))}%`;
    case "seconds":
      if (Math.abs(v) >= 1) return `${Number(v.toFixed(2))} s`;
      return `${Number((v * 1000).toFixed(v >= 0.01 ? 0 : 2))} ms`;
    case "bits":
      return `${scaled(v, 1000, SI, " ")}b/s`;
    case "bytes":
      return scaled(v, 1024, IEC, " ");
    case "cores":
      return `${Number(v.toFixed(3))} cores`;
  }
}

/** A time in ms since the epoch as a local date and time to the second; "–" for none. */
export function formatTime(ms: number | null): string {
  return ms === null ? "–" : new Date(ms).toLocaleString(undefined, { hour12: false });
}

/** How long ago `ms` was, roughly: "12 s ago", "3 min ago". */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}
