// The request head the edge sends to an instance: the client's request line and end-to-end headers, without the
// hop-by-hop ones (Connection and the names it lists, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade,
// and Expect, which the edge answered itself), plus the platform's forwarding headers. Header text is kept as the parser
// decoded it (latin1, one char per byte), so writing the head with the latin1 encoding passes bytes through intact.

/** How the request body reaches the instance: none, `Content-Length` bytes as they come, or re-chunked. */
export type BodyFraming = "none" | "length" | "chunked";

/** What the edge reads from a request's headers in one pass. Multiple values of one header are joined by ", ". */
export interface RequestInfo {
  /** The Host header, or "" when absent. */
  readonly host: string;
  readonly upgrade: string;
  readonly forwardedFor: string;
  readonly via: string;
  readonly body: BodyFraming;
  /** Lower-case names listed in Connection besides close/keep-alive/upgrade, to drop too; usually null. */
  readonly connectionListed: readonly string[] | null;
}

/** Per-request values of the forwarding headers. `listenerTail` holds the fixed lines of one edge listener. */
export interface ForwardValues {
  readonly clientIp: string;
  readonly requestId: string;
  /** Pre-rendered `Name: value\r\n` lines that are the same for every request of a listener. */
  readonly listenerTail: string;
}

/** The proxy's `Via` token. */
export const VIA = "1.1 contrail";

/** Renders the fixed forwarding lines of a listener (region, scheme, port). */
export function listenerForwardLines(region: string, port: number, scheme: "http" | "https" = "http"): string {
  return (
    `Fly-Region: ${region}\r\nX-Forwarded-Proto: ${scheme}\r\nX-Forwarded-Port: ${port}\r\n` +
    `Fly-Forwarded-Port: ${port}\r\n`
  );
}

function joinValue(prev: string, value: string): string {
  return prev === "" ? value : `${prev}, ${value}`;
}

/** Reads the headers that routing and forwarding need from a flat [name, value, …] `rawHeaders` list. */
export function inspectRequest(rawHeaders: readonly string[]): RequestInfo {
  let host = "";
  let upgrade = "";
  let forwardedFor = "";
  let via = "";
  let connection = "";
  let contentLength = false;
  let chunked = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    // Fast reject: every name of interest has one of these lengths.
    switch (name.length) {
      case 3:
      case 4:
      case 7:
      case 10:
      case 14:
      case 15:
      case 17:
        break;
      default:
        continue;
    }
    switch (name.toLowerCase()) {
      case "host":
        host = rawHeaders[i + 1];
        break;
      case "upgrade":
        upgrade = joinValue(upgrade, rawHeaders[i + 1]);
        break;
      case "x-forwarded-for":
        forwardedFor = joinValue(forwardedFor, rawHeaders[i + 1]);
        break;
      case "via":
        via = joinValue(via, rawHeaders[i + 1]);
        break;
      case "connection":
        connection = joinValue(connection, rawHeaders[i + 1]);
        break;
      case "content-length":
        contentLength = rawHeaders[i + 1] !== "0";
        break;
      case "transfer-encoding":
        chunked = true;
        break;
    }
  }
  return {
    host,
    upgrade,
    forwardedFor,
    via,
    body: chunked ? "chunked" : contentLength ? "length" : "none",
    connectionListed: connection === "" ? null : listedNames(connection),
  };
}

/** Names listed in a Connection value other than the usual close/keep-alive/upgrade tokens, or null. */
function listedNames(connection: string): string[] | null {
  let out: string[] | null = null;
  for (const token of connection.split(",")) {
    const t = token.trim().toLowerCase();
    if (t === "" || t === "close" || t === "keep-alive" || t === "upgrade") continue;
    out ??= [];
    out.push(t);
  }
  return out;
}

/** True for the request headers the edge drops or replaces (`lower` is the lower-cased name). */
function dropped(lower: string, info: RequestInfo): boolean {
  switch (lower) {
    case "connection":
    case "keep-alive":
    case "te":
    case "trailer":
    case "transfer-encoding":
    case "upgrade":
    case "expect":
    case "x-forwarded-for":
    case "x-forwarded-proto":
    case "x-forwarded-port":
    case "via":
    case "fly-client-ip":
    case "fly-forwarded-port":
    case "fly-region":
    case "fly-request-id":
      return true;
  }
  if (lower.startsWith("proxy-")) return true;
  return info.connectionListed?.includes(lower) === true;
}

/**
 * Renders the head to send upstream, ending with the blank line. With `upgrade` the Connection/Upgrade pair is
 * kept (as `Connection: Upgrade` and the client's Upgrade value); otherwise both are dropped.
 */
export function buildRequestHead(
  method: string,
  url: string,
  rawHeaders: readonly string[],
  info: RequestInfo,
  fwd: ForwardValues,
  upgrade: boolean,
): string {
  let head = `${method} ${url} HTTP/1.1\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    // Names shorter than 2 or in none of the dropped families are kept without lower-casing.
    const c = name.charCodeAt(0) | 0x20;
    if (
      (c === 0x63 /* c */ ||
        c === 0x6b /* k */ ||
        c === 0x74 /* t */ ||
        c === 0x75 /* u */ ||
        c === 0x65 /* e */ ||
        c === 0x78 /* x */ ||
        c === 0x76 /* v */ ||
        c === 0x66 /* f */ ||
        c === 0x70) /* p */ &&
      dropped(name.toLowerCase(), info)
    ) {
      continue;
    }
    if (info.connectionListed?.includes(name.toLowerCase())) continue;
    head += `${name}: ${rawHeaders[i + 1]}\r\n`;
  }
  if (info.body === "chunked") head += "Transfer-Encoding: chunked\r\n";
  if (upgrade) head += `Connection: Upgrade\r\nUpgrade: ${info.upgrade}\r\n`;
  const ip = fwd.clientIp;
  return (
    `${head}Fly-Client-IP: ${ip}\r\nX-Forwarded-For: ${joinValue(info.forwardedFor, ip)}\r\n${fwd.listenerTail}` +
    `Fly-Request-Id: ${fwd.requestId}\r\nVia: ${joinValue(info.via, VIA)}\r\n\r\n`
  );
}

/** The client's address as a plain IP (IPv4-mapped IPv6 addresses are shown as IPv4). */
export function clientIpOf(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return "";
  return remoteAddress.startsWith("::ffff:") && remoteAddress.includes(".") ? remoteAddress.slice(7) : remoteAddress;
}
