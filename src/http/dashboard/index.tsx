/**
 * /dashboard: the browser surface, server-rendered by this Worker with Hono JSX — HTML first,
 * every page usable without JavaScript, charts as inline SVG. What each file does is in
 * src/http/dashboard/README.md; the numbers come from the same domain functions the APIs use.
 *
 * Every answer carries a strict Content-Security-Policy (this Worker's own stylesheet and script
 * only; no inline script, no frames), a same-origin referrer policy (share links are credentials
 * in a URL: no other site is told them; no-referrer would also blank the Origin of our own form
 * posts, which the CSRF check reads) and nosniff; pages that show account data are no-store.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { loadConfig } from "../../config";
import { nowMs } from "../../lib/clock";
import { openDb } from "../../lib/db";
import { GatewayError } from "../../lib/errors";
import { isTimeZone } from "../../lib/zone";
import { csvTable, usageCsv } from "../../reports/csv";
import { groupToJson, queryUsage } from "../../reports/usage";
import { accountsPage } from "./accounts";
import { addChannelAction, alertsPage, removeChannelAction } from "./alerts";
import { CSS, JS } from "./assets";
import { postLogin, postLogout, requireAdminSession, requireView, showLogin } from "./auth";
import { billingPage, invoicePage } from "./billing";
import { budgetsCsv, budgetsPage, createBudget, removeBudget, updateBudget } from "./budgets";
import { type DashContext, type DashEnv, PageError } from "./env";
import { createKeyAction, keyLimitsAction, keysPage, revokeKeyAction } from "./keys";
import { Page } from "./layout";
import { loadOverview, OverviewPage } from "./overview";
import { loadRequests, REQUEST_COLUMNS, requestPage, requestsPage } from "./requests";
import { zoneCookie } from "./session";
import { createShareAction, shareInvoicePage, sharePage } from "./share";
import { cleanQuery, href, readState } from "./state";
import { setPriceAction, unpricedPage } from "./unpriced";

export const dashboard = new Hono<DashEnv>();

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Mounted at the root beside the APIs: its middleware must not run for /proxy or /v1. */
const ALL = ["/dashboard", "/dashboard/*"];

const securityHeaders: MiddlewareHandler<DashEnv> = async (c, next) => {
  c.header("content-security-policy", CSP);
  c.header("referrer-policy", "same-origin");
  c.header("x-content-type-options", "nosniff");
  c.header("x-frame-options", "DENY");
  await next();
};
for (const p of ALL) dashboard.use(p, securityHeaders);

const asset = (body: string, type: string) => (c: DashContext) =>
  c.body(body, 200, { "content-type": type, "cache-control": "public, max-age=31536000, immutable" });
dashboard.get("/dashboard/assets/app.css", asset(CSS, "text/css; charset=utf-8"));
dashboard.get("/dashboard/assets/app.js", asset(JS, "text/javascript; charset=utf-8"));

// Config and a db session for every page (closed after the answer, as the APIs do).
const configAndDb: MiddlewareHandler<DashEnv> = async (c, next) => {
  c.set("config", loadConfig(c.env));
  const session = openDb(c.var.config);
  c.set("db", session.db);
  try {
    await next();
  } finally {
    c.executionCtx.waitUntil(session.close());
  }
};
for (const p of ALL) dashboard.use(p, configAndDb);

// A GET form sends its empty fields too: redirect once to the clean URL, so links are shareable.
const canonical: MiddlewareHandler<DashEnv> = async (c, next) => {
  if (c.req.method === "GET") {
    const url = new URL(c.req.url);
    const clean = cleanQuery(url);
    if (clean) return c.redirect(href(url.pathname, clean), 302);
  }
  await next();
};
for (const p of ALL) dashboard.use(p, canonical);

/** The zone of pages without a filter bar: the URL's, else the browser's (cookie), else UTC. */
function zoneOf(c: DashContext): string {
  const tz = c.req.query("tz") ?? zoneCookie(c);
  return tz && isTimeZone(tz) ? tz : "UTC";
}

const DONE: Record<string, string> = {
  created: "Budget created.",
  saved: "Budget saved.",
  deleted: "Budget deleted.",
  revoked: "Key revoked: calls with it are refused from now on.",
  limits: "Limits saved.",
  priced: "Price set: calls from now on are priced with it.",
};
const flash = (c: DashContext) => DONE[c.req.query("done") ?? ""];

function adminOnly(c: DashContext) {
  if (c.var.view.kind !== "admin") throw new PageError(403, "Only the admin token can see this page.");
}

// ---- signing in, share links (no session) ------------------------------------------------------

dashboard.get("/dashboard/login", showLogin);
dashboard.post("/dashboard/login", postLogin);
dashboard.post("/dashboard/logout", postLogout);
dashboard.get("/dashboard/share/:token", (c) => sharePage(c, c.req.param("token")));
dashboard.get("/dashboard/share/:token/invoices/:id", (c) =>
  shareInvoicePage(c, c.req.param("token"), c.req.param("id"), zoneOf(c)),
);
dashboard.get("/dashboard/accounts", requireAdminSession, (c) => accountsPage(c, zoneOf(c)));

// ---- everything else needs a session -------------------------------------------------------------

dashboard.use("/dashboard", requireView);
dashboard.use("/dashboard/*", requireView);

const apiBaseOf = (c: DashContext) =>
  c.var.view.kind === "admin" ? `/admin/v1/accounts/${c.var.view.accountId}/usage` : "/v1/usage";

dashboard.get("/dashboard", async (c) => {
  const view = c.var.view;
  const url = new URL(c.req.url);
  const state = readState(url.searchParams, zoneCookie(c));
  const data = await loadOverview(c.var.db, {
    accountId: view.accountId,
    state,
    nowMs: nowMs(),
    tops: ["tenant", "feature", "model"],
  });
  return c.html(<OverviewPage view={view} state={state} data={data} origin={url.origin} apiBase={apiBaseOf(c)} />);
});

/** The chart's query as CSV: byte for byte what GET …/usage?…&format=csv answers for the same parameters. */
dashboard.get("/dashboard/usage.csv", async (c) => {
  const state = readState(new URL(c.req.url).searchParams, zoneCookie(c));
  const groupBy = state.split ? [state.stack, state.split] : [state.stack];
  const result = await queryUsage(c.var.db, {
    accountId: c.var.view.accountId,
    ...state.range,
    groupBy,
    interval: state.interval,
  });
  return c.body(
    usageCsv(
      groupBy,
      result.groups.map((g) => groupToJson(g, state.interval)),
    ),
    200,
    {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="usage-${state.fromDate}-${state.toDate}.csv"`,
    },
  );
});

dashboard.get("/dashboard/budgets", (c) => budgetsPage(c, { tz: zoneOf(c), flash: flash(c) }));
dashboard.get("/dashboard/budgets.csv", async (c) => {
  const budgets = await budgetsCsv(c);
  const cols = [
    "id",
    "scopeType",
    "scopeId",
    "period",
    "periodKey",
    "periodEnd",
    "capUsd",
    "spentUsd",
    "reservedUsd",
    "remainingUsd",
    "mode",
  ];
  return c.body(
    csvTable(
      cols,
      budgets.map((b) => [
        b.id,
        b.scope.type,
        b.scope.id ?? "",
        b.period,
        b.periodKey,
        b.periodEnd ?? "",
        b.capUsd,
        b.spentUsd,
        b.reservedUsd,
        b.remainingUsd,
        b.mode,
      ]),
    ),
    200,
    { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="budgets.csv"' },
  );
});
dashboard.post("/dashboard/budgets", (c) => createBudget(c, zoneOf(c)));
dashboard.post("/dashboard/budgets/:id", (c) => updateBudget(c, c.req.param("id"), zoneOf(c)));
dashboard.post("/dashboard/budgets/:id/delete", (c) => removeBudget(c, c.req.param("id")));

dashboard.get("/dashboard/requests", (c) => requestsPage(c, readState(new URL(c.req.url).searchParams, zoneCookie(c))));
dashboard.get("/dashboard/requests.csv", async (c) => {
  const { rows } = await loadRequests(c, readState(new URL(c.req.url).searchParams, zoneCookie(c)));
  return c.body(
    csvTable(
      [...REQUEST_COLUMNS],
      rows.map((r) => REQUEST_COLUMNS.map((k) => (r as Record<string, unknown>)[k])),
      [
        "id",
        "tenant",
        "feature",
        "user",
        "environment",
        "workflow",
        "keyId",
        "provider",
        "modelRequested",
        "modelAnswered",
      ],
    ),
    200,
    { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="requests.csv"' },
  );
});
dashboard.get("/dashboard/requests/:id", (c) => {
  const tz = zoneOf(c);
  return requestPage(c, c.req.param("id"), tz, c.req.query("tz") ? "url" : zoneCookie(c) ? "cookie" : "default");
});

dashboard.get("/dashboard/keys", (c) => {
  adminOnly(c);
  return keysPage(c, { tz: zoneOf(c), flash: flash(c) });
});
dashboard.post("/dashboard/keys", (c) => createKeyAction(c, zoneOf(c)));
dashboard.post("/dashboard/keys/:id/revoke", (c) => revokeKeyAction(c, c.req.param("id")));
dashboard.post("/dashboard/keys/:id/limits", (c) => keyLimitsAction(c, c.req.param("id"), zoneOf(c)));

dashboard.get("/dashboard/alerts", (c) => {
  adminOnly(c);
  return alertsPage(c, { tz: zoneOf(c) });
});
dashboard.post("/dashboard/alerts", (c) => addChannelAction(c, zoneOf(c)));
dashboard.post("/dashboard/alerts/:id/delete", (c) => removeChannelAction(c, c.req.param("id")));

dashboard.get("/dashboard/unpriced", (c) => unpricedPage(c, { tz: zoneOf(c), flash: flash(c) }));
dashboard.post("/dashboard/unpriced", (c) => setPriceAction(c, zoneOf(c)));

dashboard.get("/dashboard/billing", (c) => billingPage(c, zoneOf(c)));
dashboard.get("/dashboard/billing/invoices/:id", (c) => invoicePage(c, c.req.param("id"), zoneOf(c)));

dashboard.post("/dashboard/share-links", createShareAction);

// ---- errors as pages -------------------------------------------------------------------------------

function errorPage(c: DashContext, status: number, message: string) {
  c.header("cache-control", "no-store");
  return c.html(
    <Page title={`${status}`} view={null}>
      <h1>
        {status === 404
          ? "Not found"
          : status === 410
            ? "Link expired"
            : status === 403
              ? "Not allowed"
              : "Something went wrong"}
      </h1>
      <p class={status >= 500 ? "error" : "warn"} role="alert">
        {message}
      </p>
      <p>
        <a href="/dashboard">Dashboard</a> · <a href="/dashboard/login">Sign in</a>
      </p>
    </Page>,
    status as 400,
  );
}

dashboard.notFound((c) => errorPage(c, 404, "There is no such page."));
dashboard.onError((err, c) => {
  if (err instanceof PageError) return errorPage(c, err.status, err.message);
  if (err instanceof GatewayError && err.status < 500) return errorPage(c, err.status, err.message);
  console.error("dashboard error", err);
  return errorPage(
    c,
    err instanceof GatewayError ? err.status : 500,
    err instanceof GatewayError ? err.message : "internal error",
  );
});
