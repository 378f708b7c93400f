/**
 * The JSON APIs (admin, usage, records) share one shape: zod-validated input (400 naming the failing
 * fields), Tollgate JSON errors, and routes declared with @hono/zod-openapi so /openapi.json is
 * generated from the same schemas that validate the requests. Also here: the middleware they share —
 * config, a per-request database session, and the two kinds of auth.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { type Config, ConfigError, type Env, loadConfig } from "../config";
import { readKeyCopy } from "../key-copy";
import { type Db, openDb } from "../lib/db";
import { apiErrorBody, GatewayError, invalidRequest } from "../lib/errors";
import { redisClient } from "../lib/redis";
import { identify, readGatewayKey } from "../proxy/identify";

/** The gateway key that called (usage API) — see src/proxy/identify.ts. */
export interface Caller {
  accountId: string;
  keyId: string;
  environment: string | null;
}

export interface ApiEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    /** A per-request Postgres session, closed in waitUntil after the response (see useDb). */
    db: Db;
    caller: Caller;
  };
}

export function newApi(): OpenAPIHono<ApiEnv> {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issues = result.error.issues.map((i) => ({
        path: i.path.map(String).join(".") || "(body)",
        message: i.message,
      }));
      return c.json(apiErrorBody(invalidRequest(issues)), 400);
    },
  });
}

export function apiErrorResponse(err: unknown, c: Context): Response {
  if (err instanceof GatewayError) {
    return c.json(apiErrorBody(err), err.status as 400, err.headers);
  }
  console.error("unhandled API error", err);
  return c.json({ error: { code: "internal", message: "internal error" } }, 500);
}

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
  if ((await readKeyCopy(redis, identity.keyHash))?.revoked)
    throw new GatewayError("authentication", "This Tollgate key has been revoked.");
  c.set("caller", { accountId: identity.accountId, keyId: identity.keyId, environment: identity.environment });
  await next();
};
