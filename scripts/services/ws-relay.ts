/**
 * The WebSocket → TCP relay the Neon serverless driver needs locally. In production Neon runs
 * this proxy itself; here the Worker sets `neonConfig.wsProxy` to this relay and every binary
 * WebSocket message is passed to the local Postgres socket unchanged (and back).
 */
import net from "node:net";
import { WebSocketServer } from "ws";

export interface RelayHandle {
  port: number;
  /** What the Worker's NEON_WS_PROXY var holds: host:port/path, no protocol. */
  proxy: string;
  stop(): Promise<void>;
}

export async function startWsRelay(opts: { port: number; postgresPort: number }): Promise<RelayHandle> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: opts.port, perMessageDeflate: false });
  const sockets = new Set<net.Socket>();
  wss.on("connection", (ws) => {
    // The driver names the database host in ?address=; locally there is only one Postgres.
    const pgSocket = net.connect({ host: "127.0.0.1", port: opts.postgresPort });
    pgSocket.setNoDelay(true);
    sockets.add(pgSocket);
    const pending: Buffer[] = [];
    pgSocket.on("connect", () => {
      for (const b of pending) pgSocket.write(b);
      pending.length = 0;
    });
    ws.on("message", (data: Buffer) => {
      if (pgSocket.connecting) pending.push(data);
      else pgSocket.write(data);
    });
    pgSocket.on("data", (chunk) => ws.send(chunk));
    const close = () => {
      sockets.delete(pgSocket);
      pgSocket.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
    };
    pgSocket.on("close", close);
    pgSocket.on("error", close);
    ws.on("close", close);
    ws.on("error", close);
  });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  return {
    port: opts.port,
    proxy: `127.0.0.1:${opts.port}/v1`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
