/**
 * The Worker runs its Lua through @upstash/redis as designed: EVALSHA first, EVAL when the server
 * answers NOSCRIPT (a fresh or flushed Redis), then EVALSHA again. Own Redis + Worker, so flushing
 * scripts disturbs no other test.
 */
import { describe, expect, it } from "vitest";
import { connectRedis, startRedis } from "../../scripts/services/redis";
import { startUpstashRest } from "../../scripts/services/upstash-rest";
import { stack } from "../helpers/gateway";
import { startWorker } from "../setup/worker";

async function commandStats(port: number): Promise<Record<string, { calls: number; failed: number }>> {
  const conn = await connectRedis({ port });
  try {
    const info = String(await conn.call("INFO", "commandstats"));
    const stats: Record<string, { calls: number; failed: number }> = {};
    for (const m of info.matchAll(/cmdstat_(\w+):calls=(\d+),.*?failed_calls=(\d+)/g)) {
      stats[m[1]!] = { calls: Number(m[2]), failed: Number(m[3]) };
    }
    return stats;
  } finally {
    await conn.close();
  }
}

describe("Lua through @upstash/redis in the Worker", () => {
  it("EVALSHA, EVAL after NOSCRIPT, then EVALSHA again", async () => {
    const redis = await startRedis({});
    const upstash = await startUpstashRest({ redisPort: redis.port, token: "lua-test-token" });
    const worker = await startWorker({
      ...stack().workerVars,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: "lua-test-token",
    });
    try {
      const health = async () =>
        ((await (await fetch(`${worker.url}/health`)).json()) as { redis: { ok: boolean } }).redis.ok;
      // A fresh Redis knows no script: the first call falls back to EVAL.
      expect(await health()).toBe(true);
      let s = await commandStats(redis.port);
      expect(s.evalsha?.failed).toBe(1);
      expect(s.eval?.calls).toBe(1);
      // Now cached server-side: EVALSHA succeeds, no new EVAL.
      expect(await health()).toBe(true);
      s = await commandStats(redis.port);
      expect(s.evalsha?.calls).toBe(2);
      expect(s.evalsha?.failed).toBe(1);
      expect(s.eval?.calls).toBe(1);
      // SCRIPT FLUSH (a failover, a restart): NOSCRIPT again, EVAL again, still answered.
      const conn = await connectRedis({ port: redis.port });
      await conn.call("SCRIPT", "FLUSH");
      await conn.close();
      expect(await health()).toBe(true);
      s = await commandStats(redis.port);
      expect(s.evalsha?.failed).toBe(2);
      expect(s.eval?.calls).toBe(2);
    } finally {
      await worker.stop();
      await upstash.stop();
      await redis.stop();
    }
  });
});
