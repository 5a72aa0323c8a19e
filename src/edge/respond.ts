// Responses the edge writes itself (unknown app, no instance, upstream failure, bad request), as short plain text
// that says what went wrong, on a request's client side or, for refused heads and upgrades, on a raw socket.

import { STATUS_CODES } from "node:http";
import type { ClientSide } from "./client-conn.ts";
import { VIA } from "./request-head.ts";

/** Writes a complete plain-text response; the connection stays usable for the next request. */
export function sendText(client: ClientSide, status: number, message: string): void {
  const body = Buffer.from(`${message}\n`);
  client.writeHead(status, [
    "Content-Type",
    "text/plain; charset=utf-8",
    "Content-Length",
    String(body.length),
    "Via",
    VIA,
  ]);
  client.write(body);
  client.end();
}

/** A complete raw HTTP/1.1 response that closes the connection, for sockets outside a request's client side. */
export function rawResponse(status: number, message: string): string {
  const body = `${message}\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\nConnection: close\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nVia: ${VIA}\r\n\r\n${body}`
  );
}
