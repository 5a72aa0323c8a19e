#!/usr/bin/env node
// Entry point of the `contrail` command: runs the CLI compiled to dist/ (`npm run build`, which `npm install` runs),
// with source maps on so that stack traces name the TypeScript sources.
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("contrail: dist/ is not built; run `npm install` or `npm run build` in the repository first\n");
  process.exit(1);
}
process.setSourceMapsEnabled(true);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
