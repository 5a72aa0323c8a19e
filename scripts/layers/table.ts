// The layer table of ARCHITECTURE.md ("Source layout"), once, as data: which folder is in which module, which
// modules each may import, and where the code departs from the shared table (with the reason). `check.ts` reads
// it in `npm test`. Adding a folder is one line: a new entry, or the folder added to its module's `folders`.

/** One module: files that share an import rule. Folders and files are repository-relative, without a trailing `/`. */
export interface ModuleRule {
  /** The name other rules and the messages use: the module's folder under `src/`, or a top folder's name. */
  readonly name: string;
  /** Its layer: 0 for `model`, higher for modules that build on lower ones. */
  readonly layer: number;
  /** What it holds, in a few words. */
  readonly holds: string;
  /** Folders whose own files (not their subfolders' files) belong to this module. */
  readonly folders: readonly string[];
  /** Single files that belong to this module rather than to their folder's. */
  readonly files?: readonly string[];
  /** What it may import besides itself: module names, or every module whose layer is at most `upToLayer`. */
  readonly imports: readonly string[] | { readonly upToLayer: number };
  /** Imports the shared table does not allow, module name → why the code departs from it. */
  readonly departures?: Readonly<Record<string, string>>;
  /** Files or folders of this module that support tests and benchmarks only: production code may not import them. */
  readonly testKits?: readonly string[];
  /** Every file of the module is test or benchmark support (it may import test kits of what it may import). */
  readonly testSide?: boolean;
  /** The module is test support for the tests of every module. */
  readonly sharedTestKit?: boolean;
  /** Imports its tests and test kits make beyond the module's rule, module name → why. */
  readonly testDepartures?: Readonly<Record<string, string>>;
  /** Why the module is where it is, for a module the shared table does not list. */
  readonly unlisted?: string;
  /** Set while the module's folders do not exist yet: what is to land there. */
  readonly planned?: string;
}

/** The whole table: the folders the check reads, and the modules. */
export interface LayerTable {
  readonly roots: readonly string[];
  readonly modules: readonly ModuleRule[];
}

/** Why the demo's test kit may reach modules beside it. */
const DEMO_PLATFORM = "its test kit runs an edge, an agent and a scraper in process to see demo traffic become metrics";

/** The layer table of this repository, lowest layer first. */
export const LAYER_TABLE: LayerTable = {
  roots: ["src", "bench", "scripts", "bin"],
  modules: [
    {
      name: "model",
      layer: 0,
      holds: "labels, matchers, regexes, sample types, the error family",
      folders: ["src/model", "src/model/regex"],
      imports: [],
    },
    {
      name: "runtime",
      layer: 0,
      holds: "starting this code base's own worker threads, compiled or from the TypeScript sources",
      folders: ["src/runtime"],
      imports: [],
      unlisted: "process plumbing that the TSDB's maintenance and the API's query pool both need, below both",
    },
    {
      name: "testkit",
      layer: 0,
      holds: "Prometheus and VictoriaMetrics peers on loopback, for tests and benchmarks",
      folders: ["src/testkit"],
      imports: [],
      testSide: true,
      sharedTestKit: true,
      unlisted: "test support, imported by no production code, so it holds no place among the layers",
    },
    {
      name: "exposition",
      layer: 1,
      holds: "Prometheus text and OpenMetrics parser and writer, in-process metric registries",
      folders: ["src/exposition"],
      imports: ["model"],
    },
    {
      name: "promql/parser",
      layer: 1,
      holds: "PromQL lexer, parser, syntax tree, printer, function table",
      folders: ["src/promql/parser"],
      imports: ["model"],
      testKits: ["src/promql/parser/query-gen.ts"],
    },
    {
      name: "tsdb/encoding",
      layer: 1,
      holds: "bit streams, varints, CRC32C",
      folders: ["src/tsdb/encoding"],
      imports: ["model"],
    },
    {
      name: "tsdb",
      layer: 2,
      holds: "one org's database in Prometheus's on-disk format",
      folders: [
        "src/tsdb",
        "src/tsdb/chunkenc",
        "src/tsdb/chunks",
        "src/tsdb/head",
        "src/tsdb/import",
        "src/tsdb/index",
        "src/tsdb/maintenance",
        "src/tsdb/record",
        "src/tsdb/tombstones",
        "src/tsdb/wal",
      ],
      imports: { upToLayer: 1 },
      departures: {
        "storage/interface":
          "the TSDB implements the storage contracts (Appender, Querier); interface.ts imports only model",
      },
      testKits: ["src/tsdb/block-reader-conformance.ts", "src/tsdb/chunkenc/histogram-testdata.ts"],
      testDepartures: {
        storage: "tests read commit reports with storage/commit.ts and run storage's conformance suite on the TSDB",
      },
    },
    {
      name: "storage/interface",
      layer: 2,
      holds: "the storage contracts: Appender, Querier, Queryable, TenantStore",
      folders: [],
      files: ["src/storage/interface.ts"],
      imports: ["model"],
      unlisted:
        "a module of its own (the shared table names it for the engine) so that importers need no more of storage",
    },
    {
      name: "storage",
      layer: 2,
      holds:
        "memory store, one database per org, remote write (received, and sent through disk queues), OTLP, the contracts' conformance suite",
      folders: ["src/storage", "src/storage/remote", "src/storage/remote/queue", "src/storage/otlp"],
      imports: { upToLayer: 2 },
      testKits: [
        "src/storage/conformance.ts",
        "src/storage/otlp/testkit.ts",
        "src/storage/remote/label-fields.ts",
        "src/storage/remote/store-dump.ts",
      ],
    },
    {
      name: "promql/engine",
      layer: 3,
      holds: "PromQL evaluation over storage/interface",
      folders: ["src/promql/engine", "src/promql/engine/functions"],
      imports: ["model", "promql/parser", "storage/interface"],
      testKits: ["src/promql/engine/fuzz-worker.ts", "src/promql/engine/test-context.ts"],
      testDepartures: {
        storage: "tests evaluate queries over the in-memory store, storage/memory.ts",
        runtime: "the engine fuzz runs its cases in a worker thread, started as the code base starts its own",
      },
    },
    {
      name: "promql/promqltest",
      layer: 4,
      holds: "runner of Prometheus's PromQL test files",
      folders: ["src/promql/promqltest"],
      imports: { upToLayer: 3 },
      unlisted: "runs the engine over the memory store for `contrail promqltest` and the suite test, above both",
    },
    {
      name: "scrape",
      layer: 4,
      holds: "scrape targets and loops, staleness, limits",
      folders: ["src/scrape"],
      imports: { upToLayer: 3 },
      testKits: ["src/scrape/testkit.ts"],
    },
    {
      name: "edge",
      layer: 4,
      holds: "the edge proxy and its metrics",
      folders: ["src/edge"],
      imports: ["model", "exposition"],
      testKits: ["src/edge/testkit.ts"],
    },
    {
      name: "machines",
      layer: 4,
      holds: "local instance runner, instance agent",
      folders: ["src/machines"],
      imports: ["model"],
      departures: {
        exposition: "the metric registry lives in exposition/ (docs/architecture.md), and the agent publishes metrics",
      },
    },
    {
      name: "control",
      layer: 4,
      holds: "orgs, users, tokens, apps, instances in SQLite; fly.toml",
      folders: ["src/control"],
      imports: ["model"],
    },
    {
      name: "rules",
      layer: 4,
      holds: "recording and alerting rules: rule files, templates, evaluation, alert state, notifications",
      folders: ["src/rules", "src/rules/notify", "src/rules/template"],
      imports: { upToLayer: 3 },
      unlisted: "the ruler of ARCHITECTURE.md's api line; it reaches queries and stores through seams the roles fill",
      testKits: ["src/rules/testkit.ts"],
    },
    {
      name: "demo",
      layer: 4,
      holds: "demo traffic for the example app",
      folders: ["src/demo"],
      imports: { upToLayer: 3 },
      unlisted: "a client of the edge over HTTP, beside the roles it exercises; cli/ starts it",
      testKits: ["src/demo/testkit.ts"],
      testDepartures: { edge: DEMO_PLATFORM, machines: DEMO_PLATFORM, scrape: DEMO_PLATFORM },
    },
    {
      name: "api",
      layer: 5,
      holds: "the HTTP server: Prometheus API per org, remote write, control API, auth; the query worker pool",
      folders: ["src/api", "src/api/backend-read", "src/api/query-pool", "src/api/remote-read"],
      imports: { upToLayer: 4 },
      testKits: [
        "src/api/test-support.ts",
        "src/api/attack-set.ts",
        "src/api/query-pool/test-worker.ts",
        "src/api/query-pool/pool-testkit.ts",
        "src/api/json-reference.ts",
        "src/api/remote-read/test-codec.ts",
        "src/api/query-pool/histogram-testdb.ts",
      ],
    },
    {
      name: "roles",
      layer: 6,
      holds:
        "the process map: which roles each process runs (supervisor, metrics node with query workers, edge, agent)",
      folders: ["src/roles"],
      imports: { upToLayer: 5 },
      unlisted: "the process map of ARCHITECTURE.md: it wires roles into processes, beside cli/, which runs it",
      testKits: ["src/roles/testkit.ts"],
    },
    {
      name: "cli",
      layer: 6,
      holds:
        "the contrail command: every role, `contrail up` and the commands that talk to them; commands/ their options",
      folders: ["src/cli", "src/cli/commands"],
      imports: { upToLayer: 6 },
    },
    {
      name: "ui",
      layer: 8,
      holds: "the web console (its own build, scripts/build-ui.js), and its browser tests",
      folders: ["src/ui", "src/ui/app", "src/ui/app/components", "src/ui/app/pages"],
      // Nothing: it talks to the server over HTTP only, and sits above every layer, so nothing imports it.
      imports: [],
    },
    {
      name: "bench",
      layer: 7,
      holds: "benchmarks",
      unlisted: "outside src/, above every module it measures",
      folders: ["bench"],
      // Up to api/: nothing but bin/ imports cli/.
      imports: { upToLayer: 5 },
      departures: { roles: "the roles bench runs `contrail up` as processes and reads the supervisor's descendants" },
      testSide: true,
    },
    {
      name: "bin",
      layer: 7,
      holds: "the contrail executable",
      unlisted: "outside src/: the entry point, loading cli/",
      folders: ["bin"],
      imports: ["cli"],
    },
    {
      name: "scripts",
      layer: 7,
      holds: "the test and bench runners, and this check (run by its tests)",
      unlisted: "outside src/: tools that import no module",
      folders: ["scripts", "scripts/layers"],
      imports: [],
      testKits: ["scripts/layers"],
    },
  ],
};
