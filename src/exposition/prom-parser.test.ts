import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { LabelsBuilder } from "../model/labels.ts";
import { PromTextParser } from "./prom-parser.ts";
import type { ExpositionParser } from "./types.ts";

type Got =
  | { kind: "series"; series: string; labels: string; value: number; ts?: number; created?: true }
  | { kind: "help"; name: string; help: string }
  | { kind: "type"; name: string; type: string }
  | { kind: "comment"; text: string };

function collect(p: ExpositionParser): Got[] {
  const b = new LabelsBuilder();
  const out: Got[] = [];
  for (let k = p.next(); k !== "eof"; k = p.next()) {
    switch (k) {
      case "series": {
        const g: Got = { kind: "series", series: p.series(), labels: p.labels(b).toString(), value: p.value() };
        const ts = p.timestamp();
        if (ts !== undefined) g.ts = ts;
        if (p.isCreated()) g.created = true;
        out.push(g);
        break;
      }
      case "help":
        out.push({ kind: "help", name: p.metricName(), help: p.help() });
        break;
      case "type":
        out.push({ kind: "type", name: p.metricName(), type: p.type() });
        break;
      case "comment":
        out.push({ kind: "comment", text: p.comment() });
        break;
      case "unit":
        assert.fail("Prometheus text has no UNIT entries");
    }
  }
  return out;
}

const s = (series: string, labels: string, value: number, extra: { ts?: number; created?: true } = {}): Got => ({
  kind: "series",
  series,
  labels,
  value,
  ...extra,
});

const valid: { name: string; input: string | Uint8Array; want: Got[] }[] = [
  {
    name: "summary with blanks and trailing commas in every place Prometheus allows them",
    input: `# HELP rpc_seconds RPC latency.
# \tTYPE rpc_seconds summary
rpc_seconds{quantile="0"} 4.9e-05
rpc_seconds{quantile="0.5",} 7.4e-05
rpc_seconds{quantile="0.9", code="200"} 8e-05
rpc_seconds { quantile = "0.99" , code = "200" } 9e-05
rpc_seconds{quantile="1" code="500"} 1
rpc_seconds_count 99
rpc_seconds_sum\t12.5
`,
    want: [
      { kind: "help", name: "rpc_seconds", help: "RPC latency." },
      { kind: "type", name: "rpc_seconds", type: "summary" },
      s('rpc_seconds{quantile="0"}', '{__name__="rpc_seconds", quantile="0.0"}', 4.9e-5),
      s('rpc_seconds{quantile="0.5",}', '{__name__="rpc_seconds", quantile="0.5"}', 7.4e-5),
      s('rpc_seconds{quantile="0.9", code="200"}', '{__name__="rpc_seconds", code="200", quantile="0.9"}', 8e-5),
      s(
        'rpc_seconds { quantile = "0.99" , code = "200" }',
        '{__name__="rpc_seconds", code="200", quantile="0.99"}',
        9e-5,
      ),
      s('rpc_seconds{quantile="1" code="500"}', '{__name__="rpc_seconds", code="500", quantile="1.0"}', 1),
      s("rpc_seconds_count", '{__name__="rpc_seconds_count"}', 99),
      s("rpc_seconds_sum", '{__name__="rpc_seconds_sum"}', 12.5),
    ],
  },
  {
    name: "histogram buckets get OpenMetrics bounds; other families keep le as written",
    input: `# TYPE req_seconds histogram
req_seconds_bucket{path="/",le="0.25"} 3
req_seconds_bucket{path="/",le="1"} 4
req_seconds_bucket{path="/",le="1e3"} 5
req_seconds_bucket{path="/",le="+Inf"} 6
req_seconds_sum{path="/"} 7.5
req_seconds_count{path="/"} 6
other{le="1"} 1
`,
    want: [
      { kind: "type", name: "req_seconds", type: "histogram" },
      s('req_seconds_bucket{path="/",le="0.25"}', '{__name__="req_seconds_bucket", le="0.25", path="/"}', 3),
      s('req_seconds_bucket{path="/",le="1"}', '{__name__="req_seconds_bucket", le="1.0", path="/"}', 4),
      s('req_seconds_bucket{path="/",le="1e3"}', '{__name__="req_seconds_bucket", le="1000.0", path="/"}', 5),
      s('req_seconds_bucket{path="/",le="+Inf"}', '{__name__="req_seconds_bucket", le="+Inf", path="/"}', 6),
      s('req_seconds_sum{path="/"}', '{__name__="req_seconds_sum", path="/"}', 7.5),
      s('req_seconds_count{path="/"}', '{__name__="req_seconds_count", path="/"}', 6),
      s('other{le="1"}', '{__name__="other", le="1"}', 1),
    ],
  },
  {
    name: "comments of every shape, and HELP-like comments",
    input: "# just a comment\n#\n#nospace\n# HELPER is not help\n# TYPE\n# comment with \\n kept raw\nup 1\n",
    want: [
      { kind: "comment", text: "# just a comment" },
      { kind: "comment", text: "#" },
      { kind: "comment", text: "#nospace" },
      { kind: "comment", text: "# HELPER is not help" },
      { kind: "comment", text: "# TYPE" },
      { kind: "comment", text: "# comment with \\n kept raw" },
      s("up", '{__name__="up"}', 1),
    ],
  },
  {
    name: "HELP escapes: backslash and newline only; empty help",
    input: '# HELP x a\\\\b\\nc \\"q\\" \\t\n# HELP y\n# HELP z   \n# HELP w  two spaces\n',
    want: [
      { kind: "help", name: "x", help: 'a\\b\nc \\"q\\" \\t' },
      { kind: "help", name: "y", help: "" },
      { kind: "help", name: "z", help: "" },
      { kind: "help", name: "w", help: " two spaces" },
    ],
  },
  {
    name: "types, untyped read as unknown, type after help",
    input: "# TYPE a counter\n# TYPE b gauge\n# TYPE c untyped\n# HELP d Help first.\n# TYPE d summary\n",
    want: [
      { kind: "type", name: "a", type: "counter" },
      { kind: "type", name: "b", type: "gauge" },
      { kind: "type", name: "c", type: "unknown" },
      { kind: "help", name: "d", help: "Help first." },
      { kind: "type", name: "d", type: "summary" },
    ],
  },
  {
    name: "timestamps, tabs, blank and indented lines, no final newline",
    input: "\n\n  go_goroutines 33  \t123123\n\t\nup 1 0\nlast 2 1700000000000",
    want: [
      s("go_goroutines", '{__name__="go_goroutines"}', 33, { ts: 123123 }),
      s("up", '{__name__="up"}', 1, { ts: 0 }),
      s("last", '{__name__="last"}', 2, { ts: 1700000000000 }),
    ],
  },
  {
    name: "label value escapes, raw newline and NUL inside values",
    input: 'm{a="x\\"y\\\\z\\nw",b="\\q"} 1\nm{a="line1\nline2"} 2\nm{a="nul\0"} 3\n',
    want: [
      s('m{a="x\\"y\\\\z\\nw",b="\\q"}', '{__name__="m", a="x\\"y\\\\z\\nw", b="\\\\q"}', 1),
      s('m{a="line1\nline2"}', '{__name__="m", a="line1\\nline2"}', 2),
      s('m{a="nul\0"}', '{__name__="m", a="nul\\x00"}', 3),
    ],
  },
  {
    name: "Prometheus 3 quoted UTF-8 metric and label names",
    input: `# HELP "my.metric" Dotted.
# TYPE "my.metric" gauge
{"my.metric", "a.b"="c"} 1
{"my.metric",x="y"} 2
{x="y", "my.metric"} 3
{"say \\"hi\\"", "ünï cödé"="€"} 4
plain{"quoted.label"="v"} 5
`,
    want: [
      { kind: "help", name: "my.metric", help: "Dotted." },
      { kind: "type", name: "my.metric", type: "gauge" },
      s('{"my.metric", "a.b"="c"}', '{__name__="my.metric", "a.b"="c"}', 1),
      s('{"my.metric",x="y"}', '{__name__="my.metric", x="y"}', 2),
      s('{x="y", "my.metric"}', '{__name__="my.metric", x="y"}', 3),
      s('{"say \\"hi\\"", "ünï cödé"="€"}', '{__name__="say \\"hi\\"", "ünï cödé"="€"}', 4),
      s('plain{"quoted.label"="v"}', '{__name__="plain", "quoted.label"="v"}', 5),
    ],
  },
  {
    name: "NaN and infinities in every spelling Go accepts",
    input: "a NaN\nb nan\nc +Inf\nd -Inf\ne Inf\nf infinity\ng -1e-3\n",
    want: [
      s("a", '{__name__="a"}', Number.NaN),
      s("b", '{__name__="b"}', Number.NaN),
      s("c", '{__name__="c"}', Number.POSITIVE_INFINITY),
      s("d", '{__name__="d"}', Number.NEGATIVE_INFINITY),
      s("e", '{__name__="e"}', Number.POSITIVE_INFINITY),
      s("f", '{__name__="f"}', Number.POSITIVE_INFINITY),
      s("g", '{__name__="g"}', -0.001),
    ],
  },
  {
    name: "_created samples of counters are flagged; a gauge named *_created is not",
    input: "# TYPE jobs_total counter\njobs_total 3\njobs_created 1.7e9\n# TYPE boot_created gauge\nboot_created 5\n",
    want: [
      { kind: "type", name: "jobs_total", type: "counter" },
      s("jobs_total", '{__name__="jobs_total"}', 3),
      s("jobs_created", '{__name__="jobs_created"}', 1.7e9, { created: true }),
      { kind: "type", name: "boot_created", type: "gauge" },
      s("boot_created", '{__name__="boot_created"}', 5),
    ],
  },
  {
    name: "a NUL at the start of a line ends the body, as in Prometheus",
    input: "up 1\n\0garbage that is never read",
    want: [s("up", '{__name__="up"}', 1)],
  },
  {
    name: "invalid UTF-8 in a comment is accepted",
    input: new Uint8Array([...new TextEncoder().encode("# bad "), 0xff, 0x0a, ...new TextEncoder().encode("up 1\n")]),
    want: [{ kind: "comment", text: "# bad \ufffd" }, s("up", '{__name__="up"}', 1)],
  },
  { name: "empty body", input: "", want: [] },
];

describe("PromTextParser: valid input", () => {
  for (const c of valid) {
    test(c.name, () => assert.deepEqual(collect(new PromTextParser(c.input)), c.want));
  }

  test("_created flag only on the sample that ends with _created in a counter family", () => {
    const p = new PromTextParser("# TYPE jobs_total counter\njobs_total 3\njobs_created 1.7e9\n");
    const flags: boolean[] = [];
    for (let k = p.next(); k !== "eof"; k = p.next()) if (k === "series") flags.push(p.isCreated());
    assert.deepEqual(flags, [false, true]);
  });
});

const bytes = (...parts: (string | number)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "number" ? [p] : [...new TextEncoder().encode(p)])));

const invalid: { input: string | Uint8Array; err: string }[] = [
  {
    input: "metric_without_value",
    err: 'line 1: expected value after metric, got "\\n" ("INVALID") while parsing: "metric_without_value\\n"',
  },
  { input: "up{job='x'} 1\n", err: `line 1: expected label value, got "'" ("INVALID") while parsing: "up{job='"` },
  { input: "up{job=\n", err: 'line 1: expected label value, got "\\n" ("INVALID") while parsing: "up{job=\\n"' },
  {
    input: 'up{job="unterminated',
    err: 'line 1: expected label value, got "\\"unterminated\\n" ("INVALID") while parsing: "up{job=\\"unterminated\\n"',
  },
  {
    input: 'up{job="x"} one\n',
    err: 'line 1: strconv.ParseFloat: parsing "one": invalid syntax while parsing: "up{job=\\"x\\"} one"',
  },
  {
    input: "up 1e400\n",
    err: 'line 1: strconv.ParseFloat: parsing "1e400": value out of range while parsing: "up 1e400"',
  },
  { input: "up 0x10\n", err: 'line 1: strconv.ParseFloat: parsing "0x10": invalid syntax while parsing: "up 0x10"' },
  { input: "up 1_000\n", err: 'line 1: unsupported character in float while parsing: "up 1_000"' },
  { input: "up 0x1p3\n", err: 'line 1: unsupported character in float while parsing: "up 0x1p3"' },
  {
    input: "up 1 -5\n",
    err: 'line 1: expected timestamp or new record, got "-" ("INVALID") while parsing: "up 1 -"',
  },
  {
    input: "up 1 5 6\n",
    err: 'line 1: expected next entry after timestamp, got "6\\n" ("TIMESTAMP") while parsing: "up 1 5 6\\n"',
  },
  {
    input: "up 1 5_0\n",
    err: 'line 1: expected next entry after timestamp, got "_" ("INVALID") while parsing: "up 1 5_"',
  },
  {
    input: "up 1 99999999999999999999\n",
    err: 'line 1: strconv.ParseInt: parsing "99999999999999999999": value out of range while parsing: "up 1 99999999999999999999"',
  },
  { input: '{job="x"} 1\n', err: 'line 1: metric name not set while parsing: "{job=\\"x\\"} 1"' },
  { input: '{"a","b"} 1\n', err: 'line 1: metric name already set while parsing: "{\\"a\\",\\"b\\"}"' },
  { input: 'up{"a"} 1\n', err: 'line 1: metric name already set while parsing: "up{\\"a\\"}"' },
  { input: "# TYPE up gaugee\n", err: 'line 1: invalid metric type "gaugee"' },
  { input: "# TYPE up\n", err: 'line 1: invalid metric type ""' },
  { input: "# TYPE up  counter\n", err: 'line 1: invalid metric type " counter"' },
  {
    input: "# HELP 1up x\n",
    err: 'line 1: expected metric name after HELP, got "1" ("INVALID") while parsing: "# HELP 1"',
  },
  {
    input: "# TYPE #\n",
    err: 'line 1: expected metric name after TYPE, got "#" ("INVALID") while parsing: "# TYPE #"',
  },
  { input: "{A}0\n", err: 'line 1: expected equal, got "}0" ("BCLOSE") while parsing: "{A}0"' },
  {
    input: '{"a", "b = "c"}\n',
    err: 'line 1: expected equal, got "c\\"" ("LNAME") while parsing: "{\\"a\\", \\"b = \\"c\\""',
  },
  { input: 'x{=""} 0\n', err: 'line 1: expected label name, got "=\\"" ("EQUAL") while parsing: "x{=\\""' },
  { input: 'a{b\0="c"} 1\n', err: 'line 1: expected equal, got "\\x00" ("INVALID") while parsing: "a{b\\x00"' },
  {
    input: 'a\0{b="c"} 1\n',
    err: 'line 1: expected value after metric, got "\\x00" ("INVALID") while parsing: "a\\x00"',
  },
  { input: "9up 1\n", err: 'line 1: expected a valid start token, got "9" ("INVALID") while parsing: "9"' },
  {
    input: "up 1\nup 2\n\n-up 3\n",
    err: 'line 4: expected a valid start token, got "-" ("INVALID") while parsing: "-"',
  },
  { input: bytes('up{a="', 0xff, '"} 1\n'), err: 'line 1: invalid UTF-8 label value: "\\"\ufffd\\""' },
  { input: bytes("# HELP up bad ", 0xc3, "\n"), err: 'line 1: help text "bad \ufffd" is not a valid utf8 string' },
];

describe("PromTextParser: invalid input", () => {
  for (const c of invalid) {
    const name = typeof c.input === "string" ? JSON.stringify(c.input) : c.err;
    test(name, () => {
      const p = new PromTextParser(c.input);
      assert.throws(
        () => {
          while (p.next() !== "eof");
        },
        (err) => isContrailError(err, "bad_data") && err.message === c.err,
      );
    });
  }

  const labelErrors: [string, string][] = [
    ['up{a="1",a="2"} 1\n', 'line 1: duplicate label name "a"'],
    ['up{__name__="x"} 1\n', 'line 1: duplicate label name "__name__"'],
    ['{""} 1\n', "line 1: empty metric name"],
    ['up 0\nup{""="v"} 1\n', "line 2: empty label name"],
  ];
  for (const [input, err] of labelErrors) {
    test(`labels() refuses ${JSON.stringify(input)}`, () => {
      const p = new PromTextParser(input);
      let k = p.next();
      while (k === "series" && p.series() === "up") k = p.next();
      assert.equal(k, "series");
      assert.throws(
        () => p.labels(new LabelsBuilder()),
        (e) => isContrailError(e, "bad_data") && e.message === err,
      );
    });
  }
});
