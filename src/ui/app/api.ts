// The console's one way to call the server: JSON over fetch, same origin, the session cookie sent by the browser.
// Every answer is typed; an error answer (Prometheus's envelope) becomes an ApiError, and a 401 also tells the app
// that the session is gone, so any page leads back to sign-in.

/** An error answer: the HTTP status, Prometheus's `errorType` and the server's message. */
export class ApiError extends Error {
  readonly status: number;
  readonly errorType: string;
  constructor(status: number, errorType: string, message: string) {
    super(message);
    this.status = status;
    this.errorType = errorType;
  }
}

/** The session route (sign-in, who am I, sign-out). */
export const SESSION_PATH = "/console/v1/session";

/** Fired on `window` when an answer says the session is not valid (401). */
export const SIGNED_OUT_EVENT = "contrail:signed-out";

/** Calls `path` and returns its JSON body; throws ApiError for an error status or a network failure. */
export async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { credentials: "same-origin", ...init });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "unavailable", "the server cannot be reached; is contrail up still running?");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = (body ?? {}) as { errorType?: string; error?: string };
    // A refused sign-in is the sign-in page's own answer, not the end of a session.
    if (res.status === 401 && !path.startsWith(SESSION_PATH)) window.dispatchEvent(new Event(SIGNED_OUT_EVENT));
    throw new ApiError(res.status, e.errorType ?? "unknown", e.error ?? `HTTP ${res.status}`);
  }
  return body as T;
}

/** A JSON request with a body (POST, DELETE). */
export function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  return call<T>(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Label set of a series. */
export type Metric = Readonly<Record<string, string>>;

/** A query's data, discriminated on `resultType` as Prometheus answers it; values are strings as on the wire. */
export type QueryData =
  | { readonly resultType: "matrix"; readonly result: readonly { metric: Metric; values: [number, string][] }[] }
  | { readonly resultType: "vector"; readonly result: readonly { metric: Metric; value: [number, string] }[] }
  | { readonly resultType: "scalar"; readonly result: [number, string] }
  | { readonly resultType: "string"; readonly result: [number, string] };

interface Success<T> {
  readonly status: "success";
  readonly data: T;
  readonly warnings?: readonly string[];
}

/** The URL of an endpoint of `org`'s Prometheus API, e.g. `api/v1/query`. */
export function promUrl(org: string, endpoint: string, params: Record<string, string | string[]> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
  const s = q.toString();
  return `/prometheus/${encodeURIComponent(org)}/${endpoint}${s === "" ? "" : `?${s}`}`;
}

/** A range or instant query's grid: times in seconds since the epoch, step in seconds. */
export interface Grid {
  readonly start: number;
  readonly end: number;
  readonly step: number;
}

/** Runs a range query over `grid`. */
export async function queryRange(org: string, query: string, grid: Grid, signal?: AbortSignal): Promise<QueryData> {
  const params = { query, start: String(grid.start), end: String(grid.end), step: String(grid.step) };
  return (await call<Success<QueryData>>(promUrl(org, "api/v1/query_range", params), { signal })).data;
}

/** Runs an instant query at `time` (seconds), or now. */
export async function queryInstant(
  org: string,
  query: string,
  time?: number,
  signal?: AbortSignal,
): Promise<QueryData> {
  const params: Record<string, string> = { query };
  if (time !== undefined) params.time = String(time);
  return (await call<Success<QueryData>>(promUrl(org, "api/v1/query", params), { signal })).data;
}

/** Any GET endpoint of the org's Prometheus API; returns its `data`. */
export async function promGet<T>(
  org: string,
  endpoint: string,
  params: Record<string, string | string[]> = {},
  signal?: AbortSignal,
): Promise<T> {
  return (await call<Success<T>>(promUrl(org, endpoint, params), { signal })).data;
}

/** A POST form to the org's Prometheus API (long queries); returns its `data`. */
export async function promPost<T>(org: string, endpoint: string, form: Record<string, string>, signal?: AbortSignal) {
  return (
    await call<Success<T>>(promUrl(org, endpoint), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
      signal,
    })
  ).data;
}

/** An instance as the control API lists it; times in ms since the epoch. */
export interface Instance {
  readonly id: string;
  readonly app: string;
  readonly kind: "local" | "external";
  readonly region: string;
  readonly host: string;
  readonly processGroup: string;
  readonly state: string;
  readonly health: "starting" | "healthy" | "unhealthy" | null;
  readonly restarts: number;
  readonly startedAt: number | null;
}

/** An app of the org with its deployment and instances. */
export interface AppInfo {
  readonly name: string;
  readonly primaryRegion: string | null;
  readonly customMetrics: boolean;
  readonly deployment: { version: number; appliedVersion: number; error: string | null } | null;
  readonly instances: readonly Instance[];
}

/** The org's apps. */
export async function listApps(org: string, signal?: AbortSignal): Promise<readonly AppInfo[]> {
  return (await call<{ apps: AppInfo[] }>(`/control/v1/orgs/${encodeURIComponent(org)}/apps`, { signal })).apps;
}

/** A token as listed (never its secret); times in ms since the epoch. */
export interface TokenInfo {
  readonly id: string;
  readonly scopes: readonly string[];
  readonly note: string | null;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

/** A region of `/meta/regions.json`; degrees. */
export interface Region {
  readonly code: string;
  readonly name: string;
  readonly latitude: number;
  readonly longitude: number;
}

let regions: Promise<readonly Region[]> | null = null;

/** The platform's regions, fetched once. */
export function loadRegions(): Promise<readonly Region[]> {
  regions ??= call<Region[]>("/meta/regions.json").catch((err) => {
    regions = null;
    throw err;
  });
  return regions;
}
