/**
 * /admin/v1: everything an operator manages, behind Authorization: Bearer $TOLLGATE_ADMIN_TOKEN.
 * Each resource lives in its own file as a small OpenAPIHono app; this file only mounts them.
 */

import { apiErrorResponse, newApi, requireAdmin, withConfigAndDb } from "../app";
import { forecastAdmin } from "../forecast";
import { usageAdmin } from "../usage";
import { accountsAdmin } from "./accounts";
import { alertsAdmin } from "./alerts";
import { budgetsAdmin } from "./budgets";
import { costSourcesAdmin } from "./cost-sources";
import { exportsAdmin } from "./exports";
import { invoicesAdmin } from "./invoices";
import { keysAdmin } from "./keys";
import { limitsAdmin } from "./limits";
import { plansAdmin } from "./plans";
import { pricesAdmin } from "./prices";
import { providersAdmin } from "./providers";
import { reconciliationsAdmin } from "./reconciliations";
import { routesAdmin } from "./routes";
import { settingsAdmin } from "./settings";
import { shareLinksAdmin } from "./share-links";
import { telemetryAdmin } from "./telemetry";
import { walletsAdmin } from "./wallets";

export const adminApi = newApi();
adminApi.use("*", withConfigAndDb, requireAdmin);
adminApi.route("/", accountsAdmin);
adminApi.route("/", settingsAdmin);
adminApi.route("/", keysAdmin);
adminApi.route("/", providersAdmin);
adminApi.route("/", pricesAdmin);
adminApi.route("/", budgetsAdmin);
adminApi.route("/", alertsAdmin);
adminApi.route("/", limitsAdmin);
adminApi.route("/", telemetryAdmin);
adminApi.route("/", reconciliationsAdmin);
adminApi.route("/", costSourcesAdmin);
adminApi.route("/", forecastAdmin);
adminApi.route("/", shareLinksAdmin);
adminApi.route("/", routesAdmin);
adminApi.route("/", usageAdmin);
adminApi.route("/", plansAdmin);
adminApi.route("/", walletsAdmin);
adminApi.route("/", invoicesAdmin);
adminApi.route("/", exportsAdmin);
adminApi.onError(apiErrorResponse);
