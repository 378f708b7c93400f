/**
 * Reconciliation through the admin API, against records the gateway itself wrote: the provider's
 * reports uploaded as JSON, as the console's CSV and as multipart files, and fetched with a stored
 * admin key from the cost-API double. The planted differences: a day the provider billed on which
 * the account has no record (an outage), and output tokens the provider billed at twice the rate.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usdToNano } from "../../src/lib/money";
import { type CostApiDouble, openaiCostCsv, startCostApiDouble } from "../cost-api-double/server";
import { admin, eventually, newAccount, stack, type TestAccount } from "../helpers/gateway";

const MODEL = "gpt-4o-mini-2024-07-18";
const ADMIN_KEY = "sk-admin-e2e";

interface Rec {
  startedAt: string;
  inputTokens: number;
  cacheReadTokens: number;
  outputTokens: number;
  costUsd: string;
  ratesApplied: { tokens: Record<string, number> };
}

interface Report {
  id: string;
  source: string;
  period: { from: string; to: string };
  totals: { ourCostUsd: string; theirCostUsd: string | null; flaggedLines: number };
  causes: { code: string; days: string[] }[];
  lines: { day: string; model: string; bucket: string; flagged: boolean; causes: { code: string }[] }[];
}

let double: CostApiDouble;
let acc: TestAccount;
let day: string;
let before: string;
let rates: Record<string, number>;
const sums = { input: 0, cacheRead: 0, output: 0 };

beforeAll(async () => {
  double = await startCostApiDouble();
  acc = await newAccount();
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${acc.key}`,
        "content-type": "application/json",
        "x-double-model": MODEL,
        "x-double-output-tokens": "40000",
        "x-double-cached-tokens": "10",
      },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        max_tokens: 50_000,
        messages: [{ role: "user", content: `question ${i}: ${"many words ".repeat(200)}` }],
      }),
    });
    await res.text();
    expect(res.status).toBe(200);
    const id = res.headers.get("x-tollgate-request-id")!;
    const r = await eventually(async () => {
      const got = await fetch(`${stack().gatewayUrl}/v1/requests/${id}`, {
        headers: { authorization: `Bearer ${acc.key}` },
      });
      return got.status === 200 ? ((await got.json()) as Rec) : undefined;
    });
    sums.input += r.inputTokens;
    sums.cacheRead += r.cacheReadTokens;
    sums.output += r.outputTokens;
    day = r.startedAt.slice(0, 10);
    rates = r.ratesApplied.tokens;
  }
  // The day before: OpenAI billed calls the gateway never saw.
  before = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  double.set("openai", {
    adminKey: ADMIN_KEY,
    usage: [
      { day: before, model: MODEL, input: 200_000, output: 20_000, requests: 2 },
      { day, model: MODEL, input: sums.input, cacheRead: sums.cacheRead, output: sums.output, requests: 3 },
    ],
    prices: () => ({
      input: rates.inputTokens!,
      cacheRead: rates.cacheReadTokens!,
      // Twice Tollgate's output rate.
      output: rates.outputTokens! * 2,
    }),
  });
});
afterAll(() => double?.close());

const range = () => {
  const start = Date.parse(`${before}T00:00:00Z`) / 1000;
  return `start_time=${start}&end_time=${start + 2 * 86_400}&bucket_width=1d&limit=31`;
};
async function openaiApi(path: string, query: string) {
  const res = await fetch(`${double.openaiBase}${path}?${range()}&${query}`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  return res.json();
}

function expectPlanted(r: Report) {
  const flagged = r.lines
    .filter((l) => l.flagged)
    .map((l) => `${l.day} ${l.bucket} ${l.causes.map((c) => c.code).join("+")}`);
  expect(flagged.sort()).toEqual(
    [
      `${before} input missing_day`,
      `${before} output missing_day`,
      `${before} total missing_day`,
      `${day} output bucket_priced_differently`,
      `${day} total bucket_priced_differently`,
    ].sort(),
  );
}

describe("POST /admin/v1/accounts/{account}/reconciliations", () => {
  it("JSON: the Usage and Costs API responses", async () => {
    const usage = await openaiApi("/organization/usage/completions", "group_by=model");
    const costs = await openaiApi("/organization/costs", "group_by=line_item");
    const res = await admin<Report>("POST", `/accounts/${acc.accountId}/reconciliations`, {
      provider: "openai",
      usage,
      costs,
    });
    expect(res.status).toBe(201);
    expect(res.body.period).toEqual({
      from: before,
      to: new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10),
    });
    expectPlanted(res.body);
    const output = res.body.lines.find((l) => l.day === day && l.bucket === "output") as unknown as {
      ourCostUsd: string;
      theirCostUsd: string;
      differencePercent: number;
    };
    expect(usdToNano(output.theirCostUsd)).toBe(2n * usdToNano(output.ourCostUsd));
    expect(output.differencePercent).toBe(-50);

    // Stored, listed, readable.
    const list = await admin<{ id: string; causes: string[] }[]>("GET", `/accounts/${acc.accountId}/reconciliations`);
    expect(list.body[0]).toMatchObject({
      id: res.body.id,
      causes: expect.arrayContaining(["missing_day", "bucket_priced_differently"]),
    });
    const one = await admin<Report>("GET", `/accounts/${acc.accountId}/reconciliations/${res.body.id}`);
    expect(one.body.lines).toEqual(res.body.lines);
    expect((await admin("GET", `/accounts/${acc.accountId}/reconciliations/rec_nope`)).status).toBe(404);
  });

  it("text/csv and multipart/form-data: the console's cost export, with and without the usage JSON", async () => {
    const usage = await openaiApi("/organization/usage/completions", "group_by=model");
    const csv = openaiCostCsv(
      (await openaiApi("/organization/costs", "group_by=line_item")) as Parameters<typeof openaiCostCsv>[0],
    );
    const asCsv = await fetch(
      `${stack().gatewayUrl}/admin/v1/accounts/${acc.accountId}/reconciliations?provider=openai`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${stack().adminToken}`, "content-type": "text/csv" },
        body: csv,
      },
    );
    expect(asCsv.status).toBe(201);
    const costsOnly = (await asCsv.json()) as Report & { compared: { tokens: boolean } };
    expect(costsOnly.compared.tokens).toBe(false);
    expect(costsOnly.lines.find((l) => l.day === before && l.bucket === "total")!.causes[0]!.code).toBe("missing_day");

    const form = new FormData();
    form.set("provider", "openai");
    form.set("file", new Blob([csv], { type: "text/csv" }), "costs.csv");
    form.set("usage", new Blob([JSON.stringify(usage)], { type: "application/json" }), "usage.json");
    const multipart = await fetch(`${stack().gatewayUrl}/admin/v1/accounts/${acc.accountId}/reconciliations`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack().adminToken}` },
      body: form,
    });
    expect(multipart.status).toBe(201);
    expectPlanted((await multipart.json()) as Report);
  });

  it("bad input: 400 naming the fields", async () => {
    const missing = await admin<{ error: { issues: { path: string }[] } }>(
      "POST",
      `/accounts/${acc.accountId}/reconciliations`,
      {
        usage: { data: [] },
        thresholdPercent: -1,
      },
    );
    expect(missing.status).toBe(400);
    expect(missing.body.error.issues.map((i) => i.path).sort()).toEqual(["provider", "thresholdPercent"]);
    const shape = await admin<{ error: { issues: { path: string }[] } }>(
      "POST",
      `/accounts/${acc.accountId}/reconciliations`,
      {
        provider: "openai",
        usage: { object: "list" },
      },
    );
    expect(shape.status).toBe(400);
    expect(shape.body.error.issues[0]!.path).toBe("usage");
    const nothing = await admin("POST", `/accounts/${acc.accountId}/reconciliations`, { provider: "anthropic" });
    expect(nothing.status).toBe(400);
    const csv = await fetch(`${stack().gatewayUrl}/admin/v1/accounts/${acc.accountId}/reconciliations`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack().adminToken}`, "content-type": "text/csv" },
      body: "a,b\n1,2\n",
    });
    expect(csv.status).toBe(400);
    expect(((await csv.json()) as { error: { issues: { path: string }[] } }).error.issues[0]!.path).toBe("provider");
  });
});

describe("a stored admin key: fetched from the provider's API", () => {
  it("PUT …/cost-sources/openai, then POST …/fetch reconciles; a refused key is a 502 kept on the source", async () => {
    const put = await admin<{ hasAdminKey: boolean }>("PUT", `/accounts/${acc.accountId}/cost-sources/openai`, {
      adminApiKey: ADMIN_KEY,
      baseUrl: double.openaiBase,
    });
    expect(put.status).toBe(200);
    expect(JSON.stringify(put.body)).not.toContain(ADMIN_KEY);
    const to = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const fetched = await admin<Report>("POST", `/accounts/${acc.accountId}/cost-sources/openai/fetch`, {
      from: before,
      to,
    });
    expect(fetched.status).toBe(201);
    expect(fetched.body.source).toBe("fetch");
    expectPlanted(fetched.body);
    const sources = await admin<{ lastStatus: string; lastReconciliationId: string }[]>(
      "GET",
      `/accounts/${acc.accountId}/cost-sources`,
    );
    expect(sources.body[0]).toMatchObject({ lastStatus: "ok", lastReconciliationId: fetched.body.id });

    await admin("PUT", `/accounts/${acc.accountId}/cost-sources/openai`, {
      adminApiKey: "sk-admin-wrong",
      baseUrl: double.openaiBase,
    });
    const refused = await admin("POST", `/accounts/${acc.accountId}/cost-sources/openai/fetch`, { from: before, to });
    expect(refused.status).toBe(502);
    const after = await admin<{ lastStatus: string; lastError: string }[]>(
      "GET",
      `/accounts/${acc.accountId}/cost-sources`,
    );
    expect(after.body[0]).toMatchObject({ lastStatus: "error" });
    expect(after.body[0]!.lastError).toContain("401");
    expect((await admin("DELETE", `/accounts/${acc.accountId}/cost-sources/openai`)).status).toBe(200);
    expect((await admin("POST", `/accounts/${acc.accountId}/cost-sources/openai/fetch`, {})).status).toBe(404);
  });
});
