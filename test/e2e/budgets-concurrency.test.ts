/**
 * Hard caps under concurrency, through the real gateway: 200 calls at once against a cap that fits
 * about 40 of them. The admitted calls' actual spend (from their cost records) never exceeds the
 * cap, at least half of it is used, every refusal is a 402, and a call outside the capped scope
 * is not blocked. Then the same for a "*" (per-feature) cap overlapping a tenant cap.
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { usdToNano } from "../../src/lib/money";
import { admin, eventually, newAccount, stack } from "../helpers/gateway";

const CALLS = 200;

function chat(key: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      // The double answers with exactly max_tokens output tokens: actual cost ≈ the reservation.
      "x-double-output-tokens": "1000",
      ...headers,
    },
    body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 1000, messages: [{ role: "user", content: "hi" }] }),
  });
}

async function recordedCostNano(accountId: string, where: string, expected: number): Promise<bigint> {
  const client = new pg.Client({ connectionString: stack().databaseUrl });
  await client.connect();
  try {
    return await eventually(async () => {
      const r = await client.query(
        `select count(*)::int as n, coalesce(sum(cost_nano), 0)::text as cost from request_records where account_id = $1 and status = 200 and ${where}`,
        [accountId],
      );
      return r.rows[0].n === expected ? BigInt(r.rows[0].cost) : undefined;
    }, 15_000);
  } finally {
    await client.end();
  }
}

describe("hard caps under 200 concurrent calls", () => {
  it("a tenant cap is never overshot, is mostly used, and blocks no other tenant", async () => {
    const acc = await newAccount();
    const capUsd = "0.024";
    const rule = await admin("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "tenant", id: "acme" },
      period: "month",
      capUsd,
    });
    expect(rule.status).toBe(201);

    const [acme, other] = await Promise.all([
      Promise.all(Array.from({ length: CALLS }, () => chat(acc.key, { "x-tollgate-tenant": "acme" }))),
      Promise.all(Array.from({ length: 5 }, () => chat(acc.key, { "x-tollgate-tenant": "globex" }))),
    ]);
    const statuses = acme.map((r) => r.status);
    const admitted = statuses.filter((s) => s === 200).length;
    expect(statuses.every((s) => s === 200 || s === 402)).toBe(true);
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThan(CALLS);
    const denial = (await acme.find((r) => r.status === 402)!.json()) as { error: { code: string } };
    expect(denial.error.code).toBe("budget_exceeded");
    expect(other.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    await Promise.all([...acme, ...other].map((r) => (r.bodyUsed ? undefined : r.body?.cancel())));

    const spent = await recordedCostNano(acc.accountId, "tenant = 'acme'", admitted);
    const cap = usdToNano(capUsd);
    expect(spent).toBeLessThanOrEqual(cap);
    expect(spent * 2n).toBeGreaterThanOrEqual(cap);

    // The budget's own counters agree with the records, to the nano-USD, once everything settled.
    const budgets = await eventually(async () => {
      const res = await admin<{ spentUsd: string; reservedUsd: string }[]>("GET", `/accounts/${acc.accountId}/budgets`);
      return res.body[0]?.reservedUsd === "0.00" ? res.body : undefined;
    });
    expect(usdToNano(budgets[0]!.spentUsd)).toBe(spent);
  });

  it("a per-feature (*) cap overlapping a tenant cap: neither is overshot", async () => {
    const acc = await newAccount();
    const featureCap = "0.012";
    const tenantCap = "0.018";
    await admin("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "feature", id: "*" },
      period: "day",
      capUsd: featureCap,
    });
    await admin("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "tenant", id: "acme" },
      period: "day",
      capUsd: tenantCap,
    });

    const features = ["search", "summarize", "chat"];
    const res = await Promise.all(
      Array.from({ length: CALLS }, (_, i) =>
        chat(acc.key, { "x-tollgate-tenant": "acme", "x-tollgate-feature": features[i % features.length]! }),
      ),
    );
    await Promise.all(res.map((r) => r.body?.cancel()));
    const admitted = res.filter((r) => r.status === 200).length;
    expect(res.every((r) => r.status === 200 || r.status === 402)).toBe(true);

    const total = await recordedCostNano(acc.accountId, "tenant = 'acme'", admitted);
    expect(total).toBeLessThanOrEqual(usdToNano(tenantCap));
    expect(total * 2n).toBeGreaterThanOrEqual(usdToNano(tenantCap));
    for (const f of features) {
      const client = new pg.Client({ connectionString: stack().databaseUrl });
      await client.connect();
      const r = await client.query(
        "select coalesce(sum(cost_nano),0)::text as c from request_records where account_id=$1 and feature=$2 and status=200",
        [acc.accountId, f],
      );
      await client.end();
      expect(BigInt(r.rows[0].c)).toBeLessThanOrEqual(usdToNano(featureCap));
    }
  });
});
