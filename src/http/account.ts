/**
 * Where a route's account comes from, so that one route definition (schemas and handler) serves
 * both APIs:
 * - `callerAccount` — /v1: the account of the gateway key that calls (set by requireGatewayKey);
 *   the path as written ("/usage").
 * - `pathAccount` — /admin/v1: the account named by the {account} path parameter (404 when there is
 *   none); the path under "/accounts/{account}" ("/accounts/{account}/usage").
 *
 * A route shared this way is declared with `accountRoute(source, route)` and its handler asks
 * `source.accountId(c)`; see src/http/usage.ts.
 */
import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireAccount } from "../accounts";
import type { ApiEnv } from "./app";

export const AccountParam = z.object({
  account: z
    .string()
    .min(1)
    .openapi({ param: { name: "account", in: "path" }, example: "acc_3xAmpLe" }),
});

export interface AccountSource {
  /** Put before each route's path. */
  prefix: string;
  /** Path parameters the prefix brings. */
  params?: typeof AccountParam;
  accountId(c: Context<ApiEnv>): Promise<string>;
}

export const callerAccount: AccountSource = {
  prefix: "",
  accountId: async (c) => c.var.caller.accountId,
};

export const pathAccount: AccountSource = {
  prefix: "/accounts/{account}",
  params: AccountParam,
  accountId: async (c) => (await requireAccount(c.var.db, c.req.param("account") ?? "")).id,
};

/**
 * `route` as mounted for `source`: its path prefixed, the prefix's parameters added. The type stays
 * the one written, so handlers keep typed query and body; they read the account from the source.
 */
export function accountRoute<R extends RouteConfig>(source: AccountSource, route: R): R {
  const { params: own, ...request } = route.request ?? {};
  const params = source.params && own ? source.params.extend((own as z.ZodObject).shape) : (source.params ?? own);
  return createRoute({
    ...route,
    path: `${source.prefix}${route.path}`,
    ...(params || route.request ? { request: { ...(params ? { params } : {}), ...request } } : {}),
  }) as unknown as R;
}
