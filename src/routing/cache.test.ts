import { describe, expect, it } from "vitest";
import { cacheKey } from "./cache";
import type { RouteSetting } from "./types";

const route: RouteSetting = {
  name: "r",
  rev: "2026-01-01T00:00:00.000Z",
  targets: [{ provider: "openai", model: "gpt-4o" }],
  cache: { ttlSeconds: 60, scope: "tenant" },
};
const key = (over: Partial<Parameters<typeof cacheKey>[0]>) =>
  cacheKey({
    accountId: "acc",
    route,
    tenant: "a",
    path: "chat/completions",
    body: { model: "m", messages: [1] },
    ...over,
  });

describe("cacheKey", () => {
  it("ignores key order, and changes with any parameter, the tenant, the path and the route's revision", async () => {
    const base = await key({});
    expect(await key({ body: { messages: [1], model: "m" } })).toBe(base);
    expect(await key({ body: { model: "m", messages: [1], temperature: 0 } })).not.toBe(base);
    expect(await key({ body: { model: "m", messages: [2] } })).not.toBe(base);
    expect(await key({ tenant: "b" })).not.toBe(base);
    expect(await key({ tenant: null })).not.toBe(base);
    expect(await key({ path: "responses" })).not.toBe(base);
    expect(await key({ route: { ...route, rev: "later" } })).not.toBe(base);
    expect(base).toMatch(/^tg:\{acc\}:rc:[0-9a-f]{64}$/);
  });

  it("scope account: one entry for every tenant", async () => {
    const shared = { ...route, cache: { ttlSeconds: 60, scope: "account" as const } };
    expect(await key({ route: shared, tenant: "a" })).toBe(await key({ route: shared, tenant: "b" }));
  });
});
