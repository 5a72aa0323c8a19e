// Loopback ports for local instances. The runner binds port 0 on 127.0.0.1, reads the port the kernel chose and
// closes it again before the instance binds it; another process could take it in between, in which case the
// instance fails to listen, exits, and its restart picks a fresh port.

import net from "node:net";

/** Resolves to `port` when it can be bound on 127.0.0.1 now, else to a free port the kernel picks. */
export function loopbackPort(prefer?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (prefer !== undefined && err.code === "EADDRINUSE") loopbackPort().then(resolve, reject);
      else reject(err);
    });
    server.listen({ host: "127.0.0.1", port: prefer ?? 0, exclusive: true }, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
