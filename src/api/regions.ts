// The platform's regions: three-letter codes, display names and coordinates, served at `/meta/regions.json` for
// map panels. Retired regions stay listed so older series still find their place on a map.

/** One region. Coordinates in decimal degrees (WGS 84). */
export interface Region {
  readonly code: string;
  readonly name: string;
  readonly latitude: number;
  readonly longitude: number;
  /** Retired: no new instances run there. */
  readonly deprecated: boolean;
}

/** Every region, by code. */
export const REGIONS: readonly Region[] = [
  { code: "ams", name: "Amsterdam, Netherlands", latitude: 52.374342, longitude: 4.895439, deprecated: false },
  { code: "arn", name: "Stockholm, Sweden", latitude: 59.6512, longitude: 17.9178, deprecated: false },
  { code: "atl", name: "Atlanta, Georgia (US)", latitude: 33.6407, longitude: -84.4277, deprecated: true },
  { code: "bog", name: "Bogotá, Colombia", latitude: 4.70159, longitude: -74.1469, deprecated: true },
  { code: "bom", name: "Mumbai, India", latitude: 19.097403, longitude: 72.874245, deprecated: false },
  { code: "bos", name: "Boston, Massachusetts (US)", latitude: 42.366978, longitude: -71.02236, deprecated: true },
  { code: "cdg", name: "Paris, France", latitude: 48.860875, longitude: 2.353477, deprecated: false },
  { code: "den", name: "Denver, Colorado (US)", latitude: 39.7392, longitude: -104.9847, deprecated: true },
  { code: "dfw", name: "Dallas, Texas (US)", latitude: 32.778287, longitude: -96.7984, deprecated: false },
  { code: "ewr", name: "Secaucus, NJ (US)", latitude: 40.789543, longitude: -74.05653, deprecated: false },
  { code: "eze", name: "Ezeiza, Argentina", latitude: -34.8222, longitude: -58.5358, deprecated: true },
  { code: "fra", name: "Frankfurt, Germany", latitude: 50.1167, longitude: 8.6833, deprecated: false },
  { code: "gdl", name: "Guadalajara, Mexico", latitude: 20.5217, longitude: -103.3109, deprecated: true },
  { code: "gig", name: "Rio de Janeiro, Brazil", latitude: -22.8099, longitude: -43.2505, deprecated: true },
  { code: "gru", name: "Sao Paulo, Brazil", latitude: -23.549664, longitude: -46.65435, deprecated: false },
  { code: "hkg", name: "Hong Kong, Hong Kong", latitude: 22.25097, longitude: 114.203224, deprecated: true },
  { code: "iad", name: "Ashburn, Virginia (US)", latitude: 39.02214, longitude: -77.462556, deprecated: false },
  { code: "jnb", name: "Johannesburg, South Africa", latitude: -26.13629, longitude: 28.20298, deprecated: false },
  { code: "lax", name: "Los Angeles, California (US)", latitude: 33.9416, longitude: -118.4085, deprecated: false },
  { code: "lhr", name: "London, United Kingdom", latitude: 51.516434, longitude: -0.125656, deprecated: false },
  { code: "maa", name: "Chennai (Madras), India", latitude: 13.064429, longitude: 80.25307, deprecated: true },
  { code: "mad", name: "Madrid, Spain", latitude: 40.4381, longitude: -3.82, deprecated: true },
  { code: "mia", name: "Miami, Florida (US)", latitude: 25.7877, longitude: -80.2241, deprecated: true },
  { code: "nrt", name: "Tokyo, Japan", latitude: 35.62161, longitude: 139.74185, deprecated: false },
  { code: "ord", name: "Chicago, Illinois (US)", latitude: 41.891544, longitude: -87.63039, deprecated: false },
  { code: "otp", name: "Bucharest, Romania", latitude: 44.4325, longitude: 26.1039, deprecated: true },
  { code: "phx", name: "Phoenix, Arizona (US)", latitude: 33.416084, longitude: -112.00948, deprecated: true },
  { code: "qro", name: "Querétaro, Mexico", latitude: 20.62, longitude: -100.1863, deprecated: true },
  { code: "scl", name: "Santiago, Chile", latitude: -33.36572, longitude: -70.64292, deprecated: true },
  { code: "sea", name: "Seattle, Washington (US)", latitude: 47.6097, longitude: -122.3331, deprecated: true },
  { code: "sin", name: "Singapore, Singapore", latitude: 1.3, longitude: 103.8, deprecated: false },
  { code: "sjc", name: "San Jose, California (US)", latitude: 37.3516, longitude: -121.89674, deprecated: false },
  { code: "syd", name: "Sydney, Australia", latitude: -33.86603, longitude: 151.20693, deprecated: false },
  { code: "waw", name: "Warsaw, Poland", latitude: 52.1657, longitude: 20.9671, deprecated: true },
  { code: "yul", name: "Montreal, Canada", latitude: 45.48647, longitude: -73.75549, deprecated: true },
  { code: "yyz", name: "Toronto, Canada", latitude: 43.64463, longitude: -79.38423, deprecated: false },
];

/** The `/meta/regions.json` body: an array of `{code, name, latitude, longitude, key}`, `key` being the code, which
 * Grafana's worldmap panel matches (case-insensitively) against a series' legend such as `{{region}}`. */
export function regionsJson(): string {
  return JSON.stringify(
    REGIONS.map((r) => ({ code: r.code, name: r.name, latitude: r.latitude, longitude: r.longitude, key: r.code })),
  );
}
