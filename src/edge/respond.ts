// Responses the edge writes itself (unknown app, no instance, upstream failure, bad request), as short plain text
// that says what went wrong, on a ServerResponse or, before or after Node's HTTP layer, on a raw socket.

import { type ServerResponse, STATUS_CODES } from "node:http";
import { VIA } from "./request-head.ts";

/** Writes a complete plain-text response; the connection stays usable for the next request. */
export function sendText(res: ServerResponse, status: number, message: string): void {
  const body = `${message}\n`;
  res.writeHead(status, [
    "Content-Type",
    "text/plain; charset=utf-8",
    "Content-Length",
    String(Buffer.byteLength(body)),
    "Via",
    VIA,
  ]);
  res.end(body);
}

/** A complete raw HTTP/1.1 response that closes the connection, for sockets outside Node's HTTP layer. */
export function rawResponse(status: number, message: string): string {
  const body = `${message}\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\nConnection: close\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nVia: ${VIA}\r\n\r\n${body}`
  );
}
