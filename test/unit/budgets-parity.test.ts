/**
 * The admission script (Lua) and applicableRules (TypeScript, used by GET /v1/budgets) must agree
 * on which rules apply to a call: random rule sets and attributions, against real Redis.
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { admit } from "../../src/budgets";
import { applicableRules, type BudgetRule, SCOPE_TYPES } from "../../src/budgets/rules";
import { writeRulesToRedis } from "../../src/budgets/store";
import { fixture } from "./budgets-fixture";
import { startTestRedis, type TestRedis } from "./budgets-stack";

let t: TestRedis;
beforeAll(async () => {
  t = await startTestRedis();
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

const value = fc.constantFrom("a", "b", "*");
const ruleArb = fc.record({
  scopeType: fc.constantFrom(...SCOPE_TYPES),
  scopeId: value,
  period: fc.constantFrom("day" as const, "week" as const, "month" as const, "total" as const),
  mode: fc.constantFrom("hard" as const, "soft" as const),
});
const attrArb = fc.record({
  tenant: fc.option(fc.constantFrom("a", "b", "*"), { nil: null }),
  feature: fc.option(fc.constantFrom("a", "b"), { nil: null }),
  user: fc.option(fc.constantFrom("a", "b"), { nil: null }),
  workflow: fc.option(fc.constantFrom("a", "b"), { nil: null }),
  environment: fc.constantFrom("a", "b"),
  keyIsA: fc.boolean(),
});

it("Lua and TypeScript find the same rules", async () => {
  const f = await fixture(t.redis, []);
  await fc.assert(
    fc.asyncProperty(fc.array(ruleArb, { maxLength: 12 }), attrArb, async (specs, attrs) => {
      const rules: BudgetRule[] = specs.map((s, i) => ({
        id: `bud_${i}`,
        accountId: f.accountId,
        scopeType: s.scopeType,
        scopeId: s.scopeType === "account" ? null : s.scopeId,
        period: s.period,
        capNano: 1_000_000_000_000n,
        mode: s.mode,
        alertAt: [50],
      }));
      await writeRulesToRedis(t.redis, f.accountId, rules, Date.now());
      const attribution = { ...attrs, accountId: f.accountId, keyId: attrs.keyIsA ? "a" : "b" };
      const a = await admit(t.redis, { ...f.input({ worstCaseNano: 1 }), attribution });
      expect(a.kind).toBe("allowed");
      if (a.kind !== "allowed") return;
      const lua = a.reservation.rules.map((r) => `${r.budgetId}@${r.member}`).sort();
      const ts = applicableRules(rules, attribution)
        .map((x) => `${x.rule.id}@${x.member}`)
        .sort();
      expect(lua).toEqual(ts);
    }),
    { numRuns: 300 },
  );
}, 60_000);
