// Modules the build makes (scripts/build-ui.js).

declare module "virtual:world-land" {
  /** The land of the world as one SVG path; x = longitude + 180, y = 90 − latitude, in degrees. */
  const path: string;
  export default path;
}

/** Style sheets, bundled into the console's CSS by the build. */
declare module "*.css" {}
