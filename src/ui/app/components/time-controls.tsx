// The time range picker (relative ranges from 5 minutes to 7 days, or a custom from–to) and the auto-refresh
// choice. Both live in the URL (`range`, `from`, `to`, `refresh`), so the view can be shared as it is.

import { setParams } from "../router.ts";
import { RANGES, REFRESHES, rangeOf, toLocalInput } from "../time.ts";

/** A labelled local date-and-time input showing `seconds` (since the epoch). */
function TimeField(props: {
  readonly label: string;
  readonly seconds: number;
  readonly onChange: (v: string) => void;
}) {
  return (
    <label>
      {props.label}{" "}
      <input
        type="datetime-local"
        value={toLocalInput(props.seconds)}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      />
    </label>
  );
}

/** The picker for the URL's range and refresh. */
export function TimeControls(props: { readonly params: URLSearchParams; readonly refresh?: boolean }) {
  const range = rangeOf(props.params);
  const custom = range.label === "custom";
  const onRange = (value: string) => {
    if (value === "custom") {
      setParams({
        range: null,
        from: new Date(range.start * 1000).toISOString(),
        to: new Date(range.end * 1000).toISOString(),
      });
    } else {
      setParams({ range: value, from: null, to: null });
    }
  };
  const onCustom = (key: "from" | "to", value: string) => {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) setParams({ [key]: new Date(ms).toISOString() });
  };
  return (
    <fieldset class="controls">
      <legend class="visually-hidden">time range</legend>
      <label>
        Range{" "}
        <select value={range.label} onChange={(e) => onRange(e.currentTarget.value)}>
          {RANGES.map(([name]) => (
            <option key={name} value={name}>
              last {name}
            </option>
          ))}
          <option value="custom">custom</option>
        </select>
      </label>
      {custom && (
        <>
          <TimeField label="From" seconds={range.start} onChange={(v) => onCustom("from", v)} />
          <TimeField label="To" seconds={range.end} onChange={(v) => onCustom("to", v)} />
        </>
      )}
      {props.refresh !== false && (
        <label>
          Refresh{" "}
          <select
            value={props.params.get("refresh") ?? "off"}
            onChange={(e) => setParams({ refresh: e.currentTarget.value === "off" ? null : e.currentTarget.value })}
          >
            {REFRESHES.map(([name]) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      )}
    </fieldset>
  );
}
