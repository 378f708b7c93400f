/**
 * The usage API's HTTP layer over a real Postgres, without the Worker: the sub-apps mounted on a
 * test app whose middleware sets the db and the caller (as requireGatewayKey would). Auth itself
 * (401) is covered end to end in test/e2e/reports.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminApi } from "../../src/http/admin";
import { accountsAdmin } from "../../src/http/admin/accounts";
import { apiErrorResponse, newApi } from "../../src/http/app";
import { buildOpenApiDocument, mountOpenApi } from "../../src/http/openapi";
import { usageAdmin, usageV1 } from "../../src/http/usage";
import { outcomesV1 } from "../../src/http/v1/outcomes";
import { requestsApi } from "../../src/http/v1/requests";
import { usageCsv } from "../../src/reports/csv";
import { insertRecords, newAccount, record, startTestDb, type TestDb } from "./reports-fixtures";

let t: TestDb;
const A = "acc_http_a";
const B = "acc_http_b";

function app(accountId: string) {
  const v1 = newApi();
  v1.use("*", async (c, next) => {
    c.set("db", t.db as never);
    c.set("caller", { accountId, keyId: "key_1", environment: null });
    await next();
  });
  v1.route("/", usageV1);
  v1.route("/", outcomesV1);
  v1.onError(apiErrorResponse);
  const admin = newApi();
  admin.use("*", async (c, next) => {
    c.set("db", t.db as never);
    await next();
  });
  admin.route("/", usageAdmin);
  admin.route("/", accountsAdmin);
  admin.onError(apiErrorResponse);
  const root = newApi();
  root.route("/v1", v1);
  root.route("/admin/v1", admin);
  mountOpenApi(root, [
    { path: "/admin/v1", api: admin },
    { path: "/v1", api: v1 },
  ]);
  return root;
}

const get = (path: string, headers: Record<string, string> = {}, account = A) =>
  app(account).request(path, { headers });
const send = (method: string, path: string, body: unknown, account = A) =>
  app(account).request(path, { method, body: JSON.stringify(body), headers: { "content-type": "application/json" } });
const issuePaths = async (res: Response) =>
  ((await res.json()) as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path).sort();

beforeAll(async () => {
  t = await startTestDb();
  await newAccount(t.db, A);
  await newAccount(t.db, B);
  await insertRecords(t.db, [
    record(A, {
      id: "r1",
      feature: "chat",
      tenant: "t1",
      costNano: 1_500_000n,
      startedAt: new Date("2026-02-03T10:00:00Z"),
    }),
    record(A, {
      id: "r2",
      feature: 'say "hi", then',
      tenant: "=cmd",
      costNano: 7n,
      startedAt: new Date("2026-02-04T10:00:00Z"),
    }),
    record(A, {
      id: "r3",
      costNano: 2n,
      workflow: "wf1",
      startedAt: new Date("2026-02-04T11:00:00Z"),
      tags: { team: "x" },
    }),
    record(B, { id: "b1", feature: "chat", costNano: 99n, startedAt: new Date("2026-02-03T10:00:00Z") }),
  ]);
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

const RANGE = "from=2026-02-01&to=2026-03-01T00:00:00Z";

describe("GET /v1/usage", () => {
  it("answers the contract's shape, its own account only", async () => {
    const res = await get(`/v1/usage?${RANGE}&groupBy=feature,tenant&interval=day`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { rows: Record<string, unknown>[]; totals: Record<string, unknown> };
    expect(body.rows).toHaveLength(3);
    expect(body.rows[0]).toMatchObject({
      feature: "chat",
      tenant: "t1",
      periodStart: "2026-02-03T00:00:00.000Z",
      requests: 1,
      costUsd: "0.0015",
    });
    expect(body.rows.find((r) => r.feature === "(unallocated)")).toMatchObject({
      tenant: "(unallocated)",
      costUsd: "0.000000002",
    });
    expect(body.totals).toMatchObject({ requests: 3, costUsd: "0.001500009" });
  });

  it("filters by query parameters, tags included", async () => {
    const res = await get(`/v1/usage?${RANGE}&feature=chat&feature=(unallocated)`);
    expect(((await res.json()) as { totals: { requests: number } }).totals.requests).toBe(2);
    const tag = await get(`/v1/usage?${RANGE}&tag:team=x`);
    expect(((await tag.json()) as { totals: { costUsd: string } }).totals.costUsd).toBe("0.000000002");
  });

  it("buckets and reads dates in tz when asked (an IANA name, never an offset)", async () => {
    // r2 (04T10:00Z) and r3 (04T11:00Z) straddle Pacific/Kiritimati's midnight (+14:00 → 04T10:00Z).
    const res = await get("/v1/usage?from=2026-02-01&to=2026-03-01&interval=day&tz=Pacific/Kiritimati");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { tz: string; from: string; rows: { periodStart: string; requests: number }[] };
    expect(body.tz).toBe("Pacific/Kiritimati");
    expect(body.from).toBe("2026-01-31T10:00:00.000Z");
    expect(body.rows.map((r) => [r.periodStart, r.requests])).toEqual([
      ["2026-02-03T10:00:00.000Z", 1],
      ["2026-02-04T10:00:00.000Z", 2],
    ]);
    const utc = (await (await get(`/v1/usage?${RANGE}&interval=day`)).json()) as { tz?: string; rows: unknown[] };
    expect(utc.tz).toBeUndefined();
    expect(utc.rows).toHaveLength(2);
    expect(await issuePaths(await get("/v1/usage?tz=%2B05:30"))).toEqual(["tz"]);
    expect(await issuePaths(await get("/v1/usage/units?tz=Mars/Olympus"))).toEqual(["tz"]);
  });

  it("top lists say what is past the limit", async () => {
    const res = await get(`/v1/usage/top?${RANGE}&by=feature&limit=1`);
    const body = (await res.json()) as {
      rows: { value: string; costUsd: string }[];
      others: { count: number; requests: number; costUsd: string };
    };
    expect(body.rows.map((r) => r.value)).toEqual(["chat"]);
    expect(body.others).toMatchObject({ count: 2, requests: 2, costUsd: "0.000000009" });
    const all = (await (await get(`/v1/usage/top?${RANGE}&by=feature&limit=10`)).json()) as typeof body;
    expect(all.others).toMatchObject({ count: 0, requests: 0, costUsd: "0.00" });
  });

  it("rejects bad parameters with 400 naming them", async () => {
    const res = await get("/v1/usage?from=yesterday&groupBy=feature,colour&interval=year&format=xml");
    expect(res.status).toBe(400);
    expect(await issuePaths(res)).toEqual(["format", "from", "groupBy", "interval"]);
    expect(await issuePaths(await get("/v1/usage?from=2026-03-01&to=2026-02-01"))).toEqual(["to"]);
    expect(await issuePaths(await get("/v1/usage?tag:no%20spaces=1"))).toEqual(["tag:no spaces"]);
    expect(await issuePaths(await get("/v1/usage?interval=hour&from=2026-01-01&to=2026-03-01"))).toEqual(["to"]);
    expect(await issuePaths(await get("/v1/usage/top?by=colour&limit=0"))).toEqual(["by", "limit"]);
  });

  it("gives CSV for format=csv and for Accept: text/csv, the same rows as JSON", async () => {
    const json = (await (await get(`/v1/usage?${RANGE}&groupBy=feature,tenant`)).json()) as { rows: never[] };
    for (const res of [
      await get(`/v1/usage?${RANGE}&groupBy=feature,tenant&format=csv`),
      await get(`/v1/usage?${RANGE}&groupBy=feature,tenant`, { accept: "text/csv" }),
    ]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
      const csv = await res.text();
      expect(csv).toBe(usageCsv(["feature", "tenant"], json.rows));
      expect(csv.split("\r\n")[0]).toBe(
        "feature,tenant,periodStart,requests,errors,inputTokens,cacheReadTokens,cacheWriteTokens,cacheWrite1hTokens,inputAudioTokens,cacheAudioReadTokens,outputTokens,outputAudioTokens,reasoningTokens,webSearchRequests,costUsd,unpricedRequests,successes,failures,costPerSuccessUsd,outcomeValue",
      );
      expect(csv).toContain(`"say ""hi"", then",'=cmd,`);
    }
  });

  it("serves top lists, units and workflows", async () => {
    const top = (await (await get(`/v1/usage/top?${RANGE}&by=feature&limit=1`)).json()) as {
      rows: { value: string; share: number }[];
    };
    expect(top.rows).toEqual([expect.objectContaining({ value: "chat", costUsd: "0.0015" })]);
    const units = (await (await get(`/v1/usage/units?${RANGE}`)).json()) as { requests: number };
    expect(units.requests).toBe(3);
    const wf = (await (await get(`/v1/usage/workflows?${RANGE}`)).json()) as { rows: { workflow: string }[] };
    expect(wf.rows.map((r) => r.workflow)).toEqual(["wf1"]);
  });
});

describe("outcomes over HTTP", () => {
  it("records an outcome for the caller's own request and workflow", async () => {
    const res = await send("POST", "/v1/requests/r1/outcome", { success: true, value: 3 });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ kind: "request", id: "r1", success: true, value: 3 });
    expect((await send("POST", "/v1/workflows/wf1/outcome", { success: false })).status).toBe(200);
  });

  it("404s for another account's ids and 400s for a bad body", async () => {
    expect((await send("POST", "/v1/requests/b1/outcome", { success: true })).status).toBe(404);
    expect(await issuePaths(await send("POST", "/v1/requests/r1/outcome", { success: "yes", value: "x" }))).toEqual([
      "success",
      "value",
    ]);
  }, 10_000);
});

describe("admin usage and retention", () => {
  it("reads any account, 404 for unknown ones", async () => {
    const res = await get(`/admin/v1/accounts/${B}/usage?${RANGE}`);
    expect(((await res.json()) as { totals: { costUsd: string } }).totals.costUsd).toBe("0.000000099");
    expect((await get(`/admin/v1/accounts/acc_nope/usage?${RANGE}`)).status).toBe(404);
  });

  it("sets retention to 30, 90 or 365 days only", async () => {
    expect(await issuePaths(await send("PUT", `/admin/v1/accounts/${A}/retention`, { days: 45 }))).toEqual(["days"]);
    const ok = await send("PUT", `/admin/v1/accounts/${A}/retention`, { days: 365 });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ accountId: A, retentionDays: 365 });
    expect((await send("PUT", "/admin/v1/accounts/acc_nope/retention", { days: 30 })).status).toBe(404);
  });
});

describe("OpenAPI", () => {
  it("documents the admin API, the usage API and request records in 3.1", () => {
    // As the Worker mounts them: the sub-apps inside the /admin/v1 and /v1 apps (with middleware).
    const adminWithReports = newApi();
    adminWithReports.use("*", async (_c, next) => next());
    adminWithReports.route("/", adminApi);
    adminWithReports.route("/", usageAdmin);
    const v1 = newApi();
    v1.use("*", async (_c, next) => next());
    v1.route("/", requestsApi);
    v1.route("/", usageV1);
    v1.route("/", outcomesV1);
    const doc = buildOpenApiDocument([
      { path: "/admin/v1", api: adminWithReports },
      { path: "/v1", api: v1 },
    ]);
    expect(doc.openapi).toBe("3.1.0");
    const paths = Object.keys(doc.paths);
    for (const p of [
      "/admin/v1/accounts",
      "/admin/v1/accounts/{account}/keys",
      "/admin/v1/accounts/{account}/usage",
      "/admin/v1/accounts/{account}/retention",
      "/v1/usage",
      "/v1/usage/top",
      "/v1/usage/units",
      "/v1/requests/{id}",
      "/v1/requests/{id}/outcome",
      "/v1/workflows/{id}/outcome",
    ]) {
      expect(paths).toContain(p);
    }
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["CostRecord", "UsageReport", "UsageRow"]),
    );
    expect(doc.paths["/v1/usage"].get.security).toEqual([{ gatewayKey: [] }]);
    expect(doc.paths["/admin/v1/accounts"].post.security).toEqual([{ adminToken: [] }]);
    const params = doc.paths["/v1/usage"].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(
      expect.arrayContaining(["from", "to", "groupBy", "interval", "format", "feature", "tenant"]),
    );
  });

  it("serves /openapi.json and a self-contained /docs page", async () => {
    const json = await get("/openapi.json");
    expect(json.status).toBe(200);
    expect(((await json.json()) as { openapi: string }).openapi).toBe("3.1.0");
    const docs = await get("/docs");
    expect(docs.headers.get("content-type")).toMatch(/text\/html/);
    const html = await docs.text();
    expect(html).toContain("/openapi.json");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
  });
});
