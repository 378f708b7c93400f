/**
 * Wallets in the admission and settle scripts, against a real redis-server: draw-down order by
 * priority and expiry, expired and future grants never drawn (by the Worker's `now`, no cron),
 * refusals at once vs waits with hand-off, 100 concurrent calls on a wallet worth ~30, threshold
 * crossings exactly once (re-armed by a grant), top-up requests once per crossing, and the settle
 * script's rating equal to src/billing/rating.ts call by call.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { billingKeys, grantField } from "../../src/billing/keys";
import type { Plan, PlanDefinition } from "../../src/billing/plan";
import { EMPTY_STATE, rateCall, ratingProgram } from "../../src/billing/rating";
import { WALLET_CREDIT_SCRIPT, WALLET_STATUS_SCRIPT } from "../../src/billing/scripts";
import { admit, settle } from "../../src/budgets";
import { budgetKeys } from "../../src/budgets/keys";
import { named } from "../../src/budgets/replies";
import { runScript } from "../../src/lib/redis";
import { emptyUsage } from "../../src/usage";
import { walletCall, walletFixture } from "./billing-fixture";
import { startTestRedis, type TestRedis } from "./budgets-stack";

let t: TestRedis;
beforeAll(async () => {
  t = await startTestRedis();
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const HOUR = 3_600_000;

async function status(accountId: string, tenant: string, now = NOW) {
  const r = named(
    await runScript(t.redis, WALLET_STATUS_SCRIPT, [], [budgetKeys.prefix(accountId), tenant, String(now)]),
  );
  const grants: Record<string, bigint> = {};
  const flat = r.grants as string[];
  for (let i = 0; i < flat.length; i += 2) grants[flat[i]!] = BigInt(flat[i + 1]!);
  return {
    settled: BigInt(String(r.settled)),
    reserved: BigInt(String(r.reserved)),
    debt: BigInt(String(r.debt)),
    grants,
  };
}

describe("draw-down order and expiry", () => {
  it("priority first, then the earliest expiry (never last), then creation", async () => {
    const w = await walletFixture(
      t.redis,
      [
        { id: "late_prio", amountNano: 100n, priority: 5 },
        { id: "never", amountNano: 100n, priority: 1, expiresAtMs: null, createdAtMs: NOW - 5000 },
        { id: "soon", amountNano: 100n, priority: 1, expiresAtMs: NOW + HOUR },
        { id: "later", amountNano: 100n, priority: 1, expiresAtMs: NOW + 2 * HOUR },
      ],
      { now: NOW },
    );
    const r = await walletCall(t.redis, w.walletInput(260n), 250n);
    expect(r.admitted.kind).toBe("allowed");
    expect(r.settled?.bill?.draws).toEqual([
      { grantId: "soon", nano: 100n },
      { grantId: "later", nano: 100n },
      { grantId: "never", nano: 50n },
    ]);
    expect(await status(w.accountId, w.tenant)).toMatchObject({
      settled: 150n,
      reserved: 0n,
      grants: { never: 50n, late_prio: 100n },
    });
  });

  it("an expired grant is never drawn, and a future one not yet — by the `now` the Worker sends", async () => {
    const w = await walletFixture(
      t.redis,
      [
        { id: "expired", amountNano: 1000n, priority: 1, expiresAtMs: NOW - 1 },
        { id: "future", amountNano: 1000n, priority: 1, effectiveAtMs: NOW + HOUR },
        { id: "live", amountNano: 100n, priority: 9 },
      ],
      { now: NOW },
    );
    // Only 100 is live: a call that could cost 150 cannot fit, whatever the expired grant holds.
    const refused = await admit(t.redis, w.walletInput(150n));
    expect(refused).toMatchObject({
      kind: "insufficient_credits",
      reason: "balance",
      settledNano: 100n,
      requiredNano: 150n,
    });
    const r = await walletCall(t.redis, w.walletInput(100n), 80n);
    expect(r.settled?.bill?.draws).toEqual([{ grantId: "live", nano: 80n }]);
    expect((await status(w.accountId, w.tenant)).grants).toMatchObject({ expired: 1000n, future: 1000n, live: 20n });
    // An hour later the future grant is live (the expired one still is not).
    const later = await walletCall(t.redis, w.walletInput(500n, { now: NOW + HOUR }), 500n);
    expect(later.settled?.bill?.draws).toEqual([{ grantId: "future", nano: 500n }]);
  });

  it("a grant whose expiry passes between admit and settle is not drawn at settle", async () => {
    const w = await walletFixture(
      t.redis,
      [
        { id: "ends", amountNano: 100n, priority: 1, expiresAtMs: NOW + 1000 },
        { id: "stays", amountNano: 100n, priority: 2 },
      ],
      { now: NOW },
    );
    const r = await walletCall(t.redis, w.walletInput(50n), 50n, NOW + 1000);
    expect(r.settled?.bill?.draws).toEqual([{ grantId: "stays", nano: 50n }]);
  });
});

describe("holds, refusals and waits", () => {
  it("refuses at once what the settled balance cannot cover; the refusal names available and required", async () => {
    const w = await walletFixture(t.redis, [{ id: "g", amountNano: 1000n }], { now: NOW });
    expect(await admit(t.redis, w.walletInput(1001n))).toMatchObject({
      kind: "insufficient_credits",
      reason: "balance",
      availableNano: 1000n,
      requiredNano: 1001n,
      waitedMs: 0,
    });
  });

  it("a call that fits once holds settle waits and is handed the hold; the hold counts at once", async () => {
    const w = await walletFixture(t.redis, [{ id: "g", amountNano: 1000n }], { now: NOW });
    const first = await admit(t.redis, w.walletInput(700n));
    expect(first).toMatchObject({ kind: "allowed" });
    if (first.kind !== "allowed") return;
    expect(first.reservation.wallet).toEqual({ tenant: w.tenant, heldNano: "700" });
    expect(await status(w.accountId, w.tenant)).toMatchObject({ settled: 1000n, reserved: 700n });
    const waiting = admit(t.redis, w.walletInput(600n, { maxWaitMs: 5000 }));
    await new Promise((r) => setTimeout(r, 100));
    await settle(t.redis, {
      reservation: first.reservation,
      requestId: "r1",
      actualCostNano: 300n,
      actualTokens: 0,
      now: NOW,
    });
    const second = await waiting;
    expect(second).toMatchObject({ kind: "allowed" });
    if (second.kind !== "allowed") return;
    expect(second.waitedMs).toBeGreaterThan(0);
    expect(second.reservation.wallet).toEqual({ tenant: w.tenant, heldNano: "600" });
    expect(await status(w.accountId, w.tenant)).toMatchObject({ settled: 700n, reserved: 600n });
  });

  it("a waiter the settle leaves unable to fit is told at once", async () => {
    const w = await walletFixture(t.redis, [{ id: "g", amountNano: 1000n }], { now: NOW });
    const first = await admit(t.redis, w.walletInput(700n));
    if (first.kind !== "allowed") throw new Error(first.kind);
    const started = Date.now();
    const waiting = admit(t.redis, w.walletInput(600n, { maxWaitMs: 10_000 }));
    await new Promise((r) => setTimeout(r, 100));
    await settle(t.redis, {
      reservation: first.reservation,
      requestId: "r1",
      actualCostNano: 700n,
      actualTokens: 0,
      now: NOW,
    });
    expect(await waiting).toMatchObject({ kind: "insufficient_credits", reason: "balance" });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("an overrun of an admitted call takes the balance below zero (overage); nothing is admitted at ≤ 0", async () => {
    const w = await walletFixture(t.redis, [{ id: "g", amountNano: 1000n }], { now: NOW });
    const r = await walletCall(t.redis, w.walletInput(900n), 1200n);
    expect(r.settled?.bill).toEqual({ billedNano: 1200n, overageNano: 200n, draws: [{ grantId: "g", nano: 1000n }] });
    expect(await status(w.accountId, w.tenant)).toMatchObject({ settled: -200n, debt: 200n });
    expect(await admit(t.redis, w.walletInput(0n))).toMatchObject({ kind: "insufficient_credits", reason: "balance" });
  });

  it("a tenant without a wallet (postpaid) is never blocked", async () => {
    const w = await walletFixture(t.redis, [{ id: "g", amountNano: 1n }], { now: NOW });
    const other = await admit(t.redis, {
      ...w.walletInput(10n ** 12n),
      wallet: { tenant: "postpaid", ratedWorstNano: 10n ** 12n, unrated: false },
    });
    expect(other).toMatchObject({ kind: "allowed" });
    if (other.kind === "allowed") expect(other.reservation.wallet).toBeNull();
  });

  it("100 concurrent calls on a wallet worth ~30: none admitted at ≤ 0, ≥ 90 % used, below zero only by overruns", async () => {
    const HOLD = 1_000_000n;
    const w = await walletFixture(t.redis, [{ id: "g", amountNano: 30n * HOLD + 500_000n }], { now: NOW });
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        // Most calls cost less than their hold; every tenth overruns it by 5 %.
        const actual = i % 10 === 0 ? (HOLD * 105n) / 100n : HOLD - BigInt(i * 1000);
        const r = await walletCall(t.redis, w.walletInput(HOLD, { maxWaitMs: 5000 }), actual);
        return { r, actual };
      }),
    );
    const admitted = results.filter((x) => x.r.admitted.kind === "allowed");
    for (const x of results) expect(["allowed", "insufficient_credits"]).toContain(x.r.admitted.kind);
    const spent = admitted.reduce((s, x) => s + x.actual, 0n);
    const overruns = admitted.reduce((s, x) => s + (x.actual > HOLD ? x.actual - HOLD : 0n), 0n);
    const end = await status(w.accountId, w.tenant);
    const credit = 30n * HOLD + 500_000n;
    expect(end.settled).toBe(credit - spent);
    expect(end.reserved).toBe(0n);
    expect(end.settled).toBeGreaterThanOrEqual(-overruns);
    expect(spent * 10n).toBeGreaterThanOrEqual(credit * 9n);
  });
});

describe("thresholds and top-up", () => {
  it("each threshold fires once per downward crossing, and again only after a grant re-arms it", async () => {
    const w = await walletFixture(t.redis, [{ id: "g", amountNano: 1000n }], { now: NOW, thresholds: [500n, 200n] });
    const kinds = async (billed: bigint) =>
      ((await walletCall(t.redis, w.walletInput(billed), billed)).settled?.walletEvents ?? []).map(
        (e) => `${e.kind}@${e.thresholdNano}`,
      );
    expect(await kinds(400n)).toEqual([]); // 600
    expect(await kinds(200n)).toEqual(["dropped@500"]); // 400
    expect(await kinds(100n)).toEqual([]); // 300: 500 already fired
    expect((await kinds(250n)).sort()).toEqual(["dropped@200"]); // 50
    expect(await kinds(50n)).toEqual(["depleted@0"]); // 0
    // A grant lifts the balance to 600: both thresholds and depletion re-arm.
    const reply = named(
      await runScript(
        t.redis,
        WALLET_CREDIT_SCRIPT,
        [],
        [
          budgetKeys.prefix(w.accountId),
          w.tenant,
          grantField({ id: "g2", priority: 10, expiresAtMs: null, createdAtMs: NOW, effectiveAtMs: NOW - 1 }),
          "600",
          String(NOW),
        ],
      ),
    );
    expect(
      (reply.events as unknown[][])
        .map((e) => named(e))
        .map((e) => `${e.kind}@${e.threshold}`)
        .sort(),
    ).toEqual(["recovered@200", "recovered@500"]);
    expect(await kinds(150n)).toEqual(["dropped@500"]); // 450
  });

  it("a top-up is requested once per crossing, with a rising sequence, never within its cooldown", async () => {
    const w = await walletFixture(t.redis, [{ id: "g", amountNano: 1000n }], { now: NOW, topUp: "300|5000|3600" });
    const topUp = async (billed: bigint) => (await walletCall(t.redis, w.walletInput(billed), billed)).settled?.topUp;
    expect(await topUp(600n)).toBeNull(); // 400
    expect(await topUp(200n)).toEqual({ seq: 1, amountNano: 5000n, thresholdNano: 300n, balanceNano: 200n });
    expect(await topUp(50n)).toBeNull(); // still below: the same crossing
    await runScript(
      t.redis,
      WALLET_CREDIT_SCRIPT,
      [],
      [
        budgetKeys.prefix(w.accountId),
        w.tenant,
        grantField({ id: "topup1", priority: 10, expiresAtMs: null, createdAtMs: NOW, effectiveAtMs: NOW - 1 }),
        "5000",
        String(NOW),
      ],
    );
    // Re-armed by the grant, but the next crossing falls within the hour's cooldown.
    expect(await topUp(5000n)).toBeNull();
    await t.redis.del(`${budgetKeys.prefix(w.accountId)}wc:${w.tenant}`);
    expect((await topUp(1n))?.seq).toBe(2);
  });
});

describe("the settle script rates exactly as src/billing/rating.ts", () => {
  const defs: PlanDefinition[] = [
    { kind: "markup", markupBp: 3333, freeAllowanceNano: 5_000_000 },
    {
      kind: "unit",
      ratesPerMTokNano: { inputTokens: 2_500_000_001, cacheReadTokens: 250_000_003, outputTokens: 75_000_000_007 },
      freeAllowanceNano: 0,
    },
    {
      kind: "graduated",
      meter: "tokens",
      tiers: [
        { upTo: 5000, ratePerMillion: 0, flatNano: 0 },
        { upTo: 40_000, ratePerMillion: 999_999_999_999, flatNano: 17 },
        { upTo: null, ratePerMillion: 3_000_000_001, flatNano: 1_000_000_000 },
      ],
    },
    { kind: "package", meter: "output_tokens", packageSize: 777, packagePriceNano: 123_456_789, allowance: 1000 },
  ];
  it.each(defs.map((d) => [d.kind, d] as const))("%s", async (_, d) => {
    const plan: Plan = { id: "p", name: "p", version: `v_${d.kind}`, definition: d };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(20_000), fc.nat(20_000), fc.nat(5_000), fc.bigInt({ min: 0n, max: 90_000_000n })), {
          minLength: 1,
          maxLength: 25,
        }),
        async (calls) => {
          const w = await walletFixture(t.redis, [], { now: NOW });
          const stateKey = billingKeys.ratingState(w.accountId, "2026-11", plan.version, w.tenant);
          let st = EMPTY_STATE;
          for (const [inT, cached, outT, cost] of calls) {
            const amounts = {
              usage: { ...emptyUsage(), inputTokens: inT, cacheReadTokens: cached, outputTokens: outT },
              costNano: cost,
            };
            const expected = rateCall(plan, st, amounts);
            st = expected.state;
            // No wallet: the tenant is postpaid with a plan (an empty index entry is deleted first).
            const a = await admit(t.redis, w.input({ tenant: "nobody", now: NOW }));
            if (a.kind !== "allowed") throw new Error(a.kind);
            const s = await settle(t.redis, {
              reservation: a.reservation,
              requestId: `r_${Math.random()}`,
              actualCostNano: cost,
              actualTokens: 0,
              now: NOW,
              billing: {
                program: ratingProgram(plan, amounts),
                stateKey,
                stateExpireAt: NOW / 1000 + 86_400,
                planVersion: plan.version,
              },
            });
            expect(s.bill?.billedNano).toBe(expected.billedNano);
          }
        },
      ),
      { numRuns: 15 },
    );
  });
});
