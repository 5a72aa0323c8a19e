// The attack set of the API's isolation and hardening tests, defined once: the embedded store's tests
// (isolation.test.ts, adversarial.test.ts) and remote storage's (backend-read/isolation.test.ts) send the same
// requests. Strings are parameter values (URL-encoded when sent) unless said otherwise. Test support only.

import { FUNCTIONS } from "../promql/parser/index.ts";
import { PromqlGenerator } from "../promql/parser/query-gen.ts";
import { Random } from "../testkit/random.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { REMOTE_READ_BOUNDS } from "./remote-read/read.ts";
import { encodeReadRequest, readRequestBody, type TestQuery } from "./remote-read/test-codec.ts";

/** One request of every org endpoint (remote write and an unknown path included), relative to `/prometheus/<org>`. */
export const ORG_ENDPOINTS: readonly string[] = [
  "/api/v1/query?query=up",
  "/api/v1/query_range?query=up&start=0&end=10&step=1",
  "/api/v1/query_exemplars?query=up",
  "/api/v1/format_query?query=up",
  "/api/v1/parse_query?query=up",
  "/api/v1/series?match[]=up",
  "/api/v1/labels",
  "/api/v1/label/app/values",
  "/api/v1/metadata",
  "/api/v1/status/buildinfo",
  "/api/v1/status/tsdb",
  "/api/v1/targets",
  "/api/v1/rules",
  "/api/v1/alerts",
  "/federate?match[]=up",
  "/api/v1/write",
  "/api/v1/read",
  "/api/v1/no_such_endpoint",
];

/**
 * Reads with one org's token on its own path that try to reach the other org's series (alpha's token, beta's data:
 * the label `secret` holds "alpha-only" or "beta-only"): everything-matchers, regexes on the other org's values,
 * aggregations, lookups and federation. Data at `nowMs` and up to 10 m before it; the first is `{__name__=~".+"}`.
 */
export function crossOrgReads(nowMs: number): string[] {
  const everything = encodeURIComponent('{__name__=~".+"}');
  const betaRegex = encodeURIComponent('{secret=~"beta.*"}');
  const s = nowMs / 1000;
  return [
    `/api/v1/query?query=${everything}&time=${s}`,
    `/api/v1/query?query=${betaRegex}&time=${s}`,
    `/api/v1/query?query=${encodeURIComponent('count by (secret) ({__name__=~".*_count|.*concurrency"})')}&time=${s}`,
    `/api/v1/query?query=${encodeURIComponent("max(fly_app_concurrency)")}&time=${s}`,
    `/api/v1/query_range?query=${encodeURIComponent('sum by (secret) (rate(fly_edge_http_responses_count{app=~".+"}[1m]))')}&start=${s - 600}&end=${s}&step=15`,
    `/api/v1/query_range?query=${everything}&start=${s - 600}&end=${s}&step=60`,
    `/api/v1/series?match[]=${everything}`,
    `/api/v1/series?match[]=${betaRegex}`,
    "/api/v1/labels",
    `/api/v1/labels?match[]=${betaRegex}`,
    "/api/v1/label/secret/values",
    `/api/v1/label/secret/values?match[]=${everything}`,
    "/api/v1/label/__name__/values",
    `/federate?match[]=${everything}`,
    "/api/v1/status/tsdb?limit=10000",
  ];
}

/**
 * Remote reads with one org's token on its own path that try to reach the other org's series (as
 * {@link crossOrgReads}): every series of every time, and regexes on the other org's values; each in both response
 * types (`accepted` [0] SAMPLES, [1] STREAMED_XOR_CHUNKS). Snappy bodies to POST to `/api/v1/read`.
 */
export function crossOrgRemoteReads(nowMs: number): { readonly accepted: number; readonly body: Uint8Array }[] {
  const range = { start: 0, end: nowMs + 3_600_000 };
  const queries: TestQuery[] = [
    { ...range, matchers: [["=~", "__name__", ".+"]] },
    { ...range, matchers: [["=~", "secret", "beta.*"]] },
    { ...range, matchers: [["!=", "secret", ""]] },
    { ...range, matchers: [["!~", "__name__", ""]], hints: { start: 0, end: nowMs + 3_600_000, func: "series" } },
  ];
  return [0, 1].map((accepted) => ({ accepted, body: readRequestBody(queries, [accepted]) }));
}

/** A hostile remote read body (POSTed to `/api/v1/read` as is), what it is, and the status it must get. */
export type HostileRead = readonly [name: string, body: Uint8Array, status: number];

/** Remote read bodies built to hurt: malformed snappy and protobuf, sizes and counts past each bound. */
export function hostileRemoteReads(): HostileRead[] {
  const snappy = new SnappyEncoder();
  const q: TestQuery = { start: 0, end: 1, matchers: [["=", "a", "b"]] };
  const everything: TestQuery = { start: -9e15, end: 9e15, matchers: [["=~", "__name__", ".*"]] };
  return [
    ["an empty body", new Uint8Array(0), 400],
    ["not snappy", Buffer.from("hello"), 400],
    ["a snappy header of 4 GiB", Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), 413],
    ["decompresses past the limit", snappy.encodeCopy(new Uint8Array(REMOTE_READ_BOUNDS.maxRequestBytes + 1)), 413],
    ["a body past the compressed limit", new Uint8Array(2 * REMOTE_READ_BOUNDS.maxRequestBytes), 413],
    ["not protobuf", snappy.encodeCopy(Uint8Array.from([0x0a, 0x7f, 0x01])), 400],
    ["a group wire type", snappy.encodeCopy(Uint8Array.from([0x0b, 0x0c])), 400],
    ["a truncated query", snappy.encodeCopy(encodeReadRequest([q]).subarray(0, 6)), 400],
    ["too many queries", readRequestBody(Array(REMOTE_READ_BOUNDS.maxQueries + 1).fill(q)), 413],
    [
      "too many matchers",
      readRequestBody([{ ...q, matchers: Array(REMOTE_READ_BOUNDS.maxMatchers + 1).fill(["=", "a", "b"]) }]),
      413,
    ],
    ["a regex that does not parse", readRequestBody([{ ...q, matchers: [["=~", "a", "(a"]] }]), 400],
    ["a nested regex", readRequestBody([{ ...q, matchers: [["=~", "job", "(a+)+$"]] }]), 200],
    ["a matcher type of 9", snappy.encodeCopy(Uint8Array.from([0x0a, 0x04, 0x1a, 0x02, 0x08, 0x09])), 400],
    ["no response type served", readRequestBody([q], [7, 8]), 400],
    ["start after end", readRequestBody([{ start: 10, end: -10, matchers: [["=~", "__name__", ".+"]] }]), 200],
    ["every series of all time", readRequestBody([everything]), 200],
    ["every series of all time, streamed", readRequestBody([everything], [1]), 200],
    ["hints past the range", readRequestBody([{ ...everything, hints: { start: 9e15, end: 9.1e15 } }]), 200],
  ];
}

/** One request of the hardening issue: its name, parameters of `/api/v1/query`, and the embedded store's answer. */
export type HardeningCase = readonly [
  name: string,
  params: Readonly<Record<string, string>>,
  status: number,
  error: RegExp,
];

/** The hostile queries of the hardening issue, with the embedded store's answers. */
export const HARDENING_CASES: readonly HardeningCase[] = [
  ["a time past 2^53 ms", { query: "1", time: "1e20" }, 400, /invalid parameter "time".*int64 milliseconds/],
  ["a time past the evaluable range", { query: "1", time: "1e14" }, 400, /invalid parameter "time".*out of range/],
  ["@ 1e300", { query: "up @ 1e300" }, 400, /timestamp out of bounds for @ modifier/],
  ["@ past the evaluable range", { query: "rate(up[5m:1ms] @ 1e15)" }, 400, /timestamp out of bounds for @/],
  ["offset -1e18s", { query: "up offset -1000000000000000000s" }, 400, /duration out of range/],
  ["[1e12y]", { query: "rate(up[1000000000000y])" }, 400, /duration out of range/],
  ["[1h * 1e20]", { query: "rate(up[1h * 1e20])" }, 400, /duration out of range/],
  ["[(1h + step()) * 9e9]", { query: "rate(up[(1h + step()) * 9000000000])" }, 400, /duration is out of range/],
  ["nested 1 ms subqueries", { query: "max_over_time(max_over_time(up[1d:1ms])[5m:1ms])" }, 422, /too many samples/],
  ["a subquery of 7.2M steps per series", { query: "count_over_time(up[2h:1ms])" }, 422, /too many samples/],
  ["NaN time", { query: "1", time: "NaN" }, 400, /cannot parse "NaN" to a valid timestamp/],
  ["+Inf time", { query: "1", time: "+Inf" }, 400, /cannot parse "\+Inf" to a valid timestamp/],
];

/** Times as parameter values, from ordinary to hostile. */
export const TIMES = [
  "0",
  "1700000000",
  "1700000000.123456789",
  "-1",
  "-0",
  "1e20",
  "-1e20",
  "1e308",
  "1e309",
  "NaN",
  "nan",
  "Inf",
  "+Inf",
  "-Inf",
  "infinity",
  "5e-324",
  "8640000000000",
  "8640000000000.001",
  "-8640000000001",
  "9007199254740993",
  "9223372036854775807",
  "9.3e15",
  "2023-11-14T22:13:20Z",
  "2023-11-14T22:13:20.123456789+02:00",
  "2023-13-45T99:99:99Z",
  "-292273086-05-16T16:47:06Z",
  "292277026596-12-04T15:30:07.999999999Z",
  "0x10",
  "1_000",
  "\uff11\uff12",
  "1".repeat(400),
  " 1",
  "",
];
/** Durations (step, timeout, lookback_delta), from ordinary to hostile. */
export const DURATIONS = [
  "15",
  "1m15s",
  "0",
  "-1",
  "0.001",
  "0.0001",
  "1e-9",
  "1ms",
  "292y",
  "300y",
  "1y1y",
  "5m1h",
  "9223372036",
  "9223372037",
  "1e19",
  "-1e19",
  "NaN",
  "Inf",
  "-Inf",
  "18446744073709551616ms",
  "99999999999999999999y",
  "1.5m",
  "",
];
/** `limit` values, from ordinary to hostile. */
export const LIMITS = [
  "0",
  "1",
  "5",
  "-1",
  "1e3",
  "1.5",
  "9223372036854775807",
  "9223372036854775808",
  "-9223372036854775809",
  "99999999999999999999999",
  "0x10",
  " 1",
  "",
];
/** `match[]` selectors, from ordinary to hostile. */
export const SELECTORS = [
  "up",
  '{job="api"}',
  '{__name__=~".+"}',
  '{job=~".*"}',
  "up[5m]",
  "",
  "{",
  '{job="\\xff"}',
  'up{job=~"(a+)+$"}',
  `up{job="${"x".repeat(20_000)}"}`,
  "rate(up[5m])",
];
/** Query texts built to hurt: deep nesting at and past the parser's limit, long strings, invalid UTF-8. */
export const HOSTILE_QUERIES = [
  `${"(".repeat(999)}1${")".repeat(999)}`,
  `${"(".repeat(1001)}1${")".repeat(1001)}`,
  `${"-".repeat(999)}1`,
  `${"abs(".repeat(300)}up${")".repeat(300)}`,
  `${"max_over_time(".repeat(200)}up${"[1m:1m])".repeat(200)}`,
  `${"sum(".repeat(400)}up${")".repeat(400)}`,
  Array(900).fill("up").join(" + on(job) group_left "),
  `"${"x".repeat(120_000)}"`,
  `up{job="${"\\xff".repeat(1000)}"}`,
  'label_replace(up, "a", "$1$1$1$1$1$1$1$1", "job", "(.*)")',
  "\u0000",
  "up @ 1e17",
  "up offset -9000000000s",
  "count_over_time(up[292y:1ms])",
  "",
];
/** Raw (already URL-encoded, possibly invalid) values to splice into a query string as written. */
export const RAW_VALUES = ["%ff%fe", "%", "%zz", "%00", "%E0%A4%A", "%C3%28", "%ED%A0%80", "%F4%90%80%80", "%2", "%%%"];

/** Parameter pairs of one request. */
export type Params = [string, string][];

interface Endpoint {
  readonly path: string;
  /** Random parameters for this endpoint. */
  readonly params: (g: RequestGen) => Params;
  /** Whether the endpoint takes POST forms. */
  readonly post: boolean;
}

/** Builds random requests for the property-based cases; `nowMs` is where the data of the org under attack ends. */
export class RequestGen {
  readonly rnd: Random;
  readonly nowMs: number;
  private readonly queries: PromqlGenerator;

  constructor(seed: number, nowMs: number) {
    this.rnd = new Random(seed);
    this.nowMs = nowMs;
    const functions = [...FUNCTIONS.values()];
    const metrics = [
      { name: "up", labels: ["job", "instance"] },
      { name: "requests_total", labels: ["job"] },
    ];
    this.queries = new PromqlGenerator(this.rnd, { functions, metrics, maxDepth: 3, hostile: 0.2 });
  }

  /** Usually an ordinary value of `pool`'s kind, sometimes a hostile one or nothing. */
  maybe(name: string, pool: readonly string[], out: Params): void {
    if (this.rnd.chance(0.6)) out.push([name, this.rnd.pick(pool)]);
  }

  query(): string {
    const r = this.rnd.next();
    if (r < 0.6) return this.queries.query();
    if (r < 0.8) return this.rnd.pick(["1+1", "up", "sum by (job) (rate(requests_total[5m]))", "up[5m]", "time()"]);
    return this.rnd.pick(HOSTILE_QUERIES);
  }

  selectors(min: number, out: Params): void {
    for (let i = this.rnd.int(min, 3); i > 0; i--) out.push(["match[]", this.rnd.pick(SELECTORS)]);
  }
}

/** The endpoints of random requests and the parameters each takes. */
const RANDOM_ENDPOINTS: readonly Endpoint[] = [
  {
    path: "/api/v1/query",
    post: true,
    params: (g) => {
      const p: Params = [["query", g.query()]];
      g.maybe("time", TIMES, p);
      g.maybe("timeout", DURATIONS, p);
      g.maybe("lookback_delta", DURATIONS, p);
      g.maybe("limit", LIMITS, p);
      g.maybe("stats", ["true", "all", "x"], p);
      return p;
    },
  },
  {
    path: "/api/v1/query_range",
    post: true,
    params: (g) => {
      const p: Params = [["query", g.query()]];
      const start = g.rnd.chance(0.5) ? String((g.nowMs - 3_600_000) / 1000) : g.rnd.pick(TIMES);
      p.push(["start", start]);
      p.push(["end", g.rnd.chance(0.5) ? String(g.nowMs / 1000) : g.rnd.pick(TIMES)]);
      p.push(["step", g.rnd.chance(0.5) ? "60" : g.rnd.pick(DURATIONS)]);
      g.maybe("timeout", DURATIONS, p);
      g.maybe("lookback_delta", DURATIONS, p);
      g.maybe("limit", LIMITS, p);
      return p;
    },
  },
  ...["/api/v1/series", "/api/v1/labels", "/api/v1/label/job/values", "/api/v1/label/U__j_6f_b/values"].map(
    (path): Endpoint => ({
      path,
      post: !path.includes("/label/"),
      params: (g) => {
        const p: Params = [];
        g.selectors(path.endsWith("series") ? 1 : 0, p);
        g.maybe("start", TIMES, p);
        g.maybe("end", TIMES, p);
        g.maybe("limit", LIMITS, p);
        return p;
      },
    }),
  ),
  {
    path: "/api/v1/query_exemplars",
    post: true,
    params: (g) => {
      const p: Params = [["query", g.query()]];
      g.maybe("start", TIMES, p);
      g.maybe("end", TIMES, p);
      return p;
    },
  },
  ...["/api/v1/format_query", "/api/v1/parse_query"].map(
    (path): Endpoint => ({ path, post: true, params: (g) => [["query", g.query()]] }),
  ),
  {
    path: "/api/v1/status/tsdb",
    post: false,
    params: (g) => {
      const p: Params = [];
      g.maybe("limit", LIMITS, p);
      return p;
    },
  },
  {
    path: "/api/v1/metadata",
    post: false,
    params: (g) => {
      const p: Params = [];
      g.maybe("limit", LIMITS, p);
      g.maybe("limit_per_metric", LIMITS, p);
      g.maybe("metric", ["up", "", "\u00ff"], p);
      return p;
    },
  },
];

/** A request as the attack set sends it: `path` with its query string as written (it may hold invalid
 * percent-encodings), relative to `/prometheus/<org>`, and an optional url-encoded form body, sent as is. */
export interface AttackRequest {
  readonly path: string;
  readonly body?: string;
}

/** A random request: an endpoint, its parameters, GET or POST, sometimes with a raw invalid percent-encoding. */
export function randomRequest(g: RequestGen): { req: AttackRequest; timeoutGiven: boolean } {
  const e = g.rnd.pick(RANDOM_ENDPOINTS);
  const params = e.params(g);
  let text = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  if (g.rnd.chance(0.15)) {
    const [k] = g.rnd.pick(params.length > 0 ? params : [["query", ""]]);
    text += `&${encodeURIComponent(k)}=${g.rnd.pick(RAW_VALUES)}`;
  }
  const timeoutGiven = params.some(([k]) => k === "timeout");
  // Long queries do not fit a URL: they go in a form body, as clients send them.
  if (e.post && (text.length > 8_000 || g.rnd.chance(0.3))) return { req: { path: e.path, body: text }, timeoutGiven };
  return { req: { path: `${e.path}?${text}` }, timeoutGiven };
}
