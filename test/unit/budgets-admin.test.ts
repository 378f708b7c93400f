/**
 * The budget admin API, the Postgres ⇄ Redis copies (also after a Redis flush), per-key limits,
 * GET /v1/budgets, and alert delivery (signed webhooks with retries, email) — against real Redis
 * (through @upstash/redis) and real Postgres.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertDeliveries } from "../../schema/budgets";
import { accounts, gatewayKeys } from "../../schema/index";
import { deliverAlerts } from "../../src/alerts";
import { verifyWebhook } from "../../src/alerts/sign";
import { admit, settle } from "../../src/budgets";
import type { Config } from "../../src/config";
import { alertsAdmin } from "../../src/http/admin/alerts";
import { budgetsAdmin } from "../../src/http/admin/budgets";
import { limitsAdmin } from "../../src/http/admin/limits";
import { apiErrorResponse, newApi } from "../../src/http/app";
import { keyBudgetsApi } from "../../src/http/v1/budgets";
import { sha256Hex } from "../../src/lib/crypto";
import { newId, randomToken } from "../../src/lib/ids";
import { usdToNano } from "../../src/lib/money";
import { redisKeys } from "../../src/lib/redis-keys";
import { type AlertDouble, startAlertDouble } from "../alert-double/server";
import { startTestPostgres, startTestRedis, type TestPostgres, type TestRedis } from "./budgets-stack";

let r: TestRedis;
let p: TestPostgres;
let double: AlertDouble;
let config: Config;
const ADMIN_TOKEN = "admin-token-for-budget-tests";

beforeAll(async () => {
  [r, p, double] = await Promise.all([startTestRedis(), startTestPostgres(), startAlertDouble()]);
  config = {
    UPSTASH_REDIS_REST_URL: r.url,
    UPSTASH_REDIS_REST_TOKEN: r.token,
    DATABASE_URL: p.url,
    TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    FAIL_MODE: "open",
    upstreamOverrides: {},
  } as Config;
}, 120_000);
afterAll(async () => {
  await Promise.all([r?.stop(), p?.stop(), double?.close()]);
});

function app(caller?: { accountId: string; keyId: string; environment: string | null }) {
  const a = newApi();
  a.use("*", async (c, next) => {
    c.set("config", config);
    c.set("db", p.db);
    if (caller) c.set("caller", caller);
    await next();
  });
  a.route("/", budgetsAdmin);
  a.route("/", alertsAdmin);
  a.route("/", limitsAdmin);
  a.route("/v1", keyBudgetsApi);
  a.onError(apiErrorResponse);
  return a;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies in tests
type Json = any;

async function req(
  method: string,
  path: string,
  body?: unknown,
  caller?: Parameters<typeof app>[0],
): Promise<{ status: number; body: Json }> {
  const res = await app(caller).request(path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** A Redis flush, as far as one account can tell (safe on a shared endpoint, unlike FLUSHALL). */
async function forget(accountId: string, keyHash: string) {
  let cursor = "0";
  do {
    const [next, keys] = await r.redis.scan(cursor, { match: `tg:{${accountId}}:*`, count: 1000 });
    if (keys.length > 0) await r.redis.del(...keys);
    cursor = String(next);
  } while (cursor !== "0");
  await r.redis.del(`tg:key:${keyHash}`);
}

async function newAccount() {
  const accountId = newId("acc");
  const keyId = newId("key");
  const key = `tg_${randomToken(40)}`;
  const keyHash = await sha256Hex(key);
  await p.db.insert(accounts).values({ id: accountId, name: "budget test" });
  await p.db
    .insert(gatewayKeys)
    .values({ id: keyId, accountId, name: "k", owner: "o", environment: null, keyHash, keyPrefix: key.slice(0, 7) });
  const input = (o: { tenant?: string; worst?: string; now?: number; tokens?: number; maxWaitMs?: number } = {}) => ({
    keyHash,
    attribution: { accountId, keyId, tenant: o.tenant ?? null, environment: "production" },
    worstCaseNano: usdToNano(o.worst ?? "0.10"),
    estimatedTokens: o.tokens ?? 10,
    ...(o.maxWaitMs !== undefined ? { maxWaitMs: o.maxWaitMs } : {}),
    now: o.now ?? Date.now(),
  });
  return { accountId, keyId, keyHash, input };
}

describe("admin budgets", () => {
  it("400 names the failing fields", async () => {
    const { accountId } = await newAccount();
    const bad = await req("POST", `/accounts/${accountId}/budgets`, {
      scope: { type: "tenant" },
      period: "year",
      capUsd: "1.2345678901",
      alertAt: [50, 50],
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.error.issues.map((i: { path: string }) => i.path).sort();
    expect(paths).toEqual(["alertAt", "capUsd", "period", "scope.id"]);
    const acc = await req("POST", `/accounts/${accountId}/budgets`, {
      scope: { type: "account", id: "x" },
      period: "day",
      capUsd: "1",
    });
    expect(acc.status).toBe(400);
    expect(acc.body.error.issues[0].path).toBe("scope.id");
    expect(
      (await req("POST", "/accounts/acc_nope/budgets", { scope: { type: "account" }, period: "day", capUsd: "1" }))
        .status,
    ).toBe(404);
  });

  it("create → the hot path sees it (loaded from Postgres on a miss); list shows spent/reserved/remaining exactly; patch; delete", async () => {
    const a = await newAccount();
    const created = await req("POST", `/accounts/${a.accountId}/budgets`, {
      scope: { type: "tenant", id: "*" },
      period: "month",
      capUsd: "1.00",
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      scope: { type: "tenant", id: "*" },
      period: "month",
      capUsd: "1.00",
      mode: "hard",
      alertAt: [50, 80, 100],
      spentUsd: "0.00",
      reservedUsd: "0.00",
      remainingUsd: "1.00",
      members: [],
    });
    const own = await req("POST", `/accounts/${a.accountId}/budgets`, {
      scope: { type: "tenant", id: "acme" },
      period: "month",
      capUsd: "3",
    });
    expect(own.status).toBe(201);

    const deps = { db: () => p.db };
    // Neither the key's hash with limits nor the rules hash is in Redis yet: both come from Postgres.
    const first = await admit(r.redis, a.input({ tenant: "globex", worst: "0.40" }), deps);
    expect(first.kind).toBe("allowed");
    if (first.kind !== "allowed") return;
    await settle(r.redis, {
      reservation: first.reservation,
      requestId: "req_first",
      actualCostNano: usdToNano("0.25"),
      actualTokens: 10,
      now: Date.now(),
    });
    const inFlight = await admit(r.redis, a.input({ tenant: "globex", worst: "0.30" }), deps);
    expect(inFlight.kind).toBe("allowed");
    const acme = await admit(r.redis, a.input({ tenant: "acme", worst: "2.00" }), deps);
    expect(acme.kind).toBe("allowed");

    const list = await req("GET", `/accounts/${a.accountId}/budgets`);
    expect(list.status).toBe(200);
    const star = list.body.find((b: { id: string }) => b.id === created.body.id);
    expect(star).toMatchObject({ spentUsd: "0.25", reservedUsd: "0.30", remainingUsd: "0.45", membersCount: 1 });
    expect(star.members).toEqual([{ id: "globex", spentUsd: "0.25", reservedUsd: "0.30", remainingUsd: "0.45" }]);
    const ownJson = list.body.find((b: { id: string }) => b.id === own.body.id);
    expect(ownJson).toMatchObject({
      spentUsd: "0.00",
      reservedUsd: "2.00",
      remainingUsd: "1.00",
      periodKey: expect.stringMatching(/^\d{4}-\d\d$/),
    });

    // PATCH the cap: the next call sees it at once (refused now, as it may not wait for the hold in flight).
    expect((await admit(r.redis, a.input({ tenant: "acme", worst: "1.50", maxWaitMs: 0 }), deps)).kind).toBe("denied");
    const patched = await req("PATCH", `/accounts/${a.accountId}/budgets/${own.body.id}`, { capUsd: "10" });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ capUsd: "10.00", reservedUsd: "2.00" });
    expect((await admit(r.redis, a.input({ tenant: "acme", worst: "1.50" }), deps)).kind).toBe("allowed");

    // DELETE the tenant's own rule: acme falls back under the `*` rule.
    expect((await req("DELETE", `/accounts/${a.accountId}/budgets/${own.body.id}`)).status).toBe(200);
    expect((await admit(r.redis, a.input({ tenant: "acme", worst: "1.50", maxWaitMs: 0 }), deps)).kind).toBe("denied");
    expect((await req("GET", `/accounts/${a.accountId}/budgets/${own.body.id}`)).status).toBe(404);

    // GET …?value= reads one value's counter of `*` rules.
    const one = await req("GET", `/accounts/${a.accountId}/budgets/${created.body.id}?value=globex`);
    expect(one.body.members).toEqual([{ id: "globex", spentUsd: "0.25", reservedUsd: "0.30", remainingUsd: "0.45" }]);
  });

  it("a Redis flush loses nothing the hot path needs: rules, the key and its limits are rebuilt from Postgres", async () => {
    const a = await newAccount();
    await req("POST", `/accounts/${a.accountId}/budgets`, {
      scope: { type: "account" },
      period: "day",
      capUsd: "0.05",
    });
    const put = await req("PUT", `/accounts/${a.accountId}/keys/${a.keyId}/limits`, {
      requestsPerMinute: 2,
      maxWaitMs: 0,
    });
    expect(put.body).toEqual({ keyId: a.keyId, requestsPerMinute: 2, tokensPerMinute: null, maxWaitMs: 0 });
    const deps = { db: () => p.db };
    const now = Date.UTC(2026, 10, 23, 10, 0, 0);
    expect((await admit(r.redis, a.input({ worst: "0.10", now }), deps)).kind).toBe("denied");
    await forget(a.accountId, a.keyHash);
    // Rules back: still denied; limits back: the third request of the minute is limited.
    expect((await admit(r.redis, a.input({ worst: "0.10", now }), deps)).kind).toBe("denied");
    expect((await admit(r.redis, a.input({ worst: "0.01", now: now + 1 }), deps)).kind).toBe("allowed");
    expect((await admit(r.redis, a.input({ worst: "0.01", now: now + 2 }), deps)).kind).toBe("allowed");
    expect(await admit(r.redis, a.input({ worst: "0.01", now: now + 3 }), deps)).toMatchObject({
      kind: "rate_limited",
      limit: "requests_per_minute",
    });
    expect((await req("GET", `/accounts/${a.accountId}/keys/${a.keyId}/limits`)).body).toMatchObject({
      requestsPerMinute: 2,
      maxWaitMs: 0,
    });
    // The key's wait setting is rebuilt with it.
    expect(await r.redis.hget(redisKeys.gatewayKey(a.keyHash), "mw")).toBe("0");
    // A revoked key stays revoked after a flush (the hash is rebuilt with revoked=1).
    await p.db.update(gatewayKeys).set({ revokedAt: new Date() }).where(eq(gatewayKeys.id, a.keyId));
    await forget(a.accountId, a.keyHash);
    expect(await admit(r.redis, a.input({ now }), deps)).toEqual({ kind: "key_revoked" });
    expect(await admit(r.redis, { ...a.input({ now }), keyHash: "0".repeat(64) }, deps)).toEqual({
      kind: "key_unknown",
    });
  });

  it("GET /v1/budgets: the key's own applicable budgets", async () => {
    const a = await newAccount();
    await req("POST", `/accounts/${a.accountId}/budgets`, {
      scope: { type: "account" },
      period: "month",
      capUsd: "100",
    });
    await req("POST", `/accounts/${a.accountId}/budgets`, {
      scope: { type: "key", id: a.keyId },
      period: "day",
      capUsd: "10",
    });
    await req("POST", `/accounts/${a.accountId}/budgets`, {
      scope: { type: "key", id: "key_other" },
      period: "day",
      capUsd: "10",
    });
    await req("POST", `/accounts/${a.accountId}/budgets`, {
      scope: { type: "tenant", id: "*" },
      period: "week",
      capUsd: "5",
      mode: "soft",
    });
    const caller = { accountId: a.accountId, keyId: a.keyId, environment: null };
    const plain = await req("GET", "/v1/budgets", undefined, caller);
    expect(plain.status).toBe(200);
    expect(plain.body.budgets.map((b: { scope: { type: string } }) => b.scope.type).sort()).toEqual(["account", "key"]);
    const withTenant = await req("GET", "/v1/budgets?tenant=acme", undefined, caller);
    expect(withTenant.body.budgets.find((b: { scope: { type: string } }) => b.scope.type === "tenant")).toMatchObject({
      appliesTo: "acme",
      mode: "soft",
      remainingUsd: "5.00",
    });
  });
});

describe("alerts", () => {
  const crossing = (accountId: string, pct = 80) => ({
    eventId: `bud_x:2026-11:${pct}:_`,
    accountId,
    budgetId: "bud_x",
    scopeType: "tenant" as const,
    scopeId: "acme",
    value: "acme",
    period: "month" as const,
    periodKey: "2026-11",
    mode: "hard" as const,
    thresholdPct: pct,
    capNano: usdToNano("5"),
    spentNano: usdToNano("4.01"),
    requestId: "req_1",
    at: Date.UTC(2026, 10, 23),
  });
  const alertCfg = () => ({
    sealingSecret: ADMIN_TOKEN,
    EMAIL_API_URL: `${double.url}/emails`,
    EMAIL_API_KEY: "re_test",
    EMAIL_FROM: "alerts@tollgate.test",
  });
  const noSleep = async () => {};

  it("channels: create (secret shown once), list, 400s", async () => {
    const a = await newAccount();
    const hook = await req("POST", `/accounts/${a.accountId}/alerts`, { kind: "webhook", url: `${double.url}/hook/a` });
    expect(hook.status).toBe(201);
    expect(hook.body.secret).toMatch(/^whsec_/);
    const list = await req("GET", `/accounts/${a.accountId}/alerts`);
    expect(list.body).toEqual([expect.objectContaining({ id: hook.body.id, kind: "webhook", signed: true })]);
    expect(JSON.stringify(list.body)).not.toContain(hook.body.secret);
    const bad = await req("POST", `/accounts/${a.accountId}/alerts`, { kind: "email", email: "nope" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe("email");
  });

  it("signed webhook + email delivered, every attempt logged, retries with backoff, gives up after the last", async () => {
    const a = await newAccount();
    const secret = "s3cret-s3cret-s3cret";
    const hook = await req("POST", `/accounts/${a.accountId}/alerts`, {
      kind: "webhook",
      url: `${double.url}/hook/${a.accountId}`,
      secret,
    });
    await req("POST", `/accounts/${a.accountId}/alerts`, { kind: "email", email: "ops@example.com" });
    double.script(`/hook/${a.accountId}`, [500, 503]);
    const sleeps: number[] = [];
    await deliverAlerts([crossing(a.accountId)], {
      db: p.db,
      config: alertCfg(),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    const hooks = double.received.filter((x) => x.path === `/hook/${a.accountId}`);
    expect(hooks.map((h) => h.status)).toEqual([500, 503, 200]);
    expect(sleeps).toEqual([500, 1000]);
    const last = hooks[2]!;
    expect(
      await verifyWebhook(secret, last.body, last.headers["x-tollgate-signature"]!, Math.floor(Date.now() / 1000)),
    ).toBe(true);
    expect(await verifyWebhook("wrong-secret-wrong", last.body, last.headers["x-tollgate-signature"]!)).toBe(false);
    expect(JSON.parse(last.body)).toMatchObject({
      type: "budget.threshold_crossed",
      budget: { id: "bud_x", scope: { type: "tenant", id: "acme" }, capUsd: "5.00", period: "month" },
      threshold: 80,
      spentUsd: "4.01",
      scopeValue: "acme",
    });
    const email = double.received.find((x) => x.path === "/emails" && x.body.includes(a.accountId));
    expect(email?.headers.authorization).toBe("Bearer re_test");
    expect(email?.headers["idempotency-key"]).toMatch(/^bud_x:2026-11:80:_\/alr_/);
    expect(JSON.parse(email!.body)).toMatchObject({ from: "alerts@tollgate.test", to: ["ops@example.com"] });

    const log = await req("GET", `/accounts/${a.accountId}/alerts/deliveries`);
    const hookLog = log.body.filter((d: { alertId: string }) => d.alertId === hook.body.id);
    expect(
      hookLog.map((d: { attempt: number; status: string; httpStatus: number }) => [d.attempt, d.status, d.httpStatus]),
    ).toEqual([
      [3, "delivered", 200],
      [2, "failed", 503],
      [1, "failed", 500],
    ]);
    expect(log.body.filter((d: { kind: string }) => d.kind === "email")).toEqual([
      expect.objectContaining({ status: "delivered", target: "ops@example.com", attempt: 1 }),
    ]);

    // Always failing: MAX_ATTEMPTS attempts, the last one gave_up. A 4xx is not retried.
    const b = await newAccount();
    await req("POST", `/accounts/${b.accountId}/alerts`, { kind: "webhook", url: `${double.url}/down/${b.accountId}` });
    await req("POST", `/accounts/${b.accountId}/alerts`, { kind: "webhook", url: `${double.url}/gone/${b.accountId}` });
    double.script(`/down/${b.accountId}`, [500, 500, 500, 500, 500]);
    double.script(`/gone/${b.accountId}`, [404]);
    await deliverAlerts([crossing(b.accountId, 100)], { db: () => p.db, config: alertCfg(), sleep: noSleep });
    const rows = await p.db.select().from(alertDeliveries).where(eq(alertDeliveries.accountId, b.accountId));
    const down = rows.filter((x) => x.target.includes("/down/")).sort((x, y) => x.attempt - y.attempt);
    expect(down.map((x) => x.status)).toEqual(["failed", "failed", "failed", "gave_up"]);
    expect(rows.filter((x) => x.target.includes("/gone/")).map((x) => [x.status, x.httpStatus])).toEqual([
      ["gave_up", 404],
    ]);
  });

  it("no crossings: nothing is read or sent", async () => {
    await deliverAlerts([], {
      db: () => {
        throw new Error("db opened");
      },
      config: alertCfg(),
    });
  });
});
