// Test support for the edge's tests and the proxy benchmark: real upstream servers on loopback that count the bytes
// they move, a raw-socket client for requests Node's client refuses to send, and registry read-outs.

import {
  type Agent,
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type RequestListener,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import { connect, createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import type { Registry } from "../exposition/registry.ts";
import type { AppRoute, ConcurrencyLimits, InstanceRoute, TcpServiceRoute } from "./routes.ts";

/** Limits high enough never to matter in a test that is not about them. */
export const ROOMY: ConcurrencyLimits = { type: "requests", softLimit: 1000, hardLimit: 2000 };

/** An instance route; ids are padded to 14 hex digits. */
export function instanceRoute(id: string, region: string, address: string, healthy = true): InstanceRoute {
  return { id: id.padStart(14, "0"), region, host: region === "ord" ? "a1b2" : "c3d4", address, healthy };
}

/** An app route of org "acme". */
export function appRoute(
  instances: readonly InstanceRoute[],
  concurrency: ConcurrencyLimits = ROOMY,
  tcpServices: readonly TcpServiceRoute[] = [],
): AppRoute {
  return { org: "acme", concurrency, instances, tcpServices };
}

/** A response as the test client saw it. */
export interface TestResponse {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

/** Sends one request to the edge at `port` for `host` and reads the whole response. */
export function send(
  port: number,
  host: string,
  opts: { path?: string; method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer; agent?: Agent } = {},
): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: opts.path ?? "/",
        method: opts.method ?? "GET",
        headers: { host, ...opts.headers },
        agent: opts.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** A loopback HTTP server standing in for an app instance. */
export interface TestUpstream {
  readonly server: Server;
  readonly port: number;
  /** `127.0.0.1:port`, as an InstanceRoute address. */
  readonly address: string;
  /** Connections accepted so far. */
  readonly connections: () => number;
  /** Bytes read from / written to the proxy over every connection, open ones included. */
  readonly bytes: () => { read: number; written: number };
  /** Closes the server and every connection. */
  close(): Promise<void>;
}

/** Starts an upstream on 127.0.0.1 with a free port; `onUpgrade` handles `Upgrade` requests. */
export async function startUpstream(
  handler: RequestListener,
  onUpgrade?: (req: IncomingMessage, socket: Socket, head: Buffer) => void,
): Promise<TestUpstream> {
  const server = createServer(handler);
  if (onUpgrade !== undefined) server.on("upgrade", onUpgrade);
  const sockets = new Set<Socket>();
  let connections = 0;
  let closedRead = 0;
  let closedWritten = 0;
  server.on("connection", (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on("close", () => {
      sockets.delete(s);
      closedRead += s.bytesRead;
      closedWritten += s.bytesWritten;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    connections: () => connections,
    bytes: () => {
      let read = closedRead;
      let written = closedWritten;
      for (const s of sockets) {
        read += s.bytesRead;
        written += s.bytesWritten;
      }
      return { read, written };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      }),
  };
}

/** A handler that answers every request with `status` and a short text body naming `name`. */
export function answer(name: string, status = 200): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      const body = `${name} ${req.method} ${req.url}\n`;
      res.writeHead(status, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  };
}

/** Sends raw bytes on a new connection and resolves with everything read until the server closes it. */
export function rawExchange(port: number, request: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${Buffer.concat(chunks).toString("latin1")}`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(request));
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
  });
}

/** The samples of metric `name` (a full series name such as `x_bucket`) as label records with values. */
export function samplesOf(registry: Registry, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  registry.forEachSample((labels, value) => {
    if (labels.metricName() === name) out.push({ labels: labels.withoutMetricName().toRecord(), value });
  });
  return out;
}

/** Sum of the samples of `name` whose labels include every pair of `match` (a missing label matches ""). */
export function sumOf(registry: Registry, name: string, match: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const s of samplesOf(registry, name)) {
    if (Object.entries(match).every(([k, v]) => (s.labels[k] ?? "") === v)) sum += s.value;
  }
  return sum;
}

/** Resolves once `cond()` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw TCP server on loopback that answers every connection with `reply` (or nothing); close it after the test. */
export async function rawServer(reply: (socket: Socket) => void): Promise<{ server: TcpServer; address: string }> {
  const server = createTcpServer((socket) => {
    socket.on("error", () => {});
    reply(socket);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, address: `127.0.0.1:${(server.address() as { port: number }).port}` };
}
