import assert from "node:assert/strict";
import { test } from "node:test";
import { buildRequestHead, clientIpOf, inspectRequest, listenerForwardLines } from "./request-head.ts";
import { parseRequestHead, type RequestHead } from "./request-parser.ts";

const FWD = { clientIp: "203.0.113.9", requestId: "abc-ord", listenerTail: listenerForwardLines("ord", 8080) };

/** The upstream head built from a client head as it came on the wire (latin1 text, blank line included). */
function upstreamOf(wire: string, upgrade = false): string {
  const parsed = parseRequestHead(wire.slice(0, wire.indexOf("\r\n\r\n")));
  assert.ok(!("status" in parsed), `the head parses: ${JSON.stringify(parsed)}`);
  const h = parsed as RequestHead;
  return buildRequestHead(h.method, h.target, h.rawHeaders, inspectRequest(h.rawHeaders), FWD, upgrade);
}

function headOf(raw: string[], upgrade = false): string[] {
  let wire = "GET /p?q=1 HTTP/1.1\r\n";
  for (let i = 0; i < raw.length; i += 2) wire += `${raw[i]}: ${raw[i + 1]}\r\n`;
  const head = upstreamOf(`${wire}\r\n`, upgrade);
  assert.ok(head.endsWith("\r\n\r\n"));
  return head.slice(0, -4).split("\r\n");
}

test("inspectRequest reads routing and framing headers in one pass", () => {
  const cases: { raw: string[]; want: Partial<ReturnType<typeof inspectRequest>> }[] = [
    { raw: ["Host", "a.localhost"], want: { host: "a.localhost", body: "none", connectionListed: null } },
    { raw: ["HOST", "b.localhost", "Content-Length", "10"], want: { host: "b.localhost", body: "length" } },
    { raw: ["Content-Length", "0"], want: { host: "", body: "none" } },
    { raw: ["Transfer-Encoding", "chunked"], want: { body: "chunked" } },
    {
      raw: ["X-Forwarded-For", "1.1.1.1", "x-forwarded-for", "2.2.2.2", "Via", "1.0 a"],
      want: { forwardedFor: "1.1.1.1, 2.2.2.2", via: "1.0 a" },
    },
    {
      raw: ["Connection", "keep-alive, X-Foo, Upgrade", "Upgrade", "websocket"],
      want: { connectionListed: ["x-foo"], upgrade: "websocket" },
    },
  ];
  for (const c of cases) {
    const got = inspectRequest(c.raw);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k as keyof typeof got], v, `${c.raw} ${k}`);
  }
});

test("buildRequestHead drops hop-by-hop headers and replaces forwarding ones", () => {
  const lines = headOf([
    "Host",
    "app.localhost",
    "Connection",
    "keep-alive, X-Secret",
    "X-Secret",
    "s",
    "Keep-Alive",
    "timeout=5",
    "TE",
    "trailers",
    "Trailer",
    "X-T",
    "Proxy-Authorization",
    "Basic x",
    "Proxy-Connection",
    "keep-alive",
    "Expect",
    "100-continue",
    "Upgrade",
    "h2c",
    "Fly-Client-IP",
    "6.6.6.6",
    "Fly-Region",
    "zzz",
    "Fly-Request-Id",
    "forged",
    "X-Forwarded-Proto",
    "https",
    "X-Forwarded-Port",
    "1",
    "Fly-Forwarded-Port",
    "1",
    "X-Forwarded-For",
    "10.0.0.1",
    "Via",
    "1.0 upstream-proxy",
    "Accept",
    "*/*",
    "Cookie",
    "a=1",
    "User-Agent",
    "t",
  ]);
  assert.deepEqual(lines, [
    "GET /p?q=1 HTTP/1.1",
    "Host: app.localhost",
    "Accept: */*",
    "Cookie: a=1",
    "User-Agent: t",
    "Fly-Client-IP: 203.0.113.9",
    "X-Forwarded-For: 10.0.0.1, 203.0.113.9",
    "Fly-Region: ord",
    "X-Forwarded-Proto: http",
    "X-Forwarded-Port: 8080",
    "Fly-Forwarded-Port: 8080",
    "Fly-Request-Id: abc-ord",
    "Via: 1.0 upstream-proxy, 1.1 contrail",
  ]);
});

test("buildRequestHead re-chunks chunked bodies and keeps the upgrade pair for upgrades", () => {
  assert.ok(headOf(["Host", "a.localhost", "Transfer-Encoding", "chunked"]).includes("Transfer-Encoding: chunked"));
  const up = headOf(
    ["Host", "a.localhost", "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Key", "k"],
    true,
  );
  assert.ok(up.includes("Connection: Upgrade"));
  assert.ok(up.includes("Upgrade: websocket"));
  assert.ok(up.includes("Sec-WebSocket-Key: k"));
  assert.equal(up.filter((l) => l.toLowerCase().startsWith("connection:")).length, 1);
});

test("buildRequestHead passes header bytes through unchanged (latin1)", () => {
  const raw = ["Host", "a.localhost", "X-Name", Buffer.from("Zoë", "utf8").toString("latin1")];
  const head = headOf(raw).join("\r\n");
  assert.ok(Buffer.from(head, "latin1").includes(Buffer.from("X-Name: Zoë", "utf8")));
});

test("buildRequestHead sends every kept line as `Name: value` (OWS trimmed, Content-Length plain) and HTTP/1.1", () => {
  const tail =
    "Fly-Client-IP: 203.0.113.9\r\nX-Forwarded-For: 203.0.113.9\r\nFly-Region: ord\r\nX-Forwarded-Proto: http\r\n" +
    "X-Forwarded-Port: 8080\r\nFly-Forwarded-Port: 8080\r\nFly-Request-Id: abc-ord\r\nVia: 1.1 contrail\r\n\r\n";
  const cases: [string, string][] = [
    // Lines without the space or with extra whitespace, beside dropped ones; a Content-Length with leading zeros.
    [
      "POST /a HTTP/1.1\r\nHost: a.localhost\r\nX-A:1\r\nX-B:  two words \t\r\nConnection: keep-alive\r\n" +
        "Content-Length: 007\r\nAccept: */*\r\nX-C: 3\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: a.localhost\r\nX-A: 1\r\nX-B: two words\r\nContent-Length: 7\r\nAccept: */*\r\n" +
        "X-C: 3\r\n",
    ],
    // An empty value, with and without its space; a value that is all whitespace.
    [
      "GET / HTTP/1.1\r\nHost: a.localhost\r\nX-E: \r\nX-F:\r\nX-G:   \r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a.localhost\r\nX-E: \r\nX-F: \r\nX-G: \r\n",
    ],
    // HTTP/1.0 goes upstream as 1.1; header names keep their case.
    ["GET /x?y HTTP/1.0\r\nhOST: a.localhost\r\n\r\n", "GET /x?y HTTP/1.1\r\nhOST: a.localhost\r\n"],
    // A Content-Length already plain passes as it came.
    [
      "PUT / HTTP/1.1\r\nContent-Length: 12\r\nHost: a.localhost\r\n\r\n",
      "PUT / HTTP/1.1\r\nContent-Length: 12\r\nHost: a.localhost\r\n",
    ],
  ];
  for (const [wire, want] of cases) assert.equal(upstreamOf(wire), want + tail, JSON.stringify(wire));
});

test("clientIpOf unmaps IPv4-mapped IPv6 addresses", () => {
  assert.equal(clientIpOf("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(clientIpOf("::1"), "::1");
  assert.equal(clientIpOf("10.1.2.3"), "10.1.2.3");
  assert.equal(clientIpOf(undefined), "");
});
