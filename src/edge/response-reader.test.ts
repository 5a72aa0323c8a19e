import assert from "node:assert/strict";
import { test } from "node:test";
import { ResponseReader, type ResponseSink } from "./response-reader.ts";

interface Outcome {
  status: number;
  headers: string[];
  /** The forwarded head's names and values are all valid. */
  valid: boolean;
  hasDate: boolean;
  body: string;
  end: "reusable" | "close" | null;
  error: string | null;
}

/** The `Name: value\r\n` lines of a forwarded head as a flat [name, value, …] list. */
function fieldList(fields: string): string[] {
  const out: string[] = [];
  for (const line of fields.split("\r\n")) {
    if (line === "") continue;
    const sep = line.indexOf(": ");
    assert.ok(sep > 0, `a forwarded line in the form "Name: value": ${JSON.stringify(line)}`);
    out.push(line.slice(0, sep), line.slice(sep + 2));
  }
  assert.ok(fields === "" || fields.endsWith("\r\n"), "forwarded lines end with CRLF");
  return out;
}

function collector(): { sink: ResponseSink; out: Outcome } {
  const out: Outcome = { status: 0, headers: [], valid: true, hasDate: false, body: "", end: null, error: null };
  const sink: ResponseSink = {
    onResponseHead(status, head) {
      out.status = status;
      out.headers = fieldList(head.fields);
      out.valid = head.valid;
      out.hasDate = head.hasDate;
    },
    onResponseBody(chunk) {
      out.body += chunk.toString("latin1");
    },
    onResponseEnd(reusable) {
      out.end = reusable ? "reusable" : "close";
    },
    onResponseError(message) {
      out.error = message;
    },
  };
  return { sink, out };
}

/** Feeds `wire` cut at the given offsets, then an EOF when `eof` is set. */
function run(wire: string, cuts: readonly number[], opts: { head?: boolean; eof?: boolean } = {}): Outcome {
  const { sink, out } = collector();
  const r = new ResponseReader();
  r.reset(sink, opts.head !== true);
  const bytes = Buffer.from(wire, "latin1");
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > from) r.feed(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  if (opts.eof === true) r.eof(true);
  return out;
}

interface Case {
  readonly name: string;
  readonly wire: string;
  readonly head?: boolean;
  readonly eof?: boolean;
  /** Only fed whole: split feeds legitimately differ (the reader cannot see bytes that have not arrived). */
  readonly wholeOnly?: boolean;
  readonly want: Partial<Outcome>;
}

const cases: Case[] = [
  {
    name: "content-length body",
    wire: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    want: {
      status: 200,
      body: "hello",
      end: "reusable",
      headers: ["Content-Type", "text/plain", "Content-Length", "5"],
    },
  },
  {
    name: "chunked body with extension and trailer",
    wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
    want: { status: 200, body: "hello world", end: "reusable", headers: [] },
  },
  {
    name: "hex chunk sizes",
    wire: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1A\r\n${"z".repeat(26)}\r\n0\r\n\r\n`,
    want: { body: "z".repeat(26), end: "reusable" },
  },
  {
    name: "transfer-encoding wins over content-length, which is dropped",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    want: { body: "ok", headers: [], end: "reusable" },
  },
  {
    name: "body until close",
    wire: "HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nstreamed until the end",
    eof: true,
    want: { body: "streamed until the end", end: "close", headers: ["X-A", "b"] },
  },
  {
    name: "HTTP/1.0 is not reused",
    wire: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    want: { body: "ok", end: "close" },
  },
  {
    name: "Connection: close is not reused, and is stripped",
    wire: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    want: { end: "close", headers: ["Content-Length", "2"] },
  },
  {
    name: "hop-by-hop and Connection-listed headers are stripped",
    wire:
      "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n" +
      "Proxy-Authenticate: Basic\r\nTrailer: X-T\r\nUpgrade: h2c\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n" +
      "Content-Length: 0\r\n\r\n",
    want: { headers: ["Set-Cookie", "a=1", "Set-Cookie", "b=2", "Content-Length", "0"], end: "reusable" },
  },
  {
    name: "values are trimmed of optional whitespace and their lines forwarded as Name: value",
    wire: "HTTP/1.1 200 OK\r\nX-A:b\r\nX-B: \t c d \t\r\nX-C: e\r\nX-E:\r\ndAtE: Sun\r\nContent-Length: 0\r\n\r\n",
    want: {
      headers: ["X-A", "b", "X-B", "c d", "X-C", "e", "X-E", "", "dAtE", "Sun", "Content-Length", "0"],
      hasDate: true,
      valid: true,
    },
  },
  {
    name: "hop-by-hop names are matched in any case",
    wire:
      "HTTP/1.1 200 OK\r\nCONNECTION: Keep-Alive\r\ntRaNsFeR-eNcOdInG: CHUNKED\r\nPROXY-X: 1\r\nTE: y\r\n" +
      "Proxy-: kept\r\nContent-Lengthy: 3\r\n\r\n0\r\n\r\n",
    want: { headers: ["Proxy-", "kept", "Content-Lengthy", "3"], end: "reusable", hasDate: false },
  },
  {
    name: "a control byte in a forwarded value makes the head unusable",
    wire: "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
    want: { valid: false },
  },
  {
    name: "a forwarded name that is not a token makes the head unusable",
    wire: "HTTP/1.1 200 OK\r\nX(A): b\r\nContent-Length: 0\r\n\r\n",
    want: { valid: false },
  },
  {
    name: "a header named in Connection is dropped, not judged",
    wire: "HTTP/1.1 200 OK\r\nConnection: X-Bad\r\nX-Bad: a\x01b\r\nDate: d\r\nContent-Length: 0\r\n\r\n",
    want: { valid: true, headers: ["Date", "d", "Content-Length", "0"], hasDate: true },
  },
  {
    name: "HEAD response has no body despite its length",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
    head: true,
    want: { status: 200, body: "", end: "reusable", headers: ["Content-Length", "1234"] },
  },
  { name: "204 has no body", wire: "HTTP/1.1 204 No Content\r\n\r\n", want: { status: 204, end: "reusable" } },
  {
    name: "304 has no body",
    wire: "HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n",
    want: { status: 304, end: "reusable" },
  },
  {
    name: "interim 100 and 103 are skipped",
    wire: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n!",
    want: { status: 201, body: "!", end: "reusable" },
  },
  {
    name: "101 switches to a tunnel",
    wire: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframes",
    want: { status: 101, body: "", end: null, error: null },
  },
  {
    name: "bytes after a complete response make the connection unusable",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
    wholeOnly: true,
    want: { body: "ok", end: "close" },
  },
  {
    name: "malformed status line",
    wire: "HTTX/1.1 200 OK\r\n\r\n",
    want: { error: "malformed status line from upstream" },
  },
  {
    name: "status not three digits",
    wire: "HTTP/1.1 2x0 OK\r\n\r\n",
    want: { error: "malformed status code from upstream" },
  },
  {
    name: "obsolete line folding",
    wire: "HTTP/1.1 200 OK\r\nX-A: b\r\n  folded\r\n\r\n",
    want: { error: "malformed header line from upstream" },
  },
  {
    name: "space before colon",
    wire: "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n",
    want: { error: "whitespace before a colon in an upstream header" },
  },
  {
    name: "conflicting lengths",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    want: { error: "conflicting Content-Length values from upstream" },
  },
  {
    name: "bad chunk size",
    wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    want: { error: "bad chunk size from upstream" },
  },
  {
    name: "truncated body",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    eof: true,
    want: { body: "short", error: "upstream closed before the response body was complete" },
  },
  { name: "closed before any byte", wire: "", eof: true, want: { error: "upstream closed the connection" } },
];

for (const c of cases) {
  test(`ResponseReader: ${c.name}, ${c.wholeOnly === true ? "whole" : "whole and cut at every byte"}`, () => {
    const whole = run(c.wire, [], c);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(whole[k as keyof Outcome], v, `${k} (whole)`);
    if (c.wholeOnly === true) return;
    for (let cut = 1; cut < c.wire.length; cut++) {
      const split = run(c.wire, [cut], c);
      assert.deepEqual(split, whole, `cut at ${cut}`);
    }
    const bytewise = run(
      c.wire,
      Array.from({ length: c.wire.length }, (_, i) => i),
      c,
    );
    assert.deepEqual(bytewise, whole, "byte by byte");
  });
}

test("ResponseReader: a head larger than the limit is an error", () => {
  const out = run(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`, [100, 30_000]);
  assert.equal(out.error, "upstream response head too large");
});

test("ResponseReader: a sink that resets the reader from a callback stops the current chunk", () => {
  const r = new ResponseReader();
  const seen: string[] = [];
  const second: ResponseSink = {
    onResponseHead: (s) => seen.push(`second head ${s}`),
    onResponseBody: () => seen.push("second body"),
    onResponseEnd: () => seen.push("second end"),
    onResponseError: (m) => seen.push(`second error ${m}`),
  };
  r.reset(
    {
      onResponseHead: (s) => seen.push(`first head ${s}`),
      onResponseBody: () => seen.push("first body"),
      onResponseEnd: () => {
        seen.push("first end");
        r.reset(second, true);
      },
      onResponseError: (m) => seen.push(`first error ${m}`),
    },
    true,
  );
  r.feed(Buffer.from("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  assert.deepEqual(seen, ["first head 204", "first end"]);
  r.feed(Buffer.from("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"));
  assert.deepEqual(seen, ["first head 204", "first end", "second head 202", "second end"]);
});
