/**
 * Prepaid wallets through the real gateway (docs/billing.md §3–6): a tenant's first grant makes it
 * prepaid and the very next call sees it; 402 insufficient_credits in both providers' shapes with
 * available and required; 100 concurrent calls on a wallet worth ~30 calls; grant priority and
 * expiry; idempotent grants; low-balance alerts and top-up requests, each exactly once.
 */
import { createHmac } from "node:crypto";
import Anthropic from "@anthropic-ai/sdk";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nanoToUsd, usdToNano } from "../../src/lib/money";
import { type AlertDouble, startAlertDouble } from "../alert-double/server";
import { admin, eventually, newAccount, stack } from "../helpers/gateway";
import { record } from "../helpers/proxy";

let receiver: AlertDouble;
beforeAll(async () => {
  receiver = await startAlertDouble();
});
afterAll(async () => {
  await receiver?.close();
});

function chat(key: string, tenant: string, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      "x-tollgate-tenant": tenant,
      // The double answers with exactly max_tokens output tokens: actual cost ≈ the hold.
      "x-double-output-tokens": "1000",
      ...extra,
    },
    body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 1000, messages: [{ role: "user", content: "hi" }] }),
  });
}

async function grant(accountId: string, tenant: string, body: Record<string, unknown>) {
  return admin<{ id: string; error?: { code: string; grant_id?: string } }>(
    "POST",
    `/accounts/${accountId}/tenants/${tenant}/credits`,
    body,
  );
}

interface WalletJson {
  prepaid: boolean;
  settledUsd: string;
  reservedUsd: string;
  availableUsd: string;
  overageUsd: string;
  grants: { id: string; remainingUsd: string; state: string; priority: number }[];
}
const wallet = async (accountId: string, tenant: string) =>
  (await admin<WalletJson>("GET", `/accounts/${accountId}/tenants/${tenant}/wallet`)).body;

/** What one call of `chat` costs (a postpaid tenant's record). */
async function callCostNano(key: string): Promise<bigint> {
  const res = await chat(key, "probe");
  await res.text();
  const r = await record(key, res.headers.get("x-tollgate-request-id")!);
  return usdToNano(r.costUsd);
}

describe("prepaid wallets through the proxy", () => {
  it("a grant makes a tenant prepaid at once; refusals are 402 insufficient_credits with available and required", async () => {
    const acc = await newAccount();
    // Postpaid until its first grant: never blocked by a wallet.
    const before = await chat(acc.key, "acme");
    expect(before.status).toBe(200);
    await before.text();

    expect((await grant(acc.accountId, "acme", { amountUsd: "0.000001" })).status).toBe(201);
    const refused = await chat(acc.key, "acme");
    expect(refused.status).toBe(402);
    const body = (await refused.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({
      type: "insufficient_credits",
      code: "insufficient_credits",
      reason: "balance",
      available_nano: 1000,
      available_usd: "0.000001",
      tenant: "acme",
    });
    expect(body.error.required_nano).toBeGreaterThan(1000);
    expect(refused.headers.get("x-tollgate-limit-source")).toBe("wallet=acme");
    expect(refused.headers.get("x-tollgate-wallet-available-usd")).toBe("0.000001");

    // 0 s staleness: the next call after a grant sees it.
    expect((await grant(acc.accountId, "acme", { amountUsd: "1.00" })).status).toBe(201);
    const admitted = await chat(acc.key, "acme");
    expect(admitted.status).toBe(200);
    await admitted.text();
    const r = (await record(acc.key, admitted.headers.get("x-tollgate-request-id")!)) as unknown as {
      costUsd: string;
      billedUsd: string;
      walletDraws: Record<string, string>;
    };
    // No plan: billed = our cost, drawn from the wallet.
    expect(r.billedUsd).toBe(r.costUsd);
    expect(Object.values(r.walletDraws).reduce((s, v) => s + usdToNano(v), 0n)).toBe(usdToNano(r.costUsd));
    const w = await eventually(async () => {
      const x = await wallet(acc.accountId, "acme");
      return x.reservedUsd === "0.00" ? x : undefined;
    });
    expect(usdToNano(w.settledUsd)).toBe(usdToNano("1.000001") - usdToNano(r.costUsd));
    expect(w.availableUsd).toBe(w.settledUsd);
  });

  it("the Anthropic shape of the refusal", async () => {
    const acc = await newAccount();
    await grant(acc.accountId, "acme", { amountUsd: "0.000001" });
    const client = new Anthropic({
      apiKey: acc.key,
      baseURL: `${stack().gatewayUrl}/proxy/anthropic`,
      maxRetries: 0,
      defaultHeaders: { "x-tollgate-tenant": "acme" },
    });
    const err = await client.messages
      .create({ model: "claude-3-5-haiku-20241022", max_tokens: 100, messages: [{ role: "user", content: "hi" }] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Anthropic.APIError);
    const e = err as InstanceType<typeof Anthropic.APIError>;
    expect(e.status).toBe(402);
    expect((e.error as { error: Record<string, unknown> }).error).toMatchObject({
      type: "insufficient_credits",
      available_nano: 1000,
    });
  });

  it("100 concurrent calls on a wallet worth ~30: none admitted at available ≤ 0, ≥ 90 % used, the next call sees a grant", async () => {
    const acc = await newAccount();
    const cost = await callCostNano(acc.key);
    const credit = (cost * 61n) / 2n; // ~30.5 calls
    await grant(acc.accountId, "acme", { amountUsd: nanoToUsd(credit) });
    const res = await Promise.all(Array.from({ length: 100 }, () => chat(acc.key, "acme")));
    const statuses = res.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 402)).toBe(true);
    const refusals = await Promise.all(res.filter((r) => r.status === 402).map((r) => r.json()));
    await Promise.all(res.filter((r) => r.status === 200).map((r) => r.text()));
    const admitted = statuses.filter((s) => s === 200).length;
    expect(refusals.length).toBeGreaterThan(0);
    for (const r of refusals as { error: { code: string } }[]) expect(r.error.code).toBe("insufficient_credits");
    const hold = BigInt((refusals[0] as { error: { required_nano: number } }).error.required_nano);

    const client = new pg.Client({ connectionString: stack().databaseUrl });
    await client.connect();
    try {
      const rows = await eventually(async () => {
        const q = await client.query(
          "select billed_nano::text as billed, coalesce(overage_nano, 0)::text as overage from request_records where account_id = $1 and tenant = 'acme' and status = 200",
          [acc.accountId],
        );
        return q.rows.length === admitted && q.rows.every((r) => r.billed !== null) ? q.rows : undefined;
      }, 15_000);
      const billed = rows.reduce((s, r) => s + BigInt(r.billed), 0n);
      const overruns = rows.reduce((s, r) => s + (BigInt(r.billed) > hold ? BigInt(r.billed) - hold : 0n), 0n);
      // Below zero only by the overruns of admitted calls; ≥ 90 % of the credit used.
      expect(billed).toBeLessThanOrEqual(credit + overruns);
      expect(billed * 10n).toBeGreaterThanOrEqual(credit * 9n);
      const w = await eventually(async () => {
        const x = await wallet(acc.accountId, "acme");
        return x.reservedUsd === "0.00" ? x : undefined;
      });
      expect(usdToNano(w.settledUsd)).toBe(credit - billed);
    } finally {
      await client.end();
    }
    // Spent: the next call is refused; after a grant, the very next one is admitted.
    const spent = await chat(acc.key, "acme");
    expect(spent.status).toBe(402);
    await spent.text();
    await grant(acc.accountId, "acme", { amountUsd: "0.01" });
    const again = await chat(acc.key, "acme");
    expect(again.status).toBe(200);
    await again.text();
  });

  it("grants are drawn by priority, then expiry; an expired grant is never drawn (no cron needed)", async () => {
    const acc = await newAccount();
    const now = Date.now();
    const paid = await grant(acc.accountId, "acme", { amountUsd: "1.00", priority: 10 });
    const promo = await grant(acc.accountId, "acme", { amountUsd: "0.50", priority: 1, category: "promotional" });
    // A top-priority grant that expires in 1.5 s.
    const brief = await grant(acc.accountId, "acme", {
      amountUsd: "5.00",
      priority: 1,
      effectiveAt: new Date(now - 60_000).toISOString(),
      expiresAt: new Date(now + 1500).toISOString(),
    });
    const first = await chat(acc.key, "acme");
    await first.text();
    const r1 = (await record(acc.key, first.headers.get("x-tollgate-request-id")!)) as unknown as {
      walletDraws: Record<string, string>;
    };
    expect(Object.keys(r1.walletDraws)).toEqual([brief.body.id]);
    await new Promise((r) => setTimeout(r, Math.max(0, now + 1600 - Date.now())));
    const second = await chat(acc.key, "acme");
    await second.text();
    const r2 = (await record(acc.key, second.headers.get("x-tollgate-request-id")!)) as unknown as {
      walletDraws: Record<string, string>;
    };
    expect(Object.keys(r2.walletDraws)).toEqual([promo.body.id]);
    const w = await wallet(acc.accountId, "acme");
    const states = Object.fromEntries(w.grants.map((g) => [g.id, g.state]));
    expect(states).toEqual({ [paid.body.id]: "active", [promo.body.id]: "active", [brief.body.id]: "expired" });
  });

  it("idempotent grants: a reused key is a 409 naming the grant, and the wallet counts it once", async () => {
    const acc = await newAccount();
    const a = await grant(acc.accountId, "acme", { amountUsd: "2.00", idempotencyKey: "order-17" });
    expect(a.status).toBe(201);
    const b = await grant(acc.accountId, "acme", { amountUsd: "2.00", idempotencyKey: "order-17" });
    expect(b.status).toBe(409);
    expect(b.body.error).toMatchObject({ code: "conflict", grant_id: a.body.id });
    expect((await wallet(acc.accountId, "acme")).settledUsd).toBe("2.00");
  });

  it("a low-balance alert fires once per crossing; a top-up request once, and its replay cannot grant twice", async () => {
    const acc = await newAccount();
    const secret = "wallet-webhook-secret-0123456789";
    const path = `/wallet-hooks/${acc.accountId}`;
    await admin("POST", `/accounts/${acc.accountId}/alerts`, {
      kind: "webhook",
      url: `${receiver.url}${path}`,
      secret,
    });
    const cost = await callCostNano(acc.key);
    await grant(acc.accountId, "acme", { amountUsd: nanoToUsd(cost * 10n) });
    // Alert below 6 calls' worth; top up below 3 calls' worth.
    const settings = await admin("PUT", `/accounts/${acc.accountId}/tenants/acme/wallet/settings`, {
      lowBalanceUsd: [nanoToUsd(cost * 6n)],
      autoTopUp: { thresholdUsd: nanoToUsd(cost * 3n), amountUsd: "0.05", cooldownSeconds: 3600 },
    });
    expect(settings.status).toBe(200);
    for (let i = 0; i < 9; i++) {
      const res = await chat(acc.key, "acme");
      expect(res.status).toBe(200);
      await res.text();
    }
    const mine = () => receiver.received.filter((r) => r.path === path);
    const events = await eventually(async () => {
      const got = mine().map(
        (r) => JSON.parse(r.body) as { type: string; idempotencyKey?: string; grant?: { body: unknown } },
      );
      return got.some((e) => e.type === "wallet.topup_requested") &&
        got.some((e) => e.type === "wallet.balance_dropped")
        ? got
        : undefined;
    }, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const types = mine().map((r) => (JSON.parse(r.body) as { type: string }).type);
    expect(types.filter((t) => t === "wallet.balance_dropped")).toHaveLength(1);
    expect(types.filter((t) => t === "wallet.topup_requested")).toHaveLength(1);
    const topUp = mine().find((r) => r.headers["x-tollgate-event"] === "wallet.topup_requested")!;
    const [t, v1] = topUp.headers["x-tollgate-signature"]!.split(",").map((p) => p.split("=")[1]!);
    expect(createHmac("sha256", secret).update(`${t}.${topUp.body}`).digest("hex")).toBe(v1);
    const request = events.find((e) => e.type === "wallet.topup_requested")!;
    expect(request.idempotencyKey).toBe("wallet:acme:1");
    // The receiver grants with the key it was given; a replay of the same webhook gets 409.
    const granted = await grant(acc.accountId, "acme", request.grant!.body as Record<string, unknown>);
    expect(granted.status).toBe(201);
    expect((await grant(acc.accountId, "acme", request.grant!.body as Record<string, unknown>)).status).toBe(409);
    const after = await chat(acc.key, "acme");
    expect(after.status).toBe(200);
    await after.text();
  });
});
