// Raw TCP services (`[[services]]`): one listener per public port and edge listener, each connection piped to an
// instance's `internal_port` with backpressure and half-close passed through. Load is counted in connections
// (`fly_app_concurrency` +1 while a pipe is open) against the service's own limits; at the hard limit a connection
// waits (paused) in the app's TCP queue, then is closed when the wait runs out.

import { createServer, type Server, type Socket } from "node:net";
import { pickInstance } from "./balancer.ts";
import { ClientMeter, type EdgeCore, Waiter } from "./core.ts";
import { EdgeAppMetrics, type EdgeErrorKind } from "./metrics.ts";
import type { TcpServiceRoute } from "./routes.ts";
import type { ConnUser, InstanceState, UpstreamConn } from "./upstream.ts";

/** Where one TCP service port listens at one edge listener. */
export interface TcpBindingSpec {
  readonly app: string;
  readonly region: string;
  readonly host: string;
  /** IP address to bind. */
  readonly ip: string;
  /** The service's public port (as in fly.toml). */
  readonly publicPort: number;
  /** The port actually bound (public port plus the listener's offset). */
  readonly bindPort: number;
}

/** A listening TCP service port. */
export class TcpServiceListener {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly edgeApp: EdgeAppMetrics;

  constructor(
    private readonly core: EdgeCore,
    readonly spec: TcpBindingSpec,
  ) {
    this.edgeApp = new EdgeAppMetrics(core.metrics, spec.app, spec.region, spec.host);
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) =>
      this.onConnection(socket),
    );
  }

  /** Binds the port; rejects with the listen error. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once("error", onError);
      this.server.listen(this.spec.bindPort, this.spec.ip, () => {
        this.server.removeListener("error", onError);
        resolve();
      });
    });
  }

  /** The bound `ip:port`. */
  get address(): string {
    const a = this.server.address();
    if (a === null || typeof a === "string") return `${this.spec.ip}:${this.spec.bindPort}`;
    return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  /** Stops listening and closes every open connection. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: Socket): void {
    const { core, edgeApp } = this;
    this.sockets.add(client);
    const meter = new ClientMeter(client);
    meter.attribute(edgeApp);
    core.longLived.add(meter);
    client.on("error", ignore);
    client.on("close", () => {
      this.sockets.delete(client);
      core.longLived.delete(meter);
      meter.closed();
    });
    const route = core.routes.get(this.spec.app);
    const service = route?.tcpServices.find((s) => s.ports.includes(this.spec.publicPort));
    if (service === undefined) {
      edgeApp.error("no_instance").inc();
      client.destroy();
      return;
    }
    new TcpPipe(core, this.spec, client, service, edgeApp).run();
  }
}

/** One client connection piped to an instance. */
class TcpPipe extends Waiter implements ConnUser {
  private inst: InstanceState | null = null;
  private conn: UpstreamConn | null = null;
  private tried: Set<string> | null = null;
  private attempts = 0;
  private finished = false;

  constructor(
    private readonly core: EdgeCore,
    private readonly spec: TcpBindingSpec,
    private readonly client: Socket,
    private service: TcpServiceRoute,
    private readonly edgeApp: EdgeAppMetrics,
  ) {
    super();
  }

  /** Closes the client connection the app could not take, counted by kind. */
  private refuse(kind: EdgeErrorKind): void {
    this.edgeApp.error(kind).inc();
    this.client.destroy();
  }

  run(): void {
    this.client.on("close", this.onClientClose);
    this.choose(true);
  }

  private choose(mayQueue: boolean): void {
    const app = this.core.appState(this.spec.app);
    const route = this.core.routes.get(this.spec.app);
    const p = pickInstance({
      instances: route?.instances ?? [],
      region: this.spec.region,
      limits: this.service.concurrency,
      loadOf: this.core.tcpLoadOf,
      start: app.rr++,
      exclude: this.tried,
    });
    switch (p.kind) {
      case "none":
        this.refuse(this.tried === null ? "no_instance" : "connect");
        return;
      case "full":
        this.core.instanceState(app, p.first).metrics.hardLimit.inc();
        if (!mayQueue || app.tcpQueue.size >= this.core.tuning.queueLimit) this.refuse("limit");
        else app.tcpQueue.push(this, performance.now());
        return;
      case "instance":
        if (p.softLimited !== null) this.core.instanceState(app, p.softLimited).metrics.softLimit.inc();
        this.dispatch(this.core.instanceState(app, p.instance));
    }
  }

  admit(): boolean {
    const app = this.core.appState(this.spec.app);
    const route = this.core.routes.get(this.spec.app);
    const service = route?.tcpServices.find((s) => s.ports.includes(this.spec.publicPort));
    if (route === undefined || service === undefined) {
      app.tcpQueue.remove(this);
      this.refuse("no_instance");
      return true;
    }
    this.service = service;
    const p = pickInstance({
      instances: route.instances,
      region: this.spec.region,
      limits: service.concurrency,
      loadOf: this.core.tcpLoadOf,
      start: app.rr++,
      exclude: null,
    });
    switch (p.kind) {
      case "full":
        return false;
      case "none":
        app.tcpQueue.remove(this);
        this.refuse("no_instance");
        return true;
      case "instance":
        app.tcpQueue.remove(this);
        if (p.softLimited !== null) this.core.instanceState(app, p.softLimited).metrics.softLimit.inc();
        this.dispatch(this.core.instanceState(app, p.instance));
        return true;
    }
  }

  expired(): void {
    this.refuse("limit");
  }

  private dispatch(inst: InstanceState): void {
    this.inst = inst;
    inst.addTcp();
    this.attempts++;
    this.conn = inst.connect(this, this.service.internalPort, { pooled: false, halfOpen: true });
  }

  onConnect(): void {
    const client = this.client;
    client.on("data", this.onClientData);
    client.on("end", this.onClientEnd);
    client.on("drain", this.onClientDrain);
    client.resume();
  }

  onData(chunk: Buffer): void {
    if (!this.client.write(chunk)) this.conn?.socket.pause();
  }

  onDrain(): void {
    this.client.resume();
  }

  onEnd(): void {
    this.client.end();
  }

  onClose(conn: UpstreamConn, error: Error | null): void {
    this.conn = null;
    if (!conn.connected) {
      this.tried ??= new Set();
      this.tried.add(this.inst!.route.id);
      this.release();
      if (this.attempts < this.core.tuning.maxConnectAttempts) this.choose(false);
      else this.refuse("connect");
      return;
    }
    if (error === null) this.client.end();
    else this.client.destroy();
    this.finish();
  }

  private readonly onClientData = (chunk: Buffer): void => {
    if (this.conn !== null && !this.conn.socket.write(chunk)) this.client.pause();
  };

  private readonly onClientEnd = (): void => {
    this.conn?.socket.end();
  };

  private readonly onClientDrain = (): void => {
    this.conn?.socket.resume();
  };

  private readonly onClientClose = (): void => {
    if (this.list !== null) this.list.remove(this);
    this.conn?.abandon();
    this.conn = null;
    this.finish();
  };

  private release(): void {
    const inst = this.inst;
    if (inst === null) return;
    this.inst = null;
    inst.removeTcp();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.release();
  }
}

function ignore(): void {}
