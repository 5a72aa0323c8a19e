// The regions map: land outlines (Natural Earth 1:110m, turned into one SVG path at build time and loaded on
// demand), each region with traffic drawn as a circle whose area follows its request rate, placed at the region's
// coordinates from /meta/regions.json. A table beside it gives the same figures to keyboards and screen readers.

import { useEffect, useState } from "preact/hooks";
import type { Region } from "../api.ts";
import { formatValue } from "../format.ts";
import { PALETTE } from "../palette.ts";

/** A region's figure on the map. */
export interface RegionValue {
  readonly code: string;
  readonly value: number;
}

/** Latitudes shown: the inhabited band, so the map is not mostly Antarctica. */
const TOP_LAT = 84;
const BOTTOM_LAT = -58;
/** The largest circle's radius, in map degrees. */
const MAX_RADIUS = 9;

/** The map with a circle per region of `values`. */
export function WorldMap(props: { readonly values: readonly RegionValue[]; readonly regions: readonly Region[] }) {
  const [land, setLand] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void import("virtual:world-land").then((m) => live && setLand(m.default));
    return () => {
      live = false;
    };
  }, []);
  const byCode = new Map(props.regions.map((r) => [r.code, r]));
  const max = Math.max(...props.values.map((v) => v.value), 0);
  const placed = props.values
    .map((v) => ({ ...v, region: byCode.get(v.code) }))
    .filter((v): v is RegionValue & { region: Region } => v.region !== undefined)
    .sort((a, b) => b.value - a.value);
  return (
    <div class="map-wrap">
      <svg
        class="map"
        viewBox={`0 ${90 - TOP_LAT} 360 ${TOP_LAT - BOTTOM_LAT}`}
        role="img"
        aria-label="world map of request rate by region"
      >
        {land !== null && <path class="land" d={land} />}
        {placed.map((v) => {
          const cx = v.region.longitude + 180;
          const cy = 90 - v.region.latitude;
          const r = max > 0 ? Math.max(1.5, MAX_RADIUS * Math.sqrt(v.value / max)) : 1.5;
          return (
            <g key={v.code}>
              <circle cx={cx} cy={cy} r={r} fill={PALETTE[0]} fill-opacity="0.55" stroke={PALETTE[0]} />
              <text x={cx} y={cy - r - 1.5} class="map-label">
                {v.code}
              </text>
              <title>{`${v.region.name}: ${formatValue(v.value, "reqps")}`}</title>
            </g>
          );
        })}
      </svg>
      <table class="compact">
        <caption class="visually-hidden">Request rate by region</caption>
        <thead>
          <tr>
            <th scope="col">Region</th>
            <th scope="col" class="num">
              Requests
            </th>
          </tr>
        </thead>
        <tbody>
          {placed.map((v) => (
            <tr key={v.code}>
              <td title={v.region.name}>{v.code}</td>
              <td class="num">{formatValue(v.value, "reqps")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
