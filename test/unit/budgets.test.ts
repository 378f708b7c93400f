/**
 * Budgets against a real redis-server through the real @upstash/redis client: the admission and
 * settle scripts under concurrency, calendar periods, reservation expiry, alerts, soft rules,
 * rate limits, the NOSCRIPT fallback.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admissionError, admit, budgetHeaders, settle } from "../../src/budgets";
import { COUNTER_GRACE_SECONDS } from "../../src/budgets/periods";
import { budgetStatus } from "../../src/budgets/status";
import { usdToNano } from "../../src/lib/money";
import { redisKeys } from "../../src/lib/redis-keys";
import { call, fixture } from "./budgets-fixture";
import { startTestRedis, type TestRedis } from "./budgets-stack";

let t: TestRedis;
beforeAll(async () => {
  t = await startTestRedis();
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0); // Monday 23 November 2026, 12:00 UTC
const nano = (usd: string) => usdToNano(usd);
const rand = (lo: bigint, hi: bigint) => lo + BigInt(Math.floor(Math.random() * Number(hi - lo + 1n)));

/** n calls at once; each admitted one settles with a random actual cost in [lo, hi]. */
async function burst(
  f: Awaited<ReturnType<typeof fixture>>,
  n: number,
  attrs: (i: number) => { tenant?: string; feature?: string },
  worst: bigint,
  lo: bigint,
) {
  const results = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const actual = rand(lo, worst);
      const r = await call(t.redis, f.input({ ...attrs(i), worstCaseNano: worst, now: NOW }), actual);
      return { i, kind: r.admitted.kind, actual, attrs: attrs(i), admitted: r.admitted };
    }),
  );
  return results;
}

describe("admission and settlement", () => {
  it("reserves, settles, reports remaining and spent exactly", async () => {
    const f = await fixture(t.redis, [{ scope: "tenant", id: "acme", capUsd: "1.00" }]);
    const a = await admit(t.redis, f.input({ tenant: "acme", worstCaseNano: nano("0.30"), now: NOW }));
    expect(a.kind).toBe("allowed");
    if (a.kind !== "allowed") return;
    expect(a.remainingNano).toBe(nano("0.70"));
    expect(budgetHeaders(a)).toEqual({ "x-tollgate-budget-remaining": "0.70" });
    let status = await budgetStatus(t.redis, f.accountId, f.rules, NOW);
    expect(status.get(f.rules[0]!.id)).toMatchObject({ spentNano: 0n, reservedNano: nano("0.30") });
    const s = await settle(t.redis, {
      reservation: a.reservation,
      requestId: "req_1",
      actualCostNano: nano("0.123456789"),
      actualTokens: 10,
      now: NOW,
    });
    expect(s.duplicate).toBe(false);
    status = await budgetStatus(t.redis, f.accountId, f.rules, NOW);
    expect(status.get(f.rules[0]!.id)).toMatchObject({ spentNano: nano("0.123456789"), reservedNano: 0n });
    // A retried settle is a no-op.
    const again = await settle(t.redis, {
      reservation: a.reservation,
      requestId: "req_1",
      actualCostNano: nano("0.5"),
      actualTokens: 10,
      now: NOW,
    });
    expect(again.duplicate).toBe(true);
    status = await budgetStatus(t.redis, f.accountId, f.rules, NOW);
    expect(status.get(f.rules[0]!.id)?.spentNano).toBe(nano("0.123456789"));
  });

  it("a call with no applicable rule is allowed without a remaining budget, and other tenants are not counted", async () => {
    const f = await fixture(t.redis, [{ scope: "tenant", id: "acme", capUsd: "1.00" }]);
    const a = await admit(t.redis, f.input({ tenant: "other", now: NOW }));
    expect(a).toMatchObject({ kind: "allowed", remainingNano: null });
    expect(budgetHeaders(a)).toEqual({});
  });

  it("denies a call whose own worst case exceeds the cap, up front, naming scope, cap, spent and period", async () => {
    const f = await fixture(t.redis, [{ scope: "tenant", id: "acme", capUsd: "5.00" }]);
    const a = await admit(t.redis, f.input({ tenant: "acme", worstCaseNano: nano("5.01"), now: NOW }));
    expect(a).toMatchObject({
      kind: "denied",
      reason: "over_cap",
      scopeType: "tenant",
      scopeId: "acme",
      capNano: nano("5"),
    });
    if (a.kind !== "denied") return;
    expect(a.message).toContain('tenant "acme"');
    expect(a.message).toContain("$5.00");
    expect(a.message).toContain("spent $0.00");
    expect(a.message).toContain("month 2026-11");
    const err = admissionError(a, NOW);
    expect(err.status).toBe(402);
    expect(err.kind).toBe("budget_exceeded");
  });

  it("denial message when the cap is nearly used", async () => {
    const f = await fixture(t.redis, [{ scope: "feature", id: "*", capUsd: "1.00", period: "day" }]);
    await call(t.redis, f.input({ feature: "chat", worstCaseNano: nano("0.99"), now: NOW }), nano("0.98"));
    const a = await admit(t.redis, f.input({ feature: "chat", worstCaseNano: nano("0.05"), now: NOW }));
    expect(a.kind).toBe("denied");
    if (a.kind !== "denied") return;
    expect(a.message).toBe(
      `Budget exceeded: feature "chat" (the per-feature rule "*") has spent $0.98 of its $1.00 cap for day 2026-11-23 (UTC); this call could cost up to $0.05 (budget ${f.rules[0]!.id}).`,
    );
    // Another feature has its own counter under the same `*` rule.
    expect((await admit(t.redis, f.input({ feature: "search", worstCaseNano: nano("0.05"), now: NOW }))).kind).toBe(
      "allowed",
    );
  });

  it("a scope's own rule replaces the `*` rule of the same period, not of other periods", async () => {
    const f = await fixture(t.redis, [
      { scope: "tenant", id: "*", capUsd: "1.00", period: "month" },
      { scope: "tenant", id: "big", capUsd: "100.00", period: "month" },
      { scope: "tenant", id: "*", capUsd: "10.00", period: "day" },
    ]);
    const big = await admit(t.redis, f.input({ tenant: "big", worstCaseNano: nano("5"), now: NOW }));
    expect(big.kind).toBe("allowed");
    if (big.kind !== "allowed") return;
    expect(big.reservation.rules.map((r) => [r.scopeId, r.period]).sort()).toEqual([
      ["*", "day"],
      ["big", "month"],
    ]);
    expect((await admit(t.redis, f.input({ tenant: "small", worstCaseNano: nano("5"), now: NOW }))).kind).toBe(
      "denied",
    );
  });

  it("key_unknown, key_revoked, and rules_unknown without a database", async () => {
    const f = await fixture(t.redis, []);
    expect(await admit(t.redis, { ...f.input({ now: NOW }), keyHash: "nope" })).toEqual({ kind: "key_unknown" });
    await t.redis.hset(redisKeys.gatewayKey(f.keyHash), { revoked: "1" });
    expect(await admit(t.redis, f.input({ now: NOW }))).toEqual({ kind: "key_revoked" });
    await t.redis.hset(redisKeys.gatewayKey(f.keyHash), { revoked: "0" });
    await t.redis.del(`tg:{${f.accountId}}:rules:v2`);
    await expect(admit(t.redis, f.input({ now: NOW }))).rejects.toThrow(/not in Redis/);
  });
});

describe("200 concurrent calls never overshoot a hard cap", () => {
  const worst = nano("0.02");
  const lo = nano("0.012");

  it("one tenant cap; another tenant is not blocked", async () => {
    const f = await fixture(t.redis, [{ scope: "tenant", id: "acme", capUsd: "1.00" }]);
    const results = await burst(f, 200, (i) => ({ tenant: i % 10 === 0 ? "other" : "acme" }), worst, lo);
    const acme = results.filter((r) => r.attrs.tenant === "acme");
    const spent = acme.filter((r) => r.kind === "allowed").reduce((s, r) => s + r.actual, 0n);
    expect(spent).toBeLessThanOrEqual(nano("1.00"));
    expect(spent).toBeGreaterThanOrEqual(nano("0.50"));
    expect(acme.some((r) => r.kind === "denied")).toBe(true);
    for (const r of acme) if (r.kind === "denied") expect(admissionError(r.admitted as never, NOW).status).toBe(402);
    expect(results.filter((r) => r.attrs.tenant === "other").every((r) => r.kind === "allowed")).toBe(true);
    const status = (await budgetStatus(t.redis, f.accountId, f.rules, NOW)).get(f.rules[0]!.id)!;
    expect(status).toMatchObject({ spentNano: spent, reservedNano: 0n });
  });

  it("a `*` feature cap: every feature separately", async () => {
    const f = await fixture(t.redis, [{ scope: "feature", id: "*", capUsd: "0.50", period: "day" }]);
    const features = ["chat", "search", "summarize", "agent"];
    const results = await burst(f, 200, (i) => ({ feature: features[i % 4]! }), worst, lo);
    const status = (await budgetStatus(t.redis, f.accountId, f.rules, NOW)).get(f.rules[0]!.id)!;
    for (const feature of features) {
      const spent = results
        .filter((r) => r.attrs.feature === feature && r.kind === "allowed")
        .reduce((s, r) => s + r.actual, 0n);
      expect(spent).toBeLessThanOrEqual(nano("0.50"));
      expect(spent).toBeGreaterThanOrEqual(nano("0.25"));
      expect(status.members?.find((m) => m.value === feature)).toMatchObject({ spentNano: spent, reservedNano: 0n });
    }
  });

  it("two overlapping scopes at once (tenant and feature)", async () => {
    const f = await fixture(t.redis, [
      { scope: "tenant", id: "acme", capUsd: "1.00" },
      { scope: "feature", id: "chat", capUsd: "0.60", period: "week" },
    ]);
    // acme+chat, acme+search, globex+chat
    const combos = [
      { tenant: "acme", feature: "chat" },
      { tenant: "acme", feature: "search" },
      { tenant: "globex", feature: "chat" },
    ];
    const results = await burst(f, 200, (i) => combos[i % 3]!, worst, lo);
    const ok = results.filter((r) => r.kind === "allowed");
    const acme = ok.filter((r) => r.attrs.tenant === "acme").reduce((s, r) => s + r.actual, 0n);
    const chat = ok.filter((r) => r.attrs.feature === "chat").reduce((s, r) => s + r.actual, 0n);
    expect(acme).toBeLessThanOrEqual(nano("1.00"));
    expect(chat).toBeLessThanOrEqual(nano("0.60"));
    expect(chat).toBeGreaterThanOrEqual(nano("0.30"));
    expect(acme).toBeGreaterThanOrEqual(nano("0.50"));
    const denied = results.filter((r) => r.kind === "denied").map((r) => r.admitted as { budgetId: string });
    // Every denial names one of the two rules.
    for (const d of denied) expect(f.rules.map((r) => r.id)).toContain(d.budgetId);
    const status = await budgetStatus(t.redis, f.accountId, f.rules, NOW);
    expect(status.get(f.rules[0]!.id)).toMatchObject({ spentNano: acme, reservedNano: 0n });
    expect(status.get(f.rules[1]!.id)).toMatchObject({ spentNano: chat, reservedNano: 0n });
  });
});

describe("periods (UTC calendar, controlled clock)", () => {
  const cases = [
    ["day", Date.UTC(2026, 10, 23, 23, 59, 59), "2026-11-23", "2026-11-24"],
    ["week", Date.UTC(2026, 10, 29, 23, 59, 59), "2026-W48", "2026-W49"], // Sunday → Monday
    ["month", Date.UTC(2026, 10, 30, 23, 59, 59), "2026-11", "2026-12"],
  ] as const;
  it.each(cases)("%s rolls over after its last second", async (period, last, keyBefore, keyAfter) => {
    const f = await fixture(t.redis, [{ scope: "account", capUsd: "0.10", period }]);
    const first = await call(t.redis, f.input({ worstCaseNano: nano("0.10"), now: last }), nano("0.10"));
    expect(first.admitted.kind).toBe("allowed");
    if (first.admitted.kind === "allowed") expect(first.admitted.reservation.rules[0]!.periodKey).toBe(keyBefore);
    const stillFull = await admit(t.redis, f.input({ worstCaseNano: 1, now: last + 999 }));
    expect(stillFull.kind).toBe("denied");
    const next = await admit(t.redis, f.input({ worstCaseNano: nano("0.10"), now: last + 1000 }));
    expect(next.kind).toBe("allowed");
    if (next.kind === "allowed") expect(next.reservation.rules[0]!.periodKey).toBe(keyAfter);
  });

  it("total never rolls", async () => {
    const f = await fixture(t.redis, [{ scope: "workflow", id: "*", capUsd: "0.10", period: "total" }]);
    await call(t.redis, f.input({ workflow: "run-1", worstCaseNano: nano("0.10"), now: NOW }), nano("0.10"));
    for (const later of [NOW + 86_400_000, Date.UTC(2027, 0, 1), Date.UTC(2030, 5, 1)]) {
      const a = await admit(t.redis, f.input({ workflow: "run-1", worstCaseNano: 1, now: later }));
      expect(a).toMatchObject({ kind: "denied", periodKey: "total" });
    }
    // A new agent run has its own total.
    expect((await admit(t.redis, f.input({ workflow: "run-2", worstCaseNano: 1, now: NOW }))).kind).toBe("allowed");
  });

  it("period counters expire after the period plus grace; total ones never", async () => {
    const f = await fixture(t.redis, [
      { scope: "account", capUsd: "1", period: "day" },
      { scope: "account", capUsd: "1", period: "total" },
    ]);
    await call(t.redis, f.input({ now: NOW }), 5n);
    const day = f.rules.find((r) => r.period === "day")!;
    const total = f.rules.find((r) => r.period === "total")!;
    // Lifetimes count from the Worker's clock (fixed here to 2026-11-23 12:00), whatever Redis's says:
    // the day's counter lives until 2026-11-24 00:00 plus the grace, i.e. 12 h + 2 days from NOW.
    const expected = (Date.UTC(2026, 10, 24) - NOW) / 1000 + COUNTER_GRACE_SECONDS;
    const dayTtl = await t.redis.ttl(`tg:{${f.accountId}}:bs:${day.id}:2026-11-23`);
    expect(dayTtl).toBeGreaterThan(expected - 30);
    expect(dayTtl).toBeLessThanOrEqual(expected);
    expect(await t.redis.ttl(`tg:{${f.accountId}}:bs:${total.id}:total`)).toBe(-1);
  });

  it.each([
    ["10 minutes behind", -600_000],
    ["10 minutes ahead", 600_000],
    ["3 seconds ahead", 3_000],
  ])(
    "a Worker clock %s of Redis's: every key lives as long as it should, none is written expired",
    async (_, skewMs) => {
      const [redisSeconds] = await t.redis.time();
      const now = redisSeconds * 1000 + skewMs;
      const f = await fixture(
        t.redis,
        [
          { scope: "tenant", id: "*", capUsd: "1", period: "day", alertAt: [1] },
          { scope: "tenant", id: "acme", capUsd: "1", period: "total", alertAt: [1] },
        ],
        { now, rpm: 100, tpm: 100_000 },
      );
      const held = await admit(t.redis, f.input({ tenant: "acme", worstCaseNano: nano("0.5"), now }));
      const settledOne = await call(t.redis, f.input({ tenant: "acme", worstCaseNano: nano("0.1"), now }), nano("0.1"));
      expect(held.kind).toBe("allowed");
      expect(settledOne.settled?.crossed.length).toBe(2);
      const keys = await t.redis.keys(`tg:{${f.accountId}}:*`);
      const dayEnd = Math.floor(now / 86_400_000 + 1) * 86_400;
      const lifetimes: Record<string, number> = {};
      for (const key of keys)
        lifetimes[key.replace(`tg:{${f.accountId}}:`, "").replace(/:[^:]+$/, "")] = await t.redis.ttl(key);
      const kinds = Object.keys(lifetimes).map((k) => k.split(":")[0]);
      // spent, reserved, the holds' set, alert markers, settled marker, rate windows: all written.
      for (const kind of ["bs", "br", "bz", "ba", "bset", "rl"]) expect(kinds).toContain(kind);
      for (const [key, ttl] of Object.entries(lifetimes)) {
        if (key === "rules") continue;
        const isTotal = key.includes(f.rules[1]!.id);
        if (isTotal && (key.startsWith("bs:") || key.startsWith("ba:"))) {
          expect(ttl, key).toBe(-1);
          continue;
        }
        expect(ttl, key).toBeGreaterThan(0);
        if (key.startsWith("rl:")) expect(ttl, key).toBeLessThanOrEqual(120);
        else if (!isTotal && !key.startsWith("bset")) {
          // The day's keys: until the Worker's end of day plus the grace, counted from the Worker's now.
          const expected = dayEnd + COUNTER_GRACE_SECONDS - Math.floor(now / 1000);
          expect(ttl, key).toBeGreaterThan(expected - 30);
          expect(ttl, key).toBeLessThanOrEqual(expected);
        }
      }
    },
  );
});

describe("reservations expire when a Worker dies", () => {
  it("admit, never settle, advance the clock past the TTL: the budget is free again", async () => {
    const f = await fixture(t.redis, [{ scope: "tenant", id: "acme", capUsd: "1.00" }]);
    const dead = await admit(
      t.redis,
      f.input({ tenant: "acme", worstCaseNano: nano("0.80"), now: NOW, reservationTtlMs: 60_000 }),
    );
    expect(dead.kind).toBe("allowed");
    // Not allowed to wait: refused, the dead hold still counting.
    expect(
      await admit(t.redis, f.input({ tenant: "acme", worstCaseNano: nano("0.30"), now: NOW + 59_000, maxWaitMs: 0 })),
    ).toMatchObject({ kind: "denied", reason: "in_flight", reservedNano: nano("0.80") });
    const later = await admit(t.redis, f.input({ tenant: "acme", worstCaseNano: nano("0.30"), now: NOW + 60_001 }));
    expect(later.kind).toBe("allowed");
    const status = (await budgetStatus(t.redis, f.accountId, f.rules, NOW + 60_001)).get(f.rules[0]!.id)!;
    expect(status.reservedNano).toBe(nano("0.30"));

    // The dead Worker's settle arrives late after all: its cost counts, nothing is subtracted twice.
    if (dead.kind !== "allowed") return;
    await settle(t.redis, {
      reservation: dead.reservation,
      requestId: "req_dead",
      actualCostNano: nano("0.40"),
      actualTokens: 0,
      now: NOW + 70_000,
    });
    const after = (await budgetStatus(t.redis, f.accountId, f.rules, NOW + 70_000)).get(f.rules[0]!.id)!;
    expect(after).toMatchObject({ spentNano: nano("0.40"), reservedNano: nano("0.30") });
  });
});

describe("alerts", () => {
  it("each threshold fires exactly once per rule and period, also under concurrency", async () => {
    const f = await fixture(t.redis, [{ scope: "account", capUsd: "1.00", alertAt: [50, 80, 100] }]);
    const results = await Promise.all(
      Array.from({ length: 150 }, () =>
        call(t.redis, f.input({ worstCaseNano: nano("0.01"), now: NOW }), nano("0.01")),
      ),
    );
    const crossed = results.flatMap((r) => r.settled?.crossed ?? []);
    expect(crossed.map((c) => c.thresholdPct).sort((a, b) => a - b)).toEqual([50, 80, 100]);
    const fifty = crossed.find((c) => c.thresholdPct === 50)!;
    expect(fifty.spentNano).toBe(nano("0.50"));
    // Each crossing names the call whose settle crossed it (the 50th of $0.01 reaches $0.50).
    for (const r of results) for (const c of r.settled?.crossed ?? []) expect(c.requestId).toBe(r.requestId);
    expect(fifty).toMatchObject({
      budgetId: f.rules[0]!.id,
      scopeType: "account",
      period: "month",
      periodKey: "2026-11",
    });
    // Next month they fire again.
    const next = await call(t.redis, f.input({ worstCaseNano: nano("0.6"), now: Date.UTC(2026, 11, 1) }), nano("0.6"));
    expect(next.settled?.crossed.map((c) => c.thresholdPct)).toEqual([50]);
  });

  it("soft rules never deny, but count and alert", async () => {
    const f = await fixture(t.redis, [{ scope: "user", id: "u1", capUsd: "0.10", mode: "soft", alertAt: [100, 200] }]);
    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        call(t.redis, f.input({ user: "u1", worstCaseNano: nano("0.05"), now: NOW }), nano("0.01")),
      ),
    );
    expect(results.every((r) => r.admitted.kind === "allowed")).toBe(true);
    expect(
      results
        .flatMap((r) => r.settled?.crossed ?? [])
        .map((c) => c.thresholdPct)
        .sort(),
    ).toEqual([100, 200]);
    const status = (await budgetStatus(t.redis, f.accountId, f.rules, NOW)).get(f.rules[0]!.id)!;
    expect(status).toMatchObject({ spentNano: nano("0.40"), reservedNano: 0n });
    // A soft rule gives no remaining-budget header.
    const a = await admit(t.redis, f.input({ user: "u1", now: NOW }));
    expect(a).toMatchObject({ kind: "allowed", remainingNano: null });
  });
});

describe("rate limits (sliding window)", () => {
  it("requests per minute: 429 with retry-after, then admitted again", async () => {
    const f = await fixture(t.redis, [], { rpm: 5 });
    const start = Date.UTC(2026, 10, 23, 12, 0, 0);
    for (let i = 0; i < 5; i++) expect((await admit(t.redis, f.input({ now: start + i }))).kind).toBe("allowed");
    const limited = await admit(t.redis, f.input({ now: start + 10_000 }));
    expect(limited).toMatchObject({ kind: "rate_limited", limit: "requests_per_minute", limitValue: 5 });
    if (limited.kind !== "rate_limited") return;
    // All 5 are in this minute: wait for the next minute, then until the previous one weighs < 1 request.
    expect(limited.retryAfterSeconds).toBe(62);
    const err = admissionError(limited, NOW);
    expect(err.status).toBe(429);
    expect(err.headers["retry-after"]).toBe("62");
    // At 61 s into the next minute... i.e. after retry-after, a call passes; a little before, not.
    expect((await admit(t.redis, f.input({ now: start + 60_000 + 1_000 }))).kind).toBe("rate_limited");
    expect((await admit(t.redis, f.input({ now: start + 10_000 + 62_000 }))).kind).toBe("allowed");
  });

  it("tokens per minute count the estimate, and settle corrects to the actual", async () => {
    const f = await fixture(t.redis, [{ scope: "account", capUsd: "1" }], { tpm: 1000 });
    const start = Date.UTC(2026, 10, 23, 12, 0, 0);
    const a = await admit(t.redis, f.input({ estimatedTokens: 900, now: start }));
    expect(a.kind).toBe("allowed");
    const b = await admit(t.redis, f.input({ estimatedTokens: 200, now: start + 1000 }));
    expect(b).toMatchObject({ kind: "rate_limited", limit: "tokens_per_minute" });
    if (a.kind === "allowed")
      await settle(t.redis, {
        reservation: a.reservation,
        requestId: "req_a",
        actualCostNano: 1,
        actualTokens: 300,
        now: start + 2000,
      });
    expect((await admit(t.redis, f.input({ estimatedTokens: 200, now: start + 3000 }))).kind).toBe("allowed");
    const huge = await admit(t.redis, f.input({ estimatedTokens: 5000, now: start + 4000 }));
    expect(huge).toMatchObject({ kind: "rate_limited", retryAfterSeconds: 60 });
  });
});

describe("scripts", () => {
  it("fall back to EVAL after SCRIPT FLUSH (NOSCRIPT)", async () => {
    const f = await fixture(t.redis, [{ scope: "account", capUsd: "1" }]);
    await t.redis.scriptFlush();
    const r = await call(t.redis, f.input({ now: NOW }), nano("0.01"));
    expect(r.admitted.kind).toBe("allowed");
    expect(r.settled?.duplicate).toBe(false);
  });
});
