/**
 * Billing in the dashboard, read-only: a tenant's wallet (settled, reserved, available, its
 * grants) and invoices (the open period's draft as its records stand, finalized and void ones),
 * and an invoice's lines and totals. The same components serve the account's Billing page
 * (GET /dashboard/billing[?tenant=], /dashboard/billing/invoices/{id}) and a tenant's share link
 * (src/http/dashboard/share.tsx), which only ever shows its own tenant.
 */
import {
  accountZone,
  documentOf,
  draftInvoice,
  type InvoiceDocument,
  listInvoices,
  requireInvoice,
} from "../../billing/invoices";
import { type WalletStatus, walletStatus } from "../../billing/wallet";
import { monthOf } from "../../billing/zone";
import { nowMs } from "../../lib/clock";
import { GatewayError } from "../../lib/errors";
import { redisClient } from "../../lib/redis";
import { TenantId } from "../budget-schemas";
import { type DashContext, PageError, type View } from "./env";
import { formatCount, formatUsd } from "./format";
import { Page, Time, viewParams } from "./layout";
import { href } from "./state";

export interface TenantBilling {
  wallet: WalletStatus;
  draft: InvoiceDocument;
  invoices: InvoiceDocument[];
}

/** What a tenant's billing panel shows, at the gateway's now. */
export async function loadTenantBilling(c: DashContext, accountId: string, tenant: string): Promise<TenantBilling> {
  const now = nowMs();
  const stores = { db: c.var.db, redis: redisClient(c.var.config) };
  const [wallet, rows, zone] = await Promise.all([
    walletStatus(stores, accountId, tenant, now),
    listInvoices(c.var.db, accountId, { tenant }),
    accountZone(c.var.db, accountId),
  ]);
  // The open period: this month in the account's invoice zone.
  const draft = await draftInvoice(c.var.db, accountId, tenant, monthOf(zone, now).key);
  return { wallet, draft, invoices: rows.map(documentOf) };
}

export function WalletPanel(props: { wallet: WalletStatus; tz: string }) {
  const w = props.wallet;
  if (!w.prepaid) {
    return <p class="small muted">Postpaid: no credits granted, so calls are never stopped by a balance.</p>;
  }
  return (
    <div class="panel scroll" data-wallet>
      <table class="data">
        <tbody>
          <tr>
            <th scope="row">Settled</th>
            <td class="num" data-settled>
              {formatUsd(w.settledNano)}
            </td>
          </tr>
          <tr>
            <th scope="row">Reserved (calls in flight)</th>
            <td class="num" data-reserved>
              {formatUsd(w.reservedNano)}
            </td>
          </tr>
          <tr>
            <th scope="row">Available</th>
            <td class="num" data-available>
              {formatUsd(w.availableNano)}
            </td>
          </tr>
          {w.debtNano > 0n ? (
            <tr>
              <th scope="row">Overage (billed on the next invoice)</th>
              <td class="num">{formatUsd(w.debtNano)}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <table class="data">
        <caption>Credit grants, in the order they are drawn</caption>
        <thead>
          <tr>
            <th scope="col">Grant</th>
            <th scope="col">Category</th>
            <th scope="col">State</th>
            <th scope="col" class="num">
              Amount
            </th>
            <th scope="col" class="num">
              Remaining
            </th>
            <th scope="col">Expires</th>
          </tr>
        </thead>
        <tbody>
          {w.grants.map((g) => (
            <tr data-grant={g.row.id}>
              <td>{g.row.id}</td>
              <td>{g.row.category}</td>
              <td>{g.state}</td>
              <td class="num">{formatUsd(g.row.amountNano)}</td>
              <td class="num">{formatUsd(g.remainingNano)}</td>
              <td>{g.row.expiresAt ? <Time ms={g.row.expiresAt.getTime()} tz={props.tz} /> : "never"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function InvoiceList(props: {
  draft: InvoiceDocument | null;
  invoices: InvoiceDocument[];
  hrefOf: (id: string) => string;
  draftHref?: string;
  showTenant?: boolean;
}) {
  const rows = [...(props.draft ? [props.draft] : []), ...props.invoices];
  if (rows.length === 0) return <p class="small muted">No invoices yet.</p>;
  return (
    <div class="panel scroll">
      <table class="data" data-invoices>
        <thead>
          <tr>
            <th scope="col">Invoice</th>
            {props.showTenant ? <th scope="col">Tenant</th> : null}
            <th scope="col">Period</th>
            <th scope="col">Status</th>
            <th scope="col" class="num">
              Subtotal
            </th>
            <th scope="col" class="num">
              Credits applied
            </th>
            <th scope="col" class="num">
              Amount due
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr data-invoice={d.id ?? "draft"} data-status={d.status}>
              <td>
                {d.id ? (
                  <a href={props.hrefOf(d.id)}>{d.number}</a>
                ) : props.draftHref ? (
                  <a href={props.draftHref}>Draft (open period)</a>
                ) : (
                  "Draft (open period)"
                )}
              </td>
              {props.showTenant ? <td>{d.tenant}</td> : null}
              <td>{d.period.key}</td>
              <td>{d.status}</td>
              <td class="num" data-subtotal>
                {formatUsd(d.subtotalUsd)}
              </td>
              <td class="num">{formatUsd(d.creditsAppliedUsd)}</td>
              <td class="num" data-amount-due>
                {formatUsd(d.amountDueUsd)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function InvoiceDetail(props: { doc: InvoiceDocument }) {
  const d = props.doc;
  return (
    <>
      <p class="small muted">
        Tenant <strong>{d.tenant}</strong> · period {d.period.key} ({d.period.timeZone}) · plan {d.plan.name} (
        {d.plan.kind}) · {formatCount(d.records)} calls · {d.status}
        {d.finalizedAt ? ` · finalized ${d.finalizedAt.slice(0, 16).replace("T", " ")} UTC` : ""}
      </p>
      <div class="panel scroll">
        <table class="data" data-invoice-lines>
          <thead>
            <tr>
              <th scope="col">Line</th>
              <th scope="col" class="num">
                Quantity
              </th>
              <th scope="col" class="num">
                Unit amount
              </th>
              <th scope="col" class="num">
                Amount
              </th>
            </tr>
          </thead>
          <tbody>
            {d.lines.map((l) => (
              <tr data-kind={l.kind}>
                <td>{l.description}</td>
                <td class="num">
                  {l.quantity} {l.unit}
                </td>
                <td class="num">{l.unitAmountUsd ?? ""}</td>
                <td class="num">${l.amountUsd}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td colspan={3}>Subtotal</td>
              <td class="num" data-subtotal>
                ${d.subtotalUsd}
              </td>
            </tr>
            {d.credits.map((cr) => (
              <tr>
                <td colspan={3}>Credit applied (grant {cr.grantId})</td>
                <td class="num">−${cr.amountUsd}</td>
              </tr>
            ))}
            <tr>
              <td colspan={3}>Amount due</td>
              <td class="num" data-amount-due>
                ${d.amountDueUsd}
              </td>
            </tr>
          </tfoot>
        </table>
      </div>
    </>
  );
}

// ---- the account's Billing page (admin and key sessions) ----------------------------------------

export async function billingPage(c: DashContext, tz: string) {
  const view = c.var.view;
  const tenantQ = c.req.query("tenant");
  const tenant = tenantQ ? TenantId.safeParse(tenantQ) : null;
  if (tenant && !tenant.success) throw new PageError(400, "Not a tenant id.");
  const invoices = (await listInvoices(c.var.db, view.accountId, tenant ? { tenant: tenant.data } : {})).map(
    documentOf,
  );
  const detail = tenant ? await loadTenantBilling(c, view.accountId, tenant.data) : null;
  const params = viewParams(view);
  const invoiceHref = (id: string) => href(`/dashboard/billing/invoices/${id}`, params);
  return c.html(
    <Page title="Billing" view={view} section="billing" tz={tz} tzSource="url">
      <h1>Billing{tenant ? ` · ${tenant.data}` : ""}</h1>
      <form method="get" action="/dashboard/billing" class="filters">
        {view.kind === "admin" ? <input type="hidden" name="account" value={view.accountId} /> : null}
        <label>
          Tenant <input name="tenant" value={tenant?.data ?? ""} required />
        </label>
        <button type="submit">Show wallet and draft</button>
      </form>
      {detail ? (
        <>
          <h2>Wallet</h2>
          <WalletPanel wallet={detail.wallet} tz={tz} />
          <h2>Invoices</h2>
          <InvoiceList draft={detail.draft} invoices={detail.invoices} hrefOf={invoiceHref} />
        </>
      ) : (
        <>
          <h2>Invoices</h2>
          <InvoiceList draft={null} invoices={invoices} hrefOf={invoiceHref} showTenant />
        </>
      )}
    </Page>,
  );
}

export async function invoicePage(c: DashContext, invoiceId: string, tz: string) {
  const view = c.var.view;
  const row = await requireInvoice(c.var.db, view.accountId, invoiceId).catch((err) => {
    if (err instanceof GatewayError) throw new PageError(404, "No such invoice.");
    throw err;
  });
  return c.html(invoiceView(view, documentOf(row), tz));
}

/** One invoice (or draft) as a dashboard page; the caller made sure the viewer may see it. */
export function invoiceView(view: View, doc: InvoiceDocument, tz: string) {
  const title = doc.number ? `Invoice ${doc.number}` : `Draft invoice · ${doc.tenant} · ${doc.period.key}`;
  return (
    <Page title={title} view={view} section={view.kind === "share" ? "share" : "billing"} tz={tz} tzSource="url">
      <h1>{title}</h1>
      <InvoiceDetail doc={doc} />
    </Page>
  );
}
