/**
 * GET /dashboard/share/{token}: one tenant's own page — its spend (the overview, filtered to the
 * tenant whatever the URL says), its budgets (tenant rules, with this tenant's counters), its
 * wallet and invoices (src/http/dashboard/billing.tsx; each invoice at …/invoices/{id}, "draft" for
 * the open period) and a CSV of its usage — for someone with no account and no session: the signed
 * link is the credential (src/share-links.ts). An expired, altered or forged link is 410 and shows nothing.
 * Also what the admin's form (share-form.tsx) posts: POST /dashboard/share-links.
 */
import { requireAccount } from "../../accounts";
import { documentOf, type InvoiceDocument, requireInvoice } from "../../billing/invoices";
import { listRuleRows, withStatus } from "../../budgets";
import { sealingSecret } from "../../config";
import { nowMs } from "../../lib/clock";
import { GatewayError } from "../../lib/errors";
import { redisClient } from "../../lib/redis";
import { usageCsv } from "../../reports/csv";
import { groupToJson, queryUsage } from "../../reports/usage";
import { createShareLink, readShareLink, SHARE_LINK_DEFAULT_HOURS, SHARE_LINK_MAX_HOURS } from "../../share-links";
import { shareUrl } from "../admin/share-links";
import { ruleJson, TenantId } from "../budget-schemas";
import { InvoiceList, invoiceView, loadTenantBilling, WalletPanel } from "./billing";
import { BudgetsTable } from "./budgets";
import { type DashContext, PageError, type View } from "./env";
import { FilterBar } from "./filter-bar";
import { Page, Time } from "./layout";
import { loadOverview, OverviewBody } from "./overview";
import { zoneCookie } from "./session";
import { readState } from "./state";

const EXPIRED = "This link has expired or is not valid. Ask whoever sent it for a new one.";

async function shareView(c: DashContext, token: string): Promise<View> {
  const link = await readShareLink(sealingSecret(c.var.config), token);
  if (!link) throw new PageError(410, EXPIRED);
  const account = await requireAccount(c.var.db, link.accountId).catch((err) => {
    if (err instanceof GatewayError) throw new PageError(410, EXPIRED);
    throw err;
  });
  return {
    kind: "share",
    accountId: account.id,
    accountName: account.name,
    csrf: null,
    readOnly: true,
    tenant: link.tenant,
    base: `/dashboard/share/${token}`,
  };
}

export async function sharePage(c: DashContext, token: string) {
  const view = await shareView(c, token);
  const url = new URL(c.req.url);
  const state = readState(url.searchParams, zoneCookie(c), { tenant: view.tenant! });
  c.header("cache-control", "no-store");
  if (url.searchParams.get("format") === "csv") {
    const groupBy = state.split ? [state.stack, state.split] : [state.stack];
    const result = await queryUsage(c.var.db, {
      accountId: view.accountId,
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
        "content-disposition": `attachment; filename="usage-${view.tenant}-${state.fromDate}-${state.toDate}.csv"`,
      },
    );
  }
  const rows = (await listRuleRows(c.var.db, view.accountId)).filter(
    (r) => r.scopeType === "tenant" && (r.scopeId === view.tenant || r.scopeId === "*"),
  );
  const [data, budgets, billing] = await Promise.all([
    loadOverview(c.var.db, { accountId: view.accountId, state, nowMs: nowMs(), tops: ["feature", "model"] }),
    withStatus(redisClient(c.var.config), rows, view.tenant),
    loadTenantBilling(c, view.accountId, view.tenant!),
  ]);
  const link = await readShareLink(sealingSecret(c.var.config), token);
  const csvParams = new URLSearchParams(state.params);
  csvParams.set("format", "csv");
  return c.html(
    <Page title={`Usage of ${view.tenant}`} view={view} section="share" tz={state.tz} tzSource={state.tzSource}>
      <h1>
        Usage of <span data-tenant={view.tenant}>{view.tenant}</span>
      </h1>
      <p class="small muted">
        A read-only page {view.accountName} shared with you. It works until{" "}
        <Time ms={link!.expiresAt.getTime()} tz={state.tz} />.
      </p>
      <OverviewBody
        view={view}
        state={state}
        data={data}
        origin={url.origin}
        apiBase="/v1/usage"
        csvHref={`${view.base}?${csvParams}`}
        filterBar={<FilterBar view={view} state={state} action={view.base} grouping fixed={["tenant", "key"]} />}
      />
      <h2>Budgets</h2>
      <BudgetsTable view={view} budgets={budgets.map(ruleJson)} tz={state.tz} api="" />
      <h2>Credits</h2>
      <WalletPanel wallet={billing.wallet} tz={state.tz} />
      <h2>Invoices</h2>
      <InvoiceList
        draft={billing.draft}
        invoices={billing.invoices}
        hrefOf={(id) => `${view.base}/invoices/${id}`}
        draftHref={`${view.base}/invoices/draft`}
      />
    </Page>,
  );
}

/** One of the tenant's invoices ("draft": the open period as it stands); another tenant's is a 404. */
export async function shareInvoicePage(c: DashContext, token: string, invoiceId: string, tz: string) {
  const view = await shareView(c, token);
  c.header("cache-control", "no-store");
  let doc: InvoiceDocument | null = null;
  if (invoiceId === "draft") doc = (await loadTenantBilling(c, view.accountId, view.tenant!)).draft;
  else {
    const row = await requireInvoice(c.var.db, view.accountId, invoiceId).catch(() => null);
    if (row && row.tenant === view.tenant) doc = documentOf(row);
  }
  if (!doc) throw new PageError(404, "No such invoice.");
  return c.html(invoiceView(view, doc, tz));
}

export async function createShareAction(c: DashContext) {
  const view = c.var.view;
  const f = await c.req.parseBody();
  const tenant = TenantId.safeParse(typeof f.tenant === "string" ? f.tenant : "");
  const hours = Number(
    typeof f.expiresInHours === "string" && f.expiresInHours.trim() ? f.expiresInHours : SHARE_LINK_DEFAULT_HOURS,
  );
  if (!tenant.success || !(hours > 0 && hours <= SHARE_LINK_MAX_HOURS)) {
    throw new PageError(400, `A tenant id and 0 < hours ≤ ${SHARE_LINK_MAX_HOURS}, please.`);
  }
  const link = await createShareLink(sealingSecret(c.var.config), {
    accountId: view.accountId,
    tenant: tenant.data,
    expiresInHours: hours,
  });
  const url = shareUrl(c.req.url, link.token);
  c.header("cache-control", "no-store");
  return c.html(
    <Page title="Share link" view={view} section="overview">
      <h1>A link to {tenant.data}'s page</h1>
      <div class="flash" role="status">
        <p>Send this link; it works until {link.expiresAt.toISOString().replace("T", " ").slice(0, 16)} UTC:</p>
        <code class="secret" data-share-url>
          {url}
        </code>
      </div>
      <p>
        <a href={url}>Open it</a>
      </p>
    </Page>,
    201,
  );
}
