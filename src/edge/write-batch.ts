// Writes of the edge's sockets held until the event loop's check phase, so that the writes of one loop turn leave
// together. Each write to a loopback or LAN peer wakes the process reading it (the client, the instance), and the
// woken process often preempts the writer on its way back from the syscall: one involuntary context switch per
// request when every response and every upstream request head left as soon as it was made. Held, the writes of a
// turn (every read that epoll returned at once) leave back to back after all of them were handled, so the peers are
// woken in one burst and the edge is preempted about once per burst.
//
// A held socket is corked (net.Socket's Writable buffers the writes, in order, and still answers `write` with
// false once its high-water mark is passed, so backpressure and 'drain' stay the stream's own); `releaseHeld` runs
// in a `setImmediate`, which also keeps the loop's poll from blocking while writes are held. `socket.end()` uncorks
// fully by itself; a socket about to be destroyed is released first (`releaseNow`) so what was written still leaves.

import type { Socket } from "node:net";

/** Sockets corked by `holdWrites` since the last release, in the order they were first held. */
const held: Socket[] = [];
let releaseScheduled = false;

/** Uncorks every held socket (the loop's check phase): their buffered writes go to the kernel, in order. */
function releaseHeld(): void {
  releaseScheduled = false;
  for (let i = 0; i < held.length; i++) releaseNow(held[i]);
  held.length = 0;
}

/**
 * Holds `socket`'s writes until this turn of the event loop has handled its reads; call before writing. A socket
 * corked already (held, or corked by its user around writes of its own) is left as it is.
 */
export function holdWrites(socket: Socket): void {
  if (socket.writableCorked !== 0) return;
  socket.cork();
  held.push(socket);
  if (!releaseScheduled) {
    releaseScheduled = true;
    setImmediate(releaseHeld);
  }
}

/** Sends `socket`'s held writes at once (before destroying it); no-op for a socket not corked. */
export function releaseNow(socket: Socket): void {
  while (socket.writableCorked !== 0) socket.uncork();
}
