// Shared setup of the API tests: a control database with orgs and tokens in a temporary directory, tenant stores
// (in memory, or the embedded TSDB), and a server listening on 127.0.0.1:0. Used by `*.test.ts` files only.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { type ControlDb, createOrg, createToken, localUser, openControlDb, TokenCache } from "../control/index.ts";
import { Labels } from "../model/labels.ts";
import type { Appender, Querier, Queryable, TenantStore } from "../storage/interface.ts";
import { MemoryStore } from "../storage/memory.ts";
import { checkAccess } from "./auth.ts";
import { type RemoteWriteDeps, type RemoteWriteRoute, registerRemoteWrite } from "./remote-write.ts";
import { type ApiServerOptions, createApiServer } from "./server.ts";

/** A TenantStore keeping each org in its own MemoryStore. */
export class MemoryTenants implements TenantStore {
  private readonly stores = new Map<string, MemoryStore>();

  /** The MemoryStore of `org`, created on first use. */
  of(org: string): MemoryStore {
    let s = this.stores.get(org);
    if (s === undefined) {
      s = new MemoryStore();
      this.stores.set(org, s);
    }
    return s;
  }

  appender(org: string): Appender {
    return this.of(org).appender();
  }

  querier(org: string, mint: number, maxt: number): Querier {
    return this.of(org).querier(mint, maxt);
  }

  queryable(org: string): Queryable {
    return { querier: (mint, maxt) => this.querier(org, mint, maxt) };
  }
}

/** One sample to load: labels as a record (with `__name__`), time in ms, value. */
export interface TestSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly t: number;
  readonly v: number;
}

/** Appends `samples` to `org` in one committed batch. */
export function load(store: TenantStore, org: string, samples: readonly TestSample[]): void {
  const app = store.appender(org);
  for (const s of samples) app.append(Labels.fromRecord(s.labels), s.t, s.v);
  app.commit();
}

/** A temporary data directory with a control database; `cleanup()` closes and removes both. */
export interface TestControl {
  readonly dir: string;
  readonly db: ControlDb;
  /** Creates an org administered by the local user and returns a token for it with `scopes`. */
  org(slug: string, scopes?: readonly ("read" | "write")[]): string;
  /** A further token for an existing org. */
  token(slug: string, scopes?: readonly ("read" | "write")[]): string;
  cleanup(): void;
}

/** Opens a control database in a new temporary directory. */
export function testControl(): TestControl {
  const dir = mkdtempSync(join(tmpdir(), "contrail-api-"));
  const db = openControlDb({ dataDir: dir });
  const token = (slug: string, scopes: readonly ("read" | "write")[] = ["read"]) =>
    createToken(db, { org: slug, scopes }).token;
  return {
    dir,
    db,
    org(slug, scopes) {
      createOrg(db, { slug, admin: localUser(db)!.id });
      return token(slug, scopes);
    },
    token,
    cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A listening test server: its base URL (`http://127.0.0.1:PORT`) and a function to stop it. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Query workers of a test server unless the test asks for more: each worker costs a start-up under tsx. */
const TEST_QUERY_WORKERS = 2;

/**
 * Starts the API on 127.0.0.1:0 over `store`, authenticating against `control` through a token cache, as `contrail
 * up`; `setup` may add routes (e.g. remote write) before it listens.
 */
export async function startTestServer(
  control: TestControl,
  store: TenantStore,
  extra: Partial<ApiServerOptions> = {},
  setup?: (app: FastifyInstance) => Promise<unknown>,
): Promise<TestServer> {
  const tokens = new TokenCache(control.db);
  const { app } = createApiServer({
    store,
    authenticate: (t) => tokens.authenticate(t),
    queryWorkers: TEST_QUERY_WORKERS,
    ...extra,
  });
  await setup?.(app);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  return { url: `http://127.0.0.1:${address.port}`, port: address.port, close: () => app.close() };
}

/** A `setup` of {@link startTestServer} that adds the remote-write route, its tokens checked against `control`. */
export function withRemoteWrite(
  control: TestControl,
  deps: Omit<RemoteWriteDeps, "authorize">,
): (app: FastifyInstance) => Promise<RemoteWriteRoute> {
  const tokens = new TokenCache(control.db);
  const auth = (t: string) => tokens.authenticate(t);
  return (app) =>
    registerRemoteWrite(app, {
      authorize: (request, org, scope) => checkAccess(auth, { header: request.headers.authorization, org, scope }),
      ...deps,
    });
}

/** An answer of the API as tests read it: status, body text, and the body parsed as JSON (null when it is not). */
export interface Reply {
  readonly status: number;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  readonly json: any;
}

/**
 * Sends GET `path` (relative to `/prometheus/<org>`, its query string as written), or POST `body` as a form, with
 * `token` as Bearer (none when null); gives up after `timeoutMs`.
 */
export async function orgRequest(
  baseUrl: string,
  org: string,
  token: string | null,
  path: string,
  opts: { readonly body?: string; readonly timeoutMs?: number } = {},
): Promise<Reply> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  if (opts.body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
  const r = await fetch(`${baseUrl}/prometheus/${org}${path}`, {
    method: opts.body === undefined ? "GET" : "POST",
    headers,
    body: opts.body,
    signal: opts.timeoutMs === undefined ? undefined : AbortSignal.timeout(opts.timeoutMs),
  });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: r.status, text, json };
}
