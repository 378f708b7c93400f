/**
 * Postgres through the Neon serverless driver, two ways:
 *   - openDb: a session over a WebSocket (drizzle on a Pool), for queries and transactions. One Pool
 *     per request, ended inside waitUntil: a Pool cannot outlive the request that opened its socket;
 *   - queryOverHttp: one statement as one HTTPS request to Neon's query endpoint, for a hot
 *     statement that needs no session (the record flush, src/records/record.ts): no WebSocket, no
 *     connection start-up, no wire protocol in JavaScript — the benchmark measured the WebSocket
 *     flush at about a third of a millisecond of CPU per proxied call.
 * Locally NEON_WS_PROXY points both at scripts/services/ws-relay.ts in front of a plain Postgres;
 * against Neon it is unset and the driver talks to Neon's own proxy and endpoint.
 */
import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import type { SQL } from "drizzle-orm";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import { PgDialect } from "drizzle-orm/pg-core";
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
    // The relay answers Neon's HTTP queries on the same port, over plain HTTP.
    const hostPort = proxy.split("/")[0];
    neonConfig.fetchEndpoint = () => `http://${hostPort}/sql`;
  }
}

const dialect = new PgDialect();

/** Runs one statement over Neon's HTTP endpoint; its rows as objects (values as the driver parses them). */
export async function queryOverHttp<T = Record<string, unknown>>(
  config: Pick<Config, "DATABASE_URL" | "NEON_WS_PROXY">,
  statement: SQL,
): Promise<T[]> {
  configureDriver(config.NEON_WS_PROXY);
  const { sql, params } = dialect.sqlToQuery(statement);
  return (await neon(config.DATABASE_URL).query(sql, params)) as T[];
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
