/**
 * Measures the admission (reserve) and settle script calls through the real client: median and
 * p99 over 2000 sequential calls each, on an account with 5 applicable rules among 10 000
 * per-tenant rules and per-key rate limits. Prints the numbers; asserts only generous bounds.
 *   npx vitest run --project unit test/unit/budgets-bench.test.ts
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { admit, type Reservation, settle } from "../../src/budgets";
import type { BudgetRule } from "../../src/budgets/rules";
import { ADMIT_SCRIPT, SETTLE_SCRIPT } from "../../src/budgets/scripts";
import { writeRulesToRedis } from "../../src/budgets/store";
import { usdToNano } from "../../src/lib/money";
import { fixture } from "./budgets-fixture";
import { startTestRedis, type TestRedis } from "./budgets-stack";

let t: TestRedis;
beforeAll(async () => {
  t = await startTestRedis();
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

const N = Number(process.env.BUDGET_BENCH_CALLS ?? 2000);
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const fmt = (xs: number[]) => `median ${pct(xs, 0.5).toFixed(3)} ms, p99 ${pct(xs, 0.99).toFixed(3)} ms`;

async function serverUsecPerCall(port: number | undefined): Promise<Record<string, string>> {
  if (!port) return {};
  const { connectRedis } = await import("../../scripts/services/redis");
  const conn = await connectRedis({ port });
  try {
    const info = String(await conn.call("INFO", "commandstats"));
    const out: Record<string, string> = {};
    for (const cmd of ["evalsha", "eval"]) {
      const m = new RegExp(`cmdstat_${cmd}:calls=(\\d+),usec=(\\d+),usec_per_call=([\\d.]+)`).exec(info);
      if (m) out[cmd] = `${m[1]} calls, ${m[3]} µs/call in Redis`;
    }
    await conn.call("CONFIG", "RESETSTAT");
    return out;
  } finally {
    await conn.close();
  }
}

it(`reserve and settle: ${N} calls each`, async () => {
  const f = await fixture(
    t.redis,
    [
      { scope: "account", capUsd: "1000000", period: "month" },
      { scope: "tenant", id: "*", capUsd: "100000", period: "month" },
      { scope: "tenant", id: "tenant-42", capUsd: "100000", period: "day" },
      { scope: "feature", id: "*", capUsd: "100000", period: "week", mode: "soft" },
      { scope: "workflow", id: "*", capUsd: "100000", period: "total" },
    ],
    { rpm: 1_000_000, tpm: 1_000_000_000 },
  );
  // 10 000 other tenants with their own rule: the call must not pay for them.
  const many: BudgetRule[] = Array.from({ length: 10_000 }, (_, i) => ({
    ...f.rules[2]!,
    id: `bud_t${i}`,
    scopeId: `tenant-${i + 1000}`,
  }));
  await writeRulesToRedis(t.redis, f.accountId, [...f.rules, ...many], Date.now());

  const reserve: number[] = [];
  const settleMs: number[] = [];
  const reservations: Reservation[] = [];
  // Warm up (EVALSHA → NOSCRIPT → EVAL once, connection reuse).
  for (let i = 0; i < 20; i++) {
    const a = await admit(t.redis, f.input({ tenant: "tenant-42", feature: "chat", workflow: "wf", now: Date.now() }));
    if (a.kind === "allowed")
      await settle(t.redis, {
        reservation: a.reservation,
        requestId: `req_${i}`,
        actualCostNano: 1,
        actualTokens: 100,
        now: Date.now(),
      });
  }
  await serverUsecPerCall(t.redisPort); // resets the server's counters
  for (let i = 0; i < N; i++) {
    const input = f.input({
      tenant: "tenant-42",
      feature: "chat",
      workflow: `wf-${i % 50}`,
      worstCaseNano: usdToNano("0.01"),
      now: Date.now(),
    });
    const t0 = performance.now();
    const a = await admit(t.redis, input);
    reserve.push(performance.now() - t0);
    expect(a.kind).toBe("allowed");
    if (a.kind === "allowed") reservations.push(a.reservation);
  }
  const admitServer = await serverUsecPerCall(t.redisPort);
  for (const reservation of reservations) {
    const t0 = performance.now();
    await settle(t.redis, {
      reservation,
      requestId: "req_bench",
      actualCostNano: usdToNano("0.004"),
      actualTokens: 120,
      now: Date.now(),
    });
    settleMs.push(performance.now() - t0);
  }
  const settleServer = await serverUsecPerCall(t.redisPort);
  expect(reservations[0]!.rules).toHaveLength(5);
  console.log(
    [
      `budget scripts through @upstash/redis → local REST endpoint → redis-server, ${N} sequential calls each,`,
      `5 applicable rules (account, tenant "*" , tenant own, feature "*" soft, workflow "*" total) among 10 005, rpm+tpm limits:`,
      `  admit  (${ADMIT_SCRIPT.sha1.slice(0, 8)}): ${fmt(reserve)}  | ${JSON.stringify(admitServer)}`,
      `  settle (${SETTLE_SCRIPT.sha1.slice(0, 8)}): ${fmt(settleMs)}  | ${JSON.stringify(settleServer)}`,
    ].join("\n"),
  );
  expect(pct(reserve, 0.5)).toBeLessThan(50);
  expect(pct(settleMs, 0.5)).toBeLessThan(50);
}, 120_000);
