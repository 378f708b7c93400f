import { countTokens as cl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { countTokens as o200k } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { estimateInputTokens, estimateOutputTokens, likelyInputTokens, utf8Length } from "./estimate";

const samples: Record<string, string> = {
  prose:
    "The gateway meters every call: tokens and cost per call, attributed to an account, tenant, feature and user, checked against hard budgets before it is forwarded. ".repeat(
      8,
    ),
  markdown:
    "## Budgets\n\n- A rule: scope type (`account`, `tenant`) with an id, or `*`;\n- period (`day`, `week`);\n".repeat(
      8,
    ),
  code: "export function f(a: number, b: string): Record<string, number> {\n  const out = { [b]: a * 2 };\n  return out;\n}\n".repeat(
    8,
  ),
  json: '{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}\n'.repeat(8),
  zh: "人工智能是计算机科学的一个分支，它企图了解智能的实质，并生产出一种新的能以人类智能相似的方式做出反应的智能机器。".repeat(
    4,
  ),
  ja: "東京は日本の首都であり、世界最大の都市圏の一つです。多くの観光客が毎年訪れます。".repeat(4),
  ru: "Москва — столица России, крупнейший по численности населения город страны. ".repeat(6),
  fr: "Le cœur a ses raisons que la raison ne connaît point. Héllo, ça va très bien à côté de l'école. ".repeat(6),
  emoji: "héllo 世界 🎉 party 🎊🎈 time! ".repeat(10),
  numbers: "The values were 1234567, 89.5, 3.14159 and 2026-11-23 at 12:45:00. ".repeat(6),
};

describe("estimateOutputTokens", () => {
  it.each(Object.entries(samples))("%s: at least o200k, within 1.6× of it for Latin text", (name, text) => {
    const est = estimateOutputTokens(text);
    const real = o200k(text);
    expect(est).toBeGreaterThanOrEqual(real);
    if (!["ru", "fr", "zh"].includes(name)) expect(est / real).toBeLessThan(1.45);
    // Never far below the older, less efficient tokenizer either.
    expect(est / cl100k(text)).toBeGreaterThan(0.7);
  });

  it("is 0 for empty text", () => expect(estimateOutputTokens("")).toBe(0));
});

describe("utf8Length", () => {
  it("matches TextEncoder", () => {
    for (const s of ["", "abc", "héllo", "世界", "🎉", "a🎉b世", "\u07ff\u0800"]) {
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
    }
  });
});

describe("likelyInputTokens (records of cut-off streams)", () => {
  const prose =
    "Summarize the quarterly report for the board. Revenue grew 14% year over year, driven by the enterprise tier; churn fell to 2.1%. Highlight risks in the APAC pipeline and the hiring plan.";
  const body = {
    model: "gpt-4o-mini",
    messages: [
      { role: "system", content: "You are a careful financial analyst." },
      { role: "user", content: prose.repeat(20) },
    ],
  };

  it("is far below the worst-case bound yet not below the real count", () => {
    const real = o200k(body.messages.map((m) => m.content).join("\n"));
    const likely = likelyInputTokens(body);
    const bound = estimateInputTokens(body).tokens;
    expect(likely).toBeGreaterThanOrEqual(real);
    expect(likely).toBeLessThan(real * 1.5);
    expect(bound).toBeGreaterThan(likely * 2);
  });
});
