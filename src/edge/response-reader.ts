// An incremental HTTP/1.1 response reader for the proxy's upstream side. It finds the head, drops hop-by-hop
// headers, frames the body (Content-Length, chunked — decoded, since the client side re-frames — or until close)
// and says whether the connection can carry another request. Bytes arrive as the socket delivers them; body slices
// are handed on without copying. Interim 1xx responses other than 101 are skipped.

import { decimalAt, HEAD_END, hexValue, tokenByte, valueByte } from "./request-parser.ts";

/** A response head as the edge forwards it. Owned by its reader and rewritten by the next head. */
export interface ResponseHead {
  /** The header lines to forward, each `Name: value\r\n`: hop-by-hop ones dropped, Content-Length normalized. */
  fields: string;
  /** A Content-Length line is among `fields` (the body is framed by length). */
  hasLength: boolean;
  /** A Date line is among `fields`. */
  hasDate: boolean;
  /** False when a forwarded name is not a token or a value holds a control byte: the head cannot be passed on. */
  valid: boolean;
}

/** Receives what the reader finds. Callbacks may reset the reader; it then stops reading the current chunk. */
export interface ResponseSink {
  /** The head of a final (or 101) response; `head` is valid until the sink returns. */
  onResponseHead(status: number, head: ResponseHead): void;
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
  /** The head handed to the sink, reused for every response. */
  private readonly head: ResponseHead = { fields: "", hasLength: false, hasDate: false, valid: true };
  /** Offsets of the forwarded header lines of the head being parsed (see `parseHead`), reused; grows, never shrinks. */
  private readonly lines: number[] = [];
  /** How many numbers of `lines` belong to the head being parsed. */
  private lineSlots = 0;

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
    if (this.parseHead(chunk, pos, end) && this.generation === gen) this.finish(next === chunk.length);
    return next;
  }

  /**
   * Parses the head in `buf` [start, end) (`end`: where its blank line starts) and calls `onResponseHead`; true when
   * the response has no body and is thus complete. Works on the bytes: strings are made only of what is forwarded,
   * consecutive header lines already in `Name: value` form as one slice.
   */
  private parseHead(buf: Buffer, start: number, end: number): boolean {
    const lineEnd = lineEndAt(buf, start, end);
    const lineLen = lineEnd - start;
    // Status line: HTTP/1.x SP 3DIGIT [SP reason]
    const minor = buf[start + 7];
    if (
      lineLen < 12 ||
      !startsWithAt(buf, start, HTTP_1_PREFIX) ||
      (minor !== DIGIT_1 && minor !== DIGIT_0) ||
      buf[start + 8] !== SP ||
      (lineLen > 12 && buf[start + 12] !== SP)
    ) {
      this.fail("malformed status line from upstream");
      return false;
    }
    const d0 = buf[start + 9] - DIGIT_0;
    const d1 = buf[start + 10] - DIGIT_0;
    const d2 = buf[start + 11] - DIGIT_0;
    if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
      this.fail("malformed status code from upstream");
      return false;
    }
    const status = d0 * 100 + d1 * 10 + d2;
    if (status < 200 && status !== 101) return false; // interim response: read the next head
    this.keepAlive = minor === DIGIT_1;
    // Forwarded lines, FIELD_SLOTS numbers each: line start, colon, value start, value end, line end, and 1 when
    // the name is a token and the value free of control bytes.
    const lines = this.lines;
    let slots = 0;
    let contentLength = -1;
    let transferEncoding = false;
    let chunked = false;
    let listed: string[] | null = null;
    let pos = lineEnd + 2;
    while (pos < end) {
      // One pass over the line: the name up to its colon, then the value up to the CRLF, each byte checked.
      const first = buf[pos];
      let colon = pos;
      let ok = true;
      for (; colon < end; colon++) {
        const c = buf[colon];
        if (c === COLON || (c === CR && buf[colon + 1] === LF)) break;
        if (!tokenByte(c)) ok = false;
      }
      if (first === SP || first === HT || colon === end || buf[colon] !== COLON || colon === pos) {
        this.fail("malformed header line from upstream");
        return false;
      }
      const last = buf[colon - 1];
      if (last === SP || last === HT) {
        this.fail("whitespace before a colon in an upstream header");
        return false;
      }
      let eol = colon + 1;
      for (; eol < end; eol++) {
        const c = buf[eol];
        if (c === CR && buf[eol + 1] === LF) break;
        if (!valueByte(c)) ok = false;
      }
      // Optional whitespace around the value is skipped by index.
      let vs = colon + 1;
      let ve = eol;
      while (vs < ve && (buf[vs] === SP || buf[vs] === HT)) vs++;
      while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HT)) ve--;
      const lineStart = pos;
      pos = eol + 2;
      switch (specialName(buf, lineStart, colon)) {
        case CONTENT_LENGTH: {
          const n = decimalAt(buf, vs, ve);
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
        case TRANSFER_ENCODING:
          transferEncoding = true;
          chunked = /(^|,)\s*chunked\s*$/i.test(buf.toString("latin1", vs, ve));
          break;
        case CONNECTION: {
          // Most instances send a single keep-alive or close token: no list to split.
          if (equalsLowerAt(buf, vs, ve, KEEP_ALIVE_BYTES)) {
            this.keepAlive = true;
            break;
          }
          if (equalsLowerAt(buf, vs, ve, CLOSE_BYTES)) {
            this.keepAlive = false;
            break;
          }
          for (const token of buf.toString("latin1", vs, ve).split(",")) {
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
        case HOP_BY_HOP:
          break;
        default:
          lines[slots] = lineStart;
          lines[slots + 1] = colon;
          lines[slots + 2] = vs;
          lines[slots + 3] = ve;
          lines[slots + 4] = eol;
          lines[slots + 5] = ok ? 1 : 0;
          slots += FIELD_SLOTS;
      }
    }
    this.lineSlots = slots;
    const head = this.head;
    this.buildFields(buf, listed);
    if (contentLength >= 0 && !transferEncoding) {
      head.fields += `Content-Length: ${contentLength}\r\n`;
      head.hasLength = true;
    }

    const sink = this.sink!;
    if (status === 101) {
      this.state = TUNNEL;
      this.keepAlive = false;
      sink.onResponseHead(status, head);
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
    sink.onResponseHead(status, head);
    return complete;
  }

  /**
   * Fills `head` from the forwarded lines recorded in `lines` (those named in `listed`, the Connection header's
   * own list, left out): each as `Name: value\r\n`, a run of lines already in that form copied as one slice.
   */
  private buildFields(buf: Buffer, listed: readonly string[] | null): void {
    const head = this.head;
    const lines = this.lines;
    let fields = "";
    let valid = true;
    let hasDate = false;
    let runStart = -1;
    let runEnd = -1;
    for (let i = 0; i < this.lineSlots; i += FIELD_SLOTS) {
      const ls = lines[i];
      const colon = lines[i + 1];
      const vs = lines[i + 2];
      const ve = lines[i + 3];
      const eol = lines[i + 4];
      if (listed?.includes(buf.toString("latin1", ls, colon).toLowerCase())) continue;
      if (lines[i + 5] === 0) valid = false;
      if (colon - ls === DATE_BYTES.length && equalsLowerAt(buf, ls, colon, DATE_BYTES)) hasDate = true;
      if (buf[colon + 1] === SP && vs === colon + 2 && ve === eol) {
        // Already `Name: value` with its CRLF: extend the run, or start one.
        if (ls !== runEnd) {
          if (runStart >= 0) fields += buf.toString("latin1", runStart, runEnd);
          runStart = ls;
        }
        runEnd = eol + 2;
        continue;
      }
      if (runStart >= 0) fields += buf.toString("latin1", runStart, runEnd);
      runStart = -1;
      runEnd = -1;
      fields += `${buf.toString("latin1", ls, colon)}: ${buf.toString("latin1", vs, ve)}\r\n`;
    }
    if (runStart >= 0) fields += buf.toString("latin1", runStart, runEnd);
    head.fields = fields;
    head.valid = valid;
    head.hasDate = hasDate;
    head.hasLength = false;
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

const SP = 32;
const HT = 9;
const COLON = 58;
const DIGIT_0 = 48;
const DIGIT_1 = 49;
/** Numbers recorded per forwarded header line (see `parseHead`). */
const FIELD_SLOTS = 6;
const HTTP_1_PREFIX = Buffer.from("HTTP/1.", "latin1");
const KEEP_ALIVE_BYTES = Buffer.from("keep-alive", "latin1");
const CLOSE_BYTES = Buffer.from("close", "latin1");
const DATE_BYTES = Buffer.from("date", "latin1");

// What `specialName` finds.
const FORWARDED = 0;
const CONTENT_LENGTH = 1;
const TRANSFER_ENCODING = 2;
const CONNECTION = 3;
/** A hop-by-hop header the edge drops: Keep-Alive, TE, Trailer, Upgrade, Proxy-*. */
const HOP_BY_HOP = 4;

const CONTENT_LENGTH_BYTES = Buffer.from("content-length", "latin1");
const TRANSFER_ENCODING_BYTES = Buffer.from("transfer-encoding", "latin1");
const CONNECTION_BYTES = Buffer.from("connection", "latin1");
const TE_BYTES = Buffer.from("te", "latin1");
const TRAILER_BYTES = Buffer.from("trailer", "latin1");
const UPGRADE_BYTES = Buffer.from("upgrade", "latin1");
const PROXY_PREFIX_BYTES = Buffer.from("proxy-", "latin1");

/** What the edge does with the header named by `buf` [start, end), compared case-insensitively. */
function specialName(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  switch (len) {
    case 2:
      return equalsLowerAt(buf, start, end, TE_BYTES) ? HOP_BY_HOP : FORWARDED;
    case 7:
      if (equalsLowerAt(buf, start, end, TRAILER_BYTES) || equalsLowerAt(buf, start, end, UPGRADE_BYTES)) {
        return HOP_BY_HOP;
      }
      break;
    case 10:
      if (equalsLowerAt(buf, start, end, CONNECTION_BYTES)) return CONNECTION;
      if (equalsLowerAt(buf, start, end, KEEP_ALIVE_BYTES)) return HOP_BY_HOP;
      break;
    case 14:
      if (equalsLowerAt(buf, start, end, CONTENT_LENGTH_BYTES)) return CONTENT_LENGTH;
      break;
    case 17:
      if (equalsLowerAt(buf, start, end, TRANSFER_ENCODING_BYTES)) return TRANSFER_ENCODING;
      break;
  }
  return len > PROXY_PREFIX_BYTES.length &&
    equalsLowerAt(buf, start, start + PROXY_PREFIX_BYTES.length, PROXY_PREFIX_BYTES)
    ? HOP_BY_HOP
    : FORWARDED;
}

/** Whether the bytes of `buf` [start, end), ASCII letters lower-cased, equal `lower` (lower-case ASCII). */
function equalsLowerAt(buf: Buffer, start: number, end: number, lower: Buffer): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = buf[start + i];
    if (c >= UPPER_A && c <= UPPER_Z) c |= CASE_BIT;
    if (c !== lower[i]) return false;
  }
  return true;
}

/** Whether `buf` holds `prefix` at `start`. */
function startsWithAt(buf: Buffer, start: number, prefix: Buffer): boolean {
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

/** Where the line starting at `pos` ends: its CRLF's offset, or `end` (the head's last line). */
function lineEndAt(buf: Buffer, pos: number, end: number): number {
  for (let i = pos; i < end; i++) if (buf[i] === CR && buf[i + 1] === LF) return i;
  return end;
}

const UPPER_A = 65;
const UPPER_Z = 90;
const CASE_BIT = 0x20;
