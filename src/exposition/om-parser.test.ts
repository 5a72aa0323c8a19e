import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { LabelsBuilder } from "../model/labels.ts";
import { OpenMetricsParser } from "./om-parser.ts";
import type { ExpositionParser } from "./types.ts";

type Got =
  | {
      kind: "series";
      series: string;
      labels: string;
      value: number;
      ts?: number;
      created?: true;
      exemplar?: string;
    }
  | { kind: "help"; name: string; help: string }
  | { kind: "type"; name: string; type: string }
  | { kind: "unit"; name: string; unit: string };

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
        const x = p.exemplar();
        if (x !== undefined)
          g.exemplar = `${x.labels} ${x.value}${x.timestamp === undefined ? "" : ` @${x.timestamp}`}`;
        out.push(g);
        break;
      }
      case "help":
        out.push({ kind: "help", name: p.metricName(), help: p.help() });
        break;
      case "type":
        out.push({ kind: "type", name: p.metricName(), type: p.type() });
        break;
      case "unit":
        out.push({ kind: "unit", name: p.metricName(), unit: p.unit() });
        break;
      case "comment":
        assert.fail("OpenMetrics has no comment entries");
    }
  }
  return out;
}

const s = (
  series: string,
  labels: string,
  value: number,
  extra: { ts?: number; created?: true; exemplar?: string } = {},
): Got => ({ kind: "series", series, labels, value, ...extra });

const valid: { name: string; input: string; want: Got[] }[] = [
  {
    name: "summary with unit; quantiles in OpenMetrics float form",
    input: `# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
# UNIT rpc_seconds seconds
rpc_seconds{quantile="0"} 4.9e-05
rpc_seconds{quantile="0.5",code="200"} 8e-05
rpc_seconds_count 99
rpc_seconds_sum 12.5
rpc_seconds_created 1520430003
# EOF
`,
    want: [
      { kind: "help", name: "rpc_seconds", help: "RPC latency." },
      { kind: "type", name: "rpc_seconds", type: "summary" },
      { kind: "unit", name: "rpc_seconds", unit: "seconds" },
      s('rpc_seconds{quantile="0"}', '{__name__="rpc_seconds", quantile="0.0"}', 4.9e-5),
      s('rpc_seconds{quantile="0.5",code="200"}', '{__name__="rpc_seconds", code="200", quantile="0.5"}', 8e-5),
      s("rpc_seconds_count", '{__name__="rpc_seconds_count"}', 99),
      s("rpc_seconds_sum", '{__name__="rpc_seconds_sum"}', 12.5),
      s("rpc_seconds_created", '{__name__="rpc_seconds_created"}', 1520430003, { created: true }),
    ],
  },
  {
    name: "counter with float timestamps in seconds, exemplars and _created",
    input: `# HELP jobs Jobs run.
# TYPE jobs counter
jobs_total 17.0 1520879607.789 # {trace_id="abc"} 5
jobs_created 1520872607.123
jobs_total{queue="b"} 3 # {trace_id="def",span="1"} 1.5 1520879607.5
jobs_created{queue="b"} 1520872607
# EOF`,
    want: [
      { kind: "help", name: "jobs", help: "Jobs run." },
      { kind: "type", name: "jobs", type: "counter" },
      s("jobs_total", '{__name__="jobs_total"}', 17, { ts: 1520879607789, exemplar: '{trace_id="abc"} 5' }),
      s("jobs_created", '{__name__="jobs_created"}', 1520872607.123, { created: true }),
      s('jobs_total{queue="b"}', '{__name__="jobs_total", queue="b"}', 3, {
        exemplar: '{span="1", trace_id="def"} 1.5 @1520879607500',
      }),
      s('jobs_created{queue="b"}', '{__name__="jobs_created", queue="b"}', 1520872607, { created: true }),
    ],
  },
  {
    name: "histogram and gauge histogram buckets, exemplars on buckets",
    input: `# TYPE lat histogram
lat_bucket{le="0.5"} 1 # {id="x"} 0.3
lat_bucket{le="+Inf"} 2
lat_count 2
lat_sum 1.2
lat_created 1700000000.5
# TYPE q gaugehistogram
q_bucket{le="10"} 4 # {id="y",xx="yy"} 4 123.123
q_gcount 4
q_gsum 9
# EOF
`,
    want: [
      { kind: "type", name: "lat", type: "histogram" },
      s('lat_bucket{le="0.5"}', '{__name__="lat_bucket", le="0.5"}', 1, { exemplar: '{id="x"} 0.3' }),
      s('lat_bucket{le="+Inf"}', '{__name__="lat_bucket", le="+Inf"}', 2),
      s("lat_count", '{__name__="lat_count"}', 2),
      s("lat_sum", '{__name__="lat_sum"}', 1.2),
      s("lat_created", '{__name__="lat_created"}', 1700000000.5, { created: true }),
      { kind: "type", name: "q", type: "gaugehistogram" },
      s('q_bucket{le="10"}', '{__name__="q_bucket", le="10"}', 4, { exemplar: '{id="y", xx="yy"} 4 @123123' }),
      s("q_gcount", '{__name__="q_gcount"}', 4),
      s("q_gsum", '{__name__="q_gsum"}', 9),
    ],
  },
  {
    name: "info, stateset, unknown and a gauge named *_created",
    input: `# TYPE build info
build_info{version="1.2"} 1
# TYPE mode stateset
mode{mode="a"} 1
mode{mode="b"} 0
# TYPE misc unknown
misc 3
# TYPE boot_created gauge
boot_created 17.0
# EOF
`,
    want: [
      { kind: "type", name: "build", type: "info" },
      s('build_info{version="1.2"}', '{__name__="build_info", version="1.2"}', 1),
      { kind: "type", name: "mode", type: "stateset" },
      s('mode{mode="a"}', '{__name__="mode", mode="a"}', 1),
      s('mode{mode="b"}', '{__name__="mode", mode="b"}', 0),
      { kind: "type", name: "misc", type: "unknown" },
      s("misc", '{__name__="misc"}', 3),
      { kind: "type", name: "boot_created", type: "gauge" },
      s("boot_created", '{__name__="boot_created"}', 17),
    ],
  },
  {
    name: "HELP escapes include the double quote; empty help and unit",
    input: '# HELP h escape \\ \\n \\\\ \\" \\x chars\n# HELP nohelp \n# UNIT nounit \n# EOF\n',
    want: [
      { kind: "help", name: "h", help: 'escape \\ \n \\ " \\x chars' },
      { kind: "help", name: "nohelp", help: "" },
      { kind: "unit", name: "nounit", unit: "" },
    ],
  },
  {
    name: "quoted UTF-8 names, in any position, and in exemplars",
    input: `# TYPE "go.gc_seconds" summary
{"go.gc_seconds",quantile="0"} 4.9e-05
{q="0.9","http.status",a="b"} 1
{"Heizölrückstoßabdämpfung \\"10€\\"","strange©™\\n"="6"} 10.0
quoted_count 1 # {"id.thing"="t",other="o"} 4
# EOF
`,
    want: [
      { kind: "type", name: "go.gc_seconds", type: "summary" },
      s('{"go.gc_seconds",quantile="0"}', '{__name__="go.gc_seconds", quantile="0.0"}', 4.9e-5),
      s('{q="0.9","http.status",a="b"}', '{__name__="http.status", a="b", q="0.9"}', 1),
      s(
        '{"Heizölrückstoßabdämpfung \\"10€\\"","strange©™\\n"="6"}',
        '{__name__="Heizölrückstoßabdämpfung \\"10€\\"", "strange©™\\n"="6"}',
        10,
      ),
      s("quoted_count", '{__name__="quoted_count"}', 1, { exemplar: '{"id.thing"="t", other="o"} 4' }),
    ],
  },
  {
    name: "NaN, infinities, label escapes and NUL in values",
    input: 'a nan\nb NaN\nc +Inf\nd{x="q\\"\\\\\\n"} -Inf\ne{x="nul\0"} 1\n# EOF\n',
    want: [
      s("a", '{__name__="a"}', Number.NaN),
      s("b", '{__name__="b"}', Number.NaN),
      s("c", '{__name__="c"}', Number.POSITIVE_INFINITY),
      s('d{x="q\\"\\\\\\n"}', '{__name__="d", x="q\\"\\\\\\n"}', Number.NEGATIVE_INFINITY),
      s('e{x="nul\0"}', '{__name__="e", x="nul\\x00"}', 1),
    ],
  },
  { name: "only # EOF", input: "# EOF", want: [] },
];

describe("OpenMetricsParser: valid input", () => {
  for (const c of valid) {
    test(c.name, () => assert.deepEqual(collect(new OpenMetricsParser(c.input)), c.want));
  }

  test("eof is sticky", () => {
    const p = new OpenMetricsParser("a 1\n# EOF\n");
    assert.equal(p.next(), "series");
    assert.equal(p.next(), "eof");
    assert.equal(p.next(), "eof");
  });

  test("metadata is kept per family", () => {
    const p = new OpenMetricsParser(valid[0].input);
    while (p.next() !== "eof");
    assert.deepEqual(Object.fromEntries(p.metadata()), {
      rpc_seconds: { type: "summary", help: "RPC latency.", unit: "seconds" },
    });
  });
});

const invalid: { input: string; err: string }[] = [
  { input: "", err: "line 1: data does not end with # EOF" },
  { input: "metric 1", err: "line 1: data does not end with # EOF" },
  { input: "metric 1\n", err: "line 2: data does not end with # EOF" },
  { input: 'm_total 1 # {aa="bb"} 4', err: "line 1: data does not end with # EOF" },
  { input: "\n# EOF\n", err: 'line 1: expected a valid start token, got "\\n" ("INVALID") while parsing: "\\n"' },
  { input: "a 1\n\n# EOF\n", err: 'line 2: expected a valid start token, got "\\n" ("INVALID") while parsing: "\\n"' },
  { input: " a 1\n# EOF\n", err: 'line 1: expected a valid start token, got " " ("INVALID") while parsing: " "' },
  { input: "metric", err: 'line 1: expected value after metric, got "metric" ("EOF") while parsing: "metric"' },
  { input: "a\n# EOF\n", err: 'line 1: expected value after metric, got "\\n" ("INVALID") while parsing: "a\\n"' },
  { input: "a\t1\n# EOF\n", err: 'line 1: expected value after metric, got "\\t" ("INVALID") while parsing: "a\\t"' },
  { input: "a  1\n# EOF\n", err: 'line 1: expected value after metric, got "  " ("INVALID") while parsing: "a  "' },
  {
    input: "a 1\t2\n# EOF\n",
    err: 'line 1: strconv.ParseFloat: parsing "1\\t2": invalid syntax while parsing: "a 1\\t2"',
  },
  {
    input: "a 1 2 \n# EOF\n",
    err: 'line 1: expected next entry after timestamp, got " \\n" ("INVALID") while parsing: "a 1 2 \\n"',
  },
  {
    input: "a 1 2 #\n# EOF\n",
    err: 'line 1: expected next entry after timestamp, got " #\\n" ("TIMESTAMP") while parsing: "a 1 2 #\\n"',
  },
  {
    input: "a 1 1 1\n# EOF\n",
    err: 'line 1: expected next entry after timestamp, got " 1\\n" ("TIMESTAMP") while parsing: "a 1 1 1\\n"',
  },
  { input: "a 1 1z\n# EOF\n", err: 'line 1: strconv.ParseFloat: parsing "1z": invalid syntax while parsing: "a 1 1z"' },
  { input: "a 1 NaN", err: "line 1: invalid timestamp NaN" },
  { input: "a 1 -Inf\n# EOF\n", err: "line 1: invalid timestamp -Inf" },
  { input: "a 1 Inf\n# EOF\n", err: "line 1: invalid timestamp +Inf" },
  { input: "# EOF\na 1", err: "line 1: unexpected data after # EOF" },
  { input: "# EOF\n\n", err: "line 1: unexpected data after # EOF" },
  { input: "# EOFa 1", err: "line 1: unexpected data after # EOF" },
  {
    input: "#\tTYPE c counter\n",
    err: 'line 1: expected a valid start token, got "#\\t" ("INVALID") while parsing: "#\\t"',
  },
  {
    input: "#  TYPE c counter\n",
    err: 'line 1: expected a valid start token, got "#  " ("INVALID") while parsing: "#  "',
  },
  {
    input: "# a comment\n# EOF\n",
    err: 'line 1: expected a valid start token, got "# a" ("INVALID") while parsing: "# a"',
  },
  { input: "# H", err: 'line 1: expected a valid start token, got "# H" ("INVALID") while parsing: "# H"' },
  { input: "# TYPE u untyped\n# EOF\n", err: 'line 1: invalid metric type "untyped"' },
  { input: "# TYPE c counter \n# EOF\n", err: 'line 1: invalid metric type "counter "' },
  { input: "# TYPE c  counter\n", err: 'line 1: invalid metric type " counter"' },
  {
    input: "# TYPE \n# EOF\n",
    err: 'line 1: expected metric name after TYPE, got "\\n" ("INVALID") while parsing: "# TYPE \\n"',
  },
  { input: "# TYPE m\n# EOF\n", err: "line 1: expected text in TYPE" },
  { input: "# HELP m\n# EOF\n", err: "line 1: expected text in HELP" },
  { input: "# UNIT m\n# EOF\n", err: "line 1: expected text in UNIT" },
  { input: "# HELP m no newline", err: "line 1: expected text in HELP" },
  { input: "# UNIT metric seconds\n# EOF\n", err: 'line 1: unit "seconds" not a suffix of metric "metric"' },
  {
    input: "# UNIT metricseconds seconds\n# EOF\n",
    err: 'line 1: unit "seconds" not a suffix of metric "metricseconds"',
  },
  { input: "a{b='c'} 1\n# EOF\n", err: `line 1: expected label value, got "'" ("INVALID") while parsing: "a{b='"` },
  { input: 'a{,b="c"} 1\n# EOF\n', err: 'line 1: expected label name, got ",b" ("COMMA") while parsing: "a{,b"' },
  { input: 'a{b ="c"} 1\n# EOF\n', err: 'line 1: expected equal, got " " ("INVALID") while parsing: "a{b "' },
  {
    input: 'a{b="c"d="e"} 1\n# EOF\n',
    err: 'line 1: expected comma or brace close, got "d=" ("LNAME") while parsing: "a{b=\\"c\\"d="',
  },
  {
    input: 'a{b="c",,d="e"} 1\n# EOF\n',
    err: 'line 1: expected label name, got ",d" ("COMMA") while parsing: "a{b=\\"c\\",,d"',
  },
  {
    input: 'weird{problem="\n# EOF\n',
    err: 'line 1: expected label value, got "\\"\\n" ("INVALID") while parsing: "weird{problem=\\"\\n"',
  },
  { input: "{A}0\n# EOF\n", err: 'line 1: expected equal, got "}0" ("BCLOSE") while parsing: "{A}0"' },
  { input: 'a{b="\0', err: 'line 1: expected label value, got "\\"\\x00" ("INVALID") while parsing: "a{b=\\"\\x00"' },
  { input: "foo 1_2\n# EOF\n", err: 'line 1: unsupported character in float while parsing: "foo 1_2"' },
  { input: "foo 0 1_2\n# EOF\n", err: 'line 1: unsupported character in float while parsing: "foo 0 1_2"' },
  { input: '{b="c",} 1', err: 'line 1: metric name not set while parsing: "{b=\\"c\\",} 1"' },
  {
    input: "m_total 1 # {aa=bb}\n# EOF\n",
    err: 'line 1: expected label value, got "b" ("INVALID") while parsing: "m_total 1 # {aa=b"',
  },
  {
    input: 'm_total 1 # {aa="bb"}\n# EOF\n',
    err: 'line 1: expected value after exemplar labels, got "\\n" ("INVALID") while parsing: "m_total 1 # {aa=\\"bb\\"}\\n"',
  },
  {
    input: 'm_total 1 # {aa="bb"}',
    err: 'line 1: expected value after exemplar labels, got "}" ("EOF") while parsing: "m_total 1 # {aa=\\"bb\\"}"',
  },
  { input: "m_total 1 # {bb}", err: 'line 1: expected equal, got "}" ("BCLOSE") while parsing: "m_total 1 # {bb}"' },
  {
    input: 'm_total 1 # {"bb", a="dd"}',
    err: 'line 1: expected label name, got ", " ("COMMA") while parsing: "m_total 1 # {\\"bb\\", "',
  },
  {
    input: 'm_total 1 # {aa="bb"} 1_2',
    err: 'line 1: unsupported character in float while parsing: "m_total 1 # {aa=\\"bb\\"} 1_2"',
  },
  {
    input: 'm_total 1 # {aa="bb",cc=}',
    err: 'line 1: expected label value, got "}" ("INVALID") while parsing: "m_total 1 # {aa=\\"bb\\",cc=}"',
  },
  {
    input: 'm_total 1 # {b="\0ss"} 1\n',
    err: 'line 1: expected label value, got "\\"\\x00" ("INVALID") while parsing: "m_total 1 # {b=\\"\\x00"',
  },
  {
    input: '# TYPE h histogram\nh_bucket{le="+Inf"} 1 # {aa="bb"} 4 NaN',
    err: "line 2: invalid exemplar timestamp NaN",
  },
  {
    input: 'h_bucket{le="+Inf"} 1 # {aa="bb"} 4 1 2\n# EOF\n',
    err: 'line 1: expected next entry after exemplar timestamp, got " 2\\n" ("TIMESTAMP") while parsing: "h_bucket{le=\\"+Inf\\"} 1 # {aa=\\"bb\\"} 4 1 2\\n"',
  },
];

describe("OpenMetricsParser: invalid input", () => {
  for (const c of invalid) {
    test(JSON.stringify(c.input), () => {
      const p = new OpenMetricsParser(c.input);
      assert.throws(
        () => {
          while (p.next() !== "eof");
        },
        (err) => isContrailError(err, "bad_data") && err.message === c.err,
      );
    });
  }

  test("duplicate exemplar label names are refused when the exemplar is read", () => {
    const p = new OpenMetricsParser('m_total 1 # {a="1",a="2"} 1\n# EOF\n');
    assert.equal(p.next(), "series");
    assert.throws(
      () => p.exemplar(),
      (e) => isContrailError(e, "bad_data") && e.message === 'line 1: exemplar: duplicate label name "a"',
    );
  });
});
