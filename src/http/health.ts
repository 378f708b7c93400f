/**
 * GET /health: 200 once the gateway can serve, reporting each dependency on its own so one that
 * is down shows as such instead of failing the whole answer. 503 only when the Worker's own
 * configuration is broken (then nothing can be served).
 */
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { HEALTH_SCRIPT } from "../budgets/scripts";
import { ConfigError, type Env, loadConfig } from "../config";
import { nowMs } from "../lib/clock";
import { openDb } from "../lib/db";
import { redisClient, runScript, withTimeout } from "../lib/redis";

interface DependencyStatus {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

async function probe(what: string, check: () => Promise<unknown>, timeoutMs: number): Promise<DependencyStatus> {
  const started = nowMs();
  try {
    await withTimeout(check(), timeoutMs, what);
    return { ok: true, latencyMs: nowMs() - started };
  } catch (err) {
    return { ok: false, latencyMs: nowMs() - started, error: err instanceof Error ? err.message : String(err) };
  }
}

export const healthRoute = new Hono<{ Bindings: Env }>().get("/health", async (c) => {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(c.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return c.json({ ok: false, error: err.message, problems: err.problems }, 503);
  }
  const session = openDb(config);
  const [redis, postgres] = await Promise.all([
    probe("Redis", () => runScript(redisClient(config), HEALTH_SCRIPT, [], []), 2000),
    probe("Postgres", () => session.db.execute(sql`select 1`), 4000),
  ]);
  c.executionCtx.waitUntil(session.close());
  return c.json({
    ok: true,
    redis,
    postgres,
    failMode: config.FAIL_MODE,
    // What the proxy will do right now about budgets.
    budgets: redis.ok
      ? "enforced"
      : config.FAIL_MODE === "open"
        ? "unchecked (FAIL_MODE=open)"
        : "denying (FAIL_MODE=closed)",
  });
});
