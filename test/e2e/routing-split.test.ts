/**
 * A weighted split (A/B of models) through the real gateway, visible in the usage report grouped by
 * route and model; calls without a route stay "(unallocated)" there. Each failed attempt of a chain
 * is a request of its own in the reports, so what retries cost shows in cost per successful outcome.
 */
import { describe, expect, it } from "vitest";
import { newAccount, stack } from "../helpers/gateway";
import { chat, hi, putRoute } from "../helpers/routing";

interface UsageRow {
  route: string;
  model: string;
  requests: number;
  errors: number;
  costUsd: string;
}

async function usage(key: string, query: string): Promise<{ rows: UsageRow[]; totals: UsageRow }> {
  const res = await fetch(`${stack().gatewayUrl}/v1/usage?${query}`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as { rows: UsageRow[]; totals: UsageRow };
}

describe("weighted split", () => {
  it("splits first attempts by weight; groupBy=route,model shows the split", async () => {
    const acc = await newAccount();
    await putRoute(acc.accountId, "ab", {
      targets: [
        { provider: "openai", model: "gpt-4o-mini", weight: 1 },
        { provider: "openai", model: "gpt-4.1-mini", weight: 1 },
      ],
    });
    const N = 40;
    const res = await Promise.all(
      Array.from({ length: N }, () => chat(acc.key, { model: "any", messages: hi() }, { "x-tollgate-route": "ab" })),
    );
    expect(res.map((r) => r.status)).toEqual(Array(N).fill(200));
    const models = await Promise.all(res.map(async (r) => ((await r.json()) as { model: string }).model));
    const a = models.filter((m) => m === "gpt-4o-mini").length;
    expect(a).toBeGreaterThan(0);
    expect(a).toBeLessThan(N);
    await chat(acc.key, { model: "gpt-4o-mini", messages: hi() });

    // Records reach Postgres within a couple of seconds; poll until all N + 1 are in.
    let report = await usage(acc.key, "groupBy=route,model&interval=none");
    for (let i = 0; i < 40 && report.totals.requests < N + 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      report = await usage(acc.key, "groupBy=route,model&interval=none");
    }
    const rows = report.rows.map((r) => [r.route, r.model, r.requests]);
    expect(rows).toEqual(
      expect.arrayContaining([
        ["ab", "gpt-4o-mini", a],
        ["ab", "gpt-4.1-mini", N - a],
        ["(unallocated)", "gpt-4o-mini", 1],
      ]),
    );
    expect(rows).toHaveLength(3);
    const filtered = await usage(acc.key, "groupBy=model&route=ab&interval=none");
    expect(filtered.totals.requests).toBe(N);
  });

  it("a chain's failed attempts count as requests and errors of the route", async () => {
    const acc = await newAccount();
    await putRoute(acc.accountId, "retry", {
      targets: [
        { provider: "openai", model: "gpt-4o" },
        { provider: "openai", model: "gpt-4o-mini" },
      ],
    });
    const res = await chat(
      acc.key,
      { model: "gpt-4o", messages: hi() },
      { "x-tollgate-route": "retry", "x-double-status-for": "gpt-4o=503" },
    );
    expect(res.status).toBe(200);
    let report = await usage(acc.key, "groupBy=route&interval=none");
    for (let i = 0; i < 40 && report.totals.requests < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      report = await usage(acc.key, "groupBy=route&interval=none");
    }
    expect(report.rows).toEqual([expect.objectContaining({ route: "retry", requests: 2, errors: 1 })]);
  });
});
