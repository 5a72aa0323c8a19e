// Series colours: the Okabe–Ito palette, which people with the common colour-vision deficiencies tell apart, with
// black replaced by a grey visible on both themes. HTTP status classes keep fixed colours across charts.

/** Colours in the order series get them. */
export const PALETTE: readonly string[] = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#CC79A7",
  "#56B4E9",
  "#D55E00",
  "#F0E442",
  "#8C8C8C",
];

/** The colour of series number `i`. */
export function colorAt(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** A fixed colour for an HTTP status class (2xx blue, 3xx sky, 4xx orange, 5xx vermillion), else by position. */
export function statusColor(status: string, i: number): string {
  switch (status[0]) {
    case "2":
      return PALETTE[0];
    case "3":
      return PALETTE[4];
    case "4":
      return PALETTE[1];
    case "5":
      return PALETTE[5];
    default:
      return colorAt(i);
  }
}

/** Whether the page shows the dark theme (it follows the system). */
export function prefersDark(): boolean {
  return window.matchMedia("(prefers-color-scheme: dark)").matches;
}
