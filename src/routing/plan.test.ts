import { describe, expect, it } from "vitest";
import { planChain } from "./plan";

describe("planChain", () => {
  const targets = [
    { provider: "openai", model: "gpt-4o" },
    { provider: "deepseek", model: "deepseek-chat" },
    { provider: "openai", model: "*" },
  ];

  it("without weights: the listed order, '*' as the model asked", () => {
    expect(planChain(targets, "gpt-4.1", () => 0.99)).toEqual([
      { provider: "openai", model: "gpt-4o" },
      { provider: "deepseek", model: "deepseek-chat" },
      { provider: "openai", model: "gpt-4.1" },
    ]);
  });

  it("with weights: the first by weight, then the others in order; weightless targets only as fallbacks", () => {
    const weighted = [
      { provider: "openai", model: "a", weight: 3 },
      { provider: "openai", model: "b", weight: 1 },
      { provider: "openai", model: "c" },
    ];
    const first = (r: number) => planChain(weighted, null, () => r)[0]!.model;
    expect(first(0)).toBe("a");
    expect(first(0.74)).toBe("a");
    expect(first(0.75)).toBe("b");
    expect(first(0.999)).toBe("b");
    expect(planChain(weighted, null, () => 0.8).map((t) => t.model)).toEqual(["b", "a", "c"]);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 4000; i++) {
      const m = planChain(weighted, null, Math.random)[0]!.model;
      counts[m] = (counts[m] ?? 0) + 1;
    }
    expect(counts.c).toBeUndefined();
    expect(counts.a! / 4000).toBeGreaterThan(0.7);
    expect(counts.a! / 4000).toBeLessThan(0.8);
  });
});
