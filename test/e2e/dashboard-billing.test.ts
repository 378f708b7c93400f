/**
 * Billing in the dashboard, in headless Chromium like test/e2e/dashboard.test.ts: a tenant's share
 * link shows its wallet (available equal to GET …/wallet) and its invoices (last month's finalized
 * one and the open period's draft, totals equal to the invoice API's), each invoice's lines on its
 * own page; another tenant's invoice is a 404 there, and nothing of another tenant shows. The
 * account's Billing page lists the invoices and, for a tenant, its wallet.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FINALIZE_AFTER_MS } from "../../src/billing/invoices";
import { monthOf } from "../../src/billing/zone";
import { formatUsd } from "../../src/http/dashboard/format";
import { openBrowser, type TestBrowser } from "../helpers/browser";
import { admin, newAccount, stack, type TestAccount } from "../helpers/gateway";
import { record, tenantChat } from "../helpers/proxy";

let acc: TestAccount;
let b: TestBrowser;
let invoice: { id: string; number: string; subtotalUsd: string; amountDueUsd: string };
let otherInvoice: { id: string };

/**
 * A billed record of the last month that can be finalized (as a flush would have written it): last
 * month, or the one before in a month's first minutes, while last month's may still change.
 */
async function lastMonthRecord(accountId: string, tenant: string, billedNano: bigint) {
  const settled = Date.now() - FINALIZE_AFTER_MS - 60_000;
  const lastMonth = monthOf("UTC", monthOf("UTC", settled).startMs - 1);
  const started = new Date(lastMonth.startMs + 86_400_000);
  const client = new pg.Client({ connectionString: stack().databaseUrl });
  await client.connect();
  try {
    await client.query(
      `insert into request_records (id, account_id, tenant, environment, provider, model_requested, model_answered,
         endpoint, streamed, status, cost_nano, billed_nano, priced, usage_source, budget_checked, started_at, finished_at,
         input_tokens, output_tokens)
       values ($1, $2, $3, 'production', 'openai', 'gpt-4o-mini', 'gpt-4o-mini', '/chat/completions', false, 200,
         $4, $4, true, 'reported', true, $5, $5, 100, 50)`,
      [`req_lm_${tenant}_${accountId}`, accountId, tenant, billedNano.toString(), started],
    );
  } finally {
    await client.end();
  }
  return lastMonth.key;
}

beforeAll(async () => {
  acc = await newAccount({ name: "Billing Co" });
  expect((await admin("POST", `/accounts/${acc.accountId}/tenants/acme/credits`, { amountUsd: "1.00" })).status).toBe(
    201,
  );
  const ids = [
    await tenantChat(acc.key, "acme"),
    await tenantChat(acc.key, "acme"),
    await tenantChat(acc.key, "globex"),
  ];
  await Promise.all(ids.map((id) => record(acc.key, id, 10_000)));
  const period = await lastMonthRecord(acc.accountId, "acme", 2_500_000n);
  await lastMonthRecord(acc.accountId, "globex", 1_000_000n);
  const made = await admin<typeof invoice>("POST", `/accounts/${acc.accountId}/invoices`, { tenant: "acme", period });
  expect(made.status).toBe(201);
  invoice = made.body;
  otherInvoice = (
    await admin<{ id: string }>("POST", `/accounts/${acc.accountId}/invoices`, { tenant: "globex", period })
  ).body;
  b = await openBrowser({ timezoneId: "UTC" });
}, 60_000);
afterAll(async () => {
  await b?.close();
});

describe("billing in the dashboard", () => {
  it("a tenant's share link shows its wallet and invoices, read-only, and only its own", async () => {
    const link = await admin<{ url: string }>("POST", `/accounts/${acc.accountId}/tenants/acme/share-links`, {});
    const wallet = (
      await admin<{ availableUsd: string; settledUsd: string }>("GET", `/accounts/${acc.accountId}/tenants/acme/wallet`)
    ).body;
    const draft = (
      await admin<{ subtotalUsd: string }>(
        "GET",
        `/accounts/${acc.accountId}/invoices/draft?tenant=acme&period=${monthOf("UTC", Date.now()).key}`,
      )
    ).body;
    const { page } = b;
    await page.goto(link.body.url);
    expect((await page.locator("[data-wallet] [data-available]").textContent())?.trim()).toBe(
      formatUsd(wallet.availableUsd),
    );
    expect((await page.locator("[data-wallet] [data-settled]").textContent())?.trim()).toBe(
      formatUsd(wallet.settledUsd),
    );
    const row = page.locator(`[data-invoices] tr[data-invoice="${invoice.id}"]`);
    expect((await row.locator("[data-subtotal]").textContent())?.trim()).toBe(formatUsd(invoice.subtotalUsd));
    expect(invoice.subtotalUsd).toBe("0.0025");
    const draftRow = page.locator('[data-invoices] tr[data-invoice="draft"]');
    expect((await draftRow.locator("[data-subtotal]").textContent())?.trim()).toBe(formatUsd(draft.subtotalUsd));
    const html = await page.content();
    expect(html).not.toContain("globex");
    expect(html).not.toContain(otherInvoice.id);
    expect(await page.locator("main form[method=post]").count()).toBe(0);
    await b.screenshot("share-billing");

    await Promise.all([page.waitForNavigation(), row.locator("a").click()]);
    expect(await page.locator("h1").textContent()).toBe(`Invoice ${invoice.number}`);
    expect((await page.locator("[data-invoice-lines] [data-amount-due]").textContent())?.trim()).toBe(
      `$${invoice.amountDueUsd}`,
    );
    expect(await page.locator("[data-invoice-lines] tbody tr").count()).toBeGreaterThan(0);
    // Another tenant's invoice through this link: not found.
    expect((await fetch(`${link.body.url}/invoices/${otherInvoice.id}`)).status).toBe(404);
    expect((await fetch(`${link.body.url}/invoices/draft`)).status).toBe(200);
  });

  it("the account's Billing page: every tenant's invoices, and a tenant's wallet", async () => {
    const { page } = b;
    await page.goto(`${stack().gatewayUrl}/dashboard/login`);
    await page.fill("input[name=token]", stack().adminToken);
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    await page.goto(`${stack().gatewayUrl}/dashboard/billing?account=${acc.accountId}`);
    expect(await page.locator(`[data-invoices] tr[data-invoice="${invoice.id}"]`).count()).toBe(1);
    expect(await page.locator(`[data-invoices] tr[data-invoice="${otherInvoice.id}"]`).count()).toBe(1);
    await page.goto(`${stack().gatewayUrl}/dashboard/billing?account=${acc.accountId}&tenant=acme`);
    const wallet = (await admin<{ availableUsd: string }>("GET", `/accounts/${acc.accountId}/tenants/acme/wallet`))
      .body;
    expect((await page.locator("[data-wallet] [data-available]").textContent())?.trim()).toBe(
      formatUsd(wallet.availableUsd),
    );
    expect(await page.locator(`[data-invoices] tr[data-invoice="${otherInvoice.id}"]`).count()).toBe(0);
  });
});
