import assert from "node:assert/strict";
import { test } from "node:test";
import { buildRequestHead, clientIpOf, inspectRequest, listenerForwardLines } from "./request-head.ts";

const FWD = { clientIp: "203.0.113.9", requestId: "abc-ord", listenerTail: listenerForwardLines("ord", 8080) };

function headOf(raw: string[], upgrade = false): string[] {
  const head = buildRequestHead("GET", "/p?q=1", raw, inspectRequest(raw), FWD, upgrade);
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
  const head = buildRequestHead("GET", "/", raw, inspectRequest(raw), FWD, false);
  assert.ok(Buffer.from(head, "latin1").includes(Buffer.from("X-Name: Zoë", "utf8")));
});

test("clientIpOf unmaps IPv4-mapped IPv6 addresses", () => {
  assert.equal(clientIpOf("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(clientIpOf("::1"), "::1");
  assert.equal(clientIpOf("10.1.2.3"), "10.1.2.3");
  assert.equal(clientIpOf(undefined), "");
});
