// The HTTPS listener of one edge region. It accepts TCP connections itself, admits each through the handshake gate,
// runs the TLS handshake with a certificate for the server name the client asked for (SNI), and hands the secured
// connection to the region's HttpListener, which serves it like any HTTP connection.
//
// A server name is served only if it is `<app>.<domain>` of an app in the route table; its certificate comes from
// the local CA on first use (CertCache). Refused or failed handshakes count in `fly_edge_tls_handshake_errors` by
// kind; refusals by a rate limit also in `fly_edge_tls_sni_limit_reached_count` / `_ip_limit_reached_count`.
// Connections are metered on the TCP socket (bytes on the wire, TLS records included) and attributed to the app of
// their server name; connections whose handshake fails before one is known count under app="".

import net, { type Socket } from "node:net";
import { type SecureContext, TLSSocket } from "node:tls";
import type { CertCache } from "./cert-cache.ts";
import { ClientMeter, type EdgeCore } from "./core.ts";
import { boundPort, type HttpListener, listenOn } from "./listener.ts";
import { clientIpOf, listenerForwardLines } from "./request-head.ts";
import { splitAddress } from "./routes.ts";
import { type GateEntry, HandshakeGate, RateLimiter } from "./tls-limits.ts";
import { type HandshakeErrorKind, MAX_IP_SERIES, type TlsMetrics } from "./tls-metrics.ts";

/** What a TLS listener shares with the other TLS listeners of its edge process. */
export interface TlsShared {
  readonly certs: CertCache;
  readonly metrics: TlsMetrics;
}

/** OpenSSL errors of a ClientHello without a server name: no certificate could be chosen. */
const NO_CERTIFICATE = /NO_SUITABLE_SIGNATURE_ALGORITHM|NO_SHARED_CIPHER|NO_CERTIFICATE/;
/** OpenSSL errors of a client's alert saying it does not accept the certificate. */
const CERT_REFUSED = /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE)/;

/** The HTTPS listener of one region; see the file comment. */
export class TlsListener {
  private readonly server: net.Server;
  private readonly gate: HandshakeGate;
  private readonly perName: RateLimiter;
  private readonly perIp: RateLimiter;
  /** IPs with a `fly_edge_tls_ip_limit_reached_count` label value of their own, at most MAX_IP_SERIES. */
  private readonly ipLabels = new Set<string>();
  /** Connections still in the queue or the handshake (after it they belong to the HttpListener). */
  private readonly pending = new Set<Handshake>();
  readonly ip: string;
  private readonly requestedPort: number;

  constructor(
    readonly core: EdgeCore,
    readonly http: HttpListener,
    readonly shared: TlsShared,
    address: string,
  ) {
    const { host, port } = splitAddress(address);
    this.ip = host;
    this.requestedPort = port;
    const t = core.tuning;
    this.gate = new HandshakeGate({
      concurrent: t.tlsMaxHandshakes,
      queue: t.tlsHandshakeQueueLimit,
      queueTimeoutMs: t.tlsHandshakeQueueTimeoutMs,
    });
    this.perName = new RateLimiter(t.tlsHandshakesPerSecondPerName);
    this.perIp = new RateLimiter(t.tlsHandshakesPerSecondPerIp);
    this.server = net.createServer({ noDelay: true }, (socket) => {
      const h = new Handshake(this, socket);
      this.pending.add(h);
      h.begin();
    });
  }

  /** Binds the listener; rejects with the listen error. */
  async listen(): Promise<void> {
    await listenOn(this.server, this.ip, this.requestedPort);
    this.http.secureTail = listenerForwardLines(this.http.region, this.port, "https");
  }

  /** The bound port (after `listen`). */
  get port(): number {
    return boundPort(this.server, this.requestedPort);
  }

  /** Stops accepting and drops the connections still queued or in their handshake. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.gate.close();
      for (const h of this.pending) h.destroy();
    });
  }

  /** @internal Enters a connection into the gate. */
  enter(h: Handshake): GateEntry {
    return this.gate.enter(
      () => h.start(),
      () => h.fail("queue_full"),
    );
  }

  /** @internal A handshake left the gate. */
  leave(): void {
    this.gate.leave();
  }

  /** @internal The connection is done with this listener (handed over or closed). */
  release(h: Handshake): void {
    this.pending.delete(h);
  }

  /** @internal Takes a handshake from the name's and the IP's budgets; the limit that refused it, or null. */
  admit(app: string, name: string, ip: string): "sni_limit" | "ip_limit" | null {
    const now = performance.now();
    const m = this.shared.metrics;
    const { region, host } = this.http;
    // Bound at the first handshake, so both series exist (at 0) for every app served over TLS.
    const sni = m.sniLimit.labels(app, region, host, name);
    const ipLimit = m.ipLimit.labels(app, region, host, this.ipLabel(ip));
    if (!this.perIp.take(ip, now)) {
      ipLimit.inc();
      return "ip_limit";
    }
    if (!this.perName.take(name, now)) {
      sni.inc();
      return "sni_limit";
    }
    return null;
  }

  private ipLabel(ip: string): string {
    if (this.ipLabels.has(ip)) return ip;
    if (this.ipLabels.size >= MAX_IP_SERIES) return "other";
    this.ipLabels.add(ip);
    return ip;
  }
}

/** One connection from accept to the end of its handshake. */
class Handshake {
  private readonly meter: ClientMeter;
  private readonly acceptedAt = performance.now();
  private startedAt = 0;
  private tls: TLSSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private cancelQueue: (() => void) | null = null;
  /** The app and server name once SNI named an app; "" before (and for names no app claims). */
  private app = "";
  private name = "";
  private queueObserved = false;
  /** Why the handshake is being refused, when we refused it (SNI callback), so the error counts under that kind. */
  private refusal: HandshakeErrorKind | null = null;
  private finished = false;

  constructor(
    private readonly l: TlsListener,
    private readonly raw: Socket,
  ) {
    this.meter = new ClientMeter(raw);
  }

  begin(): void {
    this.raw.on("error", ignore);
    this.raw.on("close", this.onRawClose);
    const entry = this.l.enter(this);
    if (entry.kind === "queued") this.cancelQueue = entry.cancel;
  }

  start(): void {
    this.cancelQueue = null;
    if (this.raw.destroyed) {
      // The client left while queued; its close already counted the error.
      this.l.leave();
      return;
    }
    this.startedAt = performance.now();
    const tls = new TLSSocket(this.raw, {
      isServer: true,
      SNICallback: this.onServerName,
      ALPNProtocols: ["http/1.1"],
    });
    this.tls = tls;
    this.timer = setTimeout(() => this.fail("timeout"), this.l.core.tuning.tlsHandshakeTimeoutMs);
    this.timer.unref();
    tls.once("secure", this.onSecure);
    tls.on("error", this.onTlsError);
  }

  /** Drops the connection (the listener is closing). */
  destroy(): void {
    this.raw.destroy();
  }

  /** Counts the failure once, frees the handshake slot if it held one, and closes the connection. */
  fail(kind: HandshakeErrorKind): void {
    if (this.finished) return;
    this.finished = true;
    this.cancelQueue?.();
    this.cancelQueue = null;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.startedAt > 0) this.l.leave();
    this.observeQueue();
    const { region, host } = this.l.http;
    this.l.shared.metrics.handshakeErrors.labels(this.app, region, host, this.name, kind).inc();
    this.tls?.destroy();
    this.raw.destroy();
  }

  private observeQueue(): void {
    if (this.queueObserved) return;
    this.queueObserved = true;
    const waited = (this.startedAt > 0 ? this.startedAt : performance.now()) - this.acceptedAt;
    this.l.shared.metrics.queueTime.labels(this.app, this.l.http.region, this.l.http.host).observe(waited / 1000);
  }

  private readonly onServerName = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    const name = servername.toLowerCase();
    const app = this.l.http.appName(name);
    if (app === null || this.l.core.routes.get(app) === undefined) {
      this.refusal = "unknown_host";
      cb(new Error(`no app at ${name}`));
      return;
    }
    this.app = app;
    this.name = name;
    this.meter.attribute(this.l.http.appMetrics(app));
    this.observeQueue();
    const limited = this.l.admit(app, name, clientIpOf(this.raw.remoteAddress));
    if (limited !== null) {
      this.refusal = limited;
      cb(new Error(`TLS handshake limit reached (${limited})`));
      return;
    }
    cb(null, this.l.shared.certs.context(name));
  };

  private readonly onSecure = (): void => {
    if (this.finished) return;
    const tls = this.tls!;
    this.finished = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.l.leave();
    this.l.release(this);
    const { region, host } = this.l.http;
    const version = tls.getProtocol() ?? "unknown";
    this.l.shared.metrics.handshakeTime
      .labels(this.app, region, host, version)
      .observe((performance.now() - this.startedAt) / 1000);
    tls.removeListener("error", this.onTlsError);
    this.raw.removeListener("close", this.onRawClose);
    this.l.http.adopt(tls, this.meter);
  };

  private readonly onTlsError = (err: Error & { code?: string }): void => {
    if (this.refusal !== null) this.fail(this.refusal);
    else if (this.name === "" && NO_CERTIFICATE.test(err.code ?? "")) this.fail("no_sni");
    else if (CERT_REFUSED.test(err.code ?? "")) this.fail("cert_refused");
    else if (err.code === "ECONNRESET") this.fail("closed");
    else this.fail("protocol");
  };

  /** The TCP connection closed before it was handed over: a failed handshake unless already counted, and its bytes. */
  private readonly onRawClose = (): void => {
    if (this.refusal !== null) this.fail(this.refusal);
    else this.fail("closed");
    this.l.release(this);
    if (this.meter.app === null) this.meter.attribute(this.l.http.unknown());
    this.meter.closed();
  };
}

function ignore(): void {}
