/**
 * The group commit (src/proxy/commit.ts) against a real redis-server through the local Upstash
 * endpoint: a finished call's settle and record ride in the next admit's request (one POST for
 * all of them, the settle first), and a commit no admit takes sends itself after GROUP_COMMIT_MS.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { admit, budgetStatus } from "../../src/budgets";
import { ADMIT_SCRIPT, SETTLE_SCRIPT } from "../../src/budgets/scripts";
import type { Config } from "../../src/config";
import { usdToNano } from "../../src/lib/money";
import { redisKeys } from "../../src/lib/redis-keys";
import { RedisRest } from "../../src/lib/redis-rest";
import { carryCommits, commit, GROUP_COMMIT_MS } from "../../src/proxy/commit";
import type { CostRecord } from "../../src/records/record";
import { costRecord } from "../helpers/records";
import { fixture } from "./budgets-fixture";
import { startTestRedis, type TestRedis } from "./budgets-stack";

let t: TestRedis;
const realFetch = globalThis.fetch;
let posts: string[][] = [];
beforeAll(async () => {
  t = await startTestRedis();
  // Count the requests the lean client makes (and the commands in each).
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    if (String(input).endsWith("/pipeline"))
      posts.push((JSON.parse(String(init?.body)) as string[][]).map((c) => c[0]!));
    return realFetch(input, init);
  }) as typeof fetch;
}, 60_000);
afterEach(() => {
  posts = [];
});
// Scripts already cached (no NOSCRIPT round trip) and a record flush already due (another call
// owns it), so each request counted here is the commit's own.
async function warm() {
  for (const script of [ADMIT_SCRIPT, SETTLE_SCRIPT]) await t.redis.scriptLoad(script.source);
  await t.redis.set(redisKeys.recordFlushDue(), "1", { px: 60_000 });
  posts = [];
}
afterAll(async () => {
  globalThis.fetch = realFetch;
  await t?.stop();
});

const NOW = Date.UTC(2026, 10, 23, 12);
const deps = () => ({
  config: { UPSTASH_REDIS_REST_URL: t.url, UPSTASH_REDIS_REST_TOKEN: t.token } as Config,
  env: {},
  rest: new RedisRest({ UPSTASH_REDIS_REST_URL: t.url, UPSTASH_REDIS_REST_TOKEN: t.token }),
  lazyDb: () => {
    throw new Error("no database in this test");
  },
});

const record = (id: string, accountId: string): CostRecord =>
  costRecord({
    id,
    accountId,
    tenant: "acme",
    modelAnswered: "gpt-4o-mini",
    costNano: usdToNano("0.10"),
    priceVersion: "v",
    latencyMs: 1,
    ttftMs: 1,
    startedAt: new Date(NOW),
    finishedAt: new Date(NOW),
  });

async function queued(id: string): Promise<boolean> {
  const entries = (await t.redis.xrange(redisKeys.recordQueue(), "-", "+")) as unknown as [string, string[]][];
  return entries.some(([, fields]) => (fields[1] ?? "").includes(`"${id}"`));
}

describe("group commit", () => {
  it("the next admit carries a finished call's settle and record in its own request", async () => {
    const f = await fixture(t.redis, [{ scope: "tenant", id: "acme", capUsd: "1.00" }]);
    const d = deps();
    const first = await admit(d.rest, f.input({ tenant: "acme", worstCaseNano: usdToNano("0.80"), now: NOW }));
    if (first.kind !== "allowed") throw new Error("not admitted");
    await warm();
    const settleInput = {
      reservation: first.reservation,
      requestId: "req_a",
      actualCostNano: usdToNano("0.10"),
      actualTokens: 0,
      now: NOW,
    };
    const done = commit({ settle: settleInput, record: record("req_a", f.accountId) }, d);
    // An admit in the same tick as the carry: one POST with the settle first, then the admit.
    const carried = carryCommits(d);
    const second = await admit(
      d.rest,
      f.input({ tenant: "acme", worstCaseNano: usdToNano("0.80"), now: NOW, maxWaitMs: 0 }),
    );
    await Promise.all([carried, done]);
    expect(posts).toEqual([["EVALSHA", "XADD", "SET", "EVALSHA"]]);
    // The settle ran before the admit: the 0.80 hold was gone, 0.10 spent, so 0.80 more fits.
    expect(second.kind).toBe("allowed");
    expect(await queued("req_a")).toBe(true);
    const status = (await budgetStatus(t.redis, f.accountId, f.rules, NOW)).get(f.rules[0]!.id)!;
    expect(status).toMatchObject({ spentNano: usdToNano("0.10"), reservedNano: usdToNano("0.80") });
  });

  it("with no admit to carry it, a commit sends itself after GROUP_COMMIT_MS", async () => {
    const f = await fixture(t.redis, [{ scope: "tenant", id: "acme", capUsd: "1.00" }]);
    const d = deps();
    const a = await admit(d.rest, f.input({ tenant: "acme", worstCaseNano: usdToNano("0.50"), now: NOW }));
    if (a.kind !== "allowed") throw new Error("not admitted");
    await warm();
    const started = performance.now();
    await commit(
      {
        settle: { reservation: a.reservation, requestId: "req_b", actualCostNano: 5n, actualTokens: 0, now: NOW },
        record: record("req_b", f.accountId),
      },
      d,
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(GROUP_COMMIT_MS - 1);
    expect(posts).toEqual([["EVALSHA", "XADD", "SET"]]);
    expect(await queued("req_b")).toBe(true);
    expect((await budgetStatus(t.redis, f.accountId, f.rules, NOW)).get(f.rules[0]!.id)).toMatchObject({
      spentNano: 5n,
      reservedNano: 0n,
    });
  });
});
