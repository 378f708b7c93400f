/**
 * Budget alerts end to end: calls through the gateway cross a rule's thresholds, and each
 * threshold reaches the webhook exactly once, signed so that the README's snippet verifies it.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nanoToUsd, usdToNano } from "../../src/lib/money";
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

/** One gpt-4o-mini call for tenant acme with 1000 output tokens; resolves to its request id. */
async function callAs(key: string): Promise<string> {
  const res = await fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      "x-tollgate-tenant": "acme",
      "x-double-output-tokens": "1000",
    },
    body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 1000, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.text();
  expect(res.status).toBe(200);
  return res.headers.get("x-tollgate-request-id")!;
}

describe("budget alerts through the proxy", () => {
  it("the alert names the call that crossed the threshold", async () => {
    const acc = await newAccount();
    const path = `/hooks/${acc.accountId}`;
    expect(
      (await admin("POST", `/accounts/${acc.accountId}/alerts`, { kind: "webhook", url: `${receiver.url}${path}` }))
        .status,
    ).toBe(201);
    const budget = await admin<{ id: string }>("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "tenant", id: "acme" },
      period: "month",
      capUsd: "0.003",
      mode: "soft",
      alertAt: [50],
    });
    expect(budget.status).toBe(201);
    // One call at a time, each settled before the next, so the crossing call is known exactly.
    const calls: { id: string; spentNano: bigint }[] = [];
    let spentNano = 0n;
    while (spentNano < usdToNano("0.0015")) {
      const id = await callAs(acc.key);
      const record = await eventually(async () => {
        const r = await fetch(`${stack().gatewayUrl}/v1/requests/${id}`, {
          headers: { authorization: `Bearer ${acc.key}` },
        });
        return r.status === 200 ? ((await r.json()) as { costUsd: string }) : undefined;
      });
      spentNano += usdToNano(record.costUsd);
      await eventually(async () => {
        const list = await admin<{ id: string; spentUsd: string }[]>("GET", `/accounts/${acc.accountId}/budgets`);
        const rule = list.body.find((b) => b.id === budget.body.id);
        return rule && usdToNano(rule.spentUsd) === spentNano ? true : undefined;
      });
      calls.push({ id, spentNano });
      expect(calls.length).toBeLessThan(10);
    }
    expect(calls.length).toBeGreaterThan(1);
    const crosser = calls.at(-1)!;
    const delivery = await eventually(async () => receiver.received.find((r) => r.path === path), 10_000);
    const event = JSON.parse(delivery.body) as { requestId: string; threshold: number; spentUsd: string };
    expect(event).toMatchObject({ requestId: crosser.id, threshold: 50, spentUsd: nanoToUsd(crosser.spentNano) });
  });

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

    const ids: string[] = [];
    const call = () => callAs(acc.key).then((id) => ids.push(id));
    // Ten calls, five at a time: both thresholds are crossed, some by concurrent calls.
    for (let i = 0; i < 2; i++) await Promise.all(Array.from({ length: 5 }, call));

    const mine = () => receiver.received.filter((r) => r.path === path);
    const deliveries = await eventually(async () => (mine().length >= 2 ? mine() : undefined), 10_000);
    // Give a wrongly duplicated delivery the time to show up before counting.
    await new Promise((r) => setTimeout(r, 500));
    expect(mine()).toHaveLength(2);
    const events = deliveries.map(
      (d) => JSON.parse(d.body) as { threshold: number; budget: { id: string }; requestId: string },
    );
    expect(events.map((e) => e.threshold).sort()).toEqual([50, 80]);
    // Each names one of the calls made (which one depends on how the concurrent settles interleave).
    for (const e of events) expect(ids).toContain(e.requestId);
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
