// The console's build (scripts/build-ui.js, run by `npm run build`, which `npm run test:unit` runs first): the page
// names assets that exist under hashed names, and the JavaScript a first page load needs stays within its gzip
// budget; the explorer's editor and the map's land outlines are loaded on demand.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const OUT = join(import.meta.dirname, "..", "..", "dist", "ui");
/** The budget for the initial JavaScript, gzip bytes. */
const BUDGET = 250 * 1024;

interface Report {
  readonly initialJsGzipBytes: number;
  readonly budgetGzipBytes: number;
  readonly chunks: Readonly<Record<string, { bytes: number; gzipBytes: number; initial: boolean }>>;
}

test("the page's assets exist under hashed names, and the first load's JavaScript is within 250 KB gzip", () => {
  const html = readFileSync(join(OUT, "index.html"), "utf8");
  const refs = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]);
  assert.ok(refs.some((r) => r.endsWith(".js")) && refs.some((r) => r.endsWith(".css")), html);
  for (const r of refs) {
    assert.match(r, /^[a-z-]+-[A-Z0-9]{8}\.(js|css)$/);
    assert.ok(existsSync(join(OUT, "assets", r)), r);
  }
  assert.doesNotMatch(html, /<script>|<style>|style=/, "nothing inline: the CSP allows none");

  const report = JSON.parse(readFileSync(join(OUT, "build-report.json"), "utf8")) as Report;
  assert.equal(report.budgetGzipBytes, BUDGET);
  assert.ok(report.initialJsGzipBytes > 0 && report.initialJsGzipBytes <= BUDGET, String(report.initialJsGzipBytes));
  const lazy = Object.entries(report.chunks)
    .filter(([, c]) => !c.initial)
    .map(([name]) => name);
  assert.ok(
    lazy.some((n) => n.startsWith("editor-")),
    `the editor is a chunk of its own: ${lazy}`,
  );
  assert.ok(
    lazy.some((n) => n.startsWith("world-land-")),
    `the land outlines are a chunk of their own: ${lazy}`,
  );
});
