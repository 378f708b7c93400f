/**
 * Invoices from real records (real Redis and Postgres): calls are admitted, settled with their
 * plan's rating program, queued and flushed exactly as the gateway does; then Σ billed records =
 * invoice subtotal, to the nano-USD, for unit, markup, graduated, package and allowance plans — and
 * for a prepaid tenant, credits applied and amount due. Finalized once (a second finalization, or a
 * concurrent one, returns the same invoice); void and reissue give a new number.
 */

import { eq } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accounts } from "../../schema";
import { billingPlans, creditGrants, tenantBilling } from "../../schema/billing";
import { callBilling, settleBilling, walletCheck } from "../../src/billing/call";
import { createGrant } from "../../src/billing/grants";
import { draftInvoice, FINALIZE_AFTER_MS, finalizeInvoice, voidInvoice } from "../../src/billing/invoices";
import type { PlanDefinition } from "../../src/billing/plan";
import { createPlan, replacePlan, setAccountBilling, setTenantPlan } from "../../src/billing/plans";
import { reratePeriod } from "../../src/billing/rerate";
import { loadBillingSettings } from "../../src/billing/settings";
import { walletLoader } from "../../src/billing/store";
import { walletStatus } from "../../src/billing/wallet";
import { monthByKey } from "../../src/billing/zone";
import { admit, settle } from "../../src/budgets";
import { randomToken } from "../../src/lib/ids";
import { usdToNano } from "../../src/lib/money";
import { flushRecords, queueRecord } from "../../src/records/record";
import { emptyUsage, type Usage } from "../../src/usage";
import { fixture } from "./budgets-fixture";
import { startTestPostgres, startTestRedis, type TestPostgres, type TestRedis } from "./budgets-stack";

let t: TestRedis;
let p: TestPostgres;
beforeAll(async () => {
  [t, p] = await Promise.all([startTestRedis(), startTestPostgres()]);
}, 90_000);
afterAll(async () => {
  await Promise.all([t?.stop(), p?.stop()]);
});

const PERIOD = "2026-11";
const START = Date.UTC(2026, 10, 3, 12);

/** One account on `definition` for tenant acme; runs `calls` through admit → settle → record. */
async function runPeriod(
  definition: PlanDefinition,
  /** heldCostNano: a worst case below the actual cost (an underestimate: the call overruns its hold). */
  calls: { usage: Partial<Usage>; costNano: bigint; heldCostNano?: bigint }[],
  grantUsd?: string,
) {
  const f = await fixture(t.redis, [], { now: START });
  await p.db.insert(accounts).values({ id: f.accountId, name: "invoice test" });
  const stores = { db: p.db, redis: t.redis };
  const plan = await createPlan(stores, f.accountId, "plan", definition);
  await setTenantPlan(stores, f.accountId, "acme", plan.id);
  if (grantUsd) await createGrant(stores, f.accountId, "acme", { amountNano: usdToNano(grantUsd) }, START - 60_000);
  const billing = await loadBillingSettings(p.db, f.accountId);
  let billed = 0n;
  for (const [i, c] of calls.entries()) {
    const at = START + i * 60_000;
    const b = callBilling(f.accountId, billing, "acme", at)!;
    const usage = { ...emptyUsage(), ...c.usage };
    const a = await admit(
      t.redis,
      f.input({
        tenant: "acme",
        now: at,
        wallet: walletCheck(b, [{ usage, costNano: c.heldCostNano ?? c.costNano }], false),
      }),
      { loadWallet: walletLoader(t.redis, () => p.db, at) },
    );
    if (a.kind !== "allowed") throw new Error(`call ${i}: ${a.kind}`);
    const requestId = `req_${randomToken(10)}`;
    const sb = settleBilling(b, Boolean(a.reservation.wallet), usage, c.costNano);
    const s = await settle(t.redis, {
      reservation: a.reservation,
      requestId,
      actualCostNano: c.costNano,
      actualTokens: 0,
      now: at + 500,
      ...(sb ? { billing: sb } : {}),
    });
    billed += s.bill?.billedNano ?? c.costNano;
    await queueRecord(
      {
        id: requestId,
        accountId: f.accountId,
        keyId: f.keyId,
        tenant: "acme",
        feature: i % 3 === 0 ? "search" : "chat",
        userId: null,
        environment: "production",
        workflow: null,
        tags: {},
        provider: "openai",
        modelRequested: i % 2 ? "gpt-4o" : "gpt-4o-mini",
        modelAnswered: null,
        endpoint: "chat",
        streamed: false,
        status: 200,
        usage,
        costNano: c.costNano,
        priced: true,
        pricedBy: "catalog",
        priceVersion: "v",
        ratesApplied: null,
        usageSource: "reported",
        budgetChecked: true,
        latencyMs: 10,
        ttftMs: 5,
        startedAt: new Date(at),
        finishedAt: new Date(at + 500),
        billedNano: sb ? null : c.costNano,
        billPending: sb !== null,
      },
      { db: () => p.db, redis: t.redis, flushDelayMs: 1 },
    );
  }
  await flushRecords({ db: () => p.db, redis: t.redis });
  return { f, stores, billed };
}

const callsArb = fc.array(
  fc.record({
    usage: fc.record({ inputTokens: fc.nat(30_000), cacheReadTokens: fc.nat(30_000), outputTokens: fc.nat(8_000) }),
    costNano: fc.bigInt({ min: 0n, max: 40_000_000n }),
  }),
  { minLength: 1, maxLength: 12 },
);

const PLANS: [string, PlanDefinition][] = [
  ["markup", { kind: "markup", markupBp: 2500, freeAllowanceNano: 0 }],
  [
    "unit",
    {
      kind: "unit",
      ratesPerMTokNano: { inputTokens: 3_000_000_007, cacheReadTokens: 300_000_001, outputTokens: 15_000_000_003 },
      freeAllowanceNano: 0,
    },
  ],
  [
    "graduated",
    {
      kind: "graduated",
      meter: "tokens",
      tiers: [
        { upTo: 50_000, ratePerMillion: 2_000_000_001, flatNano: 0 },
        { upTo: null, ratePerMillion: 1_000_000_003, flatNano: 2_000_000 },
      ],
    },
  ],
  [
    "package",
    { kind: "package", meter: "output_tokens", packageSize: 1000, packagePriceNano: 7_000_000, allowance: 0 },
  ],
  [
    "allowance (unit, first $0.05 free)",
    {
      kind: "unit",
      ratesPerMTokNano: { inputTokens: 2_500_000_000, outputTokens: 10_000_000_000 },
      freeAllowanceNano: 50_000_000,
    },
  ],
  [
    "allowance (graduated, first 20,000 tokens free)",
    {
      kind: "graduated",
      meter: "tokens",
      tiers: [
        { upTo: 20_000, ratePerMillion: 0, flatNano: 0 },
        { upTo: null, ratePerMillion: 4_000_000_000, flatNano: 0 },
      ],
    },
  ],
];

describe("Σ billed records = invoice subtotal, to the nano-USD", () => {
  it.each(PLANS)("%s", async (_, definition) => {
    await fc.assert(
      fc.asyncProperty(callsArb, async (calls) => {
        const { f, billed } = await runPeriod(definition, calls);
        const inv = await draftInvoice(p.db, f.accountId, "acme", PERIOD);
        expect(inv.records).toBe(calls.length);
        expect(inv.unratedRecords).toBe(0);
        expect(usdToNano(inv.recordsBilledUsd)).toBe(billed);
        expect(usdToNano(inv.subtotalUsd)).toBe(billed);
        expect(inv.trueUpUsd).toBe("0.00");
        // The lines add up to the subtotal, and the amount due is all of it (postpaid).
        const lines = inv.lines.reduce((s, l) => s + usdToNano(l.amountUsd), 0n);
        expect(lines).toBe(billed);
        expect(inv.amountDueUsd).toBe(inv.subtotalUsd);
      }),
      { numRuns: 4 },
    );
  });

  it("a prepaid tenant: credits applied by grant, amount due = subtotal − credits (the overage)", async () => {
    // $0.045 of credit, markup 25 %: each call bills $0.0125; the 4th was held at $0.00625 and overruns.
    const calls = Array.from({ length: 4 }, (_, i) => ({
      usage: { inputTokens: 1000, outputTokens: 1000 },
      costNano: 10_000_000n,
      ...(i === 3 ? { heldCostNano: 5_000_000n } : {}),
    }));
    const { f, billed } = await runPeriod({ kind: "markup", markupBp: 2500, freeAllowanceNano: 0 }, calls, "0.045");
    const inv = await draftInvoice(p.db, f.accountId, "acme", PERIOD);
    expect(usdToNano(inv.subtotalUsd)).toBe(billed);
    expect(inv.creditsAppliedUsd).toBe("0.045");
    expect(inv.credits).toHaveLength(1);
    expect(inv.overageUsd).toBe("0.005");
    expect(inv.amountDueUsd).toBe("0.005");
    // The flush advanced the Postgres ledger a wallet is rebuilt from: the grant's draws, the overage.
    const [g] = await p.db.select().from(creditGrants).where(eq(creditGrants.accountId, f.accountId));
    expect(g!.drawnNano).toBe(45_000_000n);
    const [tb] = await p.db.select().from(tenantBilling).where(eq(tenantBilling.accountId, f.accountId));
    expect(tb!.overageNano).toBe(5_000_000n);
    // Finalizing bills the overage: the wallet stops carrying it.
    const after = monthByKey("UTC", PERIOD)!.endMs + FINALIZE_AFTER_MS;
    await finalizeInvoice({ db: p.db, redis: t.redis }, f.accountId, "acme", PERIOD, after);
    const w = await walletStatus({ db: p.db, redis: t.redis }, f.accountId, "acme", after);
    expect(w).toMatchObject({ settledNano: 0n, debtNano: 0n });
  });
});

describe("a plan change, then re-rating the open period", () => {
  it("the invoice shows the difference as a true-up until the period is re-rated; then the records add up again", async () => {
    const calls = Array.from({ length: 5 }, (_, i) => ({
      usage: { inputTokens: 100 + i },
      costNano: 3_333_333n + BigInt(i),
    }));
    const { f, stores, billed } = await runPeriod({ kind: "markup", markupBp: 1000, freeAllowanceNano: 0 }, calls);
    const [planRow] = await p.db.select().from(billingPlans).where(eq(billingPlans.accountId, f.accountId));
    await replacePlan(stores, f.accountId, planRow!.id, "plan", {
      kind: "markup",
      markupBp: 2000,
      freeAllowanceNano: 0,
    });
    const stale = await draftInvoice(p.db, f.accountId, "acme", PERIOD);
    expect(usdToNano(stale.recordsBilledUsd)).toBe(billed);
    const total = calls.reduce((s, c) => s + c.costNano, 0n);
    const at20 = (total * 12_000n * 2n + 10_000n) / 20_000n;
    expect(usdToNano(stale.subtotalUsd)).toBe(at20);
    expect(usdToNano(stale.trueUpUsd)).toBe(at20 - billed);
    expect(stale.lines.at(-1)?.kind).toBe("true_up");

    const r = await reratePeriod(stores, f.accountId, "acme", PERIOD, START);
    expect(r).toMatchObject({ records: 5, billedBeforeNano: billed, billedAfterNano: at20 });
    const fresh = await draftInvoice(p.db, f.accountId, "acme", PERIOD);
    expect(fresh.trueUpUsd).toBe("0.00");
    expect(usdToNano(fresh.recordsBilledUsd)).toBe(at20);
  });
});

describe("finalized once", () => {
  it("a period is finalized once: again, or concurrently, is the same invoice; void and reissue give a new number", async () => {
    const { f, stores } = await runPeriod({ kind: "markup", markupBp: 1000, freeAllowanceNano: 0 }, [
      { usage: { inputTokens: 10 }, costNano: 1_000_000n },
      { usage: { inputTokens: 10 }, costNano: 2_000_000n },
    ]);
    await setAccountBilling(stores, f.accountId, { timeZone: "UTC" });
    const end = monthByKey("UTC", PERIOD)!.endMs;
    await expect(finalizeInvoice(stores, f.accountId, "acme", PERIOD, end + 60_000)).rejects.toMatchObject({
      status: 409,
    });
    const after = end + FINALIZE_AFTER_MS;
    const [a, b, c] = await Promise.all(
      [1, 2, 3].map(() => finalizeInvoice(stores, f.accountId, "acme", PERIOD, after)),
    );
    expect([a, b, c].filter((x) => x!.created)).toHaveLength(1);
    expect(new Set([a, b, c].map((x) => x!.invoice.number))).toEqual(new Set(["INV-000001"]));
    expect(new Set([a, b, c].map((x) => x!.invoice.hash)).size).toBe(1);
    expect(a!.invoice).toMatchObject({ status: "finalized", subtotalUsd: "0.0033", amountDueUsd: "0.0033" });
    const again = await finalizeInvoice(stores, f.accountId, "acme", PERIOD, after + 86_400_000);
    expect(again.created).toBe(false);
    expect(again.invoice).toEqual(a!.invoice);

    const { voided, reissued } = await voidInvoice(stores, f.accountId, a!.invoice.id!, after + 1000, true);
    expect(voided.status).toBe("void");
    expect(reissued).toMatchObject({
      status: "finalized",
      number: "INV-000002",
      replacesId: a!.invoice.id,
      hash: a!.invoice.hash,
    });
    await expect(voidInvoice(stores, f.accountId, a!.invoice.id!, after + 2000, false)).rejects.toMatchObject({
      status: 409,
    });
  });
});
