/**
 * Postgres through the Neon serverless driver (WebSockets, so it works inside a Worker). One Pool
 * per request, ended inside waitUntil: a Pool cannot outlive the request that opened its socket.
 * Locally NEON_WS_PROXY points the driver at scripts/services/ws-relay.ts in front of a plain
 * Postgres; against Neon it is unset and the driver talks to Neon's own proxy.
 */
import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import * as schema from "../../schema";
import type { Config } from "../config";

export type Db = NeonDatabase<typeof schema>;

export interface DbSession {
  db: Db;
  /** Ends the pool; call once, after the last query (the caller puts it in waitUntil). */
  close(): Promise<void>;
}

let configuredProxy: string | undefined;

function configureDriver(proxy: string | undefined): void {
  if (proxy === configuredProxy) return;
  configuredProxy = proxy;
  if (proxy) {
    neonConfig.wsProxy = () => proxy;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
}

export function openDb(config: Pick<Config, "DATABASE_URL" | "NEON_WS_PROXY">): DbSession {
  configureDriver(config.NEON_WS_PROXY);
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 4, connectionTimeoutMillis: 5000 });
  // An idle pool emits 'error' when its socket dies; without a listener that would throw.
  pool.on("error", () => {});
  let closed: Promise<void> | undefined;
  return {
    db: drizzle(pool, { schema }),
    close: () => {
      closed ??= pool.end().catch(() => {});
      return closed;
    },
  };
}
