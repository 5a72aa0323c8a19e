// Writes of the edge's sockets held until the event loop's check phase, so that the writes of one loop turn leave
// together. Each write to a loopback or LAN peer wakes the process reading it (the client, the instance), and the
// woken process often preempts the writer on its way back from the syscall: one involuntary context switch per
// request when every response and every upstream request head left as soon as it was made. Held, the writes of a
// turn (every read that epoll returned at once) leave back to back after all of them were handled, so the peers are
// woken in one burst and the edge is preempted about once per burst.
//
// The held bytes wait on their owner (a `Held`: the client or instance connection), not in the socket's Writable.
// At the release, a plain TCP socket with nothing queued anywhere (its Writable and libuv's write queue both empty)
// gets them straight from its handle, in one write: the Writable's buffering, its per-write callbacks and ticks
// cost about as much CPU as the rest of the edge's work on a small response. That path uses Node's stream handle
// (`process.binding("stream_wrap")`, the way net.Socket writes); where it is missing, or for TLS, a socket still
// connecting, or one whose earlier writes still wait, the bytes go through `socket.write` in order as before.
// A direct write the kernel does not take at once stays in libuv's queue, and the socket's next writes take the
// Writable's path behind it, so a client that stops reading is met by the Writable's high-water mark and 'drain'
// as before; at most one turn's bytes pass that mark. Byte counts (`socket.bytesWritten`) are the handle's, so they
// include direct writes. An owner writes to its socket past this module only after `releaseNow`, which keeps order.

import type { Socket } from "node:net";
import { getSystemErrorName } from "node:util";

/** The owner of one socket's held writes (a client or instance connection); `held` is this module's, null when none. */
export interface Held {
  readonly socket: Socket;
  /** Writes held this turn, in order: Buffers the owner no longer touches, or latin1 strings. */
  held: (Buffer | string)[] | null;
  /** Direct writes of this module that the kernel has not yet taken (libuv queues them). */
  unsent: number;
}

/** The part of a libuv stream handle (net.Socket's `_handle`) that a direct write uses. */
interface StreamHandle {
  writeBuffer(req: WriteRequest, data: Buffer): number;
  writeLatin1String(req: WriteRequest, data: string): number;
  writev(req: WriteRequest, chunks: (Buffer | string)[], allBuffers: boolean): number;
}

/** A write request (Node's WriteWrap): the handle calls `oncomplete` when a write it queued ends. */
interface WriteRequest {
  oncomplete: (this: WriteRequest, status: number) => void;
  /** What a queued write's bytes are kept alive by until it ends; null otherwise. */
  buffer: unknown;
  /** The owner of the socket written to. */
  owner: Held;
}

/** What `process.binding("stream_wrap")` offers a direct write; null where the runtime does not. */
interface StreamWrapBinding {
  readonly WriteWrap: new () => WriteRequest;
  readonly streamBaseState: Int32Array;
  readonly kLastWriteWasAsync: number;
}

const binding: StreamWrapBinding | null = loadBinding();

function loadBinding(): StreamWrapBinding | null {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding("stream_wrap");
    if (typeof b.WriteWrap !== "function" || !(b.streamBaseState instanceof Int32Array)) return null;
    if (typeof b.kLastWriteWasAsync !== "number") return null;
    return b as StreamWrapBinding;
  } catch {
    return null;
  }
}

/** Owners with held writes since the last release, in the order they were first held. */
const pending: Held[] = [];
let releaseScheduled = false;

/** Sends every owner's held writes (the loop's check phase), in order. */
function releaseHeld(): void {
  releaseScheduled = false;
  for (let i = 0; i < pending.length; i++) releaseNow(pending[i]);
  pending.length = 0;
}

/**
 * Writes `data` (latin1 when a string) to `owner`'s socket with the rest of this loop turn's writes. The owner must
 * not change a Buffer it passes (nor may it view a reused read buffer). Answers like `socket.write` would: false
 * once the socket's Writable is past its high-water mark.
 */
export function holdWrite(owner: Held, data: Buffer | string): boolean {
  if (owner.held === null) {
    owner.held = [data];
    pending.push(owner);
    if (!releaseScheduled) {
      releaseScheduled = true;
      setImmediate(releaseHeld);
    }
  } else owner.held.push(data);
  return !owner.socket.writableNeedDrain;
}

/** Sends `owner`'s held writes at once (before another write past this module, an end or a destroy). */
export function releaseNow(owner: Held): void {
  const parts = owner.held;
  if (parts === null) return;
  owner.held = null;
  const socket = owner.socket;
  if (socket.destroyed) return;
  if (!writeDirect(owner, parts)) {
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (typeof part === "string") socket.write(part, "latin1");
      else socket.write(part);
    }
  }
}

/** Writes `parts` through `socket`'s handle when nothing else waits to be written; false when it may not. */
function writeDirect(owner: Held, parts: (Buffer | string)[]): boolean {
  const socket = owner.socket;
  // The Writable counts what it has queued or in flight; `unsent`, what this module left in libuv's queue.
  if (binding === null || owner.unsent !== 0 || socket.writableLength !== 0 || socket.connecting) return false;
  if (socket.writableEnded || (socket as { encrypted?: boolean }).encrypted === true) return false;
  const handle = (socket as unknown as { _handle: StreamHandle | null })._handle;
  if (handle === null) return false;
  const req = new binding.WriteWrap();
  req.oncomplete = onDirectComplete;
  req.buffer = null;
  req.owner = owner;
  let err: number;
  if (parts.length === 1) {
    const part = parts[0];
    err = typeof part === "string" ? handle.writeLatin1String(req, part) : handle.writeBuffer(req, part);
  } else {
    const chunks: (Buffer | string)[] = [];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      chunks.push(part, typeof part === "string" ? "latin1" : "buffer");
    }
    err = handle.writev(req, chunks, false);
  }
  if (err !== 0) socket.destroy(writeError(err));
  else if (binding.streamBaseState[binding.kLastWriteWasAsync] !== 0) {
    req.buffer = parts; // kept until written
    owner.unsent++;
  }
  return true;
}

/** A direct write the kernel took later (or failed to): a failure ends the socket as a failed write would. */
function onDirectComplete(this: WriteRequest, status: number): void {
  this.buffer = null;
  const owner = this.owner;
  owner.unsent--;
  if (status < 0 && !owner.socket.destroyed) owner.socket.destroy(writeError(status));
}

/** An error like the one net.Socket gives a failed write (`code` such as EPIPE). */
function writeError(errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`write ${code}`), { errno, code, syscall: "write" });
}
