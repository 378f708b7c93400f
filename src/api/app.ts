/**
 * The JSON APIs (admin, usage, records) share one shape: zod-validated input (400 naming the failing
 * fields), Tollgate JSON errors, and routes declared with @hono/zod-openapi so /openapi.json is
 * generated from the same schemas that validate the requests.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Config, Env } from "../config";
import type { Db } from "../lib/db";
import { apiErrorBody, GatewayError } from "../lib/errors";

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
      return c.json(
        apiErrorBody(
          new GatewayError(
            "invalid_request",
            `invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
            {},
            issues,
          ),
        ),
        400,
      );
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
