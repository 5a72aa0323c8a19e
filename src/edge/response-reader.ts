// An incremental HTTP/1.1 response reader for the proxy's upstream side. It finds the head, drops hop-by-hop
// headers, frames the body (Content-Length, chunked — decoded, since the client side re-frames — or until close)
// and says whether the connection can carry another request. Bytes arrive as the socket delivers them; body slices
// are handed on without copying. Interim 1xx responses other than 101 are skipped.

import { decimal, HEAD_END, hexValue } from "./request-parser.ts";

/** Receives what the reader finds. Callbacks may reset the reader; it then stops reading the current chunk. */
export interface ResponseSink {
  /** `headers` is a flat [name, value, …] list without hop-by-hop headers; the sink may append to it. */
  onResponseHead(status: number, headers: string[]): void;
  /** A slice of the (de-chunked) body; valid only until the sink returns (it may view a shared read buffer). */
  onResponseBody(chunk: Buffer): void;
  /** The response is complete; `reusable` is false when the connection must not carry another request. */
  onResponseEnd(reusable: boolean): void;
  /** The response is malformed or truncated; the connection must be closed. */
  onResponseError(message: string, kind: "bad_response" | "closed"): void;
}

const HEAD = 0;
const LENGTH = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_DATA_END = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;
const DONE = 7;
const TUNNEL = 8;
const FAILED = 9;

/** Largest response head accepted, in bytes. */
export const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;
const MAX_CHUNK_LINE = 4096;
const CR = 13;
const LF = 10;

/** One response at a time; `reset` before each request. Owned by one upstream connection. */
export class ResponseReader {
  private sink: ResponseSink | null = null;
  private state = DONE;
  private expectBody = true;
  private keepAlive = true;
  private remaining = 0;
  private digits = 0;
  private inExtension = false;
  private lineBytes = 0;
  private sawAny = false;
  private pending: Buffer | null = null;
  /** Bumped by `reset`, so a feed loop notices a sink that reset the reader from a callback. */
  private generation = 0;

  /** Prepares for the response to a new request; `expectBody` is false for HEAD requests. */
  reset(sink: ResponseSink | null, expectBody: boolean): void {
    this.generation++;
    this.sink = sink;
    this.state = sink === null ? DONE : HEAD;
    this.expectBody = expectBody;
    this.keepAlive = true;
    this.pending = null;
    this.sawAny = false;
  }

  /** True once any byte of the current response arrived. */
  get started(): boolean {
    return this.sawAny;
  }

  /** Consumes bytes from the connection; `chunk` is not kept past the call (what must wait is copied). */
  feed(chunk: Buffer): void {
    if (this.state === TUNNEL || this.state === FAILED) return;
    if (this.state === DONE) {
      // Bytes after a complete response (or with no request outstanding): the peer is out of step.
      if (chunk.length > 0) this.keepAlive = false;
      return;
    }
    this.sawAny = true;
    if (this.pending !== null) {
      chunk = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const gen = this.generation;
    let pos = 0;
    const len = chunk.length;
    while (pos < len && this.generation === gen) {
      switch (this.state) {
        case HEAD:
          pos = this.readHead(chunk, pos);
          break;
        case LENGTH: {
          const n = Math.min(this.remaining, len - pos);
          this.remaining -= n;
          const end = pos + n;
          this.sink!.onResponseBody(pos === 0 && end === len ? chunk : chunk.subarray(pos, end));
          pos = end;
          if (this.remaining === 0 && this.generation === gen) this.finish(pos === len);
          break;
        }
        case CHUNK_SIZE:
          pos = this.readChunkSize(chunk, pos);
          break;
        case CHUNK_DATA: {
          const n = Math.min(this.remaining, len - pos);
          this.remaining -= n;
          this.sink!.onResponseBody(chunk.subarray(pos, pos + n));
          pos += n;
          if (this.remaining === 0) this.state = CHUNK_DATA_END;
          break;
        }
        case CHUNK_DATA_END: {
          const b = chunk[pos++];
          if (b === LF) this.startChunk();
          else if (b !== CR) this.fail("bad chunk terminator from upstream");
          break;
        }
        case TRAILERS:
          pos = this.readTrailers(chunk, pos);
          break;
        case UNTIL_CLOSE:
          this.sink!.onResponseBody(pos === 0 ? chunk : chunk.subarray(pos));
          pos = len;
          break;
        case DONE:
          // A complete response followed by more bytes: unusable connection.
          this.keepAlive = false;
          return;
        case TUNNEL:
        case FAILED:
          return;
      }
    }
  }

  /**
   * The connection closed. `clean` is false when it closed on an error. Ends a close-delimited body; any other
   * unfinished response is an error.
   */
  eof(clean: boolean): void {
    switch (this.state) {
      case UNTIL_CLOSE:
        if (clean) this.finish(false);
        else this.fail("upstream connection reset during the response", "closed");
        return;
      case HEAD:
        this.fail(
          this.sawAny ? "upstream closed in the middle of the response head" : "upstream closed the connection",
        );
        return;
      case LENGTH:
      case CHUNK_SIZE:
      case CHUNK_DATA:
      case CHUNK_DATA_END:
      case TRAILERS:
        this.fail("upstream closed before the response body was complete", "closed");
        return;
      case DONE:
      case TUNNEL:
      case FAILED:
        return;
    }
  }

  private finish(reusable: boolean): void {
    this.state = DONE;
    const sink = this.sink!;
    this.sink = null;
    sink.onResponseEnd(reusable && this.keepAlive);
  }

  private fail(message: string, kind: "bad_response" | "closed" = "bad_response"): void {
    this.state = FAILED;
    const sink = this.sink!;
    this.sink = null;
    sink.onResponseError(message, kind);
  }

  private readHead(chunk: Buffer, pos: number): number {
    const end = chunk.indexOf(HEAD_END, pos);
    if (end < 0) {
      if (chunk.length - pos > MAX_RESPONSE_HEAD_BYTES) this.fail("upstream response head too large");
      else this.pending = Buffer.from(chunk.subarray(pos)); // a copy: the chunk may view a reused read buffer
      return chunk.length;
    }
    if (end - pos > MAX_RESPONSE_HEAD_BYTES) {
      this.fail("upstream response head too large");
      return chunk.length;
    }
    const next = end + 4;
    const gen = this.generation;
    if (this.parseHead(chunk.toString("latin1", pos, end)) && this.generation === gen)
      this.finish(next === chunk.length);
    return next;
  }

  /** Parses one head and calls `onResponseHead`; true when the response has no body and is thus complete. */
  private parseHead(text: string): boolean {
    let lineEnd = text.indexOf("\r\n");
    if (lineEnd < 0) lineEnd = text.length;
    // Status line: HTTP/1.x SP 3DIGIT [SP reason]
    if (
      lineEnd < 12 ||
      !text.startsWith("HTTP/1.") ||
      (text[7] !== "1" && text[7] !== "0") ||
      text[8] !== " " ||
      (lineEnd > 12 && text[12] !== " ")
    ) {
      this.fail("malformed status line from upstream");
      return false;
    }
    const code = text.slice(9, 12);
    const status = Number(code);
    if (!/^[1-9]\d\d$/.test(code)) {
      this.fail("malformed status code from upstream");
      return false;
    }
    if (status < 200 && status !== 101) return false; // interim response: read the next head
    this.keepAlive = text[7] === "1";
    const headers: string[] = [];
    let contentLength = -1;
    let transferEncoding = false;
    let chunked = false;
    let listed: string[] | null = null;
    let pos = lineEnd + 2;
    while (pos < text.length) {
      let eol = text.indexOf("\r\n", pos);
      if (eol < 0) eol = text.length;
      const first = text.charCodeAt(pos);
      const colon = text.indexOf(":", pos);
      if (first === 32 || first === 9 || colon < 0 || colon >= eol || colon === pos) {
        this.fail("malformed header line from upstream");
        return false;
      }
      const last = text.charCodeAt(colon - 1);
      if (last === 32 || last === 9) {
        this.fail("whitespace before a colon in an upstream header");
        return false;
      }
      const name = text.slice(pos, colon);
      // Optional whitespace around the value is skipped by index, so the common header costs one slice.
      let vs = colon + 1;
      let ve = eol;
      while (vs < ve && isOws(text.charCodeAt(vs))) vs++;
      while (ve > vs && isOws(text.charCodeAt(ve - 1))) ve--;
      const value = text.slice(vs, ve);
      pos = eol + 2;
      // Only names of a length some hop-by-hop or framing header has are lower-cased and compared.
      const special = SPECIAL_LENGTHS[name.length] === 1 || (name.length > 6 && (name.charCodeAt(0) | 0x20) === P);
      switch (special ? name.toLowerCase() : "") {
        case "content-length": {
          const n = decimal(value);
          if (n < 0) {
            this.fail("bad Content-Length from upstream");
            return false;
          }
          if (contentLength >= 0 && n !== contentLength) {
            this.fail("conflicting Content-Length values from upstream");
            return false;
          }
          contentLength = n;
          break;
        }
        case "transfer-encoding":
          transferEncoding = true;
          chunked = /(^|,)\s*chunked\s*$/i.test(value);
          break;
        case "connection": {
          // Most instances send a single keep-alive or close token: no list to split.
          const single = value.length <= KEEP_ALIVE.length ? value.toLowerCase() : "";
          if (single === KEEP_ALIVE || single === CLOSE) {
            this.keepAlive = single === KEEP_ALIVE;
            break;
          }
          for (const token of value.split(",")) {
            const t = token.trim().toLowerCase();
            if (t === "close") this.keepAlive = false;
            else if (t === "keep-alive") this.keepAlive = true;
            else if (t !== "" && t !== "upgrade") {
              listed ??= [];
              listed.push(t);
            }
          }
          break;
        }
        case "keep-alive":
        case "te":
        case "trailer":
        case "upgrade":
          break;
        default:
          if (special && name.length > 6 && name.toLowerCase().startsWith("proxy-")) break;
          headers.push(name, value);
      }
    }
    const out = listed === null ? headers : withoutListed(headers, listed);
    if (contentLength >= 0 && !transferEncoding) out.push("Content-Length", String(contentLength));

    const sink = this.sink!;
    if (status === 101) {
      this.state = TUNNEL;
      this.keepAlive = false;
      sink.onResponseHead(status, out);
      return false;
    }
    const bodyless = !this.expectBody || status === 204 || status === 304;
    if (bodyless) this.state = DONE;
    else if (transferEncoding) {
      if (chunked) this.startChunk();
      else {
        this.state = UNTIL_CLOSE;
        this.keepAlive = false;
      }
    } else if (contentLength > 0) {
      this.state = LENGTH;
      this.remaining = contentLength;
    } else if (contentLength === 0) this.state = DONE;
    else {
      this.state = UNTIL_CLOSE;
      this.keepAlive = false;
    }
    const complete = this.state === DONE;
    if (complete) this.state = HEAD; // still reading until finish() runs
    sink.onResponseHead(status, out);
    return complete;
  }

  private startChunk(): void {
    this.state = CHUNK_SIZE;
    this.remaining = 0;
    this.digits = 0;
    this.inExtension = false;
    this.lineBytes = 0;
  }

  private readChunkSize(chunk: Buffer, pos: number): number {
    const len = chunk.length;
    while (pos < len) {
      const b = chunk[pos++];
      if (++this.lineBytes > MAX_CHUNK_LINE) {
        this.fail("chunk size line too long from upstream");
        return len;
      }
      if (b === LF) {
        if (this.digits === 0) {
          this.fail("missing chunk size from upstream");
          return len;
        }
        if (this.remaining === 0) {
          this.state = TRAILERS;
          this.lineBytes = 0;
        } else this.state = CHUNK_DATA;
        return pos;
      }
      if (this.inExtension || b === CR || b === 32 || b === 9) continue;
      if (b === 59 /* ; */) {
        this.inExtension = true;
        continue;
      }
      const v = hexValue(b);
      if (v < 0 || this.digits >= 12) {
        this.fail("bad chunk size from upstream");
        return len;
      }
      this.remaining = this.remaining * 16 + v;
      this.digits++;
    }
    return pos;
  }

  private readTrailers(chunk: Buffer, pos: number): number {
    const len = chunk.length;
    while (pos < len) {
      const b = chunk[pos++];
      if (b === LF) {
        if (this.lineBytes === 0) {
          this.finish(pos === len);
          return pos;
        }
        this.lineBytes = 0;
        continue;
      }
      if (b === CR) continue;
      if (++this.lineBytes > MAX_RESPONSE_HEAD_BYTES) {
        this.fail("upstream trailers too large");
        return len;
      }
    }
    return pos;
  }
}

const P = 0x70;
const KEEP_ALIVE = "keep-alive";
const CLOSE = "close";

/** 1 at the lengths of the response header names the reader handles itself (see `parseHead`). */
const SPECIAL_LENGTHS: readonly number[] = (() => {
  const out: number[] = [];
  for (const name of ["content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade"]) {
    out[name.length] = 1;
  }
  return out;
})();

/** Optional whitespace of a header line: space or tab. */
function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

function withoutListed(headers: string[], listed: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!listed.includes(headers[i].toLowerCase())) out.push(headers[i], headers[i + 1]);
  }
  return out;
}
