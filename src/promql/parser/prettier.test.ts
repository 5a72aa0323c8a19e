// The prettified form (Prometheus's Pretty): a table of layouts, Prometheus's own layouts among them, then round
// trips over Prometheus's must-parse cases and generated long queries at several line limits.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { xorshift32 } from "../../testkit/random.ts";
import { sharedData } from "../../testkit/shared-data.ts";
import { type Expr, exprToString, parseExpr, prettyPrint, walk } from "./index.ts";
import { lineLength } from "./prettier.ts";

/** One layout: `input` printed with lines no longer than `width` gives `lines` (a table may fix one width for all). */
interface Layout {
  readonly input: string;
  readonly width?: number;
  readonly lines: readonly string[];
}

// Prometheus's own layout cases use a line limit of 10, so that short queries exercise every rule.
const NARROW = 10;

const AGGREGATIONS: readonly Layout[] = [
  { input: "sum(foo)", lines: ["sum(foo)"] },
  { input: 'sum by() (task:errors:rate10s{job="s"})', lines: ["sum(", '  task:errors:rate10s{job="s"}', ")"] },
  ...['sum without(job,foo) (task:errors:rate10s{job="s"})', 'sum(task:errors:rate10s{job="s"}) without(job,foo)'].map(
    (input) => ({ input, lines: ["sum without (job, foo) (", '  task:errors:rate10s{job="s"}', ")"] }),
  ),
  ...['sum by(job,foo) (task:errors:rate10s{job="s"})', 'sum (task:errors:rate10s{job="s"}) by(job,foo)'].map(
    (input) => ({ input, lines: ["sum by (job, foo) (", '  task:errors:rate10s{job="s"}', ")"] }),
  ),
  { input: 'topk(10, ask:errors:rate10s{job="s"})', lines: ["topk(", "  10,", '  ask:errors:rate10s{job="s"}', ")"] },
  ...[
    'sum by(job,foo) (sum by(job,foo) (task:errors:rate10s{job="s"}))',
    'sum by(job,foo)\n(sum by(job,foo) (task:errors:rate10s{job="s"}))',
    'sum by(job,foo) # Comment 1.\n(sum by(job,foo) ( # Comment 2.\ntask:errors:rate10s{job="s"}))',
  ].map((input) => ({
    input,
    lines: ["sum by (job, foo) (", "  sum by (job, foo) (", '    task:errors:rate10s{job="s"}', "  )", ")"],
  })),
  {
    input: 'sum by(job,foo) (sum by(job,foo) (sum by(job,foo) (task:errors:rate10s{job="s"})))',
    lines: [
      "sum by (job, foo) (",
      "  sum by (job, foo) (",
      "    sum by (job, foo) (",
      '      task:errors:rate10s{job="s"}',
      "    )",
      "  )",
      ")",
    ],
  },
  {
    input: 'sum by(job,foo)\n(sum(task:errors:rate10s{job="s"}) without(job,foo))',
    lines: ["sum by (job, foo) (", "  sum without (job, foo) (", '    task:errors:rate10s{job="s"}', "  )", ")"],
  },
];

const BINARIES: readonly Layout[] = [
  { input: "a+b", lines: ["a + b"] },
  { input: "a == bool 1", lines: ["  a", "== bool", "  1"] },
  { input: "a + ignoring(job) b", lines: ["  a", "+ ignoring (job)", "  b"] },
  { input: "foo_1 + foo_2", lines: ["  foo_1", "+", "  foo_2"] },
  { input: "foo_1 + foo_2 + foo_3", lines: ["    foo_1", "  +", "    foo_2", "+", "  foo_3"] },
  { input: "foo + baar + foo_3", lines: ["  foo + baar", "+", "  foo_3"] },
  {
    input: "foo_1 + foo_2 + foo_3 + foo_4",
    lines: ["      foo_1", "    +", "      foo_2", "  +", "    foo_3", "+", "  foo_4"],
  },
  {
    input: "foo_1 + ignoring(foo) foo_2 + ignoring(job) group_left foo_3 + on(instance) group_right foo_4",
    lines: [
      "      foo_1",
      "    + ignoring (foo)",
      "      foo_2",
      "  + ignoring (job) group_left ()",
      "    foo_3",
      "+ on (instance) group_right ()",
      "  foo_4",
    ],
  },
];

const LABEL_REPLACE_ARGS = ['"foo",', '"$1",', '"service",', '"(.*):.*"'];
const at = (depth: number, lines: readonly string[]) => lines.map((l) => "  ".repeat(depth) + l);

const CALLS: readonly Layout[] = [
  { input: "rate(foo[1m])", lines: ["rate(", "  foo[1m]", ")"] },
  { input: "sum_over_time(foo[1m])", lines: ["sum_over_time(", "  foo[1m]", ")"] },
  {
    input: "rate(long_vector_selector[10m:1m] @ start() offset 1m)",
    lines: ["rate(", "  long_vector_selector[10m:1m] @ start() offset 1m", ")"],
  },
  {
    input: "histogram_quantile(0.9, rate(foo[1m]))",
    lines: ["histogram_quantile(", "  0.9,", "  rate(", "    foo[1m]", "  )", ")"],
  },
  {
    input: "max_over_time(rate(demo_api_request_duration_seconds_count[1m])[1m:] @ start() offset 1m)",
    lines: [
      "max_over_time(",
      "  rate(",
      "    demo_api_request_duration_seconds_count[1m]",
      "  )[1m:] @ start() offset 1m",
      ")",
    ],
  },
  {
    input: 'label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*")',
    lines: ["label_replace(", '  up{job="api-server",service="a:c"},', ...at(1, LABEL_REPLACE_ARGS), ")"],
  },
  {
    input:
      'label_replace(label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*"), "foo", "$1", "service", "(.*):.*")',
    lines: [
      "label_replace(",
      "  label_replace(",
      '    up{job="api-server",service="a:c"},',
      ...at(2, LABEL_REPLACE_ARGS),
      "  ),",
      ...at(1, LABEL_REPLACE_ARGS),
      ")",
    ],
  },
  // Durations in ranges print as written, on the selector's line.
  { input: "rate(foo[2*1h])", lines: ["rate(", "  foo[2 * 1h]", ")"] },
  { input: "rate(foo[-5m+35m])", lines: ["rate(", "  foo[-5m + 35m]", ")"] },
  { input: "rate(foo[5m] offset (1m + step()))", lines: ["rate(", "  foo[5m] offset (1m + step())", ")"] },
];

const PARENS: readonly Layout[] = [
  { input: "(foo)", lines: ["(foo)"] },
  { input: "(_foo_long_)", lines: ["(", "  _foo_long_", ")"] },
  { input: "((foo_long))", lines: ["(", "  (foo_long)", ")"] },
  { input: "((_foo_long_))", lines: ["(", "  (", "    _foo_long_", "  )", ")"] },
  { input: "(((foo_long)))", lines: ["(", "  (", "    (foo_long)", "  )", ")"] },
  { input: "(1 + 2)", lines: ["(1 + 2)"] },
  { input: "(foo + bar)", lines: ["(", "  foo + bar", ")"] },
  { input: "(foo_long + bar_long)", lines: ["(", "    foo_long", "  +", "    bar_long", ")"] },
  {
    input: "(foo_long + bar_long + bar_2_long)",
    lines: ["(", "      foo_long", "    +", "      bar_long", "  +", "    bar_2_long", ")"],
  },
  {
    input: "((foo_long + bar_long) + bar_2_long)",
    lines: ["(", "    (", "        foo_long", "      +", "        bar_long", "    )", "  +", "    bar_2_long", ")"],
  },
  { input: "(1111 + 2222)", lines: ["(", "    1111", "  +", "    2222", ")"] },
  { input: "(sum_over_time(foo[1m]))", lines: ["(", "  sum_over_time(", "    foo[1m]", "  )", ")"] },
  {
    input:
      '(label_replace(label_replace((up{job="api-server",service="a:c"}), "foo", "$1", "service", "(.*):.*"), "foo", "$1", "service", "(.*):.*"))',
    lines: [
      "(",
      "  label_replace(",
      "    label_replace(",
      "      (",
      '        up{job="api-server",service="a:c"}',
      "      ),",
      ...at(3, LABEL_REPLACE_ARGS),
      "    ),",
      ...at(2, LABEL_REPLACE_ARGS),
      "  )",
      ")",
    ],
  },
];

// Selectors, literals and their modifiers never split, however long.
const LEAVES: readonly Layout[] = [
  { input: "a @ 1", lines: ["a @ 1.000"] },
  { input: "a @ start()", lines: ["a @ start()"] },
  { input: "vector_selector @ start()", lines: ["vector_selector @ start()"] },
  {
    input: 'very_long_metric_name{a="b",c=~"d.*"} offset 5m',
    lines: ['very_long_metric_name{a="b",c=~"d.*"} offset 5m'],
  },
  { input: '"a long string literal"', lines: ['"a long string literal"'] },
  { input: "-12345678901234", lines: ["-12345678901234"] },
];

const UNARIES: readonly Layout[] = [
  { input: "-1", lines: ["-1"] },
  { input: "-vector_selector", lines: ["-vector_selector"] },
  { input: "(-vector_selector)", lines: ["(", "  -vector_selector", ")"] },
  {
    input: "-histogram_quantile(0.9,rate(foo[1m]))",
    lines: ["-histogram_quantile(", "  0.9,", "  rate(", "    foo[1m]", "  )", ")"],
  },
  {
    input: "-histogram_quantile(0.99, sum by (le) (rate(foo[1m])))",
    lines: ["-histogram_quantile(", "  0.99,", "  sum by (le) (", "    rate(", "      foo[1m]", "    )", "  )", ")"],
  },
  {
    input: "(-histogram_quantile(0.9, -rate(foo[1m] @ start())))",
    lines: ["(", "  -histogram_quantile(", "    0.9,", "    -rate(", "      foo[1m] @ start()", "    )", "  )", ")"],
  },
  // The operator stays on the first line of a split binary operand, whose indentation it replaces.
  { input: "-foo_long ^ bar_long", lines: ["-foo_long", "^", "  bar_long"] },
];

// Longer queries (from the Prometheus monitoring mixins) at the narrow limit.
const MIXINS: readonly Layout[] = [
  {
    input:
      "(node_timex_offset_seconds > 0.05 and deriv(node_timex_offset_seconds[5m]) >= 0) or (node_timex_offset_seconds < -0.05 and deriv(node_timex_offset_seconds[5m]) <= 0)",
    lines: [
      ...["  (", "        node_timex_offset_seconds", "      >", "        0.05", "    and"],
      ...["        deriv(", "          node_timex_offset_seconds[5m]", "        )", "      >=", "        0", "  )"],
      ...["or", "  (", "        node_timex_offset_seconds", "      <", "        -0.05", "    and"],
      ...["        deriv(", "          node_timex_offset_seconds[5m]", "        )", "      <=", "        0", "  )"],
    ],
  },
  {
    input:
      '1 - ((node_memory_MemAvailable_bytes{job="node"} or (node_memory_Buffers_bytes{job="node"} + node_memory_Cached_bytes{job="node"} + node_memory_MemFree_bytes{job="node"} + node_memory_Slab_bytes{job="node"}) ) / node_memory_MemTotal_bytes{job="node"})',
    lines: [
      ...[
        "  1",
        "-",
        "  (",
        "      (",
        '          node_memory_MemAvailable_bytes{job="node"}',
        "        or",
        "          (",
      ],
      ...['                  node_memory_Buffers_bytes{job="node"}', "                +"],
      ...['                  node_memory_Cached_bytes{job="node"}', "              +"],
      ...['                node_memory_MemFree_bytes{job="node"}', "            +"],
      ...['              node_memory_Slab_bytes{job="node"}', "          )", "      )", "    /"],
      ...['      node_memory_MemTotal_bytes{job="node"}', "  )"],
    ],
  },
  {
    input:
      '(count by (job) (changes(process_start_time_seconds{job="alertmanager"}[10m]) > 4) / count by (job) (up{job="alertmanager"})) >= 0.5',
    lines: [
      ...[
        "  (",
        "      count by (job) (",
        "          changes(",
        '            process_start_time_seconds{job="alertmanager"}[10m]',
      ],
      ...[
        "          )",
        "        >",
        "          4",
        "      )",
        "    /",
        "      count by (job) (",
        '        up{job="alertmanager"}',
      ],
      ...["      )", "  )", ">=", "  0.5"],
    ],
  },
];

const ALERTMANAGER =
  'min by (job, integration) (rate(alertmanager_notifications_failed_total{job="alertmanager", integration=~".*"}[5m]) / rate(alertmanager_notifications_total{job="alertmanager", integration="~.*"}[5m])) > 0.01';

// Prometheus's own limit of 100 bytes.
const DEFAULT_WIDTH: readonly Layout[] = [
  {
    input: "sum by(job)(rate(http_requests_total[5m]))",
    lines: ["sum by (job) (rate(http_requests_total[5m]))"],
  },
  // Exactly 100 bytes stays on one line; 101 splits.
  { input: `sum(${"x".repeat(95)})`, lines: [`sum(${"x".repeat(95)})`] },
  { input: `sum(${"x".repeat(96)})`, lines: ["sum(", `  ${"x".repeat(96)}`, ")"] },
  {
    input:
      'histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket{job="api-server",code=~"2.."}[5m])))',
    lines: [
      "histogram_quantile(",
      "  0.99,",
      '  sum by (le, job) (rate(http_request_duration_seconds_bucket{code=~"2..",job="api-server"}[5m]))',
      ")",
    ],
  },
  {
    input:
      'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m])) / on (instance) group_left (nodename) node_uname_info{job="node"}',
    lines: [
      '  sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))',
      "/ on (instance) group_left (nodename)",
      '  node_uname_info{job="node"}',
    ],
  },
  {
    input:
      'count_values("version", build_info{job="some-really-long-job-name-for-testing",instance="host-0001.example.org:9100"})',
    lines: [
      "count_values(",
      '  "version",',
      '  build_info{instance="host-0001.example.org:9100",job="some-really-long-job-name-for-testing"}',
      ")",
    ],
  },
  {
    input: ALERTMANAGER,
    lines: [
      "  min by (job, integration) (",
      '      rate(alertmanager_notifications_failed_total{integration=~".*",job="alertmanager"}[5m])',
      "    /",
      '      rate(alertmanager_notifications_total{integration="~.*",job="alertmanager"}[5m])',
      "  )",
      ">",
      "  0.01",
    ],
  },
  // As in Prometheus, a subquery that fits on one line is written without its indentation.
  {
    input:
      'quantile_over_time(scalar(max(some_rather_long_metric_name_for_the_quantile_parameter{job="x"})), foo[5m:1m])',
    lines: [
      "quantile_over_time(",
      '  scalar(max(some_rather_long_metric_name_for_the_quantile_parameter{job="x"})),',
      "foo[5m:1m]",
      ")",
    ],
  },
];

const OTHER_LIMITS: readonly Layout[] = [
  {
    input: ALERTMANAGER,
    width: NARROW,
    lines: [
      ...[
        "  min by (job, integration) (",
        "      rate(",
        '        alertmanager_notifications_failed_total{integration=~".*",job="alertmanager"}[5m]',
      ],
      ...[
        "      )",
        "    /",
        "      rate(",
        '        alertmanager_notifications_total{integration="~.*",job="alertmanager"}[5m]',
      ],
      ...["      )", "  )", ">", "  0.01"],
    ],
  },
  {
    input: "foo_1 + on(a) fill_left(1) fill_right(2) foo_2",
    width: NARROW,
    lines: ["  foo_1", "+ on (a) fill_left (1) fill_right (2)", "  foo_2"],
  },
  { input: "foo_1 + fill(3) foo_2", width: NARROW, lines: ["  foo_1", "+ fill (3)", "  foo_2"] },
  // The limit counts UTF-8 bytes: 11 characters, 13 bytes.
  { input: '(a{b="éé"})', width: 12, lines: ["(", '  a{b="éé"}', ")"] },
  { input: '(a{b="ee"})', width: 12, lines: ['(a{b="ee"})'] },
  // +Inf before `^` prints unsigned on its own line too, so that it reads back as the same tree.
  { input: "Inf ^ foo_long", width: 5, lines: ["  Inf", "^", "  foo_long"] },
  { input: "time()", width: 0, lines: ["time(", "", ")"] },
  { input: "rate(foo[5m:] offset -1m)", width: 0, lines: ["rate(", "  foo[5m:] offset -1m", ")"] },
];

const TABLES: Record<string, readonly Layout[]> = {
  aggregations: AGGREGATIONS,
  "binary expressions": BINARIES,
  "function calls": CALLS,
  parentheses: PARENS,
  "selectors and literals": LEAVES,
  "unary operators": UNARIES,
  "nested expressions": MIXINS,
};

describe("prettyPrint layouts", () => {
  for (const [name, table] of Object.entries(TABLES)) {
    test(`${name} (limit ${NARROW})`, () => {
      for (const c of table) {
        assert.equal(prettyPrint(parseExpr(c.input), { maxLineLength: NARROW }), c.lines.join("\n"), c.input);
      }
    });
  }

  test("the default limit is Prometheus's 100 bytes", () => {
    for (const c of DEFAULT_WIDTH) assert.equal(prettyPrint(parseExpr(c.input)), c.lines.join("\n"), c.input);
  });

  test("other limits", () => {
    for (const c of OTHER_LIMITS) {
      assert.equal(prettyPrint(parseExpr(c.input), { maxLineLength: c.width }), c.lines.join("\n"), c.input);
    }
  });

  test("maxOutputLength bounds the output of deep nesting", () => {
    const chain = parseExpr(Array.from({ length: 900 }, (_, i) => `m${i}`).join(" + "));
    assert.throws(
      () => prettyPrint(chain, { maxOutputLength: 100_000 }),
      (err: unknown) => isContrailError(err, "too_large"),
    );
    assert.ok(prettyPrint(parseExpr("sum(rate(x[5m]))"), { maxLineLength: 0, maxOutputLength: 40 }).length <= 40);
  });
});

interface ParseCase {
  readonly input: string;
  readonly input_hex?: string;
  readonly fail: boolean;
}

const tables = sharedData("promql-parser-cases");

function mustParseCases(): Expr[] {
  return tables
    .json<{ cases: ParseCase[] }>("parse_test_cases.json")
    .cases.filter((c) => !c.fail)
    .map((c) => parseExpr(c.input_hex !== undefined ? Buffer.from(c.input_hex, "hex") : c.input));
}

// Random well-typed query text: instant vectors, range vectors and scalars built from every kind of node.
function queryGenerator(seed: number) {
  const r = xorshift32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const names = ["http_requests_total", "node_cpu_seconds_total", "up", "process_resident_memory_bytes", "a"];
  const labels = ["job", "instance", "region", "app", "le", "mode"];
  const grouping = (from = labels) => Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(from)).join(", ");

  function selector(): string {
    const ms = Array.from(
      { length: Math.floor(r() * 4) },
      () => `${pick(labels)}${pick(["=", "!=", "=~", "!~"])}"${pick(["api", "x.*", "é", 'a\\"b'])}"`,
    );
    let s = pick(names) + (ms.length > 0 ? `{${ms.join(", ")}}` : "");
    if (r() < 0.15) s += " @ 1700000000";
    if (r() < 0.15) s += ` offset ${pick(["5m", "-1h30m", "90s"])}`;
    return s;
  }

  function scalar(depth: number): string {
    if (depth <= 0 || r() < 0.4) return pick(["0.5", "100", "1e3", "Inf", "-2", "5m"]);
    return pick([
      () => `scalar(${vector(depth - 1)})`,
      () => "time()",
      () => `(${scalar(depth - 1)} ${pick(["+", "*", "^", "-"])} ${scalar(depth - 1)})`,
    ])();
  }

  function matrix(depth: number): string {
    if (depth <= 0 || r() < 0.5) return `${pick(names)}[${pick(["5m", "1h", "30s"])}]${r() < 0.2 ? " offset 1m" : ""}`;
    const inner = pick([
      () => `rate(${matrix(depth - 1)})`,
      () => `(${vector(depth - 1)})`,
      () => `sum by (${grouping()}) (${vector(depth - 1)})`,
    ])();
    return `${inner}[${pick(["10m", "1h"])}:${pick(["", "1m"])}]${r() < 0.2 ? " @ start()" : ""}${r() < 0.2 ? " offset 5m" : ""}`;
  }

  function vector(depth: number): string {
    if (depth <= 0 || r() < 0.15) return selector();
    return pick([
      () => `${pick(["rate", "increase", "max_over_time"])}(${matrix(depth - 1)})`,
      () => `quantile_over_time(${scalar(depth - 1)}, ${matrix(depth - 1)})`,
      () => `${pick(["sum", "avg", "max", "count"])} ${pick(["by", "without"])} (${grouping()}) (${vector(depth - 1)})`,
      () => `${pick(["topk", "quantile", "limitk"])}(${scalar(depth - 1)}, ${vector(depth - 1)})`,
      () => `count_values("v", ${vector(depth - 1)})`,
      () => `histogram_quantile(${scalar(depth - 1)}, ${vector(depth - 1)})`,
      () => `label_replace(${vector(depth - 1)}, "dst", "$1", "src", "(.*)")`,
      () => `(${vector(depth - 1)} ${pick(["+", "/", "and", "or", "unless"])} ${vector(depth - 1)})`,
      () =>
        `(${vector(depth - 1)} * on (${grouping()}) group_left (${grouping(["version", "pod"])}) ${vector(depth - 1)})`,
      () => `(${vector(depth - 1)} - ignoring (${grouping()}) ${vector(depth - 1)})`,
      () => `${vector(depth - 1)} ${pick([">", "<=", "== bool"])} ${scalar(depth - 1)}`,
      () => `${scalar(depth - 1)} ${pick(["^", "%", "atan2"])} ${vector(depth - 1)}`,
      () => `-${vector(depth - 1)}`,
      () => `(${vector(depth - 1)})`,
      () => `abs(${vector(depth - 1)})`,
    ])();
  }
  return () => vector(3 + Math.floor(r() * 4));
}

/**
 * Queries of more than 100 bytes (single-line) from the generator. Operator precedence can regroup its text into
 * matching between a scalar and a vector; those few are refused by the parser and skipped.
 */
function longQueries(count: number): Expr[] {
  const next = queryGenerator(0x5eed);
  const out: Expr[] = [];
  let refused = 0;
  while (out.length < count) {
    let expr: Expr;
    try {
      expr = parseExpr(next());
    } catch (err) {
      if (!isContrailError(err, "parse_error")) throw err;
      refused++;
      continue;
    }
    if (Buffer.byteLength(exprToString(expr)) > 100) out.push(expr);
  }
  assert.ok(refused < count / 10, `${refused} generated queries refused`);
  return out;
}

const LIMITS = [100, 40, NARROW, 0];

function checkRoundTrip(exprs: readonly Expr[]): void {
  for (const expr of exprs) {
    const single = exprToString(expr);
    for (const maxLineLength of LIMITS) {
      const pretty = prettyPrint(expr, { maxLineLength });
      const back = parseExpr(pretty);
      assert.equal(exprToString(back), single, `limit ${maxLineLength}:\n${pretty}`);
      // Laying out the text read back gives the same layout.
      assert.equal(prettyPrint(back, { maxLineLength }), pretty, pretty);
      for (const line of pretty.split("\n")) assert.doesNotMatch(line, /\s$/, pretty);
    }
    // Without a limit nothing splits.
    assert.equal(prettyPrint(expr, { maxLineLength: Number.POSITIVE_INFINITY }), single);
  }
}

/** Checks that the measured length of every node of `exprs` is its single-line length in bytes. */
function checkLineLengths(exprs: readonly Expr[]): void {
  for (const expr of exprs) {
    const cache = new Map<Expr, number>();
    walk(expr, (node) => {
      assert.equal(lineLength(node, cache), Buffer.byteLength(exprToString(node)), exprToString(node));
    });
  }
}

describe("prettyPrint round trips", () => {
  test("every must-parse case of Prometheus reads back as the same tree; lengths measure right", {
    skip: tables.skip,
  }, () => {
    const cases = mustParseCases();
    assert.equal(cases.length, 208);
    checkRoundTrip(cases);
    checkLineLengths(cases);
  });

  test("generated long queries read back as the same tree; lengths measure right", () => {
    const generated = longQueries(400);
    checkRoundTrip(generated);
    checkLineLengths(generated);
  });
});
