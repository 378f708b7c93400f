/**
 * "Cannot fit" versus "cannot fit yet", against a real redis-server: a call that fits once the
 * holds in flight settle waits for them (a settle hands it the room; no polling), a call that can
 * never fit is refused at once, the wait bound holds, the throttle admits one call at a time past
 * its mark, an unpriced model is refused under a hard rule, and under 200 concurrent callers on
 * every scope type the cap is never exceeded while no call that fits is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdmitInput, admit, budgetStatus, markKeyRevoked, type Reservation, settle } from "../../src/budgets";
import { usdToNano } from "../../src/lib/money";
import { redisKeys } from "../../src/lib/redis-keys";
import { fixture, type RuleSpec } from "./budgets-fixture";
import { startTestRedis, type TestRedis } from "./budgets-stack";

let t: TestRedis;
beforeAll(async () => {
  t = await startTestRedis();
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

const nano = (usd: string) => usdToNano(usd);
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function settleAs(reservation: Reservation, actualNano: bigint, now = NOW) {
  return settle(t.redis, {
    reservation,
    requestId: `req_${reservation.id}`,
    actualCostNano: actualNano,
    actualTokens: 0,
    now,
  });
}

async function held(input: AdmitInput): Promise<Reservation> {
  const a = await admit(t.redis, input);
  if (a.kind !== "allowed")
    throw new Error(
      `expected an admission, got ${JSON.stringify(a, (_, v) => (typeof v === "bigint" ? String(v) : v))}`,
    );
  return a.reservation;
}

describe("waiting for holds in flight", () => {
  it("a call that fits once a hold settles waits for it, and the settle hands it the room", async () => {
    const f = await fixture(t.redis, [{ scope: "tenant", id: "acme", capUsd: "1.00" }]);
    const first = await held(f.input({ tenant: "acme", worstCaseNano: nano("0.80"), now: NOW }));
    const waiting = admit(
      t.redis,
      f.input({ tenant: "acme", worstCaseNano: nano("0.30"), now: NOW, maxWaitMs: 10_000 }),
    );
    await sleep(150);
    const handed = await settleAs(first, nano("0.50"));
    expect(handed.handedOff).toBe(1);
    const second = await waiting;
    expect(second).toMatchObject({ kind: "allowed" });
    if (second.kind !== "allowed") return;
    expect(second.waitedMs).toBeGreaterThanOrEqual(100);
    // Admitted by the settle itself: the hold is already made, and counted.
    const status = (await budgetStatus(t.redis, f.accountId, f.rules, NOW)).get(f.rules[0]!.id)!;
    expect(status).toMatchObject({ spentNano: nano("0.50"), reservedNano: nano("0.30") });
    await settleAs(second.reservation, nano("0.25"));
    expect((await budgetStatus(t.redis, f.accountId, f.rules, NOW)).get(f.rules[0]!.id)).toMatchObject({
      spentNano: nano("0.75"),
      reservedNano: 0n,
    });
  });

  it("refused at once when settled spend + its worst case exceeds the cap, whatever is in flight", async () => {
    const f = await fixture(t.redis, [{ scope: "tenant", id: "acme", capUsd: "1.00" }]);
    const spend = await held(f.input({ tenant: "acme", worstCaseNano: nano("0.90"), now: NOW }));
    await settleAs(spend, nano("0.80"));
    await held(f.input({ tenant: "acme", worstCaseNano: nano("0.10"), now: NOW }));
    const started = Date.now();
    const a = await admit(
      t.redis,
      f.input({ tenant: "acme", worstCaseNano: nano("0.25"), now: NOW, maxWaitMs: 10_000 }),
    );
    expect(a).toMatchObject({
      kind: "denied",
      reason: "cap",
      spentNano: nano("0.80"),
      reservedNano: nano("0.10"),
      waitedMs: 0,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("a waiter is told at once when a settle makes it impossible, not at the end of its wait", async () => {
    const f = await fixture(t.redis, [{ scope: "feature", id: "*", capUsd: "1.00", period: "day" }]);
    const first = await held(f.input({ feature: "chat", worstCaseNano: nano("0.80"), now: NOW }));
    const started = Date.now();
    const waiting = admit(
      t.redis,
      f.input({ feature: "chat", worstCaseNano: nano("0.30"), now: NOW, maxWaitMs: 20_000 }),
    );
    await sleep(100);
    await settleAs(first, nano("0.75")); // 0.75 + 0.30 > 1: it can never fit now
    const a = await waiting;
    expect(a).toMatchObject({ kind: "denied", reason: "cap", spentNano: nano("0.75"), value: "chat" });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("the wait bound is honoured: refused with in_flight after the wait, and nothing is left queued", async () => {
    const f = await fixture(t.redis, [{ scope: "account", capUsd: "1.00" }]);
    await held(f.input({ worstCaseNano: nano("0.80"), now: NOW }));
    const started = Date.now();
    const a = await admit(t.redis, f.input({ worstCaseNano: nano("0.30"), now: NOW, maxWaitMs: 400 }));
    const took = Date.now() - started;
    expect(a).toMatchObject({ kind: "denied", reason: "in_flight", reservedNano: nano("0.80") });
    if (a.kind === "denied") expect(a.waitedMs).toBeGreaterThanOrEqual(350);
    expect(took).toBeGreaterThanOrEqual(350);
    const queued = await t.redis.keys(`tg:{${f.accountId}}:b[qw]:*`);
    expect(queued).toEqual([]);
    // maxWaitMs 0: refused at once, same reason.
    const now0 = Date.now();
    expect(await admit(t.redis, f.input({ worstCaseNano: nano("0.30"), now: NOW, maxWaitMs: 0 }))).toMatchObject({
      kind: "denied",
      reason: "in_flight",
      waitedMs: 0,
    });
    expect(Date.now() - now0).toBeLessThan(1_000);
  });

  it("a key revoked while its call waits: no hand-off, the call is refused as revoked", async () => {
    const f = await fixture(t.redis, [{ scope: "account", capUsd: "1.00" }]);
    const first = await held(f.input({ worstCaseNano: nano("0.80"), now: NOW }));
    const waiting = admit(t.redis, f.input({ worstCaseNano: nano("0.30"), now: NOW, maxWaitMs: 10_000 }));
    await sleep(100);
    // What the admin API does on DELETE …/keys/{id}.
    await t.redis.hset(redisKeys.gatewayKey(f.keyHash), { revoked: "1" });
    await markKeyRevoked(t.redis, f.accountId, f.keyId);
    const started = Date.now();
    expect((await settleAs(first, nano("0.10"))).handedOff).toBe(0);
    expect(await waiting).toEqual({ kind: "key_revoked" });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await budgetStatus(t.redis, f.accountId, f.rules, NOW)).get(f.rules[0]!.id)?.reservedNano).toBe(0n);
  });

  it("the key's own wait setting applies when the request gives none", async () => {
    const f = await fixture(t.redis, [{ scope: "account", capUsd: "1.00" }]);
    await t.redis.hset(redisKeys.gatewayKey(f.keyHash), { mw: "0" });
    await held(f.input({ worstCaseNano: nano("0.80"), now: NOW }));
    const started = Date.now();
    expect(await admit(t.redis, f.input({ worstCaseNano: nano("0.30"), now: NOW }))).toMatchObject({
      kind: "denied",
      reason: "in_flight",
    });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("a hold whose Worker died stops counting: a waiter gets in on its last attempt", async () => {
    const f = await fixture(t.redis, [{ scope: "account", capUsd: "1.00" }]);
    // The dead Worker's hold lives 1 s on the Worker's clock; this call may wait 1.5 s.
    await held(f.input({ worstCaseNano: nano("0.80"), now: NOW, reservationTtlMs: 1_000 }));
    const a = await admit(t.redis, f.input({ worstCaseNano: nano("0.30"), now: NOW + 100, maxWaitMs: 1_500 }));
    expect(a).toMatchObject({ kind: "allowed" });
  });
});

describe("throttle: past the mark, one call at a time", () => {
  it("no two holds at once past throttleAt; the next call is handed the room when the first settles", async () => {
    const f = await fixture(t.redis, [{ scope: "tenant", id: "acme", capUsd: "1.00", throttleAt: 50 }]);
    const early = await held(f.input({ tenant: "acme", worstCaseNano: nano("0.40"), now: NOW }));
    // Below the mark concurrent holds are fine.
    const early2 = await held(f.input({ tenant: "acme", worstCaseNano: nano("0.05"), now: NOW }));
    await settleAs(early, nano("0.55"));
    await settleAs(early2, nano("0.01"));
    const one = await held(f.input({ tenant: "acme", worstCaseNano: nano("0.05"), now: NOW }));
    const two = admit(t.redis, f.input({ tenant: "acme", worstCaseNano: nano("0.05"), now: NOW, maxWaitMs: 10_000 }));
    await sleep(150);
    expect((await budgetStatus(t.redis, f.accountId, f.rules, NOW)).get(f.rules[0]!.id)?.reservedNano).toBe(
      nano("0.05"),
    );
    await settleAs(one, nano("0.02"));
    expect(await two).toMatchObject({ kind: "allowed" });
    // Not allowed to wait: refused as throttled, with the hold in flight named.
    expect(
      await admit(t.redis, f.input({ tenant: "acme", worstCaseNano: nano("0.05"), now: NOW, maxWaitMs: 0 })),
    ).toMatchObject({
      kind: "denied",
      reason: "throttled",
      reservedNano: nano("0.05"),
      throttleNano: nano("0.50"),
    });
  });
});

describe("unpriced models", () => {
  it("refused under a hard rule, naming the rule; admitted where only soft rules apply", async () => {
    const f = await fixture(t.redis, [
      { scope: "tenant", id: "acme", capUsd: "1.00" },
      { scope: "tenant", id: "soft", capUsd: "1.00", mode: "soft" },
    ]);
    const unpriced = { provider: "openai", model: "my-finetune" };
    const a = await admit(t.redis, f.input({ tenant: "acme", worstCaseNano: 0, now: NOW, unpriced }));
    expect(a).toMatchObject({ kind: "unpriced", budgetId: f.rules[0]!.id, scopeType: "tenant", scopeId: "acme" });
    if (a.kind === "unpriced") {
      expect(a.message).toContain("openai/my-finetune");
      expect(a.message).toContain(`PUT /admin/v1/accounts/${f.accountId}/prices/openai/my-finetune`);
      expect(a.message).toContain("unpricedFallback");
    }
    expect((await admit(t.redis, f.input({ tenant: "soft", worstCaseNano: 0, now: NOW, unpriced }))).kind).toBe(
      "allowed",
    );
    expect((await admit(t.redis, f.input({ tenant: "other", worstCaseNano: 0, now: NOW, unpriced }))).kind).toBe(
      "allowed",
    );
  });
});

describe("200 concurrent callers on every scope type: never over the cap, no call that fits refused", () => {
  const SCOPES: { spec: RuleSpec; attrs: Record<string, string> }[] = [
    { spec: { scope: "account", capUsd: "1.00" }, attrs: {} },
    { spec: { scope: "tenant", id: "acme", capUsd: "1.00" }, attrs: { tenant: "acme" } },
    { spec: { scope: "feature", id: "*", capUsd: "1.00" }, attrs: { feature: "chat" } },
    { spec: { scope: "key", id: "*", capUsd: "1.00" }, attrs: {} },
    { spec: { scope: "user", id: "u1", capUsd: "1.00", period: "day" }, attrs: { user: "u1" } },
    { spec: { scope: "env", id: "production", capUsd: "1.00", period: "week" }, attrs: {} },
    { spec: { scope: "workflow", id: "*", capUsd: "1.00", period: "total" }, attrs: { workflow: "run-1" } },
  ];
  const worst = nano("0.02");
  it.each(SCOPES.map((s) => [s.spec.scope, s] as const))(
    "%s",
    async (_, { spec, attrs }) => {
      const f = await fixture(t.redis, [spec]);
      // Each call holds $0.02, is "in flight" for a few ms, and costs between $0.012 and $0.02.
      const results = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const a = await admit(t.redis, f.input({ ...attrs, worstCaseNano: worst, now: NOW, maxWaitMs: 15_000 }));
          if (a.kind !== "allowed") return { a, actual: 0n };
          await sleep(5 + (i % 7));
          const actual = nano("0.012") + BigInt(i % 9) * nano("0.001");
          await settleAs(a.reservation, actual);
          return { a, actual };
        }),
      );
      const spent = results.reduce((s, r) => s + r.actual, 0n);
      expect(spent).toBeLessThanOrEqual(nano("1.00"));
      const denied = results.filter((r) => r.a.kind !== "allowed");
      // Every refusal is "cannot fit": settled spend + worst case over the cap at the time, never "not yet".
      for (const d of denied) expect(d.a).toMatchObject({ kind: "denied", reason: "cap" });
      // So the last call's worst case is the only room left unused.
      expect(spent).toBeGreaterThan(nano("1.00") - worst);
      expect(Number(spent) / 1e9).toBeGreaterThanOrEqual(0.95 * 1.0);
      const status = (await budgetStatus(t.redis, f.accountId, f.rules, NOW)).get(f.rules[0]!.id)!;
      expect(status).toMatchObject({ spentNano: spent, reservedNano: 0n });
      expect(await t.redis.keys(`tg:{${f.accountId}}:b[qw]:*`)).toEqual([]);
    },
    60_000,
  );
});
