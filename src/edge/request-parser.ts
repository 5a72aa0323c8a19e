// The edge's HTTP/1.1 request parser (RFC 9112): a request head, checked as strictly as llhttp and Go's net/http
// check it where a lax reading would let the edge and an app frame a message differently (request smuggling), and
// the chunked body decoder. Refused, each with 400 unless noted: a bare CR or LF anywhere in the head, obs-fold,
// whitespace before a colon, a header name that is not a token, a control byte in a value or in the request target,
// a space inside the target, an HTTP version other than 1.0/1.1 (505), more than one Host or Content-Length, a
// Content-Length that is not 1–15 digits, Content-Length with Transfer-Encoding, Transfer-Encoding in HTTP/1.0, a
// transfer coding list that does not end in chunked (400) or has another coding before it (501). In a chunked body:
// a size that is not hex or exceeds 2^53, a size line over MAX_CHUNK_LINE bytes, a bare CR or LF, a data chunk not
// followed by CRLF, control bytes in extensions or trailers, trailers over the head limit.

/** What the parser refused: the status to answer with and a message naming the problem. */
export interface HeadError {
  readonly status: number;
  readonly message: string;
}

/** `bodyLength` of a request with a chunked body. */
export const CHUNKED = -1;

/** A parsed request head. Header text is latin1 (one char per byte), as it came, values trimmed of OWS. */
export interface RequestHead {
  readonly method: string;
  readonly target: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  readonly minor: number;
  /** Flat [name, value, …] list in arrival order; the one Content-Length value is normalized to plain digits. */
  readonly rawHeaders: string[];
  /** Body bytes announced by Content-Length (0: no body), or CHUNKED. */
  readonly bodyLength: number;
  /** The client allows another request on the connection after this one. */
  readonly keepAlive: boolean;
  /** `Upgrade` with `Connection: upgrade`: the connection becomes a tunnel. */
  readonly upgrade: boolean;
  /** The request carries `Expect: 100-continue`. */
  readonly expectContinue: boolean;
  /** The request carries an Expect value the edge does not meet (answered with 417). */
  readonly expectOther: boolean;
}

/** Most decimal digits of a Content-Length (below 2^53, so the number is exact). */
const MAX_LENGTH_DIGITS = 15;
/** Longest chunk-size line (size and extensions), in bytes. */
export const MAX_CHUNK_LINE = 4096;
const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;

/** The blank line that ends a head, as bytes: `Buffer.indexOf` with a buffer needle skips encoding a string per call. */
export const HEAD_END = Buffer.from("\r\n\r\n", "latin1");

/** 1 for the bytes of an RFC 9110 token (tchar). */
const TCHAR = (() => {
  const t = new Uint8Array(256);
  for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    t[c.charCodeAt(0)] = 1;
  return t;
})();

/** Whether `s` is a non-empty token. */
export function isToken(s: string): boolean {
  const len = s.length;
  if (len === 0) return false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** Whether byte `c` may appear in a token (tchar). */
export function tokenByte(c: number): boolean {
  return TCHAR[c] === 1;
}

/** Whether `c` may appear in a field value: HTAB, SP, VCHAR or obs-text (no other control byte, no DEL). */
export function valueByte(c: number): boolean {
  return c === HT || (c >= SP && c !== 127 && c <= 255);
}

/** Whether a field value has only allowed bytes (no CR, LF, NUL or other control byte). */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!valueByte(s.charCodeAt(i))) return false;
  return true;
}

function bad(message: string, status = 400): HeadError {
  return { status, message };
}

/** Whether a line feed in `buf` (a head still incomplete) comes without its CR, so the head is already malformed. */
export function bareLineFeed(buf: Buffer): boolean {
  for (let lf = buf.indexOf(LF); lf >= 0; lf = buf.indexOf(LF, lf + 1)) {
    if (lf === 0 || buf[lf - 1] !== CR) return true;
  }
  return false;
}

/**
 * Parses a request head: `text` is the latin1 text from the request line up to, not including, the CRLF CRLF that
 * ends the head. Returns the head, or the error to answer with.
 */
export function parseRequestHead(text: string): RequestHead | HeadError {
  let lineEnd = text.indexOf("\r\n");
  if (lineEnd < 0) lineEnd = text.length;
  const sp1 = text.indexOf(" ");
  if (sp1 <= 0 || sp1 >= lineEnd) return bad("malformed request line");
  const method = text.slice(0, sp1);
  if (!isToken(method)) return bad("invalid method");
  const sp2 = text.indexOf(" ", sp1 + 1);
  if (sp2 < 0 || sp2 >= lineEnd || sp2 === sp1 + 1) return bad("malformed request line");
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = text.charCodeAt(i);
    if (c <= SP || c === 127) return bad("invalid byte in the request target");
  }
  const target = text.slice(sp1 + 1, sp2);
  const version = text.slice(sp2 + 1, lineEnd);
  let minor: number;
  if (version === "HTTP/1.1") minor = 1;
  else if (version === "HTTP/1.0") minor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) return bad("HTTP version not supported", 505);
  else return bad("malformed request line");

  const rawHeaders: string[] = [];
  let hosts = 0;
  let contentLength = -1;
  let transferEncoding: string | null = null;
  let close = false;
  let keepAliveToken = false;
  let connectionUpgrade = false;
  let upgradeHeader = false;
  let expectContinue = false;
  let expectOther = false;
  let pos = lineEnd + 2;
  const len = text.length;
  while (pos < len) {
    let eol = text.indexOf("\r\n", pos);
    if (eol < 0) eol = len;
    const first = text.charCodeAt(pos);
    if (first === SP || first === HT) return bad("obsolete line folding in a header");
    let colon = pos;
    while (colon < eol) {
      const c = text.charCodeAt(colon);
      if (c === 58 /* : */) break;
      if (TCHAR[c] !== 1) {
        return bad(c === SP || c === HT ? "whitespace in a header name" : "invalid byte in a header name");
      }
      colon++;
    }
    if (colon === eol) return bad("header line without a colon");
    if (colon === pos) return bad("empty header name");
    let vs = colon + 1;
    let ve = eol;
    while (vs < ve && (text.charCodeAt(vs) === SP || text.charCodeAt(vs) === HT)) vs++;
    while (ve > vs && (text.charCodeAt(ve - 1) === SP || text.charCodeAt(ve - 1) === HT)) ve--;
    for (let i = vs; i < ve; i++) if (!valueByte(text.charCodeAt(i))) return bad("invalid byte in a header value");
    const name = text.slice(pos, colon);
    let value = text.slice(vs, ve);
    pos = eol + 2;
    switch (HEAD_NAME_LENGTHS[name.length] === 1 ? name.toLowerCase() : "") {
      case "host":
        if (++hosts > 1) return bad("more than one Host header");
        break;
      case "content-length": {
        if (contentLength >= 0) return bad("more than one Content-Length header");
        contentLength = decimal(value);
        if (contentLength < 0) return bad("invalid Content-Length");
        value = String(contentLength);
        break;
      }
      case "transfer-encoding":
        transferEncoding = transferEncoding === null ? value : `${transferEncoding},${value}`;
        break;
      case "connection":
        for (const token of value.split(",")) {
          const t = token.trim().toLowerCase();
          if (t === "close") close = true;
          else if (t === "keep-alive") keepAliveToken = true;
          else if (t === "upgrade") connectionUpgrade = true;
        }
        break;
      case "upgrade":
        if (value !== "") upgradeHeader = true;
        break;
      case "expect":
        if (value.toLowerCase() === "100-continue") expectContinue = true;
        else expectOther = true;
        break;
    }
    rawHeaders.push(name, value);
  }

  let bodyLength = Math.max(contentLength, 0);
  if (transferEncoding !== null) {
    if (contentLength >= 0) return bad("both Content-Length and Transfer-Encoding");
    if (minor === 0) return bad("Transfer-Encoding in an HTTP/1.0 request");
    const codings = transferEncoding.split(",").map((c) => c.trim().toLowerCase());
    if (codings[codings.length - 1] !== "chunked") return bad("the final transfer coding is not chunked");
    if (codings.length > 1) {
      if (codings.includes("") || codings.indexOf("chunked") < codings.length - 1) {
        return bad("invalid transfer coding list");
      }
      return bad("transfer codings other than chunked are not supported", 501);
    }
    bodyLength = CHUNKED;
  }
  return {
    method,
    target,
    minor,
    rawHeaders,
    bodyLength,
    keepAlive: !close && (minor === 1 || keepAliveToken),
    upgrade: upgradeHeader && connectionUpgrade,
    expectContinue,
    expectOther,
  };
}

/** 1 at the lengths of the header names the parser reads (see `parseRequestHead`). */
const HEAD_NAME_LENGTHS: readonly number[] = (() => {
  const out: number[] = [];
  for (const n of ["host", "content-length", "transfer-encoding", "connection", "upgrade", "expect"]) {
    out[n.length] = 1;
  }
  return out;
})();

/** `decimal` of the bytes of `buf` in [start, end). */
export function decimalAt(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len <= 0 || len > MAX_LENGTH_DIGITS) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** A Content-Length value of 1 to 15 ASCII digits as a number, else -1. */
export function decimal(value: string): number {
  const len = value.length;
  if (len === 0 || len > MAX_LENGTH_DIGITS) return -1;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** The value of a hex digit byte, or -1. */
export function hexValue(b: number): number {
  if (b >= 48 && b <= 57) return b - 48;
  const l = b | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

// States of the chunked decoder.
const SIZE = 0;
const EXTENSION = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER = 6;
const TRAILER_LF = 7;
const FINISHED = 8;
const BROKEN = 9;

/** Decodes one chunked request body as bytes arrive. Owned by one client connection, `reset` per request. */
export class ChunkedDecoder {
  private state = SIZE;
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  /** Why the body was refused, once `failed`. */
  error = "";

  /** @param maxTrailerBytes bound of the trailer section, in bytes (the edge uses its request head limit). */
  constructor(private readonly maxTrailerBytes: number) {}

  /** Prepares for a new body. */
  reset(): void {
    this.state = SIZE;
    this.size = 0;
    this.digits = 0;
    this.lineBytes = 0;
    this.trailerBytes = 0;
    this.error = "";
  }

  /** The last chunk and the trailers were read. */
  get done(): boolean {
    return this.state === FINISHED;
  }

  /** The body is malformed (`error` says why); the connection must close. */
  get failed(): boolean {
    return this.state === BROKEN;
  }

  /**
   * Consumes `buf` from `pos`, handing chunk data to `onData` as slices of `buf` (valid for as long as `buf`).
   * Returns the position after the bytes used (the body's end, or `buf.length`), or -1 when the body is malformed.
   */
  feed(buf: Buffer, pos: number, onData: (slice: Buffer) => void): number {
    const len = buf.length;
    while (pos < len) {
      switch (this.state) {
        case SIZE: {
          const b = buf[pos++];
          if (b === CR && this.digits > 0) {
            this.state = SIZE_LF;
            break;
          }
          if (b === 59 /* ; */ && this.digits > 0) {
            this.state = EXTENSION;
            break;
          }
          const v = hexValue(b);
          if (v < 0) return this.fail(this.digits === 0 ? "missing chunk size" : "invalid chunk size");
          this.size = this.size * 16 + v;
          if (this.size > Number.MAX_SAFE_INTEGER) return this.fail("chunk size too large");
          this.digits++;
          if (++this.lineBytes > MAX_CHUNK_LINE) return this.fail("chunk size line too long");
          break;
        }
        case EXTENSION: {
          const b = buf[pos++];
          if (b === CR) this.state = SIZE_LF;
          else if (!valueByte(b)) return this.fail("invalid byte in a chunk extension");
          else if (++this.lineBytes > MAX_CHUNK_LINE) return this.fail("chunk size line too long");
          break;
        }
        case SIZE_LF:
          if (buf[pos++] !== LF) return this.fail("bare CR in a chunk size line");
          this.lineBytes = 0;
          this.digits = 0;
          this.state = this.size === 0 ? TRAILER : DATA;
          break;
        case DATA: {
          const n = Math.min(this.size, len - pos);
          onData(buf.subarray(pos, pos + n));
          pos += n;
          this.size -= n;
          if (this.size === 0) this.state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (buf[pos++] !== CR) return this.fail("chunk data not followed by CRLF");
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (buf[pos++] !== LF) return this.fail("chunk data not followed by CRLF");
          this.state = SIZE;
          break;
        case TRAILER: {
          const b = buf[pos++];
          if (b === CR) {
            this.state = TRAILER_LF;
            break;
          }
          if (!valueByte(b)) return this.fail("invalid byte in a trailer");
          this.lineBytes++;
          if (++this.trailerBytes > this.maxTrailerBytes) return this.fail("trailers too large");
          break;
        }
        case TRAILER_LF:
          if (buf[pos++] !== LF) return this.fail("bare CR in a trailer");
          if (this.lineBytes === 0) {
            this.state = FINISHED;
            return pos;
          }
          this.lineBytes = 0;
          this.state = TRAILER;
          break;
        default:
          return pos;
      }
    }
    return pos;
  }

  private fail(message: string): number {
    this.state = BROKEN;
    this.error = message;
    return -1;
  }
}
