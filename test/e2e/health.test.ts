import { describe, expect, it } from "vitest";
import { startRedis } from "../../scripts/services/redis";
import { startUpstashRest } from "../../scripts/services/upstash-rest";
import { stack } from "../helpers/gateway";
import { startWorker } from "../setup/worker";

interface Health {
  ok: boolean;
  redis: { ok: boolean; error?: string };
  postgres: { ok: boolean; error?: string };
  budgets: string;
}

describe("GET /health", () => {
  it("reports Redis and Postgres reached", async () => {
    const res = await fetch(`${stack().gatewayUrl}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Health;
    expect(body).toMatchObject({ ok: true, redis: { ok: true }, postgres: { ok: true }, budgets: "enforced" });
  });

  it("still answers 200 when Redis is down, saying which dependency failed", async () => {
    // A Worker of its own, in front of a Redis this test stops: the shared stack stays up.
    const redis = await startRedis({});
    const upstash = await startUpstashRest({ redisPort: redis.port, token: "t0k3n" });
    const worker = await startWorker({
      ...stack().workerVars,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: "t0k3n",
    });
    try {
      const before = (await (await fetch(`${worker.url}/health`)).json()) as Health;
      expect(before.redis.ok).toBe(true);
      await redis.stop();
      const res = await fetch(`${worker.url}/health`);
      expect(res.status).toBe(200);
      const after = (await res.json()) as Health;
      expect(after.ok).toBe(true);
      expect(after.redis.ok).toBe(false);
      expect(after.redis.error).toBeTruthy();
      expect(after.postgres.ok).toBe(true);
      expect(after.budgets).toBe("unchecked (FAIL_MODE=open)");
    } finally {
      await worker.stop();
      await upstash.stop();
      await redis.stop().catch(() => {});
    }
  });

  it("answers 503 naming the variable when the Worker is misconfigured", async () => {
    const { DATABASE_URL: _, ...vars } = stack().workerVars;
    const worker = await startWorker({ ...vars, FAIL_MODE: "sideways" });
    try {
      const res = await fetch(`${worker.url}/health`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: string };
      expect(body.error).toContain("DATABASE_URL: is not set");
      expect(body.error).toContain("FAIL_MODE");
    } finally {
      await worker.stop();
    }
  });
});
