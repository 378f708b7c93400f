/**
 * The local stack that stands in for Upstash and Neon: a real redis-server, the Upstash REST
 * endpoint in front of it, a real Postgres with the migrations applied, and the WebSocket relay
 * the Neon driver needs. `npm run dev` and the test setup both start it through this one function.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { migrateDatabase } from "../migrate";
import { freePort } from "./ports";
import { startPostgres } from "./postgres";
import { startRedis } from "./redis";
import { startUpstashRest } from "./upstash-rest";
import { startWsRelay } from "./ws-relay";

export interface StackOptions {
  /** Where Redis and Postgres keep their data. */
  dataDir: string;
  /** Keep data across restarts (dev) or throw it away (tests). */
  persist: boolean;
  /** Fixed ports (dev keeps them stable across restarts when free); 0 or absent = any free port. */
  ports?: Partial<Record<"redis" | "upstash" | "postgres" | "relay", number>>;
  upstashToken?: string;
}

export interface Stack {
  redisUrl: string;
  redisPort: number;
  upstashUrl: string;
  upstashToken: string;
  databaseUrl: string;
  postgresPort: number;
  /** Where Postgres keeps its data (outside dataDir when the `postgres` user cannot reach it). */
  postgresDataDir: string;
  /** NEON_WS_PROXY for the Worker. */
  neonWsProxy: string;
  /** The Worker vars that point at this stack. */
  workerVars: Record<string, string>;
  stop(): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    // Reverse order: the relay and the REST endpoint before the servers they front.
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    const port = async (name: keyof NonNullable<StackOptions["ports"]>) => opts.ports?.[name] || (await freePort());
    const [redis, postgres] = await Promise.all([
      port("redis").then((p) => startRedis({ port: p, dir: path.join(opts.dataDir, "redis"), persist: opts.persist })),
      port("postgres").then((p) =>
        startPostgres({ port: p, dir: path.join(opts.dataDir, "postgres"), persist: opts.persist }),
      ),
    ]);
    stops.push(redis.stop, postgres.stop);
    const token = opts.upstashToken ?? randomBytes(24).toString("base64url");
    const upstash = await startUpstashRest({ redisPort: redis.port, port: await port("upstash"), token });
    stops.push(upstash.stop);
    const relay = await startWsRelay({ port: await port("relay"), postgresPort: postgres.port });
    stops.push(relay.stop);
    await migrateDatabase(postgres.url);
    return {
      redisUrl: redis.url,
      redisPort: redis.port,
      upstashUrl: upstash.url,
      upstashToken: token,
      databaseUrl: postgres.url,
      postgresPort: postgres.port,
      postgresDataDir: postgres.dataDir,
      neonWsProxy: relay.proxy,
      workerVars: {
        UPSTASH_REDIS_REST_URL: upstash.url,
        UPSTASH_REDIS_REST_TOKEN: token,
        DATABASE_URL: postgres.url,
        NEON_WS_PROXY: relay.proxy,
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
