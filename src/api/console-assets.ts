// The web console's files: the page (`index.html`, the same for every console URL, which the page's script
// routes) and its hashed assets under `/assets/`, built from src/ui/ by `npm run build` into dist/ui/. They are
// read and gzipped once at start and served from memory: the page with `no-cache` (it names the current assets),
// the assets as immutable for a year (a new build gives them new names). Every answer carries a
// Content-Security-Policy that allows scripts, styles and fetches from this server only, and no framing.
// The page holds no data: what it shows comes from the API, which checks the session cookie.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ContrailError } from "../model/errors.ts";
import { acceptsGzip } from "./respond.ts";

/** The console's URLs that answer with the page; the page's router knows them too (src/ui/routes.ts). */
export const CONSOLE_PAGES: readonly string[] = ["/", "/sign-in", "/apps", "/apps/:app", "/explore", "/status"];

/**
 * Content-Security-Policy of the console: scripts from this server only (no inline script, no eval), nothing
 * fetched from elsewhere, no framing. Inline styles are allowed: the PromQL editor sets style attributes as it
 * draws, and a style cannot run code.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
} as const;

/** One year in seconds: how long browsers may keep a hashed asset. */
const IMMUTABLE_MAX_AGE_S = 365 * 86_400;
/** Asset names the build writes: a name, a dash, a hash, an extension. Anything else is not looked up. */
const ASSET_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".map": "application/json",
  ".html": "text/html; charset=utf-8",
};

/** A file held in memory, plain and gzipped. */
interface HeldFile {
  readonly type: string;
  readonly plain: Buffer;
  readonly gzipped: Buffer;
}

function hold(path: string): HeldFile {
  const plain = readFileSync(path);
  return { type: CONTENT_TYPES[extname(path)] ?? "application/octet-stream", plain, gzipped: gzipSync(plain) };
}

/**
 * Where the built console is: `dist/ui/` beside the compiled API (`dist/api/`), and the same `dist/ui/` of the
 * repository when the API runs from its TypeScript sources.
 */
export function defaultConsoleDir(): string {
  const fromSources = import.meta.url.endsWith(".ts");
  return fileURLToPath(new URL(fromSources ? "../../dist/ui/" : "../ui/", import.meta.url));
}

function send(request: FastifyRequest, reply: FastifyReply, file: HeldFile, cache: string): FastifyReply {
  const gzip = acceptsGzip(request.headers["accept-encoding"]);
  reply.headers(SECURITY_HEADERS).header("content-type", file.type).header("cache-control", cache);
  reply.header("vary", "accept-encoding");
  if (gzip) reply.header("content-encoding", "gzip");
  return reply.send(gzip ? file.gzipped : file.plain);
}

/**
 * Adds the console's page and asset routes. `dir` holds `index.html` and `assets/`; when it has no page (the
 * console was not built), the page routes answer 503 saying how to build it, and the API works as before.
 */
export function registerConsoleAssets(app: FastifyInstance, dir: string = defaultConsoleDir()): void {
  const pagePath = join(dir, "index.html");
  const page = existsSync(pagePath) ? hold(pagePath) : null;
  const assets = new Map<string, HeldFile>();
  const assetDir = join(dir, "assets");
  if (page !== null && existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) {
      if (ASSET_NAME.test(name) && !name.endsWith(".map")) assets.set(name, hold(join(assetDir, name)));
    }
  }
  for (const url of CONSOLE_PAGES) {
    app.get(url, async (request, reply) => {
      if (page === null) {
        throw new ContrailError("unavailable", "the web console is not built: run npm run build, then start again");
      }
      return send(request, reply, page, "no-cache");
    });
  }
  // Prometheus's graph links (alerts' generatorURL, the templates' graphLink) open their expression in the explorer.
  app.get("/graph", async (request, reply) => {
    const expr = (request.query as Record<string, unknown>)["g0.expr"];
    const target = typeof expr === "string" && expr !== "" ? `/explore?query=${encodeURIComponent(expr)}` : "/explore";
    return reply.redirect(target, 302);
  });
  app.get("/assets/:name", async (request, reply) => {
    const { name } = request.params as { name: string };
    const file = assets.get(name);
    if (file === undefined) throw new ContrailError("not_found", `no console asset ${name.slice(0, 128)}`);
    return send(request, reply, file, `public, max-age=${IMMUTABLE_MAX_AGE_S}, immutable`);
  });
}
