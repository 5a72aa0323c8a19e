// The web console in a real browser: `contrail up --demo` runs as its own process (free ports, 1 s scrapes), and
// headless Chromium opens the printed one-time link, which lands on the demo app's dashboard with its panels
// reaching `ok`; then an explorer query, a token created and revoked on the status page, rules synced from the
// command line shown with their firing alert on the status page, sign-out, and the used link refused. Screenshots at 1440×900 and 390×844 (and one in the dark theme) go to test-artifacts/console/
// (git-ignored). Any page error or console error fails the test that saw it. The time from navigation to a
// dashboard with every panel `ok` is printed as a figure (not asserted: tests do not judge speed).

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { chromiumSkip, type LaunchedBrowser, launchChromium } from "../testkit/chromium.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "bin", "contrail.js");
/** Where the screenshots are kept for people to look at. */
const ARTIFACTS = join(ROOT, "test-artifacts", "console");
const DEMO_APP = "node-express-demo";
/** Budget from the spawn until `up --demo` prints its console link, ms. */
const START_TIMEOUT_MS = 90_000;
/** Budget for the dashboard's panels to show data, from the first open of the link, ms. */
const DATA_TIMEOUT_MS = 60_000;
/** Panels of the dashboard that must show data (the app's own metrics come on top). */
const MIN_OK_PANELS = 6;
/** The one console message a refused link may cause: the browser reporting the 401 of the refused exchange. */
const REFUSED_EXCHANGE = /^Failed to load resource: the server responded with a status of 401/;
/** How often the page's panels are looked at while waiting, ms. */
const POLL_MS = 50;

const skip = chromiumSkip();
let dir: string;
let child: ChildProcess | null = null;
let link = "";
let origin = "";
let browser: LaunchedBrowser | null = null;

/** Starts `contrail up --demo` and resolves to its printed console link. */
function startDemo(): Promise<string> {
  const edges = ["ord", "ams", "syd"].flatMap((r) => ["--edge", `${r}=127.0.0.1:0`]);
  const args = [
    "up",
    "--demo",
    "--data",
    join(dir, "data"),
    "--api",
    "127.0.0.1:0",
    ...edges,
    "--scrape-interval",
    "1s",
  ];
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  child = proc;
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no console link within ${START_TIMEOUT_MS} ms:\n${out}`)),
      START_TIMEOUT_MS,
    );
    proc.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /^Console {2}(http:\/\/\S+)$/m.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.stderr!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.once("exit", (code) => reject(new Error(`contrail up exited with ${code}:\n${out}`)));
  });
}

/** A page whose page errors and console errors are collected; `allowed` messages are not counted. */
async function watchedPage(allowed?: RegExp): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !(allowed?.test(m.text()) ?? false)) errors.push(`console error: ${m.text()}`);
  });
  return { page, errors };
}

/** The `data-state` of every panel on the page, by title. */
function panelStates(page: Page): Promise<Record<string, string>> {
  return page.$$eval("[data-panel]", (els) =>
    Object.fromEntries(els.map((e) => [e.getAttribute("data-panel") ?? "", e.getAttribute("data-state") ?? ""])),
  );
}

/** Waits until no panel is loading; resolves to the states. (Polled from here: the page's CSP forbids eval.) */
async function settled(page: Page, timeoutMs = 15_000): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await panelStates(page);
    const values = Object.values(states);
    if (values.length > 0 && !values.includes("loading")) return states;
    if (Date.now() > deadline) assert.fail(`panels still loading after ${timeoutMs} ms: ${JSON.stringify(states)}`);
    await page.waitForTimeout(POLL_MS);
  }
}

const okCount = (states: Record<string, string>) => Object.values(states).filter((s) => s === "ok").length;

before(async () => {
  if (skip !== false) return;
  dir = mkdtempSync(join(tmpdir(), "contrail-console-"));
  mkdirSync(ARTIFACTS, { recursive: true });
  link = await startDemo();
  origin = new URL(link).origin;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (child !== null && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGINT");
    await exited;
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("the web console in Chromium", { skip }, () => {
  test("the printed link signs in and opens the demo app's dashboard, whose panels show data", async () => {
    assert.match(link, new RegExp(`^http://127\\.0\\.0\\.1:\\d+/apps/${DEMO_APP}#link=cl_[A-Za-z0-9_-]{43}$`));
    const { page, errors } = await watchedPage();
    await page.goto(link);
    await page.waitForSelector("[data-panel]");
    assert.equal(new URL(page.url()).pathname, `/apps/${DEMO_APP}`);
    assert.equal(new URL(page.url()).hash, "", "the link's secret is dropped from the address");
    const cookies = await browser!.context.cookies(origin);
    assert.equal(cookies.length, 1);
    assert.deepEqual([cookies[0].httpOnly, cookies[0].sameSite], [true, "Strict"]);

    // Fresh data: reload (the session stays) until the built-in panels have some.
    const deadline = Date.now() + DATA_TIMEOUT_MS;
    let states = await settled(page);
    while (okCount(states) < MIN_OK_PANELS || Object.values(states).includes("empty")) {
      if (Date.now() > deadline)
        assert.fail(`panels without data after ${DATA_TIMEOUT_MS} ms: ${JSON.stringify(states)}`);
      await page.waitForTimeout(2000);
      await page.reload();
      states = await settled(page);
    }
    for (const title of ["Responses per second by status", "Response times", "Requests by region", "Concurrency"]) {
      assert.equal(states[title], "ok", title);
    }
    assert.ok(states["events_by_type per second"] === "ok", "the app's own metric has a chart with data");

    // The figure: from navigation to every panel `ok`, on loopback.
    const t0 = Date.now();
    await page.goto(`${origin}/apps/${DEMO_APP}?range=15m`);
    await settled(page);
    console.log(`# dashboard painted with data ${Date.now() - t0} ms after navigation (${okCount(states)} panels)`);

    await page.screenshot({ path: join(ARTIFACTS, "dashboard-1440x900.png") });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-390x844.png") });
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.emulateMedia({ colorScheme: "dark" });
    await settled(page);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-dark-1440x900.png") });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the apps overview and the explorer show data; the explorer's URL holds the query", async () => {
    const { page, errors } = await watchedPage();
    await page.goto(`${origin}/`);
    assert.deepEqual(await settled(page), { Apps: "ok" });
    await page.getByRole("link", { name: DEMO_APP }).waitFor();

    const query = "sum by (region) (fly_app_concurrency)";
    await page.goto(`${origin}/explore?query=${encodeURIComponent(query)}`);
    assert.deepEqual(await settled(page), { Graph: "ok" });
    await page.waitForSelector(".cm-editor");
    assert.equal(await page.locator(".cm-content").textContent(), query);
    await page.getByRole("tab", { name: "Table" }).click();
    await page.waitForSelector('[data-panel="Table"][data-state="ok"]');
    assert.equal(new URL(page.url()).searchParams.get("tab"), "table");
    assert.equal(await page.locator('[data-panel="Table"] tbody tr').count(), 3, "one row per region");

    // Typing a query and pressing Enter runs it and puts it in the URL.
    await page.locator(".cm-content").click();
    await page.keyboard.press("Control+a");
    await page.keyboard.type("count(fly_app_concurrency)");
    await page.keyboard.press("Escape");
    await page.keyboard.press("Enter");
    await page.waitForURL((url) => url.searchParams.get("query") === "count(fly_app_concurrency)");
    await page.waitForSelector('[data-panel="Table"][data-state="ok"]');

    // Completion offers metric names from the org's own API; "Format" rewrites the query as the server prints it.
    await page.locator(".cm-content").click();
    await page.keyboard.press("Control+a");
    await page.keyboard.type("fly_app_concurr");
    await page.waitForSelector(".cm-tooltip-autocomplete >> text=fly_app_concurrency");
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+a");
    await page.keyboard.type("sum(rate(fly_app_tcp_connects_count[5m]))by(region");
    await page.getByRole("button", { name: "Format" }).click();
    await page.locator(".cm-content", { hasText: "sum by (region) (" }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, "explore-1440x900.png") });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the status page shows targets and the TSDB; a token is created, shown once, works, and is revoked", async () => {
    const { page, errors } = await watchedPage();
    await page.goto(`${origin}/status`);
    const states = await settled(page);
    assert.equal(states["Scrape targets"], "ok");
    assert.equal(states["TSDB status"], "ok");
    await page.getByRole("button", { name: "Create read token" }).click();
    const secret = (await page.locator("[data-token-secret]").textContent()) ?? "";
    assert.match(secret, /^ct_[A-Za-z0-9_-]{43}$/);
    const labels = () =>
      fetch(`${origin}/prometheus/personal/api/v1/labels`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal((await labels()).status, 200, "the new token reads the org");
    await page.screenshot({ path: join(ARTIFACTS, "status-1440x900.png"), fullPage: true });

    const id = ((await page.locator("[data-new-token] strong").textContent()) ?? "").trim();
    await page.getByRole("button", { name: `revoke token ${id}` }).click();
    await page.waitForSelector(`tr[data-token-id="${id}"] >> text=revoked`);
    assert.equal((await labels()).status, 401, "the revoked token is refused");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(ARTIFACTS, "status-390x844.png") });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the status page lists the org's rules and its firing alert", async () => {
    // Rules written as `contrail rules sync` writes them, while the server runs: it picks them up by itself.
    const rules = join(dir, "console-rules.yml");
    writeFileSync(
      rules,
      "groups:\n  - name: console\n    interval: 10s\n    rules:\n" +
        "      - alert: ConsoleCheck\n        expr: vector(1)\n        annotations: { summary: shown in the console }\n" +
        "      - record: console:one\n        expr: vector(1)\n",
    );
    const sync = spawnSync(
      process.execPath,
      [BIN, "rules", "sync", "--org", "personal", "--data", join(dir, "data"), rules],
      { encoding: "utf8" },
    );
    assert.equal(sync.status, 0, sync.stderr);
    const { page, errors } = await watchedPage();
    const deadline = Date.now() + DATA_TIMEOUT_MS;
    for (;;) {
      await page.goto(`${origin}/status`);
      const states = await settled(page);
      if (states.Alerts === "ok" && states.Rules === "ok") break;
      if (Date.now() > deadline) assert.fail(`no firing alert after ${DATA_TIMEOUT_MS} ms: ${JSON.stringify(states)}`);
      await page.waitForTimeout(2000);
    }
    const alert = page.locator('[data-panel="Alerts"] tr[data-alert="ConsoleCheck"]');
    assert.match((await alert.textContent()) ?? "", /firing.*shown in the console/);
    assert.equal(await page.locator('[data-panel="Rules"] tr[data-rule]').count(), 2);
    await page.locator('[data-panel="Alerts"]').screenshot({ path: join(ARTIFACTS, "alerts-1440x900.png") });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("sign-out ends the session on the server; every page then leads to sign-in", async () => {
    const { page, errors } = await watchedPage();
    await page.goto(`${origin}/apps`);
    await settled(page);
    const [cookie] = await browser!.context.cookies(origin);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForSelector("text=Sign in to Contrail");
    const stale = await fetch(`${origin}/prometheus/personal/api/v1/labels`, {
      headers: { cookie: `${cookie.name}=${cookie.value}` },
    });
    assert.equal(stale.status, 401, "the old cookie no longer works");
    for (const path of ["/apps", `/apps/${DEMO_APP}`, "/explore?query=up", "/status"]) {
      await page.goto(`${origin}${path}`);
      await page.waitForSelector("text=Sign in to Contrail");
      assert.equal(await page.locator("[data-panel]").count(), 0, path);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the used link is refused, saying so", async () => {
    await browser!.context.clearCookies();
    const { page, errors } = await watchedPage(REFUSED_EXCHANGE);
    await page.goto(link);
    const message = (await page.locator("[data-sign-in-message]").textContent()) ?? "";
    assert.match(message, /already used/);
    assert.equal(await page.locator("[data-panel]").count(), 0);
    await page.screenshot({ path: join(ARTIFACTS, "sign-in-390x844.png") });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
