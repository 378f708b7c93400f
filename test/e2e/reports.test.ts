/**
 * The usage API through the Worker: auth (401 without a key), accounts never see each other's
 * records or outcomes (404), bad parameters (400 naming them), CSV content type, OpenAPI and /docs.
 * Records are seeded straight into the stack's Postgres.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admin, newAccount, stack, type TestAccount } from "../helpers/gateway";

let pool: pg.Pool;
let a: TestAccount;
let b: TestAccount;

const v1 = (path: string, key?: string, init: RequestInit = {}) =>
  fetch(`${stack().gatewayUrl}/v1${path}`, {
    ...init,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      "content-type": "application/json",
      ...(init.headers ?? {}),
    },
  });

async function seed(accountId: string, id: string, feature: string | null, costNano: number) {
  await pool.query(
    `insert into request_records (id, account_id, feature, environment, workflow, provider, model_requested, endpoint,
       streamed, status, cost_nano, priced, usage_source, budget_checked, started_at, finished_at)
     values ($1, $2, $3, 'production', $4, 'openai', 'gpt-4o', '/chat/completions', false, 200, $5, true, 'reported', true,
       '2026-02-03T10:00:00Z', '2026-02-03T10:00:01Z')`,
    [id, accountId, feature, `wf_${id}`, costNano],
  );
}

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: stack().databaseUrl, max: 2 });
  a = await newAccount();
  b = await newAccount();
  await seed(a.accountId, "e2e_a1", "chat", 1_000_000);
  await seed(a.accountId, "e2e_a2", null, 500_000);
  await seed(b.accountId, "e2e_b1", "chat", 7_000_000);
});

afterAll(async () => {
  await pool?.end();
});

const RANGE = "from=2026-02-01&to=2026-03-01";

describe("usage API over HTTP", () => {
  it("401 without a gateway key", async () => {
    expect((await v1(`/usage?${RANGE}`)).status).toBe(401);
    expect((await v1("/requests/e2e_a1/outcome", undefined, { method: "POST", body: '{"success":true}' })).status).toBe(
      401,
    );
  });

  it("reports the key's own account only, with (unallocated)", async () => {
    const res = await v1(`/usage?${RANGE}&groupBy=feature`, a.key);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { rows: { feature: string; costUsd: string }[]; totals: { costUsd: string } };
    expect(body.rows.map((r) => [r.feature, r.costUsd])).toEqual([
      ["chat", "0.001"],
      ["(unallocated)", "0.0005"],
    ]);
    expect(body.totals.costUsd).toBe("0.0015");
  });

  it("400 naming the bad parameters", async () => {
    const res = await v1("/usage?groupBy=colour&interval=fortnight", a.key);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { issues: { path: string }[] } };
    expect(body.error.issues.map((i) => i.path).sort()).toEqual(["groupBy", "interval"]);
  });

  it("CSV with a text/csv content type", async () => {
    const res = await v1(`/usage?${RANGE}&groupBy=feature`, a.key, { headers: { accept: "text/csv" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    expect((await res.text()).split("\r\n")[0]).toMatch(/^feature,periodStart,requests,errors,/);
  });

  it("outcomes: own ids only (404 for another account's)", async () => {
    expect(
      (await v1("/requests/e2e_a1/outcome", a.key, { method: "POST", body: '{"success":true,"value":2}' })).status,
    ).toBe(200);
    expect((await v1("/workflows/wf_e2e_a1/outcome", a.key, { method: "POST", body: '{"success":true}' })).status).toBe(
      200,
    );
    expect((await v1("/requests/e2e_b1/outcome", a.key, { method: "POST", body: '{"success":true}' })).status).toBe(
      404,
    );
    expect((await v1("/workflows/wf_e2e_b1/outcome", a.key, { method: "POST", body: '{"success":true}' })).status).toBe(
      404,
    );
    const res = await v1(`/usage?${RANGE}&feature=chat`, a.key);
    expect(((await res.json()) as { totals: { successes: number; costPerSuccessUsd: string } }).totals).toMatchObject({
      successes: 2,
      costPerSuccessUsd: "0.0005",
    });
  });

  it("admin: any account's usage, 404 for unknown accounts; retention", async () => {
    const res = await admin<{ totals: { costUsd: string } }>("GET", `/accounts/${b.accountId}/usage?${RANGE}`);
    expect(res.status).toBe(200);
    expect(res.body.totals.costUsd).toBe("0.007");
    expect((await admin("GET", `/accounts/acc_nope/usage?${RANGE}`)).status).toBe(404);
    expect((await admin("PUT", `/accounts/${b.accountId}/retention`, { days: 30 })).status).toBe(200);
    expect((await admin("PUT", `/accounts/${b.accountId}/retention`, { days: 7 })).status).toBe(400);
  });

  it("serves /openapi.json (3.1) and /docs", async () => {
    const doc = (await (await fetch(`${stack().gatewayUrl}/openapi.json`)).json()) as {
      openapi: string;
      paths: object;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/usage",
        "/admin/v1/accounts/{account}/usage",
        "/v1/requests/{id}",
        "/admin/v1/accounts/{account}/tenants/{tenant}/share-links",
      ]),
    );
    const docs = await fetch(`${stack().gatewayUrl}/docs`);
    expect(docs.headers.get("content-type")).toMatch(/text\/html/);
  });
});
