/**
 * What Neon's own proxy does in production, for the local Postgres, on one port:
 *   - WebSocket → TCP: the Neon serverless driver (`neonConfig.wsProxy`) sends the Postgres wire
 *     protocol in binary WebSocket messages; each is passed to the local Postgres socket unchanged
 *     (and back);
 *   - `POST /sql`: Neon's HTTP query endpoint (the driver's `neon()` function, `fetchEndpoint`),
 *     one statement per request, for what needs no session (src/lib/db.ts queryOverHttp).
 */
import http from "node:http";
import net from "node:net";
import pg from "pg";
import { WebSocketServer } from "ws";

export interface RelayHandle {
  port: number;
  /** What the Worker's NEON_WS_PROXY var holds: host:port/path, no protocol. */
  proxy: string;
  stop(): Promise<void>;
}

export async function startWsRelay(opts: { port: number; postgresPort: number }): Promise<RelayHandle> {
  const pools = new Map<string, pg.Pool>();
  // A client that hangs up mid-body makes the read throw: drop that request, never the process.
  const server = http.createServer((req, res) => {
    answerSql(req, res, pools, opts.postgresPort).catch(() => res.destroy());
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
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
    server.once("listening", resolve);
    server.once("error", reject);
    server.listen(opts.port, "127.0.0.1");
  });
  return {
    port: opts.port,
    proxy: `127.0.0.1:${opts.port}/v1`,
    stop: async () => {
      for (const s of sockets) s.destroy();
      for (const c of wss.clients) c.terminate();
      await Promise.all([...pools.values()].map((p) => p.end().catch(() => {})));
      await new Promise<void>((resolve) => {
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

/** Postgres's text form of every value, as Neon answers with `Neon-Raw-Text-Output: true`. */
const rawText = { getTypeParser: () => (value: string) => value };

/**
 * Neon's HTTP query protocol: body `{query, params}`, the connection string in
 * `Neon-Connection-String`; the answer `{command, rowCount, rows, fields, rowAsArray}`, or 400 with
 * the Postgres error's fields (`message`, `code`, …), which the driver raises as a NeonDbError.
 */
async function answerSql(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  pools: Map<string, pg.Pool>,
  postgresPort: number,
): Promise<void> {
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (req.method !== "POST" || !req.url?.startsWith("/sql")) return send(404, { message: "not found" });
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let body: { query?: unknown; params?: unknown };
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return send(400, { message: "request body is not JSON" });
  }
  const connectionString = req.headers["neon-connection-string"];
  if (typeof connectionString !== "string" || typeof body.query !== "string") {
    return send(400, { message: "Neon-Connection-String and a query are required (one statement per request)" });
  }
  let pool = pools.get(connectionString);
  if (!pool) {
    // Whatever host the string names, the local Postgres is the one there is.
    const url = new URL(connectionString);
    url.hostname = "127.0.0.1";
    url.port = String(postgresPort);
    pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
    pool.on("error", () => {});
    pools.set(connectionString, pool);
  }
  try {
    const arrays = req.headers["neon-array-mode"] === "true";
    const result = await pool.query({
      text: body.query,
      values: Array.isArray(body.params) ? body.params : [],
      types: rawText,
      ...(arrays ? { rowMode: "array" as const } : {}),
    });
    send(200, {
      command: result.command,
      rowCount: result.rowCount,
      rows: result.rows,
      fields: result.fields,
      rowAsArray: arrays,
    });
  } catch (err) {
    const e = err as Record<string, unknown> & Error;
    const fields = ["code", "detail", "hint", "position", "schema", "table", "column", "constraint"];
    send(400, {
      message: e.message,
      ...Object.fromEntries(fields.filter((f) => e[f] !== undefined).map((f) => [f, e[f]])),
    });
  }
}
