/**
 * /admin/v1: everything an operator manages, behind Authorization: Bearer $TOLLGATE_ADMIN_TOKEN.
 * Each resource lives in its own file as a small OpenAPIHono app; this file only mounts them.
 */
import { apiErrorResponse, newApi } from "../api/app";
import { requireAdmin, withConfigAndDb } from "../api/middleware";
import { accountsAdmin } from "./accounts";
import { keysAdmin } from "./keys";

export const adminApi = newApi();
adminApi.use("*", withConfigAndDb, requireAdmin);
adminApi.route("/", accountsAdmin);
adminApi.route("/", keysAdmin);
adminApi.onError(apiErrorResponse);
