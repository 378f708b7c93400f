/**
 * GET /v1/usage/forecast through the gateway: each budget with its real counter, its projection and status; the admin API's copy says the same. The
 * projection's dates are tested on a controlled clock in test/unit/forecast.test.ts; here the
 * clock is whatever the day is, so only what holds at any hour is asserted.
 */
import { describe, expect, it } from "vitest";
import { usdToNano } from "../../src/lib/money";
import { admin, eventually, newAccount, stack } from "../helpers/gateway";

interface BudgetForecastJson {
  budgetId: string;
  value: string | null;
  capUsd: string;
  spentUsd: string;
  projectedUsd: string;
  periodEnd: string;
  exceedsAt: string | null;
  status: string;
  willExceed: boolean;
  method: string;
}

describe("GET /v1/usage/forecast", () => {
  it("every budget: spent from its counter, a projection, and exceeded / on track where that is certain", async () => {
    const acc = await newAccount();
    const big = await admin<{ id: string }>("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "tenant", id: "acme" },
      period: "month",
      capUsd: "1000",
    });
    const tiny = await admin<{ id: string }>("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "tenant", id: "*" },
      period: "day",
      capUsd: "0.000001",
      mode: "soft",
    });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${acc.key}`,
          "content-type": "application/json",
          "x-tollgate-tenant": "acme",
        },
        body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 100, messages: [{ role: "user", content: "hi" }] }),
      });
      await res.text();
      expect(res.status).toBe(200);
    }
    // Both recorded: a record rides in the same Upstash request as its call's settle
    // (src/proxy/commit.ts), so both settles are in the counters too. Reading the counter as soon
    // as it is above 0 could catch the first call's settle alone.
    await eventually(async () => {
      const r = await admin<{ requests: number }[]>(
        "GET",
        `/accounts/${acc.accountId}/usage?groupBy=tenant&interval=none`,
      );
      return (r.body as unknown as { rows: { requests: number }[] }).rows?.[0]?.requests === 2 ? true : undefined;
    });
    const budgets = (await admin<{ id: string; spentUsd: string }[]>("GET", `/accounts/${acc.accountId}/budgets`)).body;
    const spent = budgets.find((b) => b.id === big.body.id)!.spentUsd;
    expect(usdToNano(spent)).toBeGreaterThan(0n);

    const res = await fetch(`${stack().gatewayUrl}/v1/usage/forecast`, {
      headers: { authorization: `Bearer ${acc.key}` },
    });
    expect(res.status).toBe(200);
    const f = (await res.json()) as {
      month: { spentUsd: string; projectedUsd: string };
      budgets: BudgetForecastJson[];
      method: string;
    };
    expect(f.method).toContain("least-squares");
    const acme = f.budgets.find((b) => b.budgetId === big.body.id)!;
    expect(acme.spentUsd).toBe(spent);
    expect(acme.status).toBe("on_track");
    expect(acme.exceedsAt).toBeNull();
    expect(usdToNano(acme.projectedUsd)).toBeGreaterThanOrEqual(usdToNano(acme.spentUsd));
    expect(acme.method).toBe("average");
    const each = f.budgets.filter((b) => b.budgetId === tiny.body.id);
    expect(each.map((b) => b.value)).toEqual(["acme"]);
    expect(each[0]).toMatchObject({ status: "exceeded", willExceed: true });
    expect(usdToNano(f.month.spentUsd)).toBe(usdToNano(spent));

    const one = await fetch(`${stack().gatewayUrl}/v1/usage/forecast?budgetId=${big.body.id}`, {
      headers: { authorization: `Bearer ${acc.key}` },
    });
    expect(((await one.json()) as { budgets: unknown[] }).budgets).toHaveLength(1);
    const viaAdmin = await admin<{ budgets: BudgetForecastJson[] }>("GET", `/accounts/${acc.accountId}/usage/forecast`);
    expect(viaAdmin.status).toBe(200);
    expect(viaAdmin.body.budgets.find((b) => b.budgetId === big.body.id)!.spentUsd).toBe(spent);
    expect((await admin("GET", "/accounts/acc_missing/usage/forecast")).status).toBe(404);
  });
});
