// Start-timestamp lines of a `load` block: `metric{labels}@st <items>`, written just before the sample line of the
// same series. Each item is an offset (ms) added to its own sample's timestamp, or a gap:
//   _  one gap        _xN  N gaps        <dur>  one offset        <dur>xN  N+1 equal offsets
//   <dur>+<dur>xN / <dur>-<dur>xN  N+1 offsets stepping by the second duration
// Durations are Prometheus durations with an optional sign (`-1m`, `30s`, `0s`).

import { ContrailError } from "../../model/errors.ts";
import type { Labels } from "../../model/labels.ts";
import { parseDuration, parseSeriesDesc } from "../parser/index.ts";

/** One start-timestamp item: an offset in ms from the sample's timestamp, or null for a gap. */
export type StartOffset = number | null;

/** True when the first word of the line ends in `@st` (a start-timestamp line, not a sample line). */
export function isStartTimestampLine(line: string): boolean {
  const word = firstWord(line);
  return word?.endsWith("@st") ?? false;
}

function firstWord(line: string): string | null {
  const m = /[ \t]/.exec(line);
  return m === null ? null : line.slice(0, m.index);
}

/** Parses `metric{labels}@st <items>`; throws ContrailError `bad_data` describing the problem. */
export function parseStartTimestampLine(line: string): { labels: Labels; offsets: StartOffset[] } {
  const word = firstWord(line);
  if (word === null) throw new ContrailError("bad_data", "invalid @st line: missing value sequence");
  const metric = word.slice(0, -"@st".length);
  let labels: Labels;
  try {
    labels = parseSeriesDesc(`${metric} _`).labels;
  } catch (err) {
    throw new ContrailError("bad_data", `invalid @st line metric ${JSON.stringify(metric)}: ${errorText(err)}`);
  }
  const offsets: StartOffset[] = [];
  for (const item of line.slice(word.length).trim().split(/\s+/)) {
    if (item === "") continue;
    try {
      offsets.push(...parseItem(item));
    } catch (err) {
      throw new ContrailError(
        "bad_data",
        `invalid @st sequence: invalid ST item ${JSON.stringify(item)}: ${errorText(err)}`,
      );
    }
  }
  return { labels, offsets };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function repeatCount(s: string): number {
  if (!/^[0-9]+$/.test(s)) throw new ContrailError("bad_data", "invalid repeat count");
  return Number(s);
}

function parseItem(item: string): StartOffset[] {
  if (item === "_") return [null];
  if (item.startsWith("_x")) {
    const n = repeatCount(item.slice(2));
    if (n === 0) throw new ContrailError("bad_data", "invalid repeat count");
    return new Array<StartOffset>(n).fill(null);
  }
  const [base, rest] = durationPrefix(item);
  if (rest === "") return [base];
  if (rest[0] === "x") return new Array<StartOffset>(repeatCount(rest.slice(1)) + 1).fill(base);
  if (rest[0] !== "+" && rest[0] !== "-") {
    throw new ContrailError("bad_data", `unexpected character ${JSON.stringify(rest[0])} after duration`);
  }
  const [delta, tail] = durationPrefix(rest.slice(1));
  if (tail === "" || tail[0] !== "x") throw new ContrailError("bad_data", "expected 'x<count>' after step duration");
  const n = repeatCount(tail.slice(1));
  const step = rest[0] === "-" ? -delta : delta;
  const out: StartOffset[] = [];
  let offset = base;
  for (let i = 0; i <= n; i++) {
    out.push(offset);
    offset += step;
  }
  return out;
}

// Reads an optionally signed duration from the start of `s`: digits, then letters up to (not including) an `x`.
function durationPrefix(s: string): [number, string] {
  let i = 0;
  let negative = false;
  if (s[0] === "-" || s[0] === "+") {
    negative = s[0] === "-";
    i++;
  }
  const start = i;
  while (i < s.length && s[i] >= "0" && s[i] <= "9") i++;
  if (i === start) throw new ContrailError("bad_data", `expected digits in duration ${JSON.stringify(s)}`);
  while (i < s.length && /[a-zA-Z]/.test(s[i]) && s[i] !== "x") i++;
  const ms = parseDuration(s.slice(start, i));
  return [negative ? -ms : ms, s.slice(i)];
}
