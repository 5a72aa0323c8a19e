// Alert templates against the outputs Prometheus documents and tests (template/template_test.go, the alerting
// docs) and Go's text/template semantics: variables, pipelines, control structures, trimming, errors and bounds.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { formatE, formatF, formatG, sprintf } from "./gofmt.ts";
import {
  type AlertTemplateData,
  checkTemplate,
  expandAlertTemplate,
  MAX_RANGE_ITERATIONS,
  MAX_TEMPLATE_CALL_DEPTH,
  MAX_TEMPLATE_DEPTH,
  MAX_TEMPLATE_OUTPUT,
  MAX_TEMPLATE_QUERIES,
} from "./index.ts";
import { formatFloat } from "./values.ts";

const DATA: AlertTemplateData = {
  labels: { instance: "host-1.example.com:9100", job: "node", severity: "page" },
  externalLabels: { region: "eu-1" },
  externalUrl: "http://testhost:9090/path/prefix",
  value: 11,
  query: async (expr) => {
    if (expr === "1.5") return [{ labels: {}, value: 1.5 }];
    if (expr === "up")
      return [
        { labels: { __name__: "up", instance: "b" }, value: 0 },
        { labels: { __name__: "up", instance: "a" }, value: 1 },
      ];
    if (expr === "empty") return [];
    throw new Error(`unexpected query ${expr}`);
  },
};

async function expand(text: string, data: Partial<AlertTemplateData> = {}): Promise<string> {
  return expandAlertTemplate(text, "__alert_Test", { ...DATA, ...data });
}

/** [template, expected output]. */
type Case = readonly [string, string];

async function table(cases: readonly Case[], data: Partial<AlertTemplateData> = {}): Promise<void> {
  for (const [text, want] of cases) assert.equal(await expand(text, data), want, text);
}

describe("Prometheus's functions", () => {
  test("humanize, humanize1024, humanizePercentage", async () => {
    await table([
      ["{{ humanize 0.0 }}:{{ humanize 1.0 }}:{{ humanize 1234567.0 }}:{{ humanize 0.12 }}", "0:1:1.235M:120m"],
      ["{{ humanize 1e-9 }}:{{ humanize -2500.0 }}:{{ humanize 1e30 }}", "1n:-2.5k:1e+06Y"],
      ['{{ humanize "1234567.0" }}', "1.235M"],
      ["{{ humanize 42 }}", "42"],
      [
        "{{ humanize1024 0.0 }}:{{ humanize1024 1.0 }}:{{ humanize1024 1048576.0 }}:{{ humanize1024 0.12 }}",
        "0:1:1Mi:0.12",
      ],
      ["{{ humanize1024 1536.0 }}", "1.5ki"],
      [
        "{{ humanizePercentage 0.0 }}:{{ humanizePercentage 0.1234567 }}:{{ humanizePercentage 0.5 }}:{{ humanizePercentage 1.5 }}:{{ humanizePercentage 0.001234 }}",
        "0%:12.35%:50%:150%:0.1234%",
      ],
    ]);
  });

  test("humanizeDuration", async () => {
    await table([
      ["{{ humanizeDuration 0.0 }}:{{ humanizeDuration 1.0 }}:{{ humanizeDuration 60.0 }}", "0s:1s:1m 0s"],
      [
        "{{ humanizeDuration 3600.0 }}:{{ humanizeDuration 86400.0 }}:{{ humanizeDuration 90000.0 }}",
        "1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s",
      ],
      ["{{ humanizeDuration -183845.0 }}:{{ humanizeDuration 899.99 }}", "-2d 3h 4m 5s:14m 59s"],
      [
        "{{ humanizeDuration 0.1 }}:{{ humanizeDuration 0.0001 }}:{{ humanizeDuration 0.12345 }}",
        "100ms:100us:123.5ms",
      ],
      [
        "{{ humanizeDuration 60.1 }}:{{ humanizeDuration 1.2345 }}:{{ humanizeDuration 12.345 }}",
        "1m 0s:1.234s:12.35s",
      ],
      ['{{ humanizeDuration "60" }}', "1m 0s"],
    ]);
  });

  test("humanizeTimestamp, parseDuration, externalURL, pathPrefix", async () => {
    await table([
      ["{{ 1435065584.128 | humanizeTimestamp }}", "2015-06-23 13:19:44.128 +0000 UTC"],
      ["{{ humanizeTimestamp 1435065584.0 }}", "2015-06-23 13:19:44 +0000 UTC"],
      ['{{ parseDuration "1h2m10ms" }}', "3720.01"],
      [
        "{{ externalURL }} {{ pathPrefix }} {{ $externalURL }}",
        "http://testhost:9090/path/prefix /path/prefix http://testhost:9090/path/prefix",
      ],
    ]);
  });

  test("strings: title, toUpper, toLower, match, reReplaceAll, safeHtml, stripPort, stripDomain", async () => {
    await table([
      ['{{ "aa bb CC" | title }}:{{ "aa bb CC" | toUpper }}:{{ "aa bb CC" | toLower }}', "Aa Bb CC:AA BB CC:aa bb cc"],
      ['{{ match "a+" "aa" }} {{ match "a+" "b" }} {{ match "^a" "ba" }}', "true false false"],
      // Go's `${1}` is a submatch reference here, not a JavaScript placeholder.
      [`{{ reReplaceAll "(a)b" "x$1" "ab" }}:{{ reReplaceAll "(a)b" "$\{1}x" "abab" }}`, "xa:axax"],
      ['{{ reReplaceAll ":.*" "" $labels.instance }}', "host-1.example.com"],
      ['{{ "<b>" | safeHtml }}', "<b>"],
      [
        '{{ "foo.com:8080" | stripPort }}:{{ "foo.com" | stripPort }}:{{ "[::1]:80" | stripPort }}',
        "foo.com:foo.com:::1",
      ],
      [
        '{{ "foo.example.com:8080" | stripDomain }}:{{ "foo.example.com" | stripDomain }}:{{ "192.168.0.1:80" | stripDomain }}',
        "foo:8080:foo:192.168.0.1:80",
      ],
      ['{{ graphLink "up == 0" }}', "/graph?g0.expr=up+%3D%3D+0&g0.tab=0"],
    ]);
  });

  test("query with first, value, label, sortByLabel and range", async () => {
    await table([
      ['{{ query "1.5" | first | value }}', "1.5"],
      ['{{ with query "1.5" }}{{ . | first | value }}{{ end }}', "1.5"],
      ['{{ range query "up" | sortByLabel "instance" }}{{ .Labels.instance }}={{ .Value }} {{ end }}', "a=1 b=0 "],
      ['{{ range $i, $s := query "up" }}{{ $i }}:{{ label "instance" $s }} {{ end }}', "0:b 1:a "],
      ['{{ with query "empty" }}some{{ else }}none{{ end }}', "none"],
      ['{{ query "up" | len }}', "2"],
    ]);
    assert.match(
      await expand('{{ query "empty" | first }}'),
      /error calling first: first\(\) called on vector with no elements/,
    );
    assert.match(await expand('{{ query "1.5" }}', { query: undefined }), /error calling query/);
  });
});

/** A float histogram of schema 0: one negative bucket [-1,-0.5), the zero bucket, (0.5,1] and (1,2] (empty: (2,4]). */
const HIST: Histogram = {
  integer: false,
  counterResetHint: CounterResetHint.gauge,
  schema: 0,
  zeroThreshold: 0.001,
  zeroCount: 2,
  count: 10,
  sum: 12.5,
  positiveSpans: [{ offset: 0, length: 3 }],
  positiveBuckets: [3, 4, 0],
  negativeSpans: [{ offset: 0, length: 1 }],
  negativeBuckets: [1],
  customValues: [],
};

describe("native histogram values, as Prometheus 3 hands them to templates", () => {
  test("$value is the histogram: it prints as FloatHistogram's String and its fields read as Go's", async () => {
    const text = "{count:10, sum:12.5, [-1,-0.5):1, [-0.001,0.001]:2, (0.5,1]:3, (1,2]:4}";
    await table(
      [
        ["{{ $value }}", text],
        ["{{ .Value }}", text],
        ['{{ printf "%v|%s" $value $value }}', `${text}|${text}`],
        ["{{ $value.Count }} {{ $value.Sum }} {{ $value.ZeroCount }} {{ $value.Schema }}", "10 12.5 2 0"],
        ["{{ $value.PositiveSpans }} {{ $value.PositiveBuckets }} {{ $value.CounterResetHint }}", "[{0 3}] [3 4 0] 3"],
        ["{{ if $value }}yes{{ end }}", "yes"],
        ["{{ humanize $value.Count }}", "10"],
      ],
      { value: 0, h: HIST },
    );
  });

  test("functions that need a number fail on it as Prometheus's do", async () => {
    const data = { value: 0, h: HIST };
    assert.match(
      await expand("{{ humanize $value }}", data),
      /^<error expanding template: .*error calling humanize: can't convert \*histogram.FloatHistogram to float>$/,
    );
    assert.match(await expand("{{ gt $value 1.0 }}", data), /error calling gt: invalid type for comparison/);
  });

  test("query results holding histograms have it as .Value", async () => {
    const query = async () => [{ labels: { job: "a" }, value: 0, h: HIST }];
    await table(
      [
        ['{{ query "h" | first | value }}', "{count:10, sum:12.5, [-1,-0.5):1, [-0.001,0.001]:2, (0.5,1]:3, (1,2]:4}"],
        ['{{ range query "h" }}{{ .Labels.job }}: {{ .Value.Count }}{{ end }}', "a: 10"],
      ],
      { query },
    );
  });
});

describe("named templates and the remaining functions", () => {
  test("define, template and block; no tmpl (Prometheus keeps it for console templates)", async () => {
    await table([
      ['{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" $labels.job }}', "[node]"],
      ['{{ block "b" $value }}<{{ . }}>{{ end }}', "<11>"],
      ['{{ define "x" }}{{ $ }}{{ end }}{{ template "x" }}', "<nil>"],
    ]);
    assert.match(await expand('{{ template "nope" }}'), /template "nope" not defined/);
    assert.equal(checkTemplate('{{ tmpl "x" 1 }}', "__alert_X"), 'template: __alert_X:1: function "tmpl" not defined');
    assert.match(
      await expand('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" 1 }}'),
      new RegExp(`templates nested deeper than ${MAX_TEMPLATE_CALL_DEPTH}`),
    );
    assert.equal(
      checkTemplate('{{ define "x" }}{{ $labels }}{{ end }}', "__alert_X"),
      'template: __alert_X:1: undefined variable "$labels"',
    );
    assert.equal(
      checkTemplate('{{ if true }}{{ define "x" }}{{ end }}{{ end }}', "__alert_X"),
      "template: __alert_X:1: unexpected <define> in command",
    );
  });

  test("html, js, slice, toTime, toDuration, now", async () => {
    await table([
      [`{{ html "<a href='x'>&" }}`, "&lt;a href=&#39;x&#39;&gt;&amp;"],
      [`{{ js "a'b<" }}`, "a\\'b\\u003C"],
      ['{{ slice "abcdef" 1 3 }}:{{ slice "abcdef" 2 }}', "bc:cdef"],
      ["{{ toTime 1435065584.128 }}", "2015-06-23 13:19:44.128 +0000 UTC"],
      [
        "{{ toDuration 3725.5 }}:{{ toDuration 0.15 }}:{{ toDuration 0.0 }}:{{ toDuration 90.0 }}",
        "1h2m5.5s:150ms:0s:1m30s",
      ],
    ]);
    assert.equal(await expand("{{ now }}", { evalTimeMs: 1_435_065_584_128 }), "1.435065584128e+09");
  });
});

describe("Go text/template semantics", () => {
  test("labels, value and external labels, as variables and fields", async () => {
    await table([
      ["{{ $labels.job }} {{ .Labels.job }} {{ $value }} {{ .Value }}", "node node 11 11"],
      ["{{ $externalLabels.region }} {{ .ExternalLabels.region }}", "eu-1 eu-1"],
      ["[{{ $labels.missing }}]", "[]"],
      ["{{ $labels }}", "map[instance:host-1.example.com:9100 job:node severity:page]"],
    ]);
    assert.equal(await expand("{{ $value }}", { value: 1234567 }), "1.234567e+06");
    assert.equal(await expand("{{ $value }}", { value: 0.5 }), "0.5");
    assert.equal(await expand("{{ $value }}", { value: Number.NaN }), "NaN");
  });

  test("printf and print", async () => {
    await table([
      ['{{ printf "%.2f" $value }}', "11.00"],
      ['{{ printf "%d items, %s, %q, %v, %5.1f|%-4d|" 3 "x" "y" 2.5 3.14159 7 }}', '3 items, x, "y", 2.5,   3.1|7   |'],
      ['{{ printf "%d" $value }}', "%!d(float64=11)"],
      ['{{ printf "%s %s" "a" }}', "a %!s(MISSING)"],
      ['{{ printf "%s" "a" "b" }}', "a%!(EXTRA string=b)"],
      ['{{ printf "%e %g %x %t %%" 1234.5678 0.000012 255 true }}', "1.234568e+03 1.2e-05 ff true %"],
      ['{{ print "a" 1 2 "b" }}', "a1 2b"],
    ]);
  });

  test("if, else if, else, with, range with break and continue", async () => {
    await table([
      ['{{ if eq $labels.job "api" }}api{{ else if eq $labels.job "node" }}node{{ else }}other{{ end }}', "node"],
      ["{{ if gt $value 10.0 }}big{{ else }}small{{ end }}", "big"],
      ["{{ with $labels.job }}job={{ . }}{{ end }}{{ with $labels.nope }}x{{ else }}-{{ end }}", "job=node-"],
      ["{{ range $k, $v := $labels }}{{ $k }};{{ end }}", "instance;job;severity;"],
      ['{{ range $k, $v := $labels }}{{ if eq $k "job" }}{{ break }}{{ end }}{{ $k }};{{ end }}', "instance;"],
      [
        '{{ range $k, $v := $labels }}{{ if eq $k "job" }}{{ continue }}{{ end }}{{ $k }};{{ end }}',
        "instance;severity;",
      ],
      ['{{ range query "empty" }}x{{ else }}empty{{ end }}', "empty"],
    ]);
  });

  test("variables, comparisons, logic, len and index", async () => {
    await table([
      ["{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"],
      ["{{ $x := 1 }}{{ if true }}{{ $x := 3 }}{{ end }}{{ $x }}", "1"],
      ['{{ and 1 0 "x" }} {{ and 1 2 }} {{ or 0 "" "z" }} {{ or 0 "" }} {{ not 0 }}', "0 2 z  true"],
      [
        '{{ eq 1 2 3 1 }} {{ ne "a" "b" }} {{ lt 1 2 }} {{ le 2.5 2.5 }} {{ gt "b" "a" }} {{ ge 1 2 }}',
        "true true true true true false",
      ],
      ['{{ len "héllo" }} {{ len $labels }} {{ index $labels "job" }}', "6 3 node"],
      ["{{ (1) }} {{ (print 1 2) | len }}", "1 3"],
    ]);
    assert.match(await expand("{{ eq 1 1.0 }}"), /error calling eq: incompatible types for comparison/);
  });

  test("trim markers and comments", async () => {
    await table([
      ["a  {{- 1 -}}  b", "a1b"],
      ["a {{- /* note */ -}} b", "ab"],
      ["a {{/* note */}} b", "a  b"],
      ["{{ -1 }} {{ 3 - }}", '<error expanding template: template: __alert_Test:1: bad number syntax: "-">'],
      ["x\n  {{- if true }}\n  y\n  {{- end }}", "x\n  y"],
      ["{{ if\n eq 1 1 }}newlines inside an action{{ end }}", "newlines inside an action"],
    ]);
  });

  test("errors become the <error expanding template: ...> text", async () => {
    assert.equal(
      await expand("{{ .Nope }}"),
      '<error expanding template: template: __alert_Test:1: executing "__alert_Test": can\'t evaluate field Nope in type template.tmplData>',
    );
    assert.match(await expand('{{ humanize "foo" }}'), /strconv.ParseFloat: parsing "foo": invalid syntax/);
    assert.match(await expand('{{ "x" 1 }}'), /can't give argument to non-function/);
    assert.equal(await expand("no template"), "no template");
  });
});

describe("parse errors as validation reports them", () => {
  const cases: readonly Case[] = [
    ["{{ foo }}", 'template: __alert_X:1: function "foo" not defined'],
    ["{{ $nope }}", 'template: __alert_X:1: undefined variable "$nope"'],
    ["{{ if 1 }}", "template: __alert_X:1: unexpected EOF"],
    ["{{ end }}", "template: __alert_X:1: unexpected {{end}}"],
    ["{{ .x", "template: __alert_X:1: unclosed action"],
    ["line1\n{{ else }}", "template: __alert_X:2: unexpected {{else}}"],
    ["{{ break }}", "template: __alert_X:1: {{break}} outside {{range}}"],
    ['{{ "abc }}', "template: __alert_X:1: unterminated quoted string"],
    ["{{ /* open }}", "template: __alert_X:1: unclosed comment"],
    [
      '{{ define "x" }}a{{ end }}{{ define "x" }}b{{ end }}',
      'template: __alert_X:1: multiple definition of template "x"',
    ],
    ["{{ template x }}", 'template: __alert_X:1: unexpected "x" in template clause'],
  ];
  for (const [text, want] of cases) {
    test(JSON.stringify(text), () => assert.equal(checkTemplate(text, "__alert_X"), want));
  }
  test("operands must be apart; a trailing pipe is accepted, as Go's parser does", () => {
    assert.equal(
      checkTemplate("{{ $labels.job$value }}", "__alert_X"),
      'template: __alert_X:1: unexpected "$" in operand',
    );
    assert.equal(checkTemplate("{{ $value | }}", "__alert_X"), null);
    assert.equal(checkTemplate("{{ true.Labels }}", "__alert_X"), 'template: __alert_X:1: unexpected "." in operand');
    assert.equal(
      checkTemplate('{{ with"s" }}{{ end }}', "__alert_X"),
      'template: __alert_X:1: bad character "\\"" after with',
    );
    assert.equal(checkTemplate("{{ if(true) }}x{{ end }}", "__alert_X"), null);
    assert.equal(checkTemplate("{{ externalURL.Labels }}", "__alert_X"), null, "fields after a function name parse");
  });

  test("valid templates pass", () => {
    assert.equal(checkTemplate("{{ $labels.job }} {{ $value | humanize }}", "__alert_X"), null);
    assert.equal(checkTemplate("plain text", "__alert_X"), null);
  });
});

describe("bounds: a hostile template cannot stall or grow without limit", () => {
  test("output length", async () => {
    const r = await expand(`{{ range $i, $v := ${MAX_RANGE_ITERATIONS} }}${"x".repeat(100)}{{ end }}`);
    assert.match(r, new RegExp(`output longer than ${MAX_TEMPLATE_OUTPUT} characters`));
  });

  test("range iterations, nested", async () => {
    const r = await expand("{{ range 1000 }}{{ range 1000 }}{{ end }}{{ end }}");
    assert.match(r, new RegExp(`more than ${MAX_RANGE_ITERATIONS} range iterations`));
  });

  test("queries per expansion", async () => {
    const r = await expand('{{ range 100 }}{{ query "1.5" }}{{ end }}');
    assert.match(r, new RegExp(`more than ${MAX_TEMPLATE_QUERIES} queries`));
  });

  test("nesting depth", () => {
    const deep = "{{ if true }}".repeat(MAX_TEMPLATE_DEPTH + 1) + "{{ end }}".repeat(MAX_TEMPLATE_DEPTH + 1);
    assert.match(checkTemplate(deep, "__alert_X") ?? "", /nesting deeper than/);
    const parens = `{{ ${"(".repeat(MAX_TEMPLATE_DEPTH + 1)}1${")".repeat(MAX_TEMPLATE_DEPTH + 1)} }}`;
    assert.match(checkTemplate(parens, "__alert_X") ?? "", /nesting deeper than/);
  });

  test("printf width", async () => {
    assert.equal((await expand('{{ printf "%999999999d" 1 }}')).length, 4096);
  });
});

describe("Go's number formatting", () => {
  test("%v of float64", () => {
    const cases: [number, string][] = [
      [0, "0"],
      [1, "1"],
      [0.1, "0.1"],
      [100000, "100000"],
      [1e6, "1e+06"],
      [123456789, "1.23456789e+08"],
      [0.0001, "0.0001"],
      [0.00001, "1e-05"],
      [-2.5, "-2.5"],
      [Number.POSITIVE_INFINITY, "+Inf"],
      [1e21, "1e+21"],
    ];
    for (const [v, want] of cases) assert.equal(formatFloat(v), want, String(v));
  });

  test("%.4g, %e", () => {
    assert.equal(formatG(1234.5, 4), "1234");
    assert.equal(formatG(12345.6, 4), "1.235e+04");
    assert.equal(formatG(100000, 4), "1e+05");
    assert.equal(formatG(1.5, 4), "1.5");
    assert.equal(formatG(0.00001234, 4), "1.234e-05");
    assert.equal(formatE(1234.5678, 2), "1.23e+03");
    assert.equal(sprintf("%08.3f", [-1.23456]), "-001.235");
    // Exact ties round to the even digit, as Go does (JavaScript rounds them up).
    assert.equal(formatG(12345, 4), "1.234e+04");
    assert.equal(formatF(0.125, 2), "0.12");
    assert.equal(formatF(0.375, 2), "0.38");
    assert.equal(formatE(2.5, 0), "2e+00");
  });
});
