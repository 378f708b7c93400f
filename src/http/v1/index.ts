/**
 * /v1: what a gateway key can read about its own account — cost records, prices, budgets, usage
 * reports (the same definitions as the admin API's, src/http/usage.ts) — and the outcomes it posts.
 * Each resource is its own small app; this file only mounts them behind the key check.
 */

import { apiErrorResponse, newApi, requireGatewayKey, withConfigAndDb } from "../app";
import { forecastV1 } from "../forecast";
import { usageV1 } from "../usage";
import { keyBudgetsApi } from "./budgets";
import { outcomesV1 } from "./outcomes";
import { pricingApi } from "./pricing";
import { requestsApi } from "./requests";

export const v1Api = newApi();
v1Api.use("*", withConfigAndDb, requireGatewayKey);
v1Api.route("/", requestsApi);
v1Api.route("/", pricingApi);
v1Api.route("/", keyBudgetsApi);
v1Api.route("/", forecastV1);
v1Api.route("/", usageV1);
v1Api.route("/", outcomesV1);
v1Api.onError(apiErrorResponse);
