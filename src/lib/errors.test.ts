import { describe, expect, it } from "vitest";
import { GatewayError, proxyErrorResponse } from "./errors";

describe("proxy errors", () => {
  it("renders a budget denial in OpenAI's shape with 402", async () => {
    const res = proxyErrorResponse(new GatewayError("budget_exceeded", "tenant acme: cap $5.00"), "openai");
    expect(res.status).toBe(402);
    expect(await res.json()).toEqual({
      error: { message: "tenant acme: cap $5.00", type: "budget_exceeded", param: null, code: "budget_exceeded" },
    });
  });
  it("renders a budget denial in Anthropic's shape with 402", async () => {
    const res = proxyErrorResponse(new GatewayError("budget_exceeded", "over"), "anthropic");
    expect(res.status).toBe(402);
    expect(await res.json()).toEqual({ type: "error", error: { type: "budget_exceeded", message: "over" } });
  });
  it("keeps retry-after on rate limits", () => {
    const res = proxyErrorResponse(new GatewayError("rate_limited", "slow down", { "retry-after": "7" }), "anthropic");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
  });
});
