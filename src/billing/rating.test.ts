/**
 * Rating math (src/billing/rating.ts) on known usage per plan type, and the property the invoices
 * rest on: a call's billed amount is the increment of P, so Σ billed of any sequence of calls is P
 * of their total, to the nano-USD, for every plan type.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emptyUsage, type Usage } from "../usage";
import type { Plan, PlanDefinition } from "./plan";
import { type CallAmounts, EMPTY_STATE, priceOf, rateCall, ratedWorstNano, totalState } from "./rating";

const plan = (definition: PlanDefinition): Plan => ({ id: "p", name: "p", version: "v1", definition });
const call = (usage: Partial<Usage>, costNano = 0n): CallAmounts => ({
  usage: { ...emptyUsage(), ...usage },
  costNano,
});

function rateAll(p: Plan, calls: CallAmounts[]): bigint[] {
  let st = EMPTY_STATE;
  return calls.map((c) => {
    const r = rateCall(p, st, c);
    st = r.state;
    return r.billedNano;
  });
}

describe("rating on known usage", () => {
  it("markup: 20 % over cost, rounded half up on the period's cumulative cost", () => {
    const p = plan({ kind: "markup", markupBp: 2000, freeAllowanceNano: 0 });
    // 1.2 × 3 = 3.6 → 4; then 7.2 → 7 (billed 3); then 10.8 → 11 (billed 4): Σ 11 = P(9).
    expect(rateAll(p, [call({}, 3n), call({}, 3n), call({}, 3n)])).toEqual([4n, 3n, 4n]);
    expect(priceOf(p.definition, totalState(p, [call({}, 9n)]))).toBe(11n);
  });

  it("at cost (markup 0): billed = cost exactly", () => {
    const p = plan({ kind: "markup", markupBp: 0, freeAllowanceNano: 0 });
    expect(rateAll(p, [call({}, 1_046_000n), call({}, 7n)])).toEqual([1_046_000n, 7n]);
  });

  it("unit: own rates per million tokens per bucket", () => {
    // $3/Mtok input, $0.30 cache read, $15 output.
    const p = plan({
      kind: "unit",
      ratesPerMTokNano: { inputTokens: 3_000_000_000, cacheReadTokens: 300_000_000, outputTokens: 15_000_000_000 },
      freeAllowanceNano: 0,
    });
    // 1,000 input + 2,000 cache read + 500 output = 3,000 + 600 + 7,500 µ$ = 11,100,000 nano.
    expect(rateAll(p, [call({ inputTokens: 1000, cacheReadTokens: 2000, outputTokens: 500 })])).toEqual([11_100_000n]);
    // 1 input token = 3,000 nano exactly; 1 cache read token = 300 nano.
    expect(rateAll(p, [call({ inputTokens: 1 }), call({ cacheReadTokens: 1 })])).toEqual([3000n, 300n]);
  });

  it("unit with a free allowance: the first $0.01 of the period is free", () => {
    const p = plan({ kind: "unit", ratesPerMTokNano: { outputTokens: 10_000_000_000 }, freeAllowanceNano: 10_000_000 });
    // Each call: 400 output tokens = $0.004. Calls 1–2 free, call 3 crosses ($0.012 − $0.01 = $0.002).
    expect(
      rateAll(
        p,
        [1, 2, 3, 4].map(() => call({ outputTokens: 400 })),
      ),
    ).toEqual([0n, 0n, 2_000_000n, 4_000_000n]);
  });

  it("graduated: a free tier, then $2/Mtok, then $1/Mtok with a $5 flat fee on entering it", () => {
    const p = plan({
      kind: "graduated",
      meter: "tokens",
      tiers: [
        { upTo: 1000, ratePerMillion: 0, flatNano: 0 },
        { upTo: 3000, ratePerMillion: 2_000_000_000, flatNano: 0 },
        { upTo: null, ratePerMillion: 1_000_000_000, flatNano: 5_000_000_000 },
      ],
    });
    // 800 free; 800 → 1600: 600 at $2/M = 1,200,000; 1600 → 4000: 1400 at $2/M + 1000 at $1/M + $5.
    expect(rateAll(p, [call({ inputTokens: 800 }), call({ outputTokens: 800 }), call({ inputTokens: 2400 })])).toEqual([
      0n,
      1_200_000n,
      2_800_000n + 1_000_000n + 5_000_000_000n,
    ]);
  });

  it("graduated over cost: the first $1 of cost at cost, the rest at 50 % over", () => {
    const p = plan({
      kind: "graduated",
      meter: "cost",
      tiers: [
        { upTo: 1_000_000_000, ratePerMillion: 1_000_000, flatNano: 0 },
        { upTo: null, ratePerMillion: 1_500_000, flatNano: 0 },
      ],
    });
    expect(rateAll(p, [call({}, 900_000_000n), call({}, 200_000_000n)])).toEqual([900_000_000n, 250_000_000n]);
  });

  it("package: $1 per 1,000 requests started, the first 2,000 free", () => {
    const p = plan({
      kind: "package",
      meter: "requests",
      packageSize: 1000,
      packagePriceNano: 1_000_000_000,
      allowance: 2000,
    });
    const billed = rateAll(
      p,
      Array.from({ length: 3001 }, () => call({})),
    );
    expect(billed.slice(0, 2000).every((b) => b === 0n)).toBe(true);
    expect(billed[2000]).toBe(1_000_000_000n); // request 2,001 opens the first paid package
    expect(billed.slice(2001, 3000).every((b) => b === 0n)).toBe(true);
    expect(billed[3000]).toBe(1_000_000_000n);
  });

  it("the rated worst case bounds what any state can bill the call", () => {
    const defs: PlanDefinition[] = [
      { kind: "markup", markupBp: 1234, freeAllowanceNano: 0 },
      {
        kind: "unit",
        ratesPerMTokNano: { inputTokens: 2_500_000_000, outputTokens: 10_000_000_000 },
        freeAllowanceNano: 0,
      },
      {
        kind: "graduated",
        meter: "tokens",
        tiers: [
          { upTo: 100, ratePerMillion: 0, flatNano: 0 },
          { upTo: 500, ratePerMillion: 9_000_000_000, flatNano: 7 },
          { upTo: null, ratePerMillion: 3_000_000_000, flatNano: 11 },
        ],
      },
      { kind: "package", meter: "tokens", packageSize: 250, packagePriceNano: 40_000, allowance: 0 },
    ];
    fc.assert(
      fc.property(fc.constantFrom(...defs), fc.nat(2000), fc.nat(2000), fc.nat(3000), (d, inT, outT, before) => {
        const p = plan(d);
        const worst = call({ inputTokens: inT, outputTokens: outT }, BigInt(inT * 7 + outT * 31));
        const st = totalState(p, [call({ inputTokens: before }, BigInt(before * 5))]);
        expect(rateCall(p, st, worst).billedNano).toBeLessThanOrEqual(ratedWorstNano(p, worst));
      }),
    );
  });
});

describe("Σ billed = P(period), to the nano-USD", () => {
  const usageArb = fc.record({
    inputTokens: fc.nat(50_000),
    cacheReadTokens: fc.nat(50_000),
    cacheWriteTokens: fc.nat(5_000),
    outputTokens: fc.nat(20_000),
  });
  const callArb = fc.tuple(usageArb, fc.bigInt({ min: 0n, max: 50_000_000n })).map(([u, c]) => call(u, c));
  const defArb: fc.Arbitrary<PlanDefinition> = fc.oneof(
    fc.record({
      kind: fc.constant("markup" as const),
      markupBp: fc.nat(50_000),
      freeAllowanceNano: fc.nat(100_000_000),
    }),
    fc.record({
      kind: fc.constant("unit" as const),
      ratesPerMTokNano: fc.record({
        inputTokens: fc.nat(20_000_000_000),
        cacheReadTokens: fc.nat(2_000_000_000),
        cacheWriteTokens: fc.nat(30_000_000_000),
        outputTokens: fc.nat(80_000_000_000),
      }),
      freeAllowanceNano: fc.nat(100_000_000),
    }),
    fc
      .tuple(fc.nat(100_000), fc.nat(2_000_000), fc.nat(9_000_000_000), fc.nat(9_000_000_000), fc.nat(1_000_000))
      .map(([free, upTo, r1, r2, flat]) => ({
        kind: "graduated" as const,
        meter: "tokens" as const,
        tiers: [
          { upTo: free + 1, ratePerMillion: 0, flatNano: 0 },
          { upTo: free + 2 + upTo, ratePerMillion: r1, flatNano: flat },
          { upTo: null, ratePerMillion: r2, flatNano: flat },
        ],
      })),
    fc.record({
      kind: fc.constant("package" as const),
      meter: fc.constantFrom("tokens" as const, "output_tokens" as const, "requests" as const),
      packageSize: fc.integer({ min: 1, max: 100_000 }),
      packagePriceNano: fc.nat(1_000_000_000),
      allowance: fc.nat(100_000),
    }),
  );

  it("for markup, unit, graduated, package and allowance plans", () => {
    fc.assert(
      fc.property(defArb, fc.array(callArb, { maxLength: 60 }), (d, calls) => {
        const p = plan(d);
        const billed = rateAll(p, calls);
        expect(billed.every((b) => b >= 0n)).toBe(true);
        expect(billed.reduce((s, b) => s + b, 0n)).toBe(priceOf(d, totalState(p, calls)));
      }),
      { numRuns: 300 },
    );
  });
});
