// The connections of an HTTP server at its stop. Node's `server.close()` ends the idle keep-alive connections, but
// not one that never sent a whole request head (a connection a browser opened ahead and never used, or a head still
// arriving), which held a stop for good, nor one whose answer was under way, which stayed open for the keep-alive
// timeout (72 s) after its answer.

import type { Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** A server socket with Node's response in progress on it, if any (set while a response is being written). */
interface HttpSocket extends Socket {
  _httpMessage?: ServerResponse | null;
}

/**
 * Follows `server`'s connections from now on. The function returned, for a stop, destroys those without a request
 * in progress and from then on every new connection as it arrives; one whose answer is under way gets it whole,
 * then is closed (`Connection: close` when its head is not sent yet). Connections for which `kept` is true at the stop
 * are left alone: their owner stops them (lean-query.ts).
 */
export function connectionsWithoutRequest(server: Server, kept: (socket: Socket) => boolean = () => false): () => void {
  const open = new Set<HttpSocket>();
  let stopping = false;
  server.on("connection", (socket: HttpSocket) => {
    if (stopping) {
      socket.destroy();
      return;
    }
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  return () => {
    stopping = true;
    for (const socket of open) {
      if (kept(socket)) continue;
      const res = socket._httpMessage;
      if (res == null) {
        socket.destroy();
        continue;
      }
      if (!res.headersSent) res.shouldKeepAlive = false;
      res.once("finish", () => socket.end());
    }
  };
}
