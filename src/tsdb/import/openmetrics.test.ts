import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { floatHi, floatLo } from "../encoding/float-bits.ts";
import { OpenMetricsLineParser, readOpenMetricsFile } from "./openmetrics.ts";

const dir = mkdtempSync(join(tmpdir(), "contrail-om-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const p = join(dir, `f${n++}.om`);
  writeFileSync(p, text);
  return p;
}

async function read(text: string): Promise<string[]> {
  const out: string[] = [];
  await readOpenMetricsFile(file(text), {
    onSample: (labels, t, v, line) => out.push(`${line} ${labels.toString()} ${t} ${v}`),
  });
  return out;
}

describe("OpenMetrics lines", () => {
  const good: [string, string][] = [
    ["up 1 1700000000", '{__name__="up"} 1700000000000 1'],
    ['up{job="api",instance="a:1"} 0 1700000000.5', '{__name__="up", instance="a:1", job="api"} 1700000000500 0'],
    ['up{job="api",} 1 1', '{__name__="up", job="api"} 1000 1'],
    ["x 1.5e3 1.0001", '{__name__="x"} 1000 1500'],
    ["x -Inf 2", '{__name__="x"} 2000 -Infinity'],
    ["x +inf 2", '{__name__="x"} 2000 Infinity'],
    ["x 1 -1.5", '{__name__="x"} -1500 1'],
    ["x 1 0.0019", '{__name__="x"} 1 1'], // truncated toward zero, as Prometheus converts
    ['x{a="q\\"uo\\\\te\\nnl"} 1 1', '{__name__="x", a="q\\"uo\\\\te\\nnl"} 1000 1'],
    ['x{a="\\t"} 1 1', '{__name__="x", a="\\\\t"} 1000 1'], // unknown escapes stay as written
    ['{"my.metric","a.b"="é"} 2 3', '{__name__="my.metric", "a.b"="é"} 3000 2'],
    ['x{a=""} 1 1', '{__name__="x"} 1000 1'], // an empty value is no label
    ['x_total 5 10 # {trace_id="abc"} 1 9.5', '{__name__="x_total"} 10000 5'],
    ['x_total 5 10 # {trace_id="abc"} 1', '{__name__="x_total"} 10000 5'],
  ];
  for (const [line, want] of good) {
    test(`parses ${line}`, () => {
      const p = new OpenMetricsLineParser(true);
      const s = p.parse(line, 1);
      assert.ok(s !== null);
      assert.equal(`${s.labels.toString()} ${s.t} ${s.v}`, want);
    });
  }

  test("NaN values become Prometheus's normal NaN", () => {
    const s = new OpenMetricsLineParser(true).parse("x NaN 1", 1);
    assert.ok(s !== null);
    assert.equal(floatHi(s.v), 0x7ff80000);
    assert.equal(floatLo(s.v), 1);
  });

  test("metadata lines give no sample and are checked", () => {
    const p = new OpenMetricsLineParser(true);
    for (const l of [
      "# HELP x Some help.",
      "# HELP x",
      "# TYPE x counter",
      "# UNIT x_seconds seconds",
      '# TYPE "a.b" gauge',
    ]) {
      assert.equal(p.parse(l, 1), null, l);
    }
  });

  const bad: [string, RegExp][] = [
    ["", /empty line/],
    ["# just a comment", /expected # HELP/],
    ["# TYPE x sometimes", /invalid metric type/],
    ["# UNIT x_bytes seconds", /not a suffix/],
    ["up 1", /expected a timestamp/],
    ["up", /expected a space and a value/],
    ["up abc 1", /invalid value "abc"/],
    ["up 0x10 1", /invalid value/],
    ["up 1_000 1", /invalid value/],
    ["up 1e999 1", /out of range/],
    ["up 1 NaN", /invalid timestamp/],
    ["up 1 1 2", /expected next entry after timestamp/],
    ['up{a="1",a="2"} 1 1', /duplicate label name "a"/],
    ['up{a="1" 1 1', /unterminated label set/],
    ["up{a=1} 1 1", /expected label value/],
    ['up{1a="x"} 1 1', /expected label name/],
    ['up{a="x"b="y"} 1 1', /expected comma or brace close/],
    ['{a="x"} 1 1', /metric name not set/],
    ['up{"other"} 1 1', /metric name given twice/],
    ['x 1 1 # {a="b"}', /expected a space and a value after the exemplar/],
    ["  up 1 1", /expected a metric name/],
  ];
  for (const [line, re] of bad) {
    test(`rejects ${JSON.stringify(line)}`, () => {
      assert.throws(
        () => new OpenMetricsLineParser(true).parse(line, 7),
        (e) => isContrailError(e, "parse_error") && e.message.startsWith("line 7: ") && re.test(e.message),
      );
    });
  }
});

describe("reading a file", () => {
  test("streams samples with their line numbers", async () => {
    const got = await read('# TYPE a gauge\na{x="1"} 1 10\na{x="1"} 2 11\n# EOF\n');
    assert.deepEqual(got, ['2 {__name__="a", x="1"} 10000 1', '3 {__name__="a", x="1"} 11000 2']);
  });

  test("# EOF may end the file without a newline; CRLF is not OpenMetrics", async () => {
    assert.equal((await read("a 1 1\n# EOF")).length, 1);
    await assert.rejects(read("a 1 1\r\n# EOF\n"), /line 1: invalid timestamp/);
  });

  test("errors name the line", async () => {
    await assert.rejects(read("a 1 1\n"), /line 2: data does not end with # EOF/);
    await assert.rejects(read("a 1 1\n# EOF\nb 1 1\n"), /line 3: unexpected data after # EOF/);
    await assert.rejects(read("a 1 1\n\n# EOF\n"), /line 2: empty line/);
    await assert.rejects(read("a 1 1\nb{ 1 1\n# EOF\n"), /line 2: unterminated label set/);
    const p = file("");
    writeFileSync(p, Buffer.from([0x61, 0x7b, 0x62, 0x3d, 0x22, 0xff, 0x22, 0x7d, 0x20, 0x31, 0x20, 0x31, 0x0a]));
    await assert.rejects(readOpenMetricsFile(p, { onSample() {} }), /line 1: invalid UTF-8/);
  });

  test("lines crossing read buffers are joined", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++)
      lines.push(`metric_with_a_long_name{instance="host-${i % 97}",n="${i}"} ${i} ${i}`);
    const got = await read(`${lines.join("\n")}\n# EOF\n`);
    assert.equal(got.length, 40_000);
    assert.equal(
      got[39_999],
      `40000 {__name__="metric_with_a_long_name", instance="host-${39_999 % 97}", n="39999"} 39999000 39999`,
    );
  });
});
