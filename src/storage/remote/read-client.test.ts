// The read client against a real loopback HTTP server that answers what each case needs: the backend's errors map to
// the API's codes with the backend's text, oversized answers are refused (declared or streamed), slow ones end at
// the budget, and reads past the node's bound are refused before they are sent.

import assert from "node:assert/strict";
import { createServer, type Server, type ServerResponse } from "node:http";
import { after, before, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { NETWORK_GRACE_MS, RemoteReadClient } from "./read-client.ts";

type Handler = (res: ServerResponse) => void;
let handler: Handler = (res) => res.end("{}");
let server: Server;
let base = "";
let received = 0;

before(async () => {
  server = createServer((req, res) => {
    received++;
    req.resume();
    req.on("end", () => handler(res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const call = (timeoutMs = 2_000) =>
  ({ base, path: "/query", method: "POST", params: [["query", "up"]], headers: {}, timeoutMs }) as const;

function answer(status: number, body: string): Handler {
  return (res) => {
    res.statusCode = status;
    res.setHeader("content-type", "application/json");
    res.end(body);
  };
}

test("a success envelope gives its data and annotations", async () => {
  handler = answer(200, JSON.stringify({ status: "success", data: [1], warnings: ["w"], infos: ["i"] }));
  assert.deepEqual(await new RemoteReadClient().json(call()), { data: [1], warnings: ["w"], infos: ["i"] });
});

test("the backend's errors keep their meaning and text", async () => {
  const client = new RemoteReadClient();
  const cases: [number, string, string, RegExp][] = [
    [400, '{"status":"error","errorType":"bad_data","error":"unknown function"}', "bad_data", /^unknown function$/],
    [422, '{"status":"error","errorType":"422","error":"too many points"}', "execution", /too many points/],
    [503, '{"status":"error","errorType":"timeout","error":"query timed out"}', "query_timeout", /timed out/],
    [429, '{"status":"error","error":"per-tenant limit"}', "rate_limited", /per-tenant limit/],
    [502, "<html>bad gateway</html>", "unavailable", /storage backend answered 502: <html>bad gateway/],
    [200, "not json", "unavailable", /something else than JSON/],
    [200, '{"status":"error"}', "unavailable", /without success/],
  ];
  for (const [status, body, code, text] of cases) {
    handler = answer(status, body);
    await assert.rejects(
      client.json(call()),
      (err) => isContrailError(err) && err.code === code && text.test(err.message),
    );
  }
});

test("an answer over the size limit is refused, whether its length is declared or streamed", async () => {
  const client = new RemoteReadClient({ maxResponseBytes: 1000 });
  const refused = (err: unknown) =>
    isContrailError(err, "limit_exceeded") && /larger than 1000 bytes/.test(String(err));
  handler = answer(200, "x".repeat(5000));
  await assert.rejects(client.json(call()), refused);
  handler = (res) => {
    // Chunked, no length: cut off while it streams in.
    for (let i = 0; i < 10; i++) res.write("y".repeat(500));
    res.end();
  };
  await assert.rejects(client.json(call()), refused);
});

test("an answer slower than the budget ends with a timeout naming it", async () => {
  handler = () => {};
  await assert.rejects(
    new RemoteReadClient().json(call(100)),
    (err) => isContrailError(err, "query_timeout") && err.message.includes(`within ${100 + NETWORK_GRACE_MS} ms`),
  );
});

test("reads past the node's bound are refused before they are sent; an unreachable backend is unavailable", async () => {
  const client = new RemoteReadClient({ maxInFlight: 1 });
  handler = () => {};
  const before = received;
  const first = client.json(call(100));
  await assert.rejects(
    client.json(call()),
    (err) => isContrailError(err, "unavailable") && /limit 1/.test(String(err)),
  );
  await assert.rejects(first, (err) => isContrailError(err, "query_timeout"));
  assert.equal(received, before + 1, "only the first read was sent");
  const gone = { ...call(), base: "http://127.0.0.1:1/api/v1" };
  await assert.rejects(
    client.json(gone),
    (err) => isContrailError(err, "unavailable") && /unreachable/.test(String(err)),
  );
});
