// Test support: headless Chromium for the browser tests, Debian's `chromium` driven by playwright-core. Without the
// browser the suites are skipped with one line, except under CI (CI=true), where `.ci/run` installs it and a missing
// browser fails the run. Each launch gets a fresh profile directory, removed at close, and the flags that keep a
// browser on a machine without a network from reaching out (and logging its failures). Not imported by production
// code.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { isCi } from "./shared-data.ts";

/** Where Debian's package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Flags of every launch: headless, no sandbox (tests run as root), and no background connections. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * False when the browser is there; otherwise the one-line reason to give node:test's `skip` option. Under CI a
 * missing browser throws instead, so the suite fails rather than passing by not running.
 */
export function chromiumSkip(env: Readonly<Record<string, string | undefined>> = process.env): string | false {
  if (existsSync(CHROMIUM_PATH)) return false;
  const missing = `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)`;
  if (isCi(env)) throw new Error(`${missing}; under CI it is required`);
  return `${missing}; browser tests skipped (under CI=true this fails)`;
}

/** A launched browser's context (its one profile) and how to close it, which also removes the profile. */
export interface LaunchedBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile directory (`--user-data-dir`, which playwright sets from it). */
export async function launchChromium(opts: { readonly width?: number; readonly height?: number } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "contrail-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
    viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 },
  });
  const launched: LaunchedBrowser = {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
  return launched;
}
