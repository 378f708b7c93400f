/** Middleware shared by the JSON APIs: config, a per-request database session, and the two kinds of auth. */
import type { MiddlewareHandler } from "hono";
import { ConfigError, loadConfig } from "../config";
import { openDb } from "../lib/db";
import { GatewayError } from "../lib/errors";
import { redisClient } from "../lib/redis";
import { identify, readGatewayKey } from "../proxy/identify";
import type { ApiEnv } from "./app";

export const withConfigAndDb: MiddlewareHandler<ApiEnv> = async (c, next) => {
  try {
    c.set("config", loadConfig(c.env));
  } catch (err) {
    if (err instanceof ConfigError) throw new GatewayError("unavailable", err.message);
    throw err;
  }
  const session = openDb(c.get("config"));
  c.set("db", session.db);
  try {
    await next();
  } finally {
    c.executionCtx.waitUntil(session.close());
  }
};

/** Constant-time comparison, so the admin token cannot be guessed byte by byte from timings. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

export const requireAdmin: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const token = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  if (!token || !sameSecret(token, c.get("config").TOLLGATE_ADMIN_TOKEN)) {
    throw new GatewayError("authentication", "The admin API needs Authorization: Bearer $TOLLGATE_ADMIN_TOKEN.");
  }
  await next();
};

/** The usage and record APIs: any active gateway key, scoped to its own account. */
export const requireGatewayKey: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const presented = readGatewayKey(c.req.raw.headers);
  if (!presented) throw new GatewayError("authentication", "Send a Tollgate key: Authorization: Bearer tg_…");
  const redis = redisClient(c.get("config"));
  const identity = await identify(presented, { redis, db: () => c.get("db") });
  // Not the hot path: check revocation right now instead of trusting the isolate cache.
  const revoked = await redis.hget(`tg:key:${identity.keyHash}`, "revoked");
  if (revoked === "1") throw new GatewayError("authentication", "This Tollgate key has been revoked.");
  c.set("caller", { accountId: identity.accountId, keyId: identity.keyId, environment: identity.environment });
  await next();
};
