/**
 * Budgets through the real gateway and the real SDKs: 402 in each provider's own error shape
 * (naming scope, cap, spent and period), the remaining-budget header, 429 with retry-after, and
 * the admin API showing what was spent.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { admin, eventually, newAccount, stack } from "../helpers/gateway";

const openai = (key: string, headers: Record<string, string> = {}) =>
  new OpenAI({ apiKey: key, baseURL: `${stack().gatewayUrl}/proxy/openai`, maxRetries: 0, defaultHeaders: headers });
const anthropic = (key: string, headers: Record<string, string> = {}) =>
  new Anthropic({
    apiKey: key,
    baseURL: `${stack().gatewayUrl}/proxy/anthropic`,
    maxRetries: 0,
    defaultHeaders: headers,
  });

async function budget(accountId: string, body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await admin<{ id: string }>("POST", `/accounts/${accountId}/budgets`, body);
  expect(res.status).toBe(201);
  return res.body;
}

describe("budgets through the proxy", () => {
  it("OpenAI shape: 402 budget_exceeded naming scope, cap, spent and period; other tenants pass", async () => {
    const acc = await newAccount();
    await budget(acc.accountId, { scope: { type: "tenant", id: "acme" }, period: "month", capUsd: "0.0001" });
    const err = await openai(acc.key, { "x-tollgate-tenant": "acme" })
      .chat.completions.create({ model: "gpt-4o-mini", max_tokens: 1000, messages: [{ role: "user", content: "hi" }] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(402);
    expect(e.type).toBe("budget_exceeded");
    expect(e.code).toBe("budget_exceeded");
    expect(e.message).toContain('tenant "acme"');
    expect(e.message).toContain("$0.0001");
    expect(e.message).toContain("spent $0.00");
    expect(e.message).toMatch(/month \d{4}-\d\d/);
    const other = await openai(acc.key, { "x-tollgate-tenant": "globex" })
      .chat.completions.create({ model: "gpt-4o-mini", max_tokens: 1000, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(other.response.status).toBe(200);
  });

  it("Anthropic shape: 402 budget_exceeded", async () => {
    const acc = await newAccount();
    await budget(acc.accountId, { scope: { type: "feature", id: "*" }, period: "day", capUsd: "0.0001" });
    const err = await anthropic(acc.key, { "x-tollgate-feature": "chat" })
      .messages.create({
        model: "claude-3-5-haiku-20241022",
        max_tokens: 1000,
        messages: [{ role: "user", content: "hi" }],
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Anthropic.APIError);
    const e = err as InstanceType<typeof Anthropic.APIError>;
    expect(e.status).toBe(402);
    expect((e.error as { error?: { type?: string } }).error?.type).toBe("budget_exceeded");
    const message = (e.error as { error?: { message?: string } }).error?.message ?? "";
    expect(message).toContain('feature "chat"');
    expect(message).toMatch(/day \d{4}-\d\d-\d\d/);
  });

  it("admitted calls carry the tightest remaining budget; the admin API shows what was spent", async () => {
    const acc = await newAccount();
    const b = await budget(acc.accountId, { scope: { type: "account" }, period: "month", capUsd: "1.00" });
    const { response } = await openai(acc.key)
      .chat.completions.create({ model: "gpt-4o-mini", max_tokens: 100, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    const remaining = response.headers.get("x-tollgate-budget-remaining");
    expect(remaining).toMatch(/^0\.9\d+$/);
    const spent = await eventually(async () => {
      const list = await admin<{ id: string; spentUsd: string; reservedUsd: string }[]>(
        "GET",
        `/accounts/${acc.accountId}/budgets`,
      );
      const row = list.body.find((x) => x.id === b.id);
      return row && row.spentUsd !== "0.00" && row.reservedUsd === "0.00" ? row : undefined;
    });
    expect(Number(spent.spentUsd)).toBeGreaterThan(0);
    expect(Number(spent.spentUsd)).toBeLessThan(0.01);
  });

  it("rate limit: 429 in the provider's shape with retry-after", async () => {
    const acc = await newAccount();
    const put = await admin("PUT", `/accounts/${acc.accountId}/keys/${acc.keyId}/limits`, { requestsPerMinute: 1 });
    expect(put.status).toBe(200);
    const client = openai(acc.key);
    await client.chat.completions.create({
      model: "gpt-4o-mini",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
    });
    const err = await client.chat.completions
      .create({ model: "gpt-4o-mini", max_tokens: 10, messages: [{ role: "user", content: "hi" }] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(Number(e.headers?.get("retry-after"))).toBeGreaterThan(0);
  });
});
