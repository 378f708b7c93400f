/**
 * A route's response cache through the real gateway: identical calls hit within the TTL (JSON and
 * SSE replayed byte for byte, no upstream call), any differing parameter misses, tenant A never
 * reads tenant B's entry (unless the route says "account"), an entry expires with its TTL, and a hit
 * is recorded at $0 with what it saved — which the units report counts as caching savings.
 */
import { describe, expect, it } from "vitest";
import { usdToNano } from "../../src/lib/money";
import { eventually, newAccount, stack } from "../helpers/gateway";
import { callId, record, upstreamCalls } from "../helpers/proxy";
import { chat, hi, putRoute } from "../helpers/routing";

const ROUTE = "cached";
const body = (extra: Record<string, unknown> = {}) => ({
  model: "gpt-4o-mini",
  max_tokens: 30,
  messages: hi(),
  ...extra,
});

async function call(key: string, b: Record<string, unknown>, headers: Record<string, string> = {}) {
  const id = callId();
  const res = await chat(key, b, { "x-tollgate-route": ROUTE, "x-e2e-call": id, ...headers });
  return { res, text: await res.text(), upstream: () => upstreamCalls(id) };
}

describe("the response cache", () => {
  it("hits within the TTL, misses on any differing parameter, records a hit at $0 with its savings", async () => {
    const acc = await newAccount();
    await putRoute(acc.accountId, ROUTE, {
      targets: [{ provider: "openai", model: "*" }],
      cache: { ttlSeconds: 60, scope: "tenant" },
    });
    const tenant = { "x-tollgate-tenant": "acme" };
    const miss = await call(acc.key, body(), tenant);
    expect(miss.res.status).toBe(200);
    expect(miss.res.headers.get("x-tollgate-cache")).toBe("miss");
    const missRecord = await record(acc.key, miss.res.headers.get("x-tollgate-request-id")!);
    expect(missRecord.cache).toBe("miss");
    expect(usdToNano(missRecord.costUsd)).toBeGreaterThan(0n);

    // Identical (key order and spacing aside): a hit, the same bytes, nothing sent upstream.
    const reordered = { messages: hi(), max_tokens: 30, model: "gpt-4o-mini" };
    const hit = await eventually(async () => {
      const h = await call(acc.key, reordered, tenant);
      return h.res.headers.get("x-tollgate-cache") === "hit" ? h : undefined;
    });
    expect(hit.text).toBe(miss.text);
    expect(await hit.upstream()).toHaveLength(0);
    expect(hit.res.headers.get("x-tollgate-cost-usd")).toBe("0.00");
    expect(hit.res.headers.get("x-tollgate-saved-usd")).toBe(missRecord.costUsd);
    const hitRecord = await record(acc.key, hit.res.headers.get("x-tollgate-request-id")!);
    expect(hitRecord).toMatchObject({
      cache: "hit",
      costUsd: "0.00",
      savedUsd: missRecord.costUsd,
      provider: "openai",
      modelAnswered: missRecord.modelAnswered,
      route: ROUTE,
      status: 200,
      inputTokens: 0,
      outputTokens: 0,
    });

    // Any parameter that differs is another request.
    for (const changed of [
      body({ temperature: 0.5 }),
      body({ max_tokens: 31 }),
      body({ messages: hi("hi!") }),
      body({ user: "u1" }),
    ]) {
      const other = await call(acc.key, changed, tenant);
      expect(other.res.headers.get("x-tollgate-cache"), JSON.stringify(changed)).toBe("miss");
      expect(await other.upstream()).toHaveLength(1);
    }
    // x-tollgate-cache: bypass neither reads nor writes.
    const bypass = await call(acc.key, body(), { ...tenant, "x-tollgate-cache": "bypass" });
    expect(bypass.res.headers.get("x-tollgate-cache")).toBe("bypass");
    expect(await bypass.upstream()).toHaveLength(1);

    // The units report counts what the hit saved as caching savings.
    const units = await fetch(`${stack().gatewayUrl}/v1/usage/units`, {
      headers: { authorization: `Bearer ${acc.key}` },
    });
    const u = (await units.json()) as { cacheSavingsUsd: string };
    expect(usdToNano(u.cacheSavingsUsd)).toBeGreaterThanOrEqual(usdToNano(missRecord.costUsd));
  });

  it("tenant A never sees tenant B's entry; scope account shares them", async () => {
    const acc = await newAccount();
    await putRoute(acc.accountId, ROUTE, {
      targets: [{ provider: "openai", model: "*" }],
      cache: { ttlSeconds: 60, scope: "tenant" },
    });
    const a = await call(acc.key, body(), { "x-tollgate-tenant": "tenant-a" });
    expect(a.res.headers.get("x-tollgate-cache")).toBe("miss");
    await eventually(async () => {
      const again = await call(acc.key, body(), { "x-tollgate-tenant": "tenant-a" });
      return again.res.headers.get("x-tollgate-cache") === "hit" ? true : undefined;
    });
    const b = await call(acc.key, body(), { "x-tollgate-tenant": "tenant-b" });
    expect(b.res.headers.get("x-tollgate-cache")).toBe("miss");
    expect(await b.upstream()).toHaveLength(1);
    const none = await call(acc.key, body());
    expect(none.res.headers.get("x-tollgate-cache")).toBe("miss");

    // Another account with the same route and body never sees this one's entries either.
    const other = await newAccount();
    await putRoute(other.accountId, ROUTE, {
      targets: [{ provider: "openai", model: "*" }],
      cache: { ttlSeconds: 60, scope: "account" },
    });
    const first = await call(other.key, body(), { "x-tollgate-tenant": "tenant-a" });
    expect(first.res.headers.get("x-tollgate-cache")).toBe("miss");
    const shared = await eventually(async () => {
      const h = await call(other.key, body(), { "x-tollgate-tenant": "tenant-b" });
      return h.res.headers.get("x-tollgate-cache") === "hit" ? h : undefined;
    });
    expect(shared.text).toBe(first.text);
  });

  it("a stream is replayed as the same SSE events; an entry is gone after its TTL", async () => {
    const acc = await newAccount();
    await putRoute(acc.accountId, ROUTE, {
      targets: [{ provider: "openai", model: "*" }],
      cache: { ttlSeconds: 1, scope: "tenant" },
    });
    const streamed = body({ stream: true });
    const miss = await call(acc.key, streamed);
    expect(miss.res.headers.get("content-type")).toContain("text/event-stream");
    // The usage chunk Tollgate asked for is not the client's, and not in the entry either.
    expect(miss.text).not.toContain('"usage":{');
    const hit = await eventually(
      async () => {
        const h = await call(acc.key, streamed, { "x-tollgate-include-cost": "1" });
        return h.res.headers.get("x-tollgate-cache") === "hit" ? h : undefined;
      },
      900,
      20,
    );
    expect(hit.res.headers.get("content-type")).toContain("text/event-stream");
    expect(hit.text).toBe(`${miss.text}: x-tollgate-cost-usd=0.00\n\n`);
    expect((await record(acc.key, hit.res.headers.get("x-tollgate-request-id")!)).streamed).toBe(true);

    // Redis expires the entry after its lifetime (Redis's clock: the test's may be shifted).
    await new Promise((r) => setTimeout(r, 2100));
    const later = await call(acc.key, streamed);
    expect(later.res.headers.get("x-tollgate-cache")).toBe("miss");
    expect(await later.upstream()).toHaveLength(1);
  });
});
