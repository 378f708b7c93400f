/** Price history: the rate in force at the call's time applies (start dates and time-of-day windows). */
import { describe, expect, it } from "vitest";
import { emptyUsage, type Usage } from "../usage";
import { priceUsage } from "./index";

const usage = (u: Partial<Usage>): Usage => ({ ...emptyUsage(), ...u });
function cost(provider: string, model: string, u: Partial<Usage>, at: string): number {
  const r = priceUsage({ provider, model, usage: usage(u), at: new Date(at) });
  if (!r.priced) throw new Error(r.reason);
  return r.costNano;
}

describe("price history", () => {
  it("o3: $10/$40 before the 2025-06-10 cut, $2/$8 from that day (https://platform.openai.com/docs/pricing)", () => {
    const u = { inputTokens: 1000, outputTokens: 1000 };
    expect(cost("openai", "o3", u, "2025-06-09T23:59:59.999Z")).toBe(10_000_000 + 40_000_000);
    expect(cost("openai", "o3", u, "2025-06-10T00:00:00Z")).toBe(2_000_000 + 8_000_000);
  });

  it("mistral-medium-latest moved to Medium 3.5 rates on 2026-06-16", () => {
    const u = { inputTokens: 1000, outputTokens: 1000 };
    expect(cost("mistral", "mistral-medium-latest", u, "2026-06-15T12:00:00Z")).toBe(400_000 + 2_000_000);
    expect(cost("mistral", "mistral-medium-latest", u, "2026-06-16T12:00:00Z")).toBe(1_500_000 + 7_500_000);
  });

  it("DeepSeek time of day: standard 00:30–16:30 UTC, discounted outside (window edges)", () => {
    const u = { inputTokens: 1000 }; // standard $0.27/M, off-peak $0.135/M
    expect(cost("deepseek", "deepseek-chat", u, "2025-03-03T00:29:59Z")).toBe(135_000);
    expect(cost("deepseek", "deepseek-chat", u, "2025-03-03T00:30:00Z")).toBe(270_000);
    expect(cost("deepseek", "deepseek-chat", u, "2025-03-03T16:29:59.999Z")).toBe(270_000);
    expect(cost("deepseek", "deepseek-chat", u, "2025-03-03T16:30:00Z")).toBe(135_000);
  });

  it("start date and time-of-day combined (deepseek-v4-flash: new list 2026-08-17, peak windows)", () => {
    const u = { inputTokens: 1_000_000 };
    expect(cost("deepseek", "deepseek-v4-flash", u, "2026-08-16T12:00:00Z")).toBe(140_000_000); // $0.14
    expect(cost("deepseek", "deepseek-v4-flash", u, "2026-08-17T12:00:00Z")).toBe(220_000_000); // $0.22
    expect(cost("deepseek", "deepseek-v4-flash", u, "2026-08-17T02:00:00Z")).toBe(440_000_000); // peak $0.44
  });

  it("an override applies from its effectiveFrom only (gpt-4o-audio-preview audio, 2024-12-17)", () => {
    const u = { inputAudioTokens: 1000 };
    expect(cost("openai", "gpt-4o-audio-preview", u, "2024-12-16T23:59:59Z")).toBe(2_500_000); // text rate (genai-prices)
    expect(cost("openai", "gpt-4o-audio-preview", u, "2024-12-17T00:00:00Z")).toBe(40_000_000); // $40/M audio
  });

  it("grok-4-0709 long-context tier only from the override date", () => {
    const u = { inputTokens: 130_000 };
    expect(cost("xai", "grok-4-0709", u, "2025-07-08T12:00:00Z")).toBe(390_000_000); // $3/M flat
    expect(cost("xai", "grok-4-0709", u, "2025-07-09T00:00:00Z")).toBe(780_000_000); // $6/M above 128k
  });
});
