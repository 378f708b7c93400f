/**
 * Budget alerts end to end: calls through the gateway cross a rule's thresholds, and each
 * threshold reaches the webhook exactly once, signed so that the README's snippet verifies it.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AlertDouble, startAlertDouble } from "../alert-double/server";
import { admin, eventually, newAccount, stack } from "../helpers/gateway";

// The README's verification snippet, verbatim in behaviour.
function verifyTollgate(secret: string, rawBody: string, header: string, toleranceSec = 300): boolean {
  const p = Object.fromEntries(header.split(",").map((s) => s.trim().split("=", 2)));
  const t = Number(p.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSec || !p.v1) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${rawBody}`).digest("hex");
  return expected.length === p.v1.length && timingSafeEqual(Buffer.from(expected), Buffer.from(p.v1));
}

let receiver: AlertDouble;
beforeAll(async () => {
  receiver = await startAlertDouble();
});
afterAll(async () => {
  await receiver?.close();
});

describe("budget alerts through the proxy", () => {
  it("each threshold fires once, signed", async () => {
    const acc = await newAccount();
    const path = `/hooks/${acc.accountId}`;
    const channel = await admin<{ secret: string }>("POST", `/accounts/${acc.accountId}/alerts`, {
      kind: "webhook",
      url: `${receiver.url}${path}`,
    });
    expect(channel.status).toBe(201);
    // gpt-4o-mini, 1000 output tokens ≈ $0.0006 a call: $0.003 is crossed at 50 % by the 3rd call.
    const budget = await admin<{ id: string }>("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "tenant", id: "acme" },
      period: "month",
      capUsd: "0.003",
      mode: "soft",
      alertAt: [50, 80],
    });
    expect(budget.status).toBe(201);

    const call = () =>
      fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${acc.key}`,
          "content-type": "application/json",
          "x-tollgate-tenant": "acme",
          "x-double-output-tokens": "1000",
        },
        body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 1000, messages: [{ role: "user", content: "hi" }] }),
      }).then((r) => r.text());
    // Ten calls, five at a time: both thresholds are crossed, some by concurrent calls.
    for (let i = 0; i < 2; i++) await Promise.all(Array.from({ length: 5 }, call));

    const mine = () => receiver.received.filter((r) => r.path === path);
    const deliveries = await eventually(async () => (mine().length >= 2 ? mine() : undefined), 10_000);
    // Give a wrongly duplicated delivery the time to show up before counting.
    await new Promise((r) => setTimeout(r, 500));
    expect(mine()).toHaveLength(2);
    const events = deliveries.map((d) => JSON.parse(d.body) as { threshold: number; budget: { id: string } });
    expect(events.map((e) => e.threshold).sort()).toEqual([50, 80]);
    for (const d of deliveries) {
      expect(d.headers["x-tollgate-event"]).toBe("budget.threshold_crossed");
      expect(verifyTollgate(channel.body.secret, d.body, d.headers["x-tollgate-signature"]!)).toBe(true);
      expect(verifyTollgate("not-the-secret", d.body, d.headers["x-tollgate-signature"]!)).toBe(false);
    }
    const log = await admin<unknown[]>("GET", `/accounts/${acc.accountId}/alerts/deliveries`);
    expect(log.status).toBe(200);
    expect(log.body.length).toBeGreaterThanOrEqual(2);
  });
});
