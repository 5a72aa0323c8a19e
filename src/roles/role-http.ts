// The small HTTP listener of the edge and agent processes: `/metrics` (their registry as Prometheus text, or in the
// protobuf format when the scraper prefers it, which carries native histograms; scraped by the metrics node), `/healthz`, and a few JSON endpoints the other processes read. It binds a local address
// and takes GET requests only; each handler builds its whole answer, so nothing streams and nothing can hang.

import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  PROMETHEUS_TEXT_CONTENT_TYPE,
  PROTOBUF_CONTENT_TYPE,
  prefersProtobuf,
  writePrometheusText,
  writeProtobuf,
} from "../exposition/index.ts";
import type { Registry } from "../exposition/registry.ts";
import { parseListenAddress } from "./options.ts";

/** An answer of a handler. */
export interface RoleHttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string | Uint8Array;
}

/** Answers one GET for a path (query string removed) with the request's Accept header; undefined means 404. */
export type RoleHttpHandler = (
  path: string,
  accept: string | undefined,
) => RoleHttpAnswer | undefined | Promise<RoleHttpAnswer | undefined>;

/** A running role listener. */
export interface RoleHttp {
  /** `http://HOST:PORT` as bound (IPv6 in brackets). */
  readonly url: string;
  /** Stops accepting and closes every connection. */
  close(): Promise<void>;
}

/** A request must arrive whole within this time, ms. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Largest request head accepted, bytes: these are GETs of short paths. */
const MAX_HEADER_BYTES = 8 * 1024;

/** A JSON answer with status 200. */
export function jsonAnswer(value: unknown): RoleHttpAnswer {
  return { status: 200, contentType: "application/json", body: JSON.stringify(value) };
}

/** `/metrics` of a registry: every family as Prometheus text 0.0.4, or as protobuf when `accept` prefers it. */
export function metricsAnswer(registry: Registry, accept?: string): RoleHttpAnswer {
  if (prefersProtobuf(accept)) {
    return { status: 200, contentType: PROTOBUF_CONTENT_TYPE, body: writeProtobuf(registry.collect()) };
  }
  return { status: 200, contentType: PROMETHEUS_TEXT_CONTENT_TYPE, body: writePrometheusText(registry.collect()) };
}

function send(res: http.ServerResponse, a: RoleHttpAnswer): void {
  const length = typeof a.body === "string" ? Buffer.byteLength(a.body) : a.body.length;
  res.writeHead(a.status, { "content-type": a.contentType, "content-length": length });
  res.end(a.body);
}

/**
 * Listens on `address` (`HOST:PORT`, port 0 for a free one) and answers with `handler`; `/healthz` answers 200
 * unless the handler takes it. Rejects when the address cannot be bound.
 */
export async function startRoleHttp(address: string, handler: RoleHttpHandler): Promise<RoleHttp> {
  const { host, port } = parseListenAddress(address, "--metrics");
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, { status: 405, contentType: "text/plain", body: "only GET\n" });
      return;
    }
    const path = (req.url ?? "/").split("?")[0];
    Promise.resolve()
      .then(() => handler(path, req.headers.accept))
      .then(
        (a) => {
          if (a !== undefined) send(res, a);
          else if (path === "/healthz") send(res, { status: 200, contentType: "text/plain", body: "ok\n" });
          else send(res, { status: 404, contentType: "text/plain", body: "not found\n" });
        },
        (err: unknown) => send(res, { status: 500, contentType: "text/plain", body: `${(err as Error).message}\n` }),
      );
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.address.includes(":") ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shownHost}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
