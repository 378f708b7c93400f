/**
 * A local receiver for alerts: webhook endpoints (any path) and a Resend-compatible email API
 * (POST /emails). It records every request and answers with scripted statuses, so tests can check
 * signatures, bodies, retries and give-ups.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface AlertDouble {
  url: string;
  received: Received[];
  /** The next answers for requests whose path starts with `prefix` (then 200). */
  script(prefix: string, statuses: number[]): void;
  close(): Promise<void>;
}

export async function startAlertDouble(opts: { port?: number } = {}): Promise<AlertDouble> {
  const received: Received[] = [];
  const scripts: { prefix: string; statuses: number[] }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      const scripted = scripts.find((s) => path.startsWith(s.prefix) && s.statuses.length > 0);
      const status = scripted ? scripted.statuses.shift()! : 200;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : String(v);
      received.push({ path, headers, body: Buffer.concat(chunks).toString("utf8"), status });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(path.startsWith("/emails") && status === 200 ? JSON.stringify({ id: `email_${received.length}` }) : "{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    script: (prefix, statuses) => scripts.push({ prefix, statuses: [...statuses] }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
