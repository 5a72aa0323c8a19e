#!/usr/bin/env node
// Builds the web console (src/ui/app/) into dist/ui/: `index.html` and hashed assets under `assets/`, which the
// API serves (src/api/console-assets.ts). esbuild bundles and minifies; code that only some pages need (the
// explorer's editor, the regions map's land outlines) is split into chunks loaded on demand. The land outlines
// come from world-atlas's Natural Earth 1:110m land (TopoJSON), decoded here into one SVG path in an
// equirectangular projection. The script prints the gzip size of the JavaScript a first page load needs and writes
// the figures to dist/ui/build-report.json, which a test holds to the budget.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(ROOT, "dist", "ui");
const ASSETS = join(OUT, "assets");
/** The budget of the JavaScript of a first page load, gzip bytes. */
const INITIAL_JS_BUDGET = 250 * 1024;
/** Decimal places kept of the map's degrees: a tenth of a degree is well under a pixel at the map's size. */
const MAP_DECIMALS = 1;

/** Decodes the TopoJSON land of world-atlas into an SVG path: x = longitude + 180, y = 90 − latitude. */
function landPath() {
  const topo = JSON.parse(readFileSync(join(ROOT, "node_modules", "world-atlas", "land-110m.json"), "utf8"));
  const [sx, sy] = topo.transform.scale;
  const [tx, ty] = topo.transform.translate;
  const arcs = topo.arcs.map((arc) => {
    let x = 0;
    let y = 0;
    return arc.map(([dx, dy]) => {
      x += dx;
      y += dy;
      return [x * sx + tx, y * sy + ty];
    });
  });
  const arcPoints = (i) => (i >= 0 ? arcs[i] : [...arcs[~i]].reverse());
  const round = (v) => Number(v.toFixed(MAP_DECIMALS));
  const parts = [];
  const draw = (points, shift) =>
    parts.push(`M${points.map(([lon, lat]) => `${round(lon + shift + 180)} ${round(90 - lat)}`).join("L")}Z`);
  // A ring that crosses the antimeridian jumps by about 360° between two points: its longitudes are unwrapped so
  // it stays one shape, and it is drawn once more shifted by a turn, so the part past ±180° shows on the other side
  // (the map's view box cuts the rest).
  const ring = (indexes) => {
    const points = [];
    for (const i of indexes) points.push(...arcPoints(i).slice(points.length === 0 ? 0 : 1));
    for (let k = 1; k < points.length; k++) {
      const jump = points[k][0] - points[k - 1][0];
      if (Math.abs(jump) > 180) points[k] = [points[k][0] - 360 * Math.sign(jump), points[k][1]];
    }
    const lons = points.map(([lon]) => lon);
    draw(points, 0);
    if (Math.max(...lons) > 180) draw(points, -360);
    if (Math.min(...lons) < -180) draw(points, 360);
  };
  for (const g of topo.objects.land.geometries) {
    const polygons = g.type === "Polygon" ? [g.arcs] : g.type === "MultiPolygon" ? g.arcs : [];
    for (const polygon of polygons) for (const r of polygon) ring(r);
  }
  return parts.join("");
}

/** Resolves `virtual:world-land` to a module whose default export is the land path. */
const worldLand = {
  name: "world-land",
  setup(build) {
    build.onResolve({ filter: /^virtual:world-land$/ }, () => ({ path: "world-land", namespace: "world-land" }));
    build.onLoad({ filter: /.*/, namespace: "world-land" }, () => ({
      contents: `export default ${JSON.stringify(landPath())};`,
      loader: "js",
    }));
  },
};

rmSync(OUT, { recursive: true, force: true });
mkdirSync(ASSETS, { recursive: true });
const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: { main: "src/ui/app/main.tsx" },
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2022",
  outdir: ASSETS,
  entryNames: "[name]-[hash]",
  chunkNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  minify: true,
  metafile: true,
  jsx: "automatic",
  jsxImportSource: "preact",
  logLevel: "warning",
  plugins: [worldLand],
});

const outputs = result.metafile.outputs;
const entry = Object.keys(outputs).find((o) => outputs[o].entryPoint === "src/ui/app/main.tsx");
const css = outputs[entry].cssBundle;
// The entry and every chunk it imports statically: what the browser loads before the first page can render.
const initial = new Set();
const visit = (path) => {
  if (initial.has(path)) return;
  initial.add(path);
  for (const i of outputs[path].imports) if (i.kind === "import-statement" && !i.external) visit(i.path);
};
visit(entry);
const gz = (path) => gzipSync(readFileSync(join(ROOT, path))).length;
const href = (path) => `/assets/${basename(path)}`;
const initialJsGzipBytes = [...initial].reduce((sum, p) => sum + gz(p), 0);
const chunks = Object.fromEntries(
  Object.keys(outputs)
    .filter((p) => p.endsWith(".js"))
    .map((p) => [basename(p), { bytes: outputs[p].bytes, gzipBytes: gz(p), initial: initial.has(p) }]),
);

const preloads = [...initial]
  .filter((p) => p !== entry)
  .map((p) => `<link rel="modulepreload" href="${href(p)}">`)
  .join("");
writeFileSync(
  join(OUT, "index.html"),
  `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="color-scheme" content="light dark"><title>Contrail</title><link rel="icon" href="data:,">` +
    `<link rel="stylesheet" href="${href(css)}">${preloads}` +
    `<script type="module" src="${href(entry)}"></script></head>` +
    `<body><div id="app"></div></body></html>\n`,
);
const report = { initialJsGzipBytes, budgetGzipBytes: INITIAL_JS_BUDGET, cssGzipBytes: gz(css), chunks };
writeFileSync(join(OUT, "build-report.json"), `${JSON.stringify(report, null, 2)}\n`);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const lazy = Object.values(chunks)
  .filter((c) => !c.initial)
  .reduce((s, c) => s + c.gzipBytes, 0);
console.log(
  `console: initial JavaScript ${kb(initialJsGzipBytes)} gzip (budget ${kb(INITIAL_JS_BUDGET)}), ` +
    `${kb(lazy)} more loaded on demand, CSS ${kb(report.cssGzipBytes)}`,
);
if (initialJsGzipBytes > INITIAL_JS_BUDGET) {
  console.error("console: the initial JavaScript is over its budget");
  process.exit(1);
}
