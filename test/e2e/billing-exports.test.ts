/**
 * Exports through the real gateway's admin API: a tenant's calls on a +25 % markup plan, pushed to
 * the local Stripe double (test/stripe-double/) as v2 meter events that add up to the records'
 * billedUsd, the key never shown back, the cursor in the status, a second push sending nothing;
 * the period's CloudEvents as a batch (application/cloudevents-batch+json) and as JSON lines.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monthOf } from "../../src/billing/zone";
import { usdToNano } from "../../src/lib/money";
import { admin, newAccount, stack } from "../helpers/gateway";
import { type CostRecord, record, tenantChat } from "../helpers/proxy";
import { type StripeDouble, startStripeDouble } from "../stripe-double/server";

let d: StripeDouble;
beforeAll(async () => {
  d = await startStripeDouble();
});
afterAll(async () => {
  await d?.close();
});

/** The push reads records inserted over a minute ago (src/billing/exports/push.ts): age them. */
async function age(accountId: string) {
  const client = new pg.Client({ connectionString: stack().databaseUrl });
  await client.connect();
  try {
    await client.query("update request_records set created_at = now() - interval '2 minutes' where account_id = $1", [
      accountId,
    ]);
  } finally {
    await client.end();
  }
}

describe("exports through the admin API", () => {
  it("Stripe v2: configure, push, status; CloudEvents batch and JSON lines", async () => {
    const acc = await newAccount();
    const plan = await admin<{ id: string }>("POST", `/accounts/${acc.accountId}/plans`, {
      name: "resale",
      kind: "markup",
      markupBp: 2500,
    });
    expect(plan.status).toBe(201);
    expect((await admin("PUT", `/accounts/${acc.accountId}/billing`, { defaultPlanId: plan.body.id })).status).toBe(
      200,
    );

    const ids = [
      await tenantChat(acc.key, "acme"),
      await tenantChat(acc.key, "acme"),
      await tenantChat(acc.key, "other"),
    ];
    const records = (await Promise.all(ids.map((id) => record(acc.key, id, 10_000)))) as (CostRecord & {
      billedUsd: string;
    })[];
    // Billed by increments of the period's rounded price: within a nano-USD of cost × 1.25 each.
    for (const r of records) {
      const exact = (usdToNano(r.costUsd) * 12_500n) / 10_000n;
      expect(usdToNano(r.billedUsd) - exact).toBeGreaterThanOrEqual(-1n);
      expect(usdToNano(r.billedUsd) - exact).toBeLessThanOrEqual(1n);
    }

    expect((await admin("PUT", `/accounts/${acc.accountId}/exports/stripe`, { customers: {} })).status).toBe(400);
    const put = await admin("PUT", `/accounts/${acc.accountId}/exports/stripe`, {
      secretKey: d.secretKey,
      api: "v2",
      customers: { acme: "cus_acme_e2e" },
      apiBaseUrl: d.url,
      meterEventsBaseUrl: d.url,
    });
    expect(put.status).toBe(200);
    const status = await fetch(`${stack().gatewayUrl}/admin/v1/accounts/${acc.accountId}/exports/stripe`, {
      headers: { authorization: `Bearer ${stack().adminToken}` },
    });
    const statusText = await status.text();
    expect(statusText).not.toContain(d.secretKey);
    expect(JSON.parse(statusText)).toMatchObject({ api: "v2", hasSecretKey: true, cursor: null });

    await age(acc.accountId);
    const pushed = await admin<{ sent: number; skipped: { unmapped: number } }>(
      "POST",
      `/accounts/${acc.accountId}/exports/stripe/push`,
      {},
    );
    expect(pushed.status).toBe(200);
    expect(pushed.body).toMatchObject({ sent: 2, skipped: { unmapped: 1 }, error: null, caughtUp: true });
    expect(d.total("cus_acme_e2e")).toBe(usdToNano(records[0]!.billedUsd) + usdToNano(records[1]!.billedUsd));
    expect(
      d.events
        .filter((e) => e.customerId === "cus_acme_e2e")
        .map((e) => e.identifier)
        .sort(),
    ).toEqual(ids.slice(0, 2).sort());
    const again = await admin<{ sent: number }>("POST", `/accounts/${acc.accountId}/exports/stripe/push`, {});
    expect(again.body.sent).toBe(0);
    const after = await admin<{ cursor: { exported: number; recordId: string } }>(
      "GET",
      `/accounts/${acc.accountId}/exports/stripe`,
    );
    expect(after.body.cursor.exported).toBe(2);

    const period = monthOf("UTC", Date.parse(records[0]!.startedAt)).key;
    const url = `${stack().gatewayUrl}/admin/v1/accounts/${acc.accountId}/exports/cloudevents?period=${period}`;
    const auth = { authorization: `Bearer ${stack().adminToken}` };
    const batch = await fetch(url, { headers: auth });
    expect(batch.headers.get("content-type")).toBe("application/cloudevents-batch+json");
    const events = (await batch.json()) as { id: string; subject: string; data: { billed_nano: number } }[];
    expect(events.map((e) => e.id).sort()).toEqual([...ids].sort());
    const acme = events.find((e) => e.id === ids[0])!;
    expect(acme.subject).toBe("acme");
    expect(BigInt(acme.data.billed_nano)).toBe(usdToNano(records[0]!.billedUsd));
    const lines = await fetch(`${url}&format=jsonl&tenant=acme`, { headers: auth });
    const parsed = (await lines.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string });
    expect(parsed.map((e) => e.id).sort()).toEqual(ids.slice(0, 2).sort());
    expect((await fetch(`${url.replace(period, "2026-13")}`, { headers: auth })).status).toBe(400);
  });
});
