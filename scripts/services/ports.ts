/**
 * Free-port helpers for the local stack and the tests. Everything binds to 127.0.0.1 only.
 */
import net from "node:net";

/**
 * A TCP port that is free on `host` right now: binds port 0, reads the port the kernel chose and
 * closes the socket. Another process can still take it before the caller binds it, so a caller
 * that can listen on port 0 itself (node:http, node:net) should do that instead.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close((err) => (err ? reject(err) : port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/** Whether `port` can be bound on `host` right now (e.g. to keep a dev port stable across restarts). */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
