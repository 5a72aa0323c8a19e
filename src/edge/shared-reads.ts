// Sockets of the edge that read into one buffer of the process (net's `onread`) instead of a fresh 64 KiB
// allocation per read and the readable stream's machinery: pooled upstream connections (`connect` takes `onread`)
// and plain client connections. Node 20 offers `onread` only to sockets it creates for `connect` or from a handle,
// not to the ones a server accepts, so `adoptSharedReads` rebuilds an accepted socket over its handle. That uses
// net.Socket's internals (`_handle`, `_server`, the `handle` option), and this file is the one place that does;
// `shared-reads.test.ts` fails when Node changes what it relies on.
//
// Sharing one buffer is safe because libuv delivers one read at a time and every reader consumes (parses, writes
// out or copies) its bytes before its callback returns. Backpressure: with `onread`, `socket.pause()` stops the
// handle reading at once (`readStop`) and `socket.resume()` starts it again; end of stream still arrives as 'end'.

import { type OnReadOpts, Socket, type SocketConstructorOpts } from "node:net";

/** Bytes one read takes at most (the size libuv reads by default). */
const READ_BYTES = 64 * 1024;

/** The buffer every shared-read socket of the process reads into; its own allocation, no pool slice. */
const readBuffer = Buffer.allocUnsafeSlow(READ_BYTES);

/** Receives one read: a view of the shared buffer, valid only until the call returns. */
export type SharedRead = (bytes: Buffer) => void;

/** net's `onread` option for `connect` or `new Socket`: reads land in the shared buffer and go to `onBytes`. */
export function sharedReadOption(onBytes: SharedRead): OnReadOpts {
  return {
    buffer: readBuffer,
    callback: (n: number): boolean => {
      onBytes(readBuffer.subarray(0, n));
      return true;
    },
  };
}

/** Whether `bytes` views the shared read buffer (so must be copied to outlive the read that delivered it). */
export function viewsSharedBuffer(bytes: Buffer): boolean {
  return bytes.buffer === readBuffer.buffer;
}

/** The internals of an accepted net.Socket this file relies on (Node 20's net.js). */
interface AcceptedInternals {
  _handle: object | null;
  _server: unknown;
  server: unknown;
}

/**
 * Rebuilds `accepted` (from a server created with `pauseOnConnect`, not yet read) as a socket over the same
 * connection that reads into the shared buffer and hands each read to `onBytes`; `accepted` is destroyed without
 * closing the connection, and the new socket counts as the server's connection in its place. Returns null, leaving
 * `accepted` as it was, when the socket has no handle to take over (it is gone, or Node no longer exposes it).
 */
export function adoptSharedReads(accepted: Socket, allowHalfOpen: boolean, onBytes: SharedRead): Socket | null {
  const inner = accepted as unknown as AcceptedInternals;
  const handle = inner._handle;
  if (accepted.destroyed || handle === null || typeof handle !== "object") return null;
  // `handle` is how net.js itself builds a socket for an accepted connection; `onread` is documented.
  const options: SocketConstructorOpts & { handle: object; onread: OnReadOpts } = {
    handle,
    allowHalfOpen,
    onread: sharedReadOption(onBytes),
  };
  let socket: Socket;
  try {
    socket = new Socket(options);
  } catch {
    return null; // a Node that refuses the option: `accepted` still owns the handle
  }
  const server = inner._server;
  inner._handle = null;
  inner._server = null;
  inner.server = null;
  accepted.destroy();
  const outer = socket as unknown as AcceptedInternals;
  outer._server = server;
  outer.server = server;
  return socket;
}
