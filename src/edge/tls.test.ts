import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import tls from "node:tls";
import { Registry } from "../exposition/registry.ts";
import { LocalCa } from "./cert-authority.ts";
import type { EdgeTuning } from "./core.ts";
import { type Edge, startEdge } from "./edge.ts";
import type { AppRoute } from "./routes.ts";
import {
  answer,
  appRoute,
  instanceRoute,
  samplesOf,
  startUpstream,
  sumOf,
  type TestUpstream,
  until,
} from "./testkit.ts";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "contrail-edge-tls-"));
const ca = LocalCa.openOrCreate(dataDir);
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

interface Handshake {
  readonly cert: X509Certificate | null;
  readonly error: string | null;
}

/** Runs one TLS handshake to `port` with `servername` (none: no SNI), trusting the CA unless told; then closes. */
function handshake(port: number, servername: string | null, trust = true): Promise<Handshake> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: "127.0.0.1",
      port,
      ...(trust ? { ca: ca.certPem } : {}),
      ...(servername === null ? {} : { servername }),
    });
    s.once("secureConnect", () => {
      const raw = s.getPeerX509Certificate();
      resolve({ cert: raw ?? null, error: null });
      s.end();
    });
    s.once("error", (err) => resolve({ cert: null, error: (err as Error & { code?: string }).code ?? err.message }));
  });
}

/** One HTTPS GET through the edge, trusting the CA; the status and body. */
function get(port: number, host: string, agent?: https.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, servername: host, headers: { host }, ca: ca.certPem, agent });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function startTlsEdge(
  registry: Registry,
  routes: Map<string, AppRoute>,
  tuning: EdgeTuning = {},
): Promise<{ edge: Edge; port: number }> {
  const edge = await startEdge({
    listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0", tlsAddress: "127.0.0.1:0" }],
    routes,
    registry,
    ca,
    ...tuning,
  });
  return { edge, port: Number(edge.listeners[0].tlsAddress!.split(":")[1]) };
}

describe("HTTPS listener", () => {
  const registry = new Registry();
  const routes = new Map<string, AppRoute>();
  let up: TestUpstream;
  let edge: Edge;
  let port: number;
  const seenProto: string[] = [];

  before(async () => {
    up = await startUpstream((req, res) => {
      seenProto.push(String(req.headers["x-forwarded-proto"]));
      answer("web")(req, res);
    });
    routes.set("web", appRoute([instanceRoute("a1", "ord", up.address)]));
    routes.set("shop", appRoute([instanceRoute("b1", "ord", up.address)]));
    ({ edge, port } = await startTlsEdge(registry, routes));
  });

  after(async () => {
    await edge.close();
    await up.close();
  });

  test("the listener's address is reported beside the HTTP one", () => {
    const l = edge.listeners[0];
    assert.match(l.tlsAddress ?? "", /^127\.0\.0\.1:\d+$/);
    assert.notEqual(l.tlsAddress, l.address);
  });

  test("two host names get two certificates, each for its name and chained to the CA", async () => {
    const web = await handshake(port, "web.localhost");
    const shop = await handshake(port, "shop.localhost");
    assert.equal(web.error, null);
    assert.equal(shop.error, null);
    assert.ok(web.cert !== null && shop.cert !== null);
    assert.notEqual(web.cert.fingerprint256, shop.cert.fingerprint256);
    assert.equal(web.cert.subjectAltName, "DNS:web.localhost");
    assert.equal(shop.cert.subjectAltName, "DNS:shop.localhost");
    const root = new X509Certificate(ca.certPem);
    assert.ok(web.cert.verify(root.publicKey));
    assert.ok(web.cert.checkIssued(root));
    // The same name again is served from the cache: the same certificate.
    const again = await handshake(port, "web.localhost");
    assert.equal(again.cert?.fingerprint256, web.cert.fingerprint256);
    // openssl's own verifier, strict X.509 checks included.
    const leaf = path.join(dataDir, "web.pem");
    fs.writeFileSync(leaf, web.cert.toString());
    const out = execFileSync("openssl", ["verify", "-x509_strict", "-CAfile", ca.certPath, leaf], { encoding: "utf8" });
    assert.match(out, /: OK/);
  });

  test("requests over TLS reach the app, marked https, and are counted for it", async () => {
    const r = await get(port, "web.localhost");
    assert.equal(r.status, 200);
    assert.equal(seenProto.at(-1), "https");
    await until(() => sumOf(registry, "fly_edge_tcp_disconnects_count", { app: "web" }) >= 1);
    assert.ok(sumOf(registry, "fly_edge_http_responses_count", { app: "web", status: "200" }) >= 1);
    // Bytes on the wire, TLS records included: more than the plain response.
    assert.ok(sumOf(registry, "fly_edge_data_out", { app: "web" }) > 500);
    assert.ok(sumOf(registry, "fly_edge_data_in", { app: "web" }) > 200);
    const times = samplesOf(registry, "fly_edge_tls_handshake_time_seconds_count").filter(
      (s) => s.labels.app === "web",
    );
    assert.deepEqual(
      times.map((s) => s.labels),
      [{ app: "web", region: "ord", host: "a1b2", version: "TLSv1.3" }],
    );
    assert.ok(times[0].value >= 1);
  });

  test("an unknown host name is refused in the handshake and counted", async () => {
    const before = sumOf(registry, "fly_edge_tls_handshake_errors", { kind: "unknown_host" });
    const r = await handshake(port, "nope.localhost");
    assert.equal(r.cert, null);
    assert.ok(r.error !== null);
    await until(() => sumOf(registry, "fly_edge_tls_handshake_errors", { kind: "unknown_host" }) === before + 1);
    const s = samplesOf(registry, "fly_edge_tls_handshake_errors").find((x) => x.labels.kind === "unknown_host");
    // Never the requested name: clients cannot create series at will (app and servername are empty, so absent).
    assert.deepEqual(s?.labels, { region: "ord", host: "a1b2", kind: "unknown_host" });
  });

  test("a handshake without a server name and a non-TLS client are counted by kind", async () => {
    const r = await handshake(port, null);
    assert.ok(r.error !== null);
    await until(() => sumOf(registry, "fly_edge_tls_handshake_errors", { kind: "no_sni" }) === 1);
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.write("GET / HTTP/1.1\r\nHost: web.localhost\r\n\r\n"));
      let got = "";
      s.on("data", (d) => {
        got += d.toString("latin1");
      });
      s.on("error", () => {});
      s.on("close", () => resolve(got));
    });
    assert.doesNotMatch(reply, /^HTTP/);
    await until(() => sumOf(registry, "fly_edge_tls_handshake_errors", { kind: "protocol" }) === 1);
  });

  test("a client that does not trust the CA refuses the certificate; the edge counts it for the app", async () => {
    // openssl's client answers an untrusted certificate with an alert, as browsers do. It trusts another CA only.
    const other = LocalCa.openOrCreate(path.join(dataDir, "other"));
    const args = ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "web.localhost", "-verify_return_error"];
    // Asynchronously: the edge answers on this process's event loop.
    const status = await new Promise<number | null>((resolve) => {
      const client = spawn("openssl", [...args, "-CAfile", other.certPath, "-no-CApath", "-no-CAstore"], {
        stdio: "ignore",
      });
      client.on("close", (code) => resolve(code));
    });
    assert.notEqual(status, 0);
    await until(() => sumOf(registry, "fly_edge_tls_handshake_errors", { app: "web", kind: "cert_refused" }) === 1);
  });

  test("the TLS families have the catalog's label sets (empty values absent, as always)", () => {
    const names: Record<string, string[]> = {
      fly_edge_tls_handshake_time_seconds_bucket: ["app", "host", "le", "region", "version"],
      fly_edge_tls_handshake_errors: ["app", "host", "kind", "region", "servername"],
      fly_edge_tls_queue_time_seconds_bucket: ["app", "host", "le", "region"],
      fly_edge_tls_sni_limit_reached_count: ["app", "host", "region", "servername"],
      fly_edge_tls_ip_limit_reached_count: ["app", "host", "ip", "region"],
    };
    for (const [name, labels] of Object.entries(names)) {
      const samples = samplesOf(registry, name);
      assert.ok(
        samples.some((s) => s.labels.app === "web"),
        `${name} has series for the app`,
      );
      for (const s of samples.filter((x) => x.labels.app === "web")) {
        assert.deepEqual(Object.keys(s.labels).sort(), labels, name);
      }
    }
    const limits = samplesOf(registry, "fly_edge_tls_sni_limit_reached_count").filter((s) => s.labels.app === "web");
    assert.deepEqual(limits, [
      { labels: { app: "web", region: "ord", host: "a1b2", servername: "web.localhost" }, value: 0 },
    ]);
  });
});

describe("TLS handshake limits", () => {
  let up: TestUpstream;
  const routes = new Map<string, AppRoute>();

  before(async () => {
    up = await startUpstream(answer("web"));
    routes.set("web", appRoute([instanceRoute("a1", "ord", up.address)]));
    routes.set("shop", appRoute([instanceRoute("b1", "ord", up.address)]));
  });

  after(() => up.close());

  test("handshakes per second per client IP: over the limit is refused and counted", async () => {
    const registry = new Registry();
    const { edge, port } = await startTlsEdge(registry, routes, { tlsHandshakesPerSecondPerIp: 3 });
    try {
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await handshake(port, i % 2 === 0 ? "web.localhost" : "shop.localhost"));
      // A bucket of 3 refills at 3 a second: 3 pass at once, the next 2 (within well under a second) mostly not.
      const ok = results.filter((r) => r.error === null).length;
      assert.ok(ok >= 3 && ok < 5, `${ok} handshakes passed`);
      await until(() => sumOf(registry, "fly_edge_tls_ip_limit_reached_count", { ip: "127.0.0.1" }) === 5 - ok);
      assert.equal(sumOf(registry, "fly_edge_tls_handshake_errors", { kind: "ip_limit" }), 5 - ok);
    } finally {
      await edge.close();
    }
  });

  test("handshakes per second per server name: only the busy name is refused", async () => {
    const registry = new Registry();
    const { edge, port } = await startTlsEdge(registry, routes, { tlsHandshakesPerSecondPerName: 2 });
    try {
      const web = [];
      for (let i = 0; i < 4; i++) web.push(await handshake(port, "web.localhost"));
      const shop = await handshake(port, "shop.localhost");
      assert.equal(shop.error, null);
      const refused = web.filter((r) => r.error !== null).length;
      assert.ok(refused >= 1, "the fourth handshake within a second is refused");
      await until(
        () =>
          sumOf(registry, "fly_edge_tls_sni_limit_reached_count", { app: "web", servername: "web.localhost" }) ===
          refused,
      );
      assert.equal(sumOf(registry, "fly_edge_tls_sni_limit_reached_count", { app: "shop" }), 0);
      assert.equal(sumOf(registry, "fly_edge_tls_handshake_errors", { app: "web", kind: "sni_limit" }), refused);
    } finally {
      await edge.close();
    }
  });

  test("concurrent handshakes: later connections wait in the queue, then are refused when it is full or slow", async () => {
    const registry = new Registry();
    const { edge, port } = await startTlsEdge(registry, routes, {
      tlsMaxHandshakes: 1,
      tlsHandshakeQueueLimit: 1,
      tlsHandshakeQueueTimeoutMs: 300,
    });
    const idle: net.Socket[] = [];
    try {
      // A connection that never sends its ClientHello holds the only handshake slot.
      const holder = net.connect(port, "127.0.0.1");
      idle.push(holder);
      await new Promise((r) => holder.once("connect", r));
      // The next one waits in the queue (and gives up after 300 ms), the one after finds the queue full.
      const queued = handshake(port, "web.localhost");
      await new Promise((r) => setTimeout(r, 50));
      const full = await handshake(port, "web.localhost");
      assert.ok(full.error !== null);
      const late = await queued;
      assert.ok(late.error !== null);
      await until(() => sumOf(registry, "fly_edge_tls_handshake_errors", { kind: "queue_full" }) === 2);
      // The waits were measured: the timed-out one waited about the queue timeout.
      assert.ok(sumOf(registry, "fly_edge_tls_queue_time_seconds_sum") >= 0.25);
      // Once the slot is free again, handshakes pass.
      holder.destroy();
      await until(() => sumOf(registry, "fly_edge_tls_handshake_errors", { kind: "closed" }) === 1);
      const ok = await handshake(port, "web.localhost");
      assert.equal(ok.error, null);
    } finally {
      for (const s of idle) s.destroy();
      await edge.close();
    }
  });

  test("a handshake that does not finish in time is closed and counted", async () => {
    const registry = new Registry();
    const { edge, port } = await startTlsEdge(registry, routes, { tlsHandshakeTimeoutMs: 100 });
    try {
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => {});
      await new Promise((r) => s.once("close", r));
      assert.equal(sumOf(registry, "fly_edge_tls_handshake_errors", { kind: "timeout" }), 1);
      // Its connection counts under app="" (it never named an app).
      await until(() => sumOf(registry, "fly_edge_tcp_disconnects_count", { app: "" }) === 1);
    } finally {
      await edge.close();
    }
  });
});

test("an edge with an HTTPS listener and no CA is refused", async () => {
  await assert.rejects(
    startEdge({
      listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0", tlsAddress: "127.0.0.1:0" }],
      routes: new Map(),
      registry: new Registry(),
    }),
    /certificate authority/,
  );
});
