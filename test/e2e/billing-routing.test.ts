/**
 * Routed calls and billing (src/proxy/routed.ts): every attempt of a route's chain is admitted
 * against the tenant's wallet, rated under its plan and settled like any call — a failed attempt's
 * hold is released and bills nothing, the answering attempt is billed and drawn from the credit; a
 * wallet too low for the asked model moves to the route's onBudget model (its own hold), and a 402
 * insufficient_credits comes only when that does not fit either.
 */
import { describe, expect, it } from "vitest";
import { usdToNano } from "../../src/lib/money";
import { admin, eventually, newAccount } from "../helpers/gateway";
import { type CostRecord, record } from "../helpers/proxy";
import { chat, hi, putRoute } from "../helpers/routing";

type Billed = CostRecord & { billedUsd: string | null; walletDraws: Record<string, string> | null };

async function prepaidAccount(creditUsd: string) {
  const acc = await newAccount({ providers: ["openai"] });
  const plan = await admin<{ id: string }>("POST", `/accounts/${acc.accountId}/plans`, {
    name: "resale",
    kind: "markup",
    markupBp: 2500,
  });
  expect((await admin("PUT", `/accounts/${acc.accountId}/billing`, { defaultPlanId: plan.body.id })).status).toBe(200);
  const grant = await admin<{ id: string }>("POST", `/accounts/${acc.accountId}/tenants/acme/credits`, {
    amountUsd: creditUsd,
  });
  expect(grant.status).toBe(201);
  return { ...acc, grantId: grant.body.id };
}

const wallet = async (accountId: string) =>
  (await admin<{ settledUsd: string; reservedUsd: string }>("GET", `/accounts/${accountId}/tenants/acme/wallet`)).body;

describe("routed calls are billed per attempt", () => {
  it("a chain's failed attempt bills nothing and releases its hold; the answer is billed and drawn", async () => {
    const acc = await prepaidAccount("1.00");
    await putRoute(acc.accountId, "chain", {
      targets: [
        { provider: "openai", model: "gpt-4o" },
        { provider: "openai", model: "gpt-4o-mini" },
      ],
    });
    const res = await chat(
      acc.key,
      { model: "gpt-4o", max_tokens: 40, messages: hi() },
      { "x-tollgate-route": "chain", "x-tollgate-tenant": "acme", "x-double-status-for": "gpt-4o=500" },
    );
    expect(res.status).toBe(200);
    await res.text();
    const finalId = res.headers.get("x-tollgate-request-id")!;
    const first = (await record(acc.key, finalId.replace(/\.a2$/, ""), 10_000)) as Billed;
    const second = (await record(acc.key, finalId, 10_000)) as Billed;
    expect([first.status, second.status]).toEqual([500, 200]);
    expect(usdToNano(first.billedUsd ?? "0")).toBe(0n);
    const billed = usdToNano(second.billedUsd!);
    const exact = (usdToNano(second.costUsd) * 12_500n) / 10_000n;
    expect(billed > 0n).toBe(true);
    expect(billed - exact <= 1n && exact - billed <= 1n).toBe(true);
    expect(second.walletDraws).toEqual({ [acc.grantId]: second.billedUsd });
    const w = await eventually(async () => {
      const x = await wallet(acc.accountId);
      return x.reservedUsd === "0.00" ? x : undefined;
    }, 10_000);
    expect(usdToNano(w.settledUsd)).toBe(usdToNano("1.00") - billed);
  });

  it("a wallet too low for the asked model: onBudget's model answers; without one, 402 insufficient_credits", async () => {
    // ~$0.0125 held for gpt-4o (1000 output tokens × $10/M × 1.25), ~$0.00075 for gpt-4o-mini.
    const acc = await prepaidAccount("0.005");
    const targets = [{ provider: "openai", model: "gpt-4o" }];
    await putRoute(acc.accountId, "down", { targets, onBudget: { provider: "openai", model: "gpt-4o-mini" } });
    await putRoute(acc.accountId, "strict", { targets });
    const body = { model: "gpt-4o", max_tokens: 1000, messages: hi() };
    const res = await chat(acc.key, body, { "x-tollgate-route": "down", "x-tollgate-tenant": "acme" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model: string }).model).toBe("gpt-4o-mini");
    expect(res.headers.get("x-tollgate-downgraded-from")).toBe("openai/gpt-4o");
    const r = (await record(acc.key, res.headers.get("x-tollgate-request-id")!, 10_000)) as Billed;
    expect(r.downgradedFrom).toBe("openai/gpt-4o");
    expect(usdToNano(r.billedUsd!) > 0n).toBe(true);

    const refused = await chat(acc.key, body, { "x-tollgate-route": "strict", "x-tollgate-tenant": "acme" });
    expect(refused.status).toBe(402);
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe("insufficient_credits");
  });
});
