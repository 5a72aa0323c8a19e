import assert from "node:assert/strict";
import { test } from "node:test";
import { CHUNKED, ChunkedDecoder, MAX_CHUNK_LINE, parseRequestHead, type RequestHead } from "./request-parser.ts";

/** Parses `lines` joined by CRLF (the head without its final empty line). */
function parse(...lines: string[]): ReturnType<typeof parseRequestHead> {
  return parseRequestHead(lines.join("\r\n"));
}

function ok(...lines: string[]): RequestHead {
  const r = parse(...lines);
  assert.ok(!("status" in r), `refused: ${JSON.stringify(r)} for ${JSON.stringify(lines)}`);
  return r;
}

test("well-formed heads: framing, keep-alive, upgrade and expectations", () => {
  const get = ok("GET /a?b=1 HTTP/1.1", "Host: app.localhost", "X-Thing:  spaced value \t");
  assert.equal(get.method, "GET");
  assert.equal(get.target, "/a?b=1");
  assert.equal(get.minor, 1);
  assert.equal(get.bodyLength, 0);
  assert.equal(get.keepAlive, true);
  assert.deepEqual(get.rawHeaders, ["Host", "app.localhost", "X-Thing", "spaced value"]);

  const post = ok("POST / HTTP/1.1", "Host: a", "content-length: 007");
  assert.equal(post.bodyLength, 7);
  assert.deepEqual(post.rawHeaders, ["Host", "a", "content-length", "7"], "the length is forwarded normalized");
  assert.equal(ok("POST / HTTP/1.1", "Transfer-Encoding: Chunked").bodyLength, CHUNKED);

  assert.equal(ok("GET / HTTP/1.0").keepAlive, false);
  assert.equal(ok("GET / HTTP/1.0", "Connection: Keep-Alive").keepAlive, true);
  assert.equal(ok("GET / HTTP/1.1", "Connection: close").keepAlive, false);
  assert.equal(ok("GET / HTTP/1.1", "Connection: keep-alive, Upgrade", "Upgrade: websocket").upgrade, true);
  assert.equal(ok("GET / HTTP/1.1", "Upgrade: websocket").upgrade, false, "Upgrade without Connection: upgrade");
  assert.equal(ok("PUT / HTTP/1.1", "Expect: 100-Continue", "Content-Length: 1").expectContinue, true);
  assert.equal(ok("PUT / HTTP/1.1", "Expect: magic").expectOther, true);
  assert.equal(ok("GET http://a.localhost/x HTTP/1.1").target, "http://a.localhost/x");
  assert.equal(ok("GET /caf\u00e9 HTTP/1.1").target, "/caf\u00e9", "obs-text bytes pass as they came");
});

test("hostile heads are refused with the status llhttp and RFC 9112 call for", () => {
  const cases: { name: string; lines: string[]; status?: number }[] = [
    { name: "CL and TE", lines: ["POST / HTTP/1.1", "Content-Length: 6", "Transfer-Encoding: chunked"] },
    { name: "TE then CL", lines: ["POST / HTTP/1.1", "Transfer-Encoding: chunked", "Content-Length: 6"] },
    { name: "differing CLs", lines: ["POST / HTTP/1.1", "Content-Length: 6", "Content-Length: 7"] },
    { name: "repeated CL", lines: ["POST / HTTP/1.1", "Content-Length: 6", "Content-Length: 6"] },
    { name: "CL list", lines: ["POST / HTTP/1.1", "Content-Length: 6, 6"] },
    { name: "non-numeric CL", lines: ["POST / HTTP/1.1", "Content-Length: abc"] },
    { name: "signed CL", lines: ["POST / HTTP/1.1", "Content-Length: +6"] },
    { name: "negative CL", lines: ["POST / HTTP/1.1", "Content-Length: -1"] },
    { name: "hex CL", lines: ["POST / HTTP/1.1", "Content-Length: 0x10"] },
    { name: "empty CL", lines: ["POST / HTTP/1.1", "Content-Length:"] },
    { name: "CL over 15 digits", lines: ["POST / HTTP/1.1", "Content-Length: 1234567890123456"] },
    { name: "TE not ending in chunked", lines: ["POST / HTTP/1.1", "Transfer-Encoding: chunked, identity"] },
    { name: "TE xchunked", lines: ["POST / HTTP/1.1", "Transfer-Encoding: xchunked"] },
    { name: "TE chunked twice", lines: ["POST / HTTP/1.1", "Transfer-Encoding: chunked, chunked"] },
    { name: "TE in two fields", lines: ["POST / HTTP/1.1", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip"] },
    { name: "TE gzip then chunked", lines: ["POST / HTTP/1.1", "Transfer-Encoding: gzip, chunked"], status: 501 },
    { name: "TE in HTTP/1.0", lines: ["POST / HTTP/1.0", "Transfer-Encoding: chunked"] },
    { name: "obs-fold", lines: ["GET / HTTP/1.1", "X-A: a", " folded"] },
    { name: "obs-fold of TE", lines: ["POST / HTTP/1.1", "Transfer-Encoding:", "\tchunked"] },
    { name: "space before colon", lines: ["POST / HTTP/1.1", "Transfer-Encoding : chunked"] },
    { name: "tab before colon", lines: ["GET / HTTP/1.1", "Host\t: a"] },
    { name: "space in a name", lines: ["GET / HTTP/1.1", "Ho st: a"] },
    { name: "non-token name", lines: ["GET / HTTP/1.1", "X@Y: a"] },
    { name: "empty name", lines: ["GET / HTTP/1.1", ": a"] },
    { name: "no colon", lines: ["GET / HTTP/1.1", "Host a"] },
    { name: "NUL in a value", lines: ["GET / HTTP/1.1", "X-A: a\u0000b"] },
    { name: "DEL in a value", lines: ["GET / HTTP/1.1", "X-A: a\u007fb"] },
    { name: "bare CR in a value", lines: ["GET / HTTP/1.1", "X-A: a\rContent-Length: 5"] },
    { name: "bare LF in a value", lines: ["GET / HTTP/1.1", "X-A: a\nContent-Length: 5"] },
    { name: "bare LF after the request line", lines: ["GET / HTTP/1.1\nHost: a"] },
    { name: "two Hosts", lines: ["GET / HTTP/1.1", "Host: a.localhost", "host: b.localhost"] },
    { name: "space in the target", lines: ["GET /a b HTTP/1.1"] },
    { name: "tab in the target", lines: ["GET /a\tb HTTP/1.1"] },
    { name: "control byte in the target", lines: ["GET /a\u0001b HTTP/1.1"] },
    { name: "DEL in the target", lines: ["GET /a\u007f HTTP/1.1"] },
    { name: "double space", lines: ["GET  / HTTP/1.1"] },
    { name: "empty method", lines: [" / HTTP/1.1"] },
    { name: "non-token method", lines: ["G(T / HTTP/1.1"] },
    { name: "no version", lines: ["GET /"] },
    { name: "lower-case version", lines: ["GET / http/1.1"] },
    { name: "version with junk", lines: ["GET / HTTP/1.1x"] },
    { name: "HTTP/2.0", lines: ["GET / HTTP/2.0"], status: 505 },
    { name: "empty head", lines: [""] },
  ];
  for (const c of cases) {
    const r = parse(...c.lines);
    assert.ok("status" in r, `${c.name}: accepted`);
    assert.equal(r.status, c.status ?? 400, `${c.name}: ${r.message}`);
    assert.ok(r.message.length > 0);
  }
});

/** Decodes `wire` fed in pieces of `step` bytes; the data, the bytes left after the body, or the error. */
function decode(wire: string, step = wire.length): { data: string; rest: string; error: string; done: boolean } {
  const d = new ChunkedDecoder(64);
  const out: Buffer[] = [];
  const bytes = Buffer.from(wire, "latin1");
  let rest = "";
  for (let i = 0; i < bytes.length && !d.done && !d.failed; i += step) {
    const piece = bytes.subarray(i, Math.min(bytes.length, i + step));
    const used = d.feed(piece, 0, (s) => out.push(Buffer.from(s)));
    if (used >= 0 && d.done) rest = Buffer.concat([piece.subarray(used), bytes.subarray(i + step)]).toString("latin1");
  }
  return { data: Buffer.concat(out).toString("latin1"), rest, error: d.error, done: d.done };
}

test("chunked bodies decode whole or byte by byte, and stop at their end", () => {
  const wire = "5\r\nhello\r\n6;name=value\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nGET /next";
  for (const step of [1, 2, 7, wire.length]) {
    const r = decode(wire, step);
    assert.equal(r.error, "", `step ${step}`);
    assert.ok(r.done);
    assert.equal(r.data, "hello world0123456789");
    assert.equal(r.rest, "GET /next", `step ${step}`);
  }
  assert.equal(decode("00000000000000000003\r\nabc\r\n0\r\n\r\n").data, "abc", "leading zeros count by value");
});

test("malformed chunked bodies fail with a reason", () => {
  const cases: [string, string, RegExp][] = [
    ["size overflow", "fffffffffffffffff\r\n", /too large/],
    ["size past 2^53", "20000000000000\r\n", /too large/],
    ["no size", "\r\nabc\r\n", /missing chunk size/],
    ["negative size", "-5\r\nhello\r\n", /missing chunk size/],
    ["0x prefix", "0x5\r\nhello\r\n", /invalid chunk size/],
    ["space after size", "5 \r\nhello\r\n", /invalid chunk size/],
    ["bare LF after size", "5\nhello\r\n0\r\n\r\n", /invalid chunk size/],
    ["bare CR after size", "5\rhello\r\n", /bare CR/],
    ["data too long", "5\r\nhelloX\r\n0\r\n\r\n", /not followed by CRLF/],
    ["data then bare LF", "5\r\nhello\n0\r\n\r\n", /not followed by CRLF/],
    ["control byte in an extension", "5;a=\u0001\r\nhello\r\n", /extension/],
    ["bare LF in an extension", "5;a\nhello\r\n", /extension/],
    ["endless extension", `5;${"x".repeat(MAX_CHUNK_LINE)}\r\n`, /too long/],
    ["bare LF in trailers", "0\r\nX: y\n\r\n", /trailer/],
    ["trailers over the limit", `0\r\nX: ${"y".repeat(100)}\r\n\r\n`, /trailers too large/],
  ];
  for (const [name, wire, want] of cases) {
    for (const step of [1, wire.length]) {
      const r = decode(wire, step);
      assert.equal(r.done, false, name);
      assert.match(r.error, want, `${name} (step ${step})`);
    }
  }
});
