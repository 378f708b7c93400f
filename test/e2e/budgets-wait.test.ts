/**
 * Budgets through the gateway that never overshoot and never refuse a call that fits: the burst
 * from the issue (200 concurrent gpt-4o-mini calls under a $0.01 per-tenant cap, a 600-word
 * prompt, max_tokens 400, answered after 50 ms) uses ≥ 95 % of the cap, refuses only calls that
 * could not fit, and never goes over; the exact input count is asked for only when the bound
 * matters; refusals carry their numbers in both wire formats; an unpriced model never slips past
 * a hard cap.
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { nanoToUsd, usdToNano } from "../../src/lib/money";
import { admin, eventually, newAccount, stack } from "../helpers/gateway";
import { callId, upstreamCalls } from "../helpers/proxy";

const PROMPT = "Summarize the quarterly report for the board: revenue, churn, risks and hiring. ".repeat(50); // ~600 words

function chat(key: string, headers: Record<string, string>, body: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      "x-double-output-tokens": "400",
      "x-double-delay-ms": "50",
      ...headers,
    },
    body: JSON.stringify({
      model: "gpt-4o-mini",
      max_tokens: 400,
      messages: [{ role: "user", content: PROMPT }],
      ...body,
    }),
  });
}

async function recorded(accountId: string, expected: number): Promise<{ n: number; costNano: bigint }> {
  const client = new pg.Client({ connectionString: stack().databaseUrl });
  await client.connect();
  try {
    return await eventually(async () => {
      const r = await client.query(
        "select count(*)::int as n, coalesce(sum(cost_nano), 0)::text as cost from request_records where account_id = $1 and status = 200",
        [accountId],
      );
      return r.rows[0].n === expected ? { n: r.rows[0].n, costNano: BigInt(r.rows[0].cost) } : undefined;
    }, 20_000);
  } finally {
    await client.end();
  }
}

describe("the burst: 200 concurrent calls against a $0.01 per-tenant cap", () => {
  it("≥ 95 % of the cap used, never over, only calls that could not fit refused", async () => {
    const acc = await newAccount();
    const cap = "0.01";
    expect(
      (
        await admin("POST", `/accounts/${acc.accountId}/budgets`, {
          scope: { type: "tenant", id: "*" },
          period: "month",
          capUsd: cap,
        })
      ).status,
    ).toBe(201);
    const id = callId();
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => chat(acc.key, { "x-tollgate-tenant": "acme", "x-e2e-call": id })),
    );
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ error?: Record<string, unknown> }>));
    const admitted = responses.filter((r) => r.status === 200).length;
    expect(responses.every((r) => r.status === 200 || r.status === 402)).toBe(true);
    for (const b of bodies.filter((b) => b.error)) {
      // Refused only when settled spend + its own worst case is over the cap: never "not yet".
      expect(b.error).toMatchObject({ code: "budget_exceeded", reason: "cap" });
      expect(usdToNano(b.error!.spent_usd as string) + usdToNano(b.error!.worst_case_usd as string)).toBeGreaterThan(
        usdToNano(cap),
      );
    }
    const { costNano } = await recorded(acc.accountId, admitted);
    expect(costNano).toBeLessThanOrEqual(usdToNano(cap));
    expect(Number(costNano) / Number(usdToNano(cap))).toBeGreaterThanOrEqual(0.95);
    // The tight path asked the provider for its exact count; the untight one never did (below).
    const counts = (await upstreamCalls(id)).filter((r) => r.path.endsWith("/responses/input_tokens"));
    expect(counts.length).toBeGreaterThan(0);
    // Other tenants have their own counter under the same `*` rule.
    expect((await chat(acc.key, { "x-tollgate-tenant": "globex" })).status).toBe(200);
  }, 90_000);

  it("far from the cap nothing is counted upstream: one admission, no extra call", async () => {
    const acc = await newAccount();
    await admin("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "account" },
      period: "month",
      capUsd: "100",
    });
    const id = callId();
    const res = await chat(acc.key, { "x-e2e-call": id });
    expect(res.status).toBe(200);
    await res.text();
    const calls = await upstreamCalls(id);
    expect(calls.map((c) => c.path)).toEqual(["/openai/v1/chat/completions"]);
  });
});

describe("machine-readable refusals", () => {
  it("402 in the OpenAI shape with limit_source, cap, spent, reserved, worst case and the reset time; same in headers", async () => {
    const acc = await newAccount();
    const rule = await admin<{ id: string }>("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "tenant", id: "acme" },
      period: "month",
      capUsd: "0.0005",
    });
    const first = await chat(acc.key, { "x-tollgate-tenant": "acme" }, { max_tokens: 200 });
    expect(first.status).toBe(200);
    await first.text();
    const spent = await recorded(acc.accountId, 1);
    const refused = await chat(acc.key, { "x-tollgate-tenant": "acme" }, { max_tokens: 500 });
    expect(refused.status).toBe(402);
    const { error } = (await refused.json()) as { error: Record<string, unknown> };
    const now = new Date();
    const resetsAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
    expect(error).toMatchObject({
      type: "budget_exceeded",
      code: "budget_exceeded",
      reason: "cap",
      limit_source: { scope_type: "tenant", scope_id: "acme", value: "acme", rule_id: rule.body.id },
      cap_usd: "0.0005",
      spent_usd: nanoToUsd(spent.costNano),
      reserved_usd: "0.00",
      period: "month",
      resets_at: resetsAt,
      waited_ms: 0,
    });
    expect(usdToNano(error.worst_case_usd as string)).toBeGreaterThan(usdToNano("0.0005") - spent.costNano);
    expect(error).not.toHaveProperty("retry_after_seconds");
    expect(Object.fromEntries(refused.headers)).toMatchObject({
      "x-tollgate-limit-source": `tenant=acme; rule=${rule.body.id}`,
      "x-tollgate-limit-reason": "cap",
      "x-tollgate-limit-cap-usd": "0.0005",
      "x-tollgate-limit-spent-usd": nanoToUsd(spent.costNano),
      "x-tollgate-limit-reserved-usd": "0.00",
      "x-tollgate-worst-case-usd": error.worst_case_usd,
      "x-tollgate-limit-resets-at": resetsAt,
    });
    expect(refused.headers.get("retry-after")).toBeNull();
  });

  it("a call that fits once a hold settles, told not to wait: in_flight with retry-after, in the Anthropic shape", async () => {
    const acc = await newAccount();
    await admin("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "feature", id: "*" },
      period: "day",
      capUsd: "0.05",
    });
    const call = (headers: Record<string, string>) =>
      fetch(`${stack().gatewayUrl}/proxy/anthropic/v1/messages`, {
        method: "POST",
        headers: {
          "x-api-key": acc.key,
          "anthropic-version": "2023-06-01",
          "content-type": "application/json",
          "x-tollgate-feature": "chat",
          ...headers,
        },
        body: JSON.stringify({
          model: "claude-haiku-4-5",
          max_tokens: 6000,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
    // Holds ~$0.03 for 1.5 s.
    const slow = call({ "x-double-delay-ms": "1500", "x-double-output-tokens": "10" });
    await new Promise((r) => setTimeout(r, 300));
    const refused = await call({ "x-tollgate-max-wait-ms": "0" });
    expect(refused.status).toBe(402);
    const body = (await refused.json()) as { type: string; error: Record<string, unknown> };
    expect(body.type).toBe("error");
    expect(body.error).toMatchObject({
      type: "budget_exceeded",
      reason: "in_flight",
      limit_source: { scope_type: "feature", scope_id: "*", value: "chat" },
      spent_usd: "0.00",
      retry_after_seconds: 1,
    });
    expect(usdToNano(body.error.reserved_usd as string)).toBeGreaterThan(0n);
    expect(refused.headers.get("retry-after")).toBe("1");
    // Allowed to wait (the default), the same call goes through once the slow one settles.
    const waited = await call({});
    expect(waited.status).toBe(200);
    expect(Number(waited.headers.get("x-tollgate-budget-waited-ms"))).toBeGreaterThan(0);
    expect((await slow).status).toBe(200);
    // A malformed wait is refused before anything is forwarded.
    expect((await call({ "x-tollgate-max-wait-ms": "soon" })).status).toBe(400);
  });
});

describe("unpriced models never free", () => {
  it("refused with 402 unpriced_model under a hard rule, naming the model and the call that prices it; fine elsewhere", async () => {
    const acc = await newAccount();
    await admin("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "tenant", id: "acme" },
      period: "month",
      capUsd: "5",
    });
    const id = callId();
    const refused = await chat(
      acc.key,
      { "x-tollgate-tenant": "acme", "x-e2e-call": id },
      { model: "acme-private-llm" },
    );
    expect(refused.status).toBe(402);
    const { error } = (await refused.json()) as { error: { code: string; message: string; reason: string } };
    expect(error).toMatchObject({ code: "unpriced_model", type: "unpriced_model", reason: "unpriced_model" });
    expect(error.message).toContain("openai/acme-private-llm");
    expect(error.message).toContain(`PUT /admin/v1/accounts/${acc.accountId}/prices/openai/acme-private-llm`);
    expect(await upstreamCalls(id)).toEqual([]);
    // No hard rule for this tenant: forwarded, recorded unpriced.
    expect((await chat(acc.key, { "x-tollgate-tenant": "globex" }, { model: "acme-private-llm" })).status).toBe(200);
  });

  it("with the account's fallback price: held and recorded at that price, flagged pricedBy fallback", async () => {
    const acc = await newAccount();
    await admin("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "tenant", id: "acme" },
      period: "month",
      capUsd: "5",
    });
    const bad = await admin("PUT", `/accounts/${acc.accountId}/settings`, {
      unpricedFallback: { inputPerMTokUsd: "x" },
    });
    expect(bad.status).toBe(400);
    const set = await admin("PUT", `/accounts/${acc.accountId}/settings`, {
      unpricedFallback: { inputPerMTokUsd: "2.00", outputPerMTokUsd: "8.00" },
    });
    expect(set).toMatchObject({
      status: 200,
      body: { unpricedFallback: { inputPerMTokUsd: "2.00", outputPerMTokUsd: "8.00" } },
    });
    const res = await chat(acc.key, { "x-tollgate-tenant": "acme" }, { model: "acme-private-llm" });
    expect(res.status).toBe(200);
    const usage = ((await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
    const id = res.headers.get("x-tollgate-request-id")!;
    const rec = await eventually(async () => {
      const r = await fetch(`${stack().gatewayUrl}/v1/requests/${id}`, {
        headers: { authorization: `Bearer ${acc.key}` },
      });
      return r.status === 200
        ? ((await r.json()) as { costUsd: string; pricedBy: string; priced: boolean })
        : undefined;
    });
    // $2 / $8 per million, rounded half up to the nano-USD once.
    const expected =
      (BigInt(usage.prompt_tokens) * 2_000_000_000n + BigInt(usage.completion_tokens) * 8_000_000_000n + 500_000n) /
      1_000_000n;
    expect(rec).toMatchObject({ priced: true, pricedBy: "fallback", costUsd: nanoToUsd(expected) });
    // Removed again: refused under the hard rule.
    await admin("PUT", `/accounts/${acc.accountId}/settings`, { unpricedFallback: null });
    expect((await chat(acc.key, { "x-tollgate-tenant": "acme" }, { model: "acme-private-llm" })).status).toBe(402);
  });
});

describe("the wait, per key and per rule, through the admin API", () => {
  it("a key's maxWaitMs 0 refuses at once; a rule's throttleAt is shown and kept", async () => {
    const acc = await newAccount();
    const rule = await admin<{ id: string; throttleAt: number | null }>("POST", `/accounts/${acc.accountId}/budgets`, {
      scope: { type: "account" },
      period: "day",
      capUsd: "0.05",
      throttleAt: 80,
    });
    expect(rule.body.throttleAt).toBe(80);
    expect(
      (await admin("PATCH", `/accounts/${acc.accountId}/budgets/${rule.body.id}`, { throttleAt: 101 })).status,
    ).toBe(400);
    const limits = await admin("PUT", `/accounts/${acc.accountId}/keys/${acc.keyId}/limits`, { maxWaitMs: 0 });
    expect(limits.body).toMatchObject({ maxWaitMs: 0, requestsPerMinute: null });
    // Each call holds ~$0.03 of the $0.05 (50,000 output tokens at $0.60 per million).
    const slow = chat(acc.key, { "x-double-delay-ms": "1500" }, { max_tokens: 50_000 });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const refused = await chat(acc.key, {}, { max_tokens: 50_000 });
    expect(refused.status).toBe(402);
    expect(((await refused.json()) as { error: { reason: string } }).error.reason).toBe("in_flight");
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await slow).status).toBe(200);
  });
});
