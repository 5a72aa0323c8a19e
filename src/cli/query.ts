// `contrail query '<expr>'`: a terminal client of the Prometheus API of one org. An instant query prints an aligned
// table (or a scalar or string plainly); `--range` runs a range query ending now and prints one sparkline per
// series. Without a token (`--token` or CONTRAIL_TOKEN) it makes a short-lived read token in the control database
// of `--data`, so `contrail query 'up'` works on a default install, and deletes it when done. API and PromQL
// errors are printed with their message and exit code 1.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { CONTROL_DB_FILE, createToken, deleteToken, openControlDb } from "../control/index.ts";
import { ContrailError, isContrailError } from "../model/errors.ts";
import { parseDuration } from "../promql/parser/index.ts";
import { type QueryData, type RangeGrid, renderQueryData } from "./query-format.ts";

/** Lifetime of a token made for one query, in milliseconds; it is deleted as soon as the query ends. */
const TEMP_TOKEN_TTL_MS = 10 * 60_000;
/** Give up on the API after this long (the API's own query timeout is 2 min), in milliseconds. */
const REQUEST_TIMEOUT_MS = 150_000;

/** Options of {@link runQuery}, as the command line gives them. */
export interface QueryOptions {
  readonly org: string;
  /** A duration: a range query over this span ending at `time` (or now). */
  readonly range?: string;
  /** A duration: the step of a range query; defaults to 15 s, or more for long ranges (at most 240 points). */
  readonly step?: string;
  /** RFC 3339 or unix seconds: the evaluation time (instant) or end (range); defaults to now. */
  readonly time?: string;
  /** Base URL of the API, or HOST:PORT. */
  readonly api: string;
  readonly token?: string;
  /** Data directory whose control database mints a temporary token when none is given. */
  readonly data: string;
}

/** An API answer, discriminated on `status`. */
type ApiAnswer =
  | {
      readonly status: "success";
      readonly data: QueryData;
      readonly warnings?: readonly string[];
      readonly infos?: readonly string[];
    }
  | { readonly status: "error"; readonly errorType: string; readonly error: string };

/** A duration given as Prometheus writes it (`15m`, `1h30m`) or as seconds (`90`, `0.5`), in milliseconds > 0. */
export function parseCliDuration(flag: string, text: string): number {
  let ms: number;
  try {
    ms = /^\d+(\.\d+)?$/.test(text) ? Math.round(Number(text) * 1000) : parseDuration(text);
  } catch (err) {
    throw new ContrailError("bad_data", `${flag}: ${(err as Error).message}`, { cause: err });
  }
  if (!(ms > 0)) throw new ContrailError("bad_data", `${flag}: expected a positive duration such as 15m, got ${text}`);
  return ms;
}

/** A time as RFC 3339 or unix seconds, in milliseconds. */
function parseCliTime(text: string): number {
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (!Number.isFinite(ms))
    throw new ContrailError("bad_data", `--time: expected RFC 3339 or unix seconds, got ${text}`);
  return ms;
}

/** `http://HOST:PORT[/path]` without a trailing slash; `HOST:PORT` gets `http://`. */
export function apiBase(text: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ContrailError("bad_data", `--api: expected a URL or HOST:PORT, got ${text}`);
  }
  return url.href.replace(/\/+$/, "");
}

/** The request of one query: endpoint, form and (for a range) the grid of the answer. */
function buildRequest(expr: string, opts: QueryOptions): { path: string; form: URLSearchParams; grid?: RangeGrid } {
  const atMs = opts.time === undefined ? Date.now() : parseCliTime(opts.time);
  if (opts.range === undefined) {
    if (opts.step !== undefined) throw new ContrailError("bad_data", "--step needs --range");
    return { path: "query", form: new URLSearchParams({ query: expr, time: String(atMs / 1000) }) };
  }
  const rangeMs = parseCliDuration("--range", opts.range);
  const stepMs =
    opts.step === undefined
      ? Math.max(15_000, Math.ceil(rangeMs / 240 / 1000) * 1000)
      : parseCliDuration("--step", opts.step);
  // The end is aligned to the step, as Grafana does, so repeated runs see the same grid.
  const end = (Math.floor(atMs / stepMs) * stepMs) / 1000;
  const start = end - rangeMs / 1000;
  const grid = { start, end, step: stepMs / 1000 };
  const form = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(grid.step) });
  return { path: "query_range", form, grid };
}

/** A read token for `org` made in the control database of `dataDir`, and the function that deletes it again. */
function temporaryToken(dataDir: string, org: string): { token: string; revoke: () => void } {
  if (!existsSync(join(dataDir, CONTROL_DB_FILE))) {
    throw new ContrailError(
      "bad_data",
      `no token given and no control database in ${dataDir}: pass --token (or set CONTRAIL_TOKEN), or --data`,
    );
  }
  const db = openControlDb({ dataDir });
  try {
    const { token, info } = createToken(db, {
      org,
      scopes: ["read"],
      ttlMs: TEMP_TOKEN_TTL_MS,
      note: "contrail query (temporary)",
    });
    return {
      token,
      revoke: () => {
        const again = openControlDb({ dataDir });
        try {
          deleteToken(again, info.id);
        } finally {
          again.close();
        }
      },
    };
  } finally {
    db.close();
  }
}

/** Decodes an API answer; a body that is not the API's JSON envelope becomes an `unavailable` error. */
async function readAnswer(res: Response): Promise<ApiAnswer> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const snippet = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    throw new ContrailError("unavailable", `HTTP ${res.status}: ${snippet.trim() || res.statusText}`);
  }
  const status = (body as { status?: unknown } | null)?.status;
  if (status !== "success" && status !== "error") {
    throw new ContrailError("unavailable", `HTTP ${res.status}: not a Prometheus API answer`);
  }
  return body as ApiAnswer;
}

/** Runs one query and returns the lines to print; throws ContrailError for API, PromQL and usage errors. */
export async function runQuery(
  expr: string,
  opts: QueryOptions,
): Promise<{ lines: string[]; notes: string[]; failure?: string }> {
  const base = apiBase(opts.api);
  const request = buildRequest(expr, opts);
  const temp = opts.token === undefined ? temporaryToken(opts.data, opts.org) : null;
  const token = opts.token ?? temp!.token;
  try {
    const url = `${base}/prometheus/${encodeURIComponent(opts.org)}/api/v1/${request.path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/x-www-form-urlencoded" },
        body: request.form.toString(),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new ContrailError("unavailable", `cannot reach the API at ${base}: ${why}`, { cause: err });
    }
    const answer = await readAnswer(res);
    if (answer.status === "error") return { lines: [], notes: [], failure: `${answer.errorType}: ${answer.error}` };
    const notes = [
      ...(answer.warnings ?? []).map((w) => `warning: ${w}`),
      ...(answer.infos ?? []).map((i) => `info: ${i}`),
    ];
    return { lines: renderQueryData(answer.data, request.grid), notes };
  } finally {
    temp?.revoke();
  }
}

/** The action of `contrail query`: prints the answer; API, PromQL and usage errors become a message and exit code 1. */
export async function queryCommand(expr: string, opts: QueryOptions): Promise<void> {
  try {
    const { lines, notes, failure } = await runQuery(expr, opts);
    for (const n of notes) process.stderr.write(`${n}\n`);
    if (failure !== undefined) {
      process.stderr.write(`error: ${failure}\n`);
      process.exitCode = 1;
      return;
    }
    if (lines.length > 0) process.stdout.write(`${lines.join("\n")}\n`);
  } catch (err) {
    if (!isContrailError(err)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = 1;
  }
}
