/**
 * Budget-aware downgrade through the real gateway: when a hard cap refuses the hold for the asked
 * model, the route's onBudget model is admitted with its own (atomic) hold and answers instead of a
 * 402. The cap is never exceeded, and a 402 comes only when the cheaper model cannot fit either —
 * one call at a time, and under 100 concurrent calls.
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { usdToNano } from "../../src/lib/money";
import { admin, eventually, newAccount, stack } from "../helpers/gateway";
import { record } from "../helpers/proxy";
import { chat, hi, putRoute } from "../helpers/routing";

// The double answers exactly max_tokens output tokens, so a call costs about its worst case:
// gpt-4o ≈ $0.0100 a call, gpt-4o-mini ≈ $0.0006.
const BODY = { model: "gpt-4o", max_tokens: 1000, messages: hi() };
const HEADERS = { "x-tollgate-route": "down", "x-double-output-tokens": "1000", "x-tollgate-max-wait-ms": "20000" };

interface Refusal {
  error: { reason: string; cap_usd: string; spent_usd: string; reserved_usd: string; worst_case_usd: string };
}

async function setUp(capUsd: string) {
  const acc = await newAccount();
  const rule = await admin("POST", `/accounts/${acc.accountId}/budgets`, {
    scope: { type: "account" },
    period: "month",
    capUsd,
  });
  expect(rule.status).toBe(201);
  await putRoute(acc.accountId, "down", {
    targets: [{ provider: "openai", model: "gpt-4o" }],
    onBudget: { provider: "openai", model: "gpt-4o-mini" },
  });
  return acc;
}

/** The account's records once `n` of them are in: count and cost by model sent, in nano-USD. */
async function spentByModel(
  accountId: string,
  n: number,
): Promise<Record<string, { calls: number; costNano: bigint }>> {
  const client = new pg.Client({ connectionString: stack().databaseUrl });
  await client.connect();
  try {
    return await eventually(async () => {
      const r = await client.query(
        "select model_requested as m, count(*)::int as n, sum(cost_nano)::text as c from request_records where account_id = $1 group by 1",
        [accountId],
      );
      const total = r.rows.reduce((s: number, row: { n: number }) => s + row.n, 0);
      if (total !== n) return undefined;
      return Object.fromEntries(r.rows.map((row) => [row.m, { calls: row.n, costNano: BigInt(row.c) }]));
    }, 15_000);
  } finally {
    await client.end();
  }
}

/** A refusal of the cheaper model: it could not fit even if every hold in flight came back at zero. */
function expectCheaperCannotFit(body: Refusal) {
  expect(body.error.reason).toBe("cap");
  const { cap_usd, spent_usd, worst_case_usd } = body.error;
  expect(usdToNano(spent_usd) + usdToNano(worst_case_usd)).toBeGreaterThan(usdToNano(cap_usd));
}

describe("budget downgrade (onBudget)", () => {
  it("one call at a time: the asked model while it fits, then the cheaper one, a 402 only when neither fits", async () => {
    const cap = "0.015";
    const acc = await setUp(cap);
    const seen: string[] = [];
    let refusal: Refusal | null = null;
    for (let i = 0; i < 14 && !refusal; i++) {
      const res = await chat(acc.key, BODY, HEADERS);
      if (res.status === 402) {
        expect(res.headers.get("x-tollgate-attempts")).toBe("openai/gpt-4o:402,openai/gpt-4o-mini:402");
        refusal = (await res.json()) as Refusal;
        break;
      }
      expect(res.status).toBe(200);
      const model = ((await res.json()) as { model: string }).model;
      seen.push(model);
      if (model === "gpt-4o-mini") {
        expect(res.headers.get("x-tollgate-downgraded-from")).toBe("openai/gpt-4o");
        expect(res.headers.get("x-tollgate-attempts")).toBe("openai/gpt-4o:402,openai/gpt-4o-mini:200");
        const rec = await record(acc.key, res.headers.get("x-tollgate-request-id")!);
        expect(rec).toMatchObject({ downgradedFrom: "openai/gpt-4o", modelRequested: "gpt-4o-mini", attempt: 1 });
      } else {
        expect(res.headers.get("x-tollgate-downgraded-from")).toBeNull();
      }
    }
    expect(seen[0]).toBe("gpt-4o");
    expect(seen.filter((m) => m === "gpt-4o").length).toBe(1);
    expect(seen.filter((m) => m === "gpt-4o-mini").length).toBeGreaterThanOrEqual(5);
    expect(refusal).not.toBeNull();
    expectCheaperCannotFit(refusal!);
    const spent = await spentByModel(acc.accountId, seen.length);
    const total = Object.values(spent).reduce((s, v) => s + v.costNano, 0n);
    expect(total).toBeLessThanOrEqual(usdToNano(cap));
  });

  it("100 concurrent calls under a tight cap: downgraded before the cap, never over it, no 402 while the cheaper model fits", async () => {
    const cap = "0.05";
    const acc = await setUp(cap);
    const responses = await Promise.all(Array.from({ length: 100 }, () => chat(acc.key, BODY, HEADERS)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 402)).toBe(true);
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ model?: string } & Partial<Refusal>>));
    const asked = bodies.filter((b) => b.model === "gpt-4o").length;
    const downgraded = bodies.filter((b) => b.model === "gpt-4o-mini").length;
    const refused = bodies.filter((b) => b.error !== undefined);
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(asked).toBeLessThanOrEqual(5);
    expect(downgraded).toBeGreaterThan(0);
    expect(asked + downgraded + refused.length).toBe(100);
    // Every refusal is of the cheaper model, which could not fit any more.
    for (const r of refused) expectCheaperCannotFit(r as Refusal);
    responses.forEach((res, i) => {
      if (bodies[i]!.model === "gpt-4o-mini")
        expect(res.headers.get("x-tollgate-downgraded-from")).toBe("openai/gpt-4o");
    });

    const spent = await spentByModel(acc.accountId, asked + downgraded);
    expect(spent["gpt-4o"]?.calls).toBe(asked);
    expect(spent["gpt-4o-mini"]?.calls).toBe(downgraded);
    const total = Object.values(spent).reduce((s, v) => s + v.costNano, 0n);
    expect(total).toBeLessThanOrEqual(usdToNano(cap));
    // The budget's own counters agree, to the nano-USD, once everything settled.
    const budgets = await eventually(async () => {
      const res = await admin<{ spentUsd: string; reservedUsd: string }[]>("GET", `/accounts/${acc.accountId}/budgets`);
      return res.body[0]?.reservedUsd === "0.00" ? res.body : undefined;
    });
    expect(usdToNano(budgets[0]!.spentUsd)).toBe(total);
    if (refused.length > 0) {
      // Refusals only once the room left was below one cheaper call's worst case.
      const worst = usdToNano((refused[0] as Refusal).error.worst_case_usd);
      expect(usdToNano(cap) - total).toBeLessThan(worst);
    }
  });

  it("100 concurrent calls that cost a tenth of their worst case: the asked model until its hold no longer fits, then all downgraded, none refused", async () => {
    const cap = "0.05";
    const acc = await setUp(cap);
    // 100 output tokens of the 1000 allowed: gpt-4o ≈ $0.001 a call against a $0.0100 hold.
    const cheapAnswers = { ...HEADERS, "x-double-output-tokens": "100" };
    const responses = await Promise.all(Array.from({ length: 100 }, () => chat(acc.key, BODY, cheapAnswers)));
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    const models = await Promise.all(responses.map(async (r) => ((await r.json()) as { model: string }).model));
    const asked = models.filter((m) => m === "gpt-4o").length;
    expect(asked).toBeGreaterThan(5);
    expect(asked).toBeLessThan(100);
    const spent = await spentByModel(acc.accountId, 100);
    const total = Object.values(spent).reduce((s, v) => s + v.costNano, 0n);
    expect(total).toBeLessThanOrEqual(usdToNano(cap));
    // The asked model was refused only as "cap" (spent + its ~$0.01 hold > cap), and spend only grows.
    expect(total + usdToNano("0.01")).toBeGreaterThan(usdToNano(cap));
  });
});
