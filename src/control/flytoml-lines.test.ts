import assert from "node:assert/strict";
import { test } from "node:test";
import { KeyLines } from "./flytoml-lines.ts";

const FILE = `# a fly.toml with every kind of line
app = "shop"
"quoted key" = 1
build.command = "node server.js"

[env]
  NOTE = """
[not_a_table]
fake = 1
"""
  OTHER = 'x'

[[services]]
  internal_port = 8080
  [[services.ports]]
    port = 80
  [[services.ports]]
    port = 443 # a comment
  [services.concurrency]
    hard_limit = 25

[[services]]
  internal_port = 9090
  [[services.ports]]
    handlers = [
      "http", # in an array
      "tls",
    ]
    port = 9090

[metrics]
  port = 9091
  inline = { a = 1, b = [1,
    2] }
  after = true
`;

test("every table and key maps to its line; unwritten ones to their nearest written parent", () => {
  const lines = new KeyLines(FILE);
  const cases: [string, number | undefined][] = [
    ["app", 2],
    ["quoted key", 3],
    ["build", 4],
    ["build.command", 4],
    ["env", 6],
    ["env.NOTE", 7],
    ["env.OTHER", 11],
    ["not_a_table", undefined],
    ["fake", undefined],
    ["services[0]", 13],
    ["services[0].internal_port", 14],
    ["services[0].ports[0].port", 16],
    ["services[0].ports[1]", 17],
    ["services[0].ports[1].port", 18],
    ["services[0].concurrency.hard_limit", 20],
    ["services[0].concurrency.soft_limit", 19],
    ["services[1]", 22],
    ["services[1].ports[0].handlers", 25],
    ["services[1].ports[0].handlers[1]", 25],
    ["services[1].ports[0].port", 29],
    ["services[1].ports[0].handlers_missing", 24],
    ["metrics.port", 32],
    ["metrics.inline.b", 33],
    ["metrics.after", 35],
    ["metrics.path", 31],
    ["vm[0].memory", undefined],
  ];
  for (const [path, line] of cases) assert.equal(lines.lineOf(path), line, path);
});

test("an implied parent table has no line of its own; CRLF line ends count once", () => {
  const lines = new KeyLines("[a.b]\r\nc = 1\r\n\r\n[[d.e]]\r\nf = 2\r\n");
  assert.equal(lines.lineOf("a.b.c"), 2);
  assert.equal(lines.lineOf("a"), 1, "a parent named by a header is located at it");
  assert.equal(lines.lineOf("d.e[0].f"), 5);
  assert.equal(lines.lineOf("d.e[0].g"), 4);
});

test("an array of inline tables locates its elements at the array's key", () => {
  const lines = new KeyLines('app = "x"\nmetrics = [\n  { port = 1 },\n  { port = "b" },\n]\n');
  assert.equal(lines.lineOf("metrics[1].port"), 2);
});

test("a multi-line literal string and escaped quotes do not end early", () => {
  const text = 'a = \'\'\'\nx = 1\n\'\'\'\nb = "say \\"[c]\\""\nd = """one\\\n  two"""\ne = 5\n';
  const lines = new KeyLines(text);
  assert.equal(lines.lineOf("a"), 1);
  assert.equal(lines.lineOf("x"), undefined);
  assert.equal(lines.lineOf("b"), 4);
  assert.equal(lines.lineOf("d"), 5);
  assert.equal(lines.lineOf("e"), 7);
});
