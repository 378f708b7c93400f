/** Periods (UTC calendar, ISO weeks) and rule encoding: pure functions, no services. */
import { describe, expect, it } from "vitest";
import { counterExpireAt, isoWeek, periodWindow } from "../../src/budgets/periods";
import { applicableRules, type BudgetRule, encodeRulesIndex, thresholdNano } from "../../src/budgets/rules";

const at = (iso: string) => Date.parse(iso);

describe("periods", () => {
  it.each([
    ["2026-11-23T00:00:00Z", "2026-W48"], // Monday
    ["2026-11-29T23:59:59.999Z", "2026-W48"], // Sunday, last ms
    ["2026-11-30T00:00:00Z", "2026-W49"],
    ["2026-12-31T12:00:00Z", "2026-W53"], // 2026 has 53 ISO weeks (it starts on a Thursday)
    ["2027-01-03T23:59:59Z", "2026-W53"], // still week 53 of 2026
    ["2027-01-04T00:00:00Z", "2027-W01"],
    ["2024-12-30T00:00:00Z", "2025-W01"], // Monday 30 Dec 2024 is in 2025's first week
    ["2021-01-01T00:00:00Z", "2020-W53"],
  ])("ISO week of %s is %s", (iso, key) => {
    expect(periodWindow("week", at(iso)).key).toBe(key);
  });

  it("week windows start on Monday 00:00 UTC and last 7 days", () => {
    const w = periodWindow("week", at("2026-11-26T15:00:00Z"));
    expect(new Date(w.startMs!).toISOString()).toBe("2026-11-23T00:00:00.000Z");
    expect(new Date(w.endMs!).toISOString()).toBe("2026-11-30T00:00:00.000Z");
    expect(isoWeek(at("2026-11-23T00:00:00Z")).week).toBe(48);
  });

  it("day, month (calendar, leap February), total", () => {
    expect(periodWindow("day", at("2026-11-23T23:59:59.999Z")).key).toBe("2026-11-23");
    expect(periodWindow("day", at("2026-11-24T00:00:00Z")).key).toBe("2026-11-24");
    const feb = periodWindow("month", at("2028-02-29T23:59:59Z"));
    expect(feb.key).toBe("2028-02");
    expect(new Date(feb.endMs!).toISOString()).toBe("2028-03-01T00:00:00.000Z");
    expect(periodWindow("month", at("2026-12-31T23:59:59Z")).key).toBe("2026-12");
    expect(periodWindow("month", at("2027-01-01T00:00:00Z")).key).toBe("2027-01");
    expect(periodWindow("total", at("2030-01-01T00:00:00Z"))).toMatchObject({
      key: "total",
      startMs: null,
      endMs: null,
    });
    expect(counterExpireAt(periodWindow("total", 0))).toBeNull();
    expect(counterExpireAt(periodWindow("day", at("2026-11-23T10:00:00Z")))).toBe(
      at("2026-11-24T00:00:00Z") / 1000 + 2 * 86400,
    );
  });
});

describe("rules", () => {
  const rule = (over: Partial<BudgetRule>): BudgetRule => ({
    id: "bud_a",
    accountId: "acc",
    scopeType: "tenant",
    scopeId: "*",
    period: "month",
    capNano: 5_000_000_000n,
    mode: "hard",
    alertAt: [50, 80, 100],
    ...over,
  });

  it("thresholds round up to whole nano-USD", () => {
    expect(thresholdNano(3n, 50)).toBe(2n);
    expect(thresholdNano(5_000_000_000n, 80)).toBe(4_000_000_000n);
    expect(thresholdNano(9_000_000_000_000_000n, 100)).toBe(9_000_000_000_000_000n);
  });

  it("one hash field per scope, every rule of the scope in it", () => {
    const fields = encodeRulesIndex([
      rule({ id: "bud_a" }),
      rule({ id: "bud_b", period: "day", capNano: 3n, mode: "soft", alertAt: [100] }),
      rule({ id: "bud_c", scopeType: "account", scopeId: null, throttleAt: 90 }),
    ]);
    // id, period, cap, mode, throttle mark (0: none), alert thresholds.
    expect(fields).toEqual({
      "tenant|*": "bud_a,month,5000000000,hard,0,50:2500000000/80:4000000000/100:5000000000;bud_b,day,3,soft,0,100:3",
      "account|": "bud_c,month,5000000000,hard,4500000000,50:2500000000/80:4000000000/100:5000000000",
    });
  });

  it("own rules replace `*` rules of the same period; no value, no rule", () => {
    const rules = [
      rule({ id: "star_month" }),
      rule({ id: "star_day", period: "day" }),
      rule({ id: "acme_month", scopeId: "acme" }),
      rule({ id: "acct", scopeType: "account", scopeId: null }),
      rule({ id: "env_prod", scopeType: "env", scopeId: "production" }),
    ];
    const ids = (tenant: string | null) =>
      applicableRules(rules, { accountId: "acc", keyId: "k", tenant, environment: "production" })
        .map((a) => `${a.rule.id}@${a.member}`)
        .sort();
    expect(ids("acme")).toEqual(["acct@_", "acme_month@_", "env_prod@_", "star_day@acme"]);
    expect(ids("globex")).toEqual(["acct@_", "env_prod@_", "star_day@globex", "star_month@globex"]);
    expect(ids(null)).toEqual(["acct@_", "env_prod@_"]);
  });
});
