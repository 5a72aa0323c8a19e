// The metrics node (`contrail serve`): the control database, the TSDB tenants, the scraper and the HTTP API
// (Prometheus API per org, remote write, control routes, the web console). The scraper scrapes every app's `[metrics]` endpoints
// (targets from the control database) and the `/metrics` of every live edge and agent (found through their
// heartbeats), routing each of those samples to the org that owns its `app`. It talks to no other process to do
// its job: the edges and agents only meet it in the control database and through the scrapes.
//
// It also evaluates every org's recording and alerting rules (serve-rules.ts): their queries run on the API's query
// pool, never on the event loop that accepts writes, and the ruler API under `/prometheus/<org>/config/v1/rules`
// manages them. Their alerts go to the notifiers (the Alertmanagers of `--alertmanager`, the org's receivers).
//
// Several nodes may run on one control database over a store they share (a remote one): `roles` picks what each
// runs (the API, the scraper with its shard, the rules), and the rules are evaluated by one node at a time, the
// holder of the `rules` lease (lease.ts); the others stand by and take over when it stops. A node over the embedded
// store owns it: no second node may open that data directory.
//
// With `--storage victoriametrics|vmcluster|mimir`, the store is the remote backend's: every sample goes out by
// remote write through a disk queue per org (storage/remote/backend-store.ts), kept in a directory of this node's
// own (node-dir.ts), VictoriaMetrics cluster accountIDs come from the control database, and `/metrics` carries the
// queues' and senders' counters. The API's reads and the rules' queries go to the backend, confined to each org.
//
// Start order: control database (refusing a data directory another live metrics node serves), store, query pool,
// rules (not yet running), API, notifiers, scraper, rule groups loaded, the lease (evaluation while it is held),
// heartbeats. Stop order: stop accepting (API requests in flight finish), release the lease and stop the rules
// (rounds in flight finish), stop scraping, stop notifying, heartbeat rows, the query pool, then close the tenant
// databases (WAL flushed; a shared store is its owner's to close) or the remote-write queues (senders stopped,
// segments fsynced) and the control database.

import { checkAccess } from "../api/auth.ts";
import { ReadBackend } from "../api/backend-read/read-backend.ts";
import { registerConsoleAssets } from "../api/console-assets.ts";
import { registerConsoleRoutes } from "../api/console-routes.ts";
import { registerControlRoutes } from "../api/control-routes.ts";
import { registerOtlp } from "../api/otlp.ts";
import { QueryPool } from "../api/query-pool/pool.ts";
import { registerReceiverRoutes } from "../api/receiver-routes.ts";
import { type RemoteWriteDeps, type RemoteWriteRoute, registerRemoteWrite } from "../api/remote-write.ts";
import { registerRulerRoutes } from "../api/ruler-routes.ts";
import { API_ENGINE_OPTIONS, createApiServer } from "../api/server.ts";
import { checkSession, OrgLimitsCache, openControlDb, TokenCache, vmAccountId } from "../control/index.ts";
import type { MetricFamily, MetricMetadata } from "../exposition/index.ts";
import { Labels } from "../model/labels.ts";
import type { Notifiers } from "../rules/notify/notifiers.ts";
import type { AlertSink } from "../rules/types.ts";
import { holdHeapHeadroom } from "../runtime/heap-headroom.ts";
import { tierUpSooner } from "../runtime/tier-up.ts";
import { ScrapeManager, type ShardSpec } from "../scrape/index.ts";
import type { TenantStore } from "../storage/interface.ts";
import type { StorageSpec } from "../storage/remote/backend-spec.ts";
import { BackendTenantStore, type SenderSettings } from "../storage/remote/backend-store.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import {
  NODE_ROLE_PREFIX,
  nodeRole,
  pruneDeadHeartbeats,
  RoleHeartbeat,
  RULES_ROLE,
  refuseSecond,
  SERVE_ROLE,
} from "./heartbeat.ts";
import { RoleLease } from "./lease.ts";
import { lockNodeDir, type NodeDir, nodeDirName } from "./node-dir.ts";
import { notifiersFor } from "./notifiers.ts";
import { ALL_SERVE_ROLES, parseListenAddress, type ServeRole } from "./options.ts";
import { forwardRuleListings } from "./rules-forward.ts";
import { type RuleSettings, ServeRules } from "./serve-rules.ts";
import { controlTargetSource, heartbeatTargetSource, orgOfAppIn, scrapeShardsIn } from "./targets.ts";

/** Options of {@link startServe}. */
export interface ServeOptions {
  /** The data directory (control.db, tenants/). */
  readonly dataDir: string;
  /** `HOST:PORT` of the HTTP API (port 0: a free one); unused without the `api` role. */
  readonly api: string;
  /** What this node runs (`--roles`); default all: the API, the scraper and the rules. */
  readonly roles?: ReadonlySet<ServeRole>;
  /**
   * A store shared with other nodes, owned by the caller and outliving this node; several nodes may then serve one
   * control database. Default: the embedded store of `dataDir`, owned by this node alone.
   */
  readonly store?: EmbeddedTenantStore;
  /** Time between two scrapes of every target, ms. */
  readonly scrapeIntervalMs: number;
  /** This process's share of the app targets; shard 0 also scrapes the edges and agents. */
  readonly shard?: ShardSpec;
  /** How often the control database is checked for changed targets, ms (default 1000). */
  readonly pollIntervalMs?: number;
  /** Base URLs of the Alertmanagers alerts are sent to (checked: options.ts's `parseAlertmanagerUrls`); default none. */
  readonly alertmanagers?: readonly string[];
  /** Settings of the rule evaluator (tests shorten the intervals). */
  readonly rules?: RuleSettings;
  /** Labels added to every alert sent out unless it has its own (options.ts's `parseExternalLabels`); default none. */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /**
   * Where samples are kept: the embedded TSDB (the default) or a remote backend, written through a disk queue per
   * org under `<dataDir>/remote-queue/` (storage/remote/backend-store.ts).
   */
  readonly storage?: StorageSpec;
  /** Remote storage: bound of each org's queue, bytes; default queue.ts's DEFAULT_QUEUE_MAX_BYTES. */
  readonly storageQueueMaxBytes?: number;
  /** Remote storage: the senders' batching and backoff (tests shorten them); defaults in queue/sender.ts. */
  readonly remoteSender?: SenderSettings;
  /** Receives warnings and errors. */
  readonly warn: (line: string) => void;
}

/** A running metrics node. */
export interface Serve {
  /** Base URL of the API, e.g. `http://127.0.0.1:9300`; empty without the `api` role. */
  readonly apiUrl: string;
  /** True while this node evaluates the rules (it holds the `rules` lease). */
  readonly evaluatesRules: () => boolean;
  /** Where the rule manager hands each org's alerts: the Alertmanagers and the org's receivers. */
  readonly alertSink: AlertSink;
  /** Stops in order; resolves when the databases are closed. Idempotent. */
  stop(): Promise<void>;
}

const EMBEDDED: StorageSpec = { kind: "embedded" };

/** Default time between two checks of the control database for changed targets, ms. */
const TARGET_POLL_MS = 1_000;
/** The scraper rereads its targets at least this often, and at most once a second, ms. */
const MAX_REFRESH_MS = 10_000;

/**
 * `contrail_series_limited_total`: new series refused by their org's series limit, over all orgs (the public
 * `/metrics` names no org; an org sees its refusals in its remote-write answers, targets and rules).
 */
function seriesLimitedFamily(store: EmbeddedTenantStore): MetricFamily {
  let total = 0;
  for (const n of store.seriesLimited().values()) total += n;
  return {
    name: "contrail_series_limited_total",
    type: "counter",
    help: "New series refused because their org had reached its max_active_series (remote write, scrapes, rules).",
    samples: [{ labels: Labels.EMPTY, value: total }],
  };
}

/** Merges metadata lists of several sources, keeping each distinct (type, help, unit) once, names sorted. */
function mergeMetadata(
  scraped: ReadonlyMap<string, readonly MetricMetadata[]>,
  written: readonly [string, MetricMetadata][],
): Map<string, MetricMetadata[]> {
  const out = new Map<string, MetricMetadata[]>();
  for (const [name, list] of scraped) out.set(name, [...list]);
  for (const [name, md] of written) {
    const list = out.get(name) ?? [];
    if (!list.some((m) => m.type === md.type && m.help === md.help && m.unit === md.unit)) list.push(md);
    out.set(name, list);
  }
  return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/** Starts the metrics node; rejects (with everything started so far stopped again) when it cannot start. */
export async function startServe(options: ServeOptions): Promise<Serve> {
  const address = parseListenAddress(options.api);
  // Code run once per request reaches V8's optimizing compiler in hundreds of requests, not thousands.
  tierUpSooner();
  const control = openControlDb({ dataDir: options.dataDir });
  // A small heap gets room to grow before a full GC (runtime/heap-headroom.ts): queries allocate steadily.
  const cleanups: (() => Promise<void> | void)[] = [() => control.close(), holdHeapHeadroom()];
  const unwind = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        options.warn(`shutdown: ${(err as Error).message}`);
      }
    }
    cleanups.length = 0;
  };
  const roles = options.roles ?? ALL_SERVE_ROLES;
  const storage = options.storage ?? EMBEDDED;
  // A node over the embedded store owns it alone, unless the caller shares one; remote storage is shared by design,
  // and each node keeps its own queues.
  const ownsStore = storage.kind === "embedded" && options.store === undefined;
  try {
    if (ownsStore) refuseSecond(control, SERVE_ROLE, "contrail serve");
    // Each org's limits: the defaults with its overrides, reread whenever any process changes one.
    const orgLimits = new OrgLimitsCache(control);
    const limitsFor = (org: string) => orgLimits.limitsOf(org);
    // Scrapes, platform metrics, remote write received and rule results all go to `store`: the embedded TSDB (this
    // node's own, or one shared by the caller), or the remote backend's queues (whose series limit is the backend's,
    // so the embedded one's counter is absent).
    const embedded =
      storage.kind !== "embedded"
        ? null
        : (options.store ??
          new EmbeddedTenantStore({
            dataDir: options.dataDir,
            maxActiveSeries: (org) => limitsFor(org).maxActiveSeries,
          }));
    let remote: BackendTenantStore | null = null;
    let nodeDir: NodeDir | null = null;
    if (storage.kind !== "embedded") {
      nodeDir = lockNodeDir(options.dataDir, nodeDirName(roles, options.shard, options.api));
      cleanups.push(() => nodeDir?.release());
      remote = new BackendTenantStore({
        spec: storage,
        dataDir: nodeDir.path,
        accountIdFor: (org) => vmAccountId(control, org),
        queueMaxBytes: options.storageQueueMaxBytes,
        sender: options.remoteSender,
        warn: options.warn,
      });
    }
    const store: TenantStore = embedded ?? (remote as BackendTenantStore);
    const closeStore = async () => {
      if (ownsStore) embedded?.close();
      await remote?.close();
      nodeDir?.release();
    };
    cleanups.push(closeStore);

    const scraper = !roles.has("scrape")
      ? null
      : new ScrapeManager({
          store,
          source: controlTargetSource(control),
          scrape: { intervalMs: options.scrapeIntervalMs },
          refreshIntervalMs: Math.max(1000, Math.min(MAX_REFRESH_MS, options.scrapeIntervalMs)),
          shard: options.shard,
          peers: scrapeShardsIn(control),
          platform: heartbeatTargetSource(control),
          orgOfApp: orgOfAppIn(control),
          onSourceError: (err) => options.warn(`scrape targets: ${err.message}`),
        });
    cleanups.push(() => scraper?.stop());

    const metadata = new MetadataStore();
    // Every API request checks its token: from memory, dropped whenever any process changes a token.
    const tokens = new TokenCache(control);
    const auth = (token: string) => tokens.authenticate(token);
    // The web console's sessions: one indexed read per request, so a sign-out anywhere counts at once.
    const session = (secret: string) => checkSession(control, secret);
    // Made once the API's URL is known (their notifications link to it); `/metrics` asks for their counters.
    let notifiers: Notifiers | null = null;
    // Registered once the API exists; `/metrics` asks it for its ingest decode pool's figures.
    let writeRoute: RemoteWriteRoute | null = null;
    // One pool of query workers for the API's queries and the rules' queries, each org in its fair queue; a node
    // that only scrapes needs neither. Remote storage: the API's reads and the rules' queries go to the backend,
    // confined to each org, and the pool evaluates nothing (one worker keeps its `/metrics` families).
    const backend =
      storage.kind === "embedded"
        ? undefined
        : new ReadBackend({ spec: storage, accountIdOf: (org) => vmAccountId(control, org) });
    const pool =
      roles.has("api") || roles.has("rules")
        ? new QueryPool({ engine: API_ENGINE_OPTIONS, workers: backend === undefined ? undefined : 1 })
        : null;
    if (pool !== null) cleanups.push(() => pool.close());
    // The groups are loaded on every node with a pool (the API lists them); only the lease holder evaluates them.
    const rules =
      pool === null
        ? null
        : new ServeRules({
            control,
            store,
            pool,
            backend,
            limitsFor,
            // The notifiers exist before the first evaluation (evaluation starts after them).
            alertSink: (org, alerts) => notifiers?.sink(org, alerts),
            // Templates see the external labels as `$externalLabels`; the notifiers add them to what they send.
            settings: { externalLabels: options.externalLabels, ...options.rules },
            warn: options.warn,
          });
    if (rules !== null) cleanups.push(() => rules.stop());
    let apiUrl: string | null = null;
    // Whether this node evaluates the rules: the lease's answer once it exists.
    let evaluating: () => boolean = () => false;
    let closeApi: () => Promise<void> = async () => undefined;
    if (roles.has("api") && pool !== null && rules !== null) {
      const { app } = createApiServer({
        store,
        backend,
        queryPool: pool,
        rules: rules.manager,
        authenticate: auth,
        session,
        limitsFor,
        extraMetrics: () => [
          ...(embedded === null ? [] : [seriesLimitedFamily(embedded)]),
          ...(remote?.families() ?? []),
          ...(notifiers?.families() ?? []),
          ...(writeRoute?.families() ?? []),
        ],
        status: {
          targetsFor: (org) => scraper?.targetsFor(org) ?? [],
          metadataFor: (org) => mergeMetadata(scraper?.metadataFor(org) ?? new Map(), metadata.list(org)),
        },
        onInternalError: (err, request) => {
          // The URL is logged without its query string: queries may name what an org monitors.
          options.warn(
            `internal error on ${request.method} ${request.url.split("?")[0]}: ${(err as Error)?.stack ?? err}`,
          );
        },
      });
      const writeDeps: RemoteWriteDeps = {
        authorize: (request, org, scope) => checkAccess(auth, { header: request.headers.authorization, org, scope }),
        tenants: store,
        metadata,
        limitsFor,
      };
      writeRoute = await registerRemoteWrite(app, writeDeps);
      await registerOtlp(app, writeDeps);
      await registerRulerRoutes(app, {
        control,
        authenticate: auth,
        session,
        limitsFor,
        checkGroup: (org, namespace, group) => rules.manager.checkLimits(org, [{ namespace, groups: [group] }]),
        onChange: (org) => rules.syncOrg(org),
      });
      registerControlRoutes(app, { control, authenticate: auth, session });
      registerReceiverRoutes(app, { control, authenticate: auth, session });
      registerConsoleRoutes(app, { control, authenticate: auth });
      registerConsoleAssets(app);
      // A node that does not evaluate the rules lists them, with their state and alerts, from the one that does.
      forwardRuleListings(app, { control, evaluates: () => evaluating(), self: () => apiUrl, warn: options.warn });
      await app.listen({ host: address.host, port: address.port });
      closeApi = () => app.close();
      cleanups.push(closeApi);
      const bound = app.server.address();
      const host = address.host.includes(":") ? `[${address.host}]` : address.host;
      apiUrl = `http://${host}:${bound !== null && typeof bound === "object" ? bound.port : address.port}`;
    }
    // Alerts link back to the console of the node that sent them (`/graph` opens the expression in the explorer),
    // unless the rule settings name the address users reach (a load balancer's).
    const externalUrl = options.rules?.externalUrl ?? apiUrl ?? "";
    if (options.rules?.externalUrl === undefined) rules?.manager.setExternalUrl(externalUrl);
    const notify = notifiersFor(control, {
      alertmanagers: options.alertmanagers ?? [],
      externalUrl,
      externalLabels: options.externalLabels,
      warn: options.warn,
    });
    notifiers = notify;
    cleanups.push(() => notify.stop());

    await scraper?.start();
    await rules?.load();
    // Exactly one node evaluates: the first to claim the lease; the others take over when it stops or dies.
    const lease =
      rules === null || !roles.has("rules")
        ? null
        : new RoleLease({
            db: control,
            role: RULES_ROLE,
            info: { api: apiUrl },
            onAcquire: () => rules.start(),
            onRelease: () => rules.stop(),
            warn: options.warn,
          });
    evaluating = () => lease?.held ?? false;
    await lease?.start();
    cleanups.push(() => lease?.stop());
    // New instances and processes become targets at once, not at the next periodic refresh; rule groups changed by
    // another process (`contrail rules sync`) reach the evaluator the same way.
    let version = control.dataVersion();
    const poll = setInterval(() => {
      try {
        const v = control.dataVersion();
        if (v === version) return;
        version = v;
        void scraper?.refresh();
        void rules?.poll();
      } catch (err) {
        options.warn(`scrape targets: ${(err as Error).message}`);
      }
    }, options.pollIntervalMs ?? TARGET_POLL_MS);
    cleanups.push(() => clearInterval(poll));
    // The embedded store's owner holds the data directory's `serve` row; every node has a row of its own, which
    // the scrapers read for each other's shards.
    const beats: RoleHeartbeat[] = [];
    if (ownsStore) beats.push(new RoleHeartbeat({ db: control, role: SERVE_ROLE, warn: options.warn }));
    beats.push(new RoleHeartbeat({ db: control, role: nodeRole(), warn: options.warn }));
    pruneDeadHeartbeats(control, NODE_ROLE_PREFIX);
    const shard = options.shard === undefined ? {} : { shard: `${options.shard.index}/${options.shard.count}` };
    for (const b of beats) b.start({ api: apiUrl, roles: [...roles], ...shard });
    cleanups.push(() => {
      for (const b of beats) b.stop();
    });

    let stopping: Promise<void> | null = null;
    return {
      apiUrl: apiUrl ?? "",
      alertSink: notify.sink,
      evaluatesRules: () => evaluating(),
      stop: () => {
        stopping ??= (async () => {
          // Stop accepting first; queries in flight finish. Then the rules and the scrapes, then the databases.
          clearInterval(poll);
          await closeApi();
          await lease?.stop();
          await rules?.stop();
          await scraper?.stop();
          await notify.stop();
          for (const b of beats) b.stop();
          await pool?.close();
          cleanups.length = 0;
          try {
            // Remote storage: the senders stop and each queue's segment is fsynced, so no committed sample is lost.
            await closeStore();
          } finally {
            control.close();
          }
        })();
        return stopping;
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
