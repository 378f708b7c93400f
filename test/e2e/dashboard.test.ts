/**
 * The dashboard in headless Chromium (test/helpers/browser.ts) against the real stack: traffic
 * sent through the gateway with the openai SDK (seven tenants, three features, two priced models
 * and one nothing can price), signed in both ways, and every number the overview, budgets and
 * requests pages show compared with the usage API's answer for the same filter — the API is
 * the reference, the page must say the same. Also: creating and deleting a budget, creating and
 * revoking a key (its next proxied call is 401), the CSV download against the API's CSV, day
 * buckets at +05:30 and −08:00 around local midnight (the days add up to the total), a share link
 * that shows one tenant and stops working once expired (a second Worker whose clock is ahead),
 * CSRF and session tampering refused, page weight, and no console errors anywhere.
 */
import { gzipSync } from "node:zlib";
import pg from "pg";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatUsd } from "../../src/http/dashboard/format";
import { CLOCK_OFFSET_BINDING } from "../../src/lib/clock";
import { usdToNano } from "../../src/lib/money";
import { signToken } from "../../src/lib/signed";
import { openBrowser, type TestBrowser } from "../helpers/browser";
import { admin, eventually, newAccount, stack, type TestAccount } from "../helpers/gateway";
import { openaiClient } from "../helpers/proxy";
import { startWorker } from "../setup/worker";

const ZONE = "Asia/Kolkata";
let acc: TestAccount;
let pool: pg.Pool;
const browsers: TestBrowser[] = [];
let calls = 0;

const gw = () => stack().gatewayUrl;
/** Every Set-Cookie of an answer (Node's Headers has getSetCookie; the lib types here do not say so). */
const setCookies = (res: Response) => (res.headers as unknown as { getSetCookie(): string[] }).getSetCookie();

async function browser(opts: Parameters<typeof openBrowser>[0] = {}): Promise<TestBrowser> {
  const b = await openBrowser(opts);
  browsers.push(b);
  return b;
}

/** GET an API path with a credential; JSON. */
async function api<T>(path: string, key: string): Promise<T> {
  const res = await fetch(`${gw()}${path}`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status, `${path}: ${res.status}`).toBe(200);
  return (await res.json()) as T;
}

/** YYYY-MM-DD of an instant in a zone (the test's own calendar, from Intl). */
const localDate = (ms: number, tz: string) =>
  new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(ms);
const addDays = (date: string, n: number) => {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
};

async function signIn(b: TestBrowser, token: string): Promise<void> {
  await b.page.goto(`${gw()}/dashboard/login`);
  await b.page.fill("input[name=token]", token);
  await Promise.all([b.page.waitForNavigation(), b.page.click("button[type=submit]")]);
}

const usdOf = (page: Page, selector: string) => page.locator(selector).first().getAttribute("data-usd");
const textOf = async (page: Page, selector: string) =>
  ((await page.locator(selector).first().textContent()) ?? "").trim();

interface Report {
  rows: Record<string, string | number>[];
  totals: Record<string, string | number | null>;
}
interface Top {
  rows: { value: string; costUsd: string; requests: number }[];
  others: { count: number; costUsd: string; requests: number };
}

/** What the seeding sent: tenant (null = none), feature, model, streamed. */
const TRAFFIC: [string | null, string, string, boolean][] = [
  ["acme", "chat", "gpt-4o-mini", false],
  ["acme", "chat", "gpt-4o", true],
  ["acme", "search", "gpt-4o-mini", false],
  ["globex", "chat", "gpt-4o", false],
  ["globex", "summarize", "gpt-4o-mini", true],
  ["initech", "search", "gpt-4o", false],
  ["initech", "chat", "gpt-4o-mini", false],
  ["umbrella", "summarize", "gpt-4o", false],
  ["hooli", "chat", "gpt-4o-mini", false],
  ["stark", "search", "gpt-4o-mini", false],
  ["stark", "summarize", "gpt-4o", false],
  [null, "chat", "gpt-4o-mini", false],
  [null, "labs", "tollgate-e2e-unpriced-model", false],
];

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: stack().databaseUrl, max: 2 });
  acc = await newAccount({ name: "Dashboard Co" });
  const ids: string[] = [];
  for (const [tenant, feature, model, stream] of TRAFFIC) {
    const client = openaiClient(acc.key, {
      headers: { ...(tenant ? { "x-tollgate-tenant": tenant } : {}), "x-tollgate-feature": feature },
    });
    const messages = [{ role: "user" as const, content: `Hello from ${tenant ?? "nobody"} about ${feature}` }];
    if (stream) {
      const s = await client.chat.completions.create({ model, messages, max_tokens: 40, stream: true });
      for await (const _ of s) {
        // drain
      }
    } else {
      const { response } = await client.chat.completions.create({ model, messages, max_tokens: 40 }).withResponse();
      ids.push(response.headers.get("x-tollgate-request-id")!);
    }
    calls++;
  }
  await eventually(async () => {
    const r = await api<Report>("/v1/usage", acc.key);
    return r.totals.requests === calls ? true : undefined;
  }, 10_000);
  // Two successful outcomes, so cost per success has a value.
  for (const id of ids.slice(0, 2)) {
    const res = await fetch(`${gw()}/v1/requests/${id}/outcome`, {
      method: "POST",
      headers: { authorization: `Bearer ${acc.key}`, "content-type": "application/json" },
      body: '{"success":true}',
    });
    expect(res.status).toBe(200);
  }
  // A tenant budget after the traffic (a hard rule would have refused the unpriced model).
  expect(
    (
      await admin("POST", `/accounts/${acc.accountId}/budgets`, {
        scope: { type: "tenant", id: "*" },
        period: "month",
        capUsd: "5",
      })
    ).status,
  ).toBe(201);
}, 120_000);

afterAll(async () => {
  for (const b of browsers) await b.close();
  await pool?.end();
});

/** The view every overview comparison uses: the last 7 local days up to tomorrow, in ZONE. */
function rangeParams(tz = ZONE) {
  const today = localDate(Date.now(), tz);
  return { from: addDays(today, -6), to: addDays(today, 1), tz, today };
}

describe("dashboard", () => {
  let adminBrowser: TestBrowser;

  it("admin sign-in, account picker, and an overview whose every number is the usage API's", async () => {
    adminBrowser = await browser({ timezoneId: ZONE });
    const { page } = adminBrowser;
    await signIn(adminBrowser, stack().adminToken);
    expect(new URL(page.url()).pathname).toBe("/dashboard/accounts");
    await Promise.all([page.waitForNavigation(), page.click(`[data-account="${acc.accountId}"] a`)]);
    // The browser's zone was picked up at sign-in (Chromium may name it by its old alias).
    expect(["Asia/Kolkata", "Asia/Calcutta"]).toContain(await page.locator("body").getAttribute("data-tz"));

    const r = rangeParams();
    const q = `from=${r.from}&to=${r.to}&tz=${r.tz}`;
    await page.goto(`${gw()}/dashboard?account=${acc.accountId}&${q}&groupBy=feature`);
    const adminUsage = `/admin/v1/accounts/${acc.accountId}/usage`;
    const range = await api<Report>(`${adminUsage}?${q}&groupBy=feature&interval=day`, stack().adminToken);
    // The same through the gateway key's own API.
    expect((await api<Report>(`/v1/usage?${q}&groupBy=feature&interval=day`, acc.key)).totals).toEqual(range.totals);
    expect(range.totals.requests).toBe(calls);

    const today = await api<Report>(`/v1/usage?from=${r.today}&to=${addDays(r.today, 1)}&tz=${r.tz}`, acc.key);
    const monthStart = `${r.today.slice(0, 7)}-01`;
    const nextMonth = `${addDays(monthStart, 32).slice(0, 7)}-01`;
    const month = await api<Report>(`/v1/usage?from=${monthStart}&to=${nextMonth}&tz=${r.tz}`, acc.key);
    const units = await api<{ cacheSavingsUsd: string | null }>(`/v1/usage/units?${q}`, acc.key);

    const card = (m: string) => `[data-metric="${m}"] [data-usd]`;
    expect(await usdOf(page, card("todayCostUsd"))).toBe(today.totals.costUsd);
    expect(await usdOf(page, card("monthCostUsd"))).toBe(month.totals.costUsd);
    expect(await usdOf(page, card("costUsd"))).toBe(range.totals.costUsd);
    expect(await textOf(page, card("costUsd"))).toBe(formatUsd(String(range.totals.costUsd)));
    expect(await textOf(page, '[data-metric="requests"] [data-field="requests"]')).toBe(String(range.totals.requests));
    expect(await usdOf(page, card("costPerSuccessUsd"))).toBe(range.totals.costPerSuccessUsd);
    if (units.cacheSavingsUsd === null)
      expect(await textOf(page, '[data-metric="cacheSavingsUsd"] .value')).toBe("unknown");
    else expect(await usdOf(page, card("cacheSavingsUsd"))).toBe(units.cacheSavingsUsd);
    // The unpriced model is called out, with its count.
    expect(range.totals.unpricedRequests).toBe(1);
    expect(await textOf(page, '[data-metric="unpricedRequests"]')).toMatch(
      /^1 call in this range went to models nothing could price/,
    );

    // Every cell of the chart's table is the API's row for that feature and local day; the days add up.
    const rows = await page.locator("#spend-table tbody tr").evaluateAll((trs) =>
      trs.map((tr) => ({
        day: tr.getAttribute("data-bucket")!,
        cells: [...tr.querySelectorAll("td[data-usd]")].map((td) => td.getAttribute("data-usd")!),
      })),
    );
    const features = await page
      .locator("#spend-table thead th")
      .evaluateAll((ths) => ths.slice(1, -1).map((t) => t.textContent!));
    expect(rows.map((x) => x.day)).toEqual(Array.from({ length: 7 }, (_, i) => addDays(r.from, i)));
    let sum = 0n;
    for (const row of rows) {
      const want = features.map((f) => {
        const hit = range.rows.find(
          (a) => a.feature === f && localDate(Date.parse(String(a.periodStart)), ZONE) === row.day,
        );
        return String(hit?.costUsd ?? "0.00");
      });
      expect(row.cells.slice(0, -1), row.day).toEqual(want);
      const dayTotal = want.reduce((s, v) => s + usdToNano(v), 0n);
      expect(usdToNano(row.cells.at(-1)!)).toBe(dayTotal);
      sum += dayTotal;
    }
    expect(sum).toBe(usdToNano(String(range.totals.costUsd)));
    expect(await usdOf(page, '#spend-table [data-field="grandTotal"]')).toBe(range.totals.costUsd);

    // Top lists, "N others" included, are /usage/top's.
    for (const by of ["tenant", "feature", "model"]) {
      const top = await api<Top>(`/v1/usage/top?${q}&by=${by}&limit=5`, acc.key);
      const shown = await page
        .locator(`table[data-top="${by}"] tbody tr[data-value]`)
        .evaluateAll((trs) =>
          trs.map((tr) => [
            tr.getAttribute("data-value"),
            tr.querySelector("[data-usd]")!.getAttribute("data-usd"),
            tr.querySelector('[data-field="requests"]')!.textContent,
          ]),
        );
      const want = top.rows.map((x) => [x.value, x.costUsd, String(x.requests)]);
      if (top.others.count > 0) want.push(["(others)", top.others.costUsd, String(top.others.requests)]);
      expect(shown, by).toEqual(want);
    }
    // Seven tenant values ((unallocated) among them) under a top 5: "2 others".
    expect(await textOf(page, 'table[data-top="tenant"] tr[data-others] th')).toBe("2 others");
    // Each card names its API query; asking it gives the number shown.
    const todayApi = await page.locator('[data-metric="todayCostUsd"]').getAttribute("data-api");
    expect((await api<Report>(todayApi!, stack().adminToken)).totals.costUsd).toBe(today.totals.costUsd);
    await adminBrowser.screenshot("overview");
  }, 90_000);

  it("stacks by one dimension and splits by another, each small multiple the API's rows", async () => {
    const { page } = adminBrowser;
    const r = rangeParams();
    const q = `from=${r.from}&to=${r.to}&tz=${r.tz}`;
    await page.goto(`${gw()}/dashboard?account=${acc.accountId}&${q}&groupBy=model&split=tenant`);
    const report = await api<Report>(`/v1/usage?${q}&groupBy=model,tenant&interval=day`, acc.key);
    const panels = await page.locator("figure[data-chart]").count();
    expect(panels).toBe(4); // the three largest tenants and "4 other tenant values"
    let total = 0n;
    for (let i = 0; i < panels; i++)
      total += usdToNano((await usdOf(page, `#spend-${i}-table [data-field="grandTotal"]`))!);
    expect(total).toBe(usdToNano(String(report.totals.costUsd)));
    const first = await textOf(page, "figure[data-chart] figcaption strong");
    const tenant = /^tenant (\S+):/.exec(first)![1]!;
    const ofTenant = report.rows
      .filter((x) => x.tenant === tenant)
      .reduce((s, x) => s + usdToNano(String(x.costUsd)), 0n);
    expect(usdToNano((await usdOf(page, '#spend-0-table [data-field="grandTotal"]'))!)).toBe(ofTenant);
  });

  it("downloads the CSV of what is shown, byte for byte the API's", async () => {
    const { page } = adminBrowser;
    const r = rangeParams();
    const q = `from=${r.from}&to=${r.to}&tz=${r.tz}&groupBy=feature&tenant=acme&tenant=globex`;
    await page.goto(`${gw()}/dashboard?account=${acc.accountId}&${q}`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=download CSV")]);
    const file = await download.path();
    const { readFile } = await import("node:fs/promises");
    const got = await readFile(file!, "utf8");
    const res = await fetch(`${gw()}/v1/usage?${q}&interval=day&format=csv`, {
      headers: { authorization: `Bearer ${acc.key}` },
    });
    const want = await res.text();
    expect(got).toBe(want);
    expect(want.split("\r\n").length).toBeGreaterThan(2);
  });

  it("budgets: every number is the budgets API's; create, change and delete one in the browser", async () => {
    const { page } = adminBrowser;
    await page.goto(`${gw()}/dashboard/budgets?account=${acc.accountId}`);
    await page.selectOption("form[aria-label='New budget'] select[name=scopeType]", "tenant");
    await page.fill("form[aria-label='New budget'] input[name=scopeId]", "acme");
    await page.fill("form[aria-label='New budget'] input[name=capUsd]", "1.25");
    await Promise.all([page.waitForNavigation(), page.click("form[aria-label='New budget'] button[type=submit]")]);
    expect(await textOf(page, ".flash")).toBe("Budget created.");
    type B = {
      id: string;
      scope: { id?: string };
      capUsd: string;
      spentUsd: string;
      reservedUsd: string;
      remainingUsd: string;
      members?: { id: string; spentUsd: string }[];
    };
    const list = (await admin<B[]>("GET", `/accounts/${acc.accountId}/budgets`)).body;
    expect(list).toHaveLength(2);
    for (const b of list) {
      for (const f of ["capUsd", "spentUsd", "reservedUsd", "remainingUsd"] as const) {
        expect(await usdOf(page, `tr[data-budget="${b.id}"] [data-field="${f}"]`), `${b.id} ${f}`).toBe(b[f]);
      }
    }
    const star = list.find((b) => b.scope.id === "*")!;
    for (const m of star.members!) {
      expect(await usdOf(page, `table.members tr[data-member="${m.id}"] [data-field="spentUsd"]`)).toBe(m.spentUsd);
    }
    await adminBrowser.screenshot("budgets");
    const made = list.find((b) => b.scope.id === "acme")!;
    await page.click(`tr[data-budget="${made.id}"] summary`);
    await page.fill(`tr[data-budget="${made.id}"] input[name=capUsd]`, "2.50");
    await Promise.all([page.waitForNavigation(), page.click(`tr[data-budget="${made.id}"] form button.primary`)]);
    expect((await admin<B>("GET", `/accounts/${acc.accountId}/budgets/${made.id}`)).body.capUsd).toBe("2.50");
    await Promise.all([page.waitForNavigation(), page.click(`tr[data-budget="${made.id}"] button.danger`)]);
    expect(await textOf(page, ".flash")).toBe("Budget deleted.");
    expect((await admin("GET", `/accounts/${acc.accountId}/budgets/${made.id}`)).status).toBe(404);
    expect(await page.locator(`tr[data-budget="${made.id}"]`).count()).toBe(0);
  });

  it("requests: each row is its record, the count is the API's, a record's page shows its fields", async () => {
    const { page } = adminBrowser;
    const r = rangeParams();
    const q = `from=${r.from}&to=${r.to}&tz=${r.tz}`;
    await page.goto(`${gw()}/dashboard/requests?account=${acc.accountId}&${q}`);
    const usage = await api<Report>(`/v1/usage?${q}`, acc.key);
    expect(await textOf(page, '[data-metric="requests"] [data-field="requests"]')).toBe(String(usage.totals.requests));
    expect(await usdOf(page, '[data-metric="requests"] [data-field="costUsd"]')).toBe(usage.totals.costUsd);
    const ids = await page
      .locator("tr[data-request]")
      .evaluateAll((trs) => trs.map((t) => t.getAttribute("data-request")!));
    expect(ids).toHaveLength(calls);
    for (const id of ids) {
      const rec = await api<Record<string, number | string>>(`/v1/requests/${encodeURIComponent(id)}`, acc.key);
      const row = `tr[data-request="${id}"]`;
      expect(await usdOf(page, `${row} [data-field="costUsd"]`)).toBe(rec.costUsd);
      for (const f of ["inputTokens", "outputTokens", "cacheReadTokens", "reasoningTokens"]) {
        expect(await textOf(page, `${row} [data-field="${f}"]`), `${id} ${f}`).toBe(
          Number(rec[f]).toLocaleString("en-US"),
        );
      }
    }
    await adminBrowser.screenshot("requests");
    await Promise.all([page.waitForNavigation(), page.click(`tr[data-request="${ids[0]}"] a`)]);
    const rec = await api<Record<string, unknown>>(`/v1/requests/${encodeURIComponent(ids[0]!)}`, acc.key);
    for (const f of ["id", "provider", "model", "endpoint", "usageSource", "status", "environment"]) {
      expect(await textOf(page, `dd[data-field="${f}"]`), f).toBe(String(rec[f]));
    }
    expect(await page.locator('dd[data-field="costUsd"] [data-usd]').getAttribute("data-usd")).toBe(rec.costUsd);
    expect(await page.locator('dd[data-field="startedAt"] time').getAttribute("datetime")).toBe(rec.startedAt);
  });

  it("keys: created in the browser and shown once, working, then revoked: the next proxied call is 401", async () => {
    const { page } = adminBrowser;
    await page.goto(`${gw()}/dashboard/keys?account=${acc.accountId}`);
    await page.fill("form[aria-label='New key'] input[name=name]", "from the dashboard");
    await page.fill("form[aria-label='New key'] input[name=owner]", "ops@example.com");
    await page.fill("form[aria-label='New key'] input[name=requestsPerMinute]", "600");
    await Promise.all([page.waitForNavigation(), page.click("form[aria-label='New key'] button[type=submit]")]);
    const key = (await textOf(page, "[data-secret=key]")).trim();
    const keyId = await page.locator("[data-created-key]").getAttribute("data-created-key");
    expect(key).toMatch(/^tg_/);
    await adminBrowser.screenshot("key-created");
    const client = openaiClient(key, { headers: { "x-tollgate-tenant": "acme" } });
    const ok = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(ok.choices.length).toBeGreaterThan(0);
    calls++;
    const limits = (
      await admin<{ requestsPerMinute: number }>("GET", `/accounts/${acc.accountId}/keys/${keyId}/limits`)
    ).body;
    expect(limits.requestsPerMinute).toBe(600);
    // Shown once: the list never has it again.
    await page.goto(`${gw()}/dashboard/keys?account=${acc.accountId}`);
    expect(await page.content()).not.toContain(key);
    await Promise.all([page.waitForNavigation(), page.click(`tr[data-key="${keyId}"] button.danger`)]);
    expect(await page.locator(`tr[data-key="${keyId}"]`).getAttribute("data-revoked")).toBe("1");
    const refused = await fetch(`${gw()}/proxy/openai/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
    });
    expect(refused.status).toBe(401);
  });

  it("alerts and unpriced models: a channel added, a price set for the unpriced model", async () => {
    const { page } = adminBrowser;
    await page.goto(`${gw()}/dashboard/alerts?account=${acc.accountId}`);
    await page.fill("form[aria-label='New alert channel'] input[name=url]", "https://hooks.example.com/tollgate");
    await Promise.all([
      page.waitForNavigation(),
      page.click("form[aria-label='New alert channel'] button[type=submit]"),
    ]);
    expect(await textOf(page, ".secret")).toMatch(/^whsec_/);
    const channels = (await admin<{ url: string }[]>("GET", `/accounts/${acc.accountId}/alerts`)).body;
    expect(channels.map((c) => c.url)).toEqual(["https://hooks.example.com/tollgate"]);
    await page.goto(`${gw()}/dashboard/unpriced?account=${acc.accountId}`);
    const row = 'tr[data-model="openai/tollgate-e2e-unpriced-model"]';
    expect(await textOf(page, `${row} [data-field="calls"]`)).toBe("1");
    await page.fill(`${row} input[name=inputUsd]`, "0.15");
    await page.fill(`${row} input[name=outputUsd]`, "0.60");
    await Promise.all([page.waitForNavigation(), page.click(`${row} button`)]);
    const prices = (
      await admin<{ model: string; rates: Record<string, string> }[]>("GET", `/accounts/${acc.accountId}/prices`)
    ).body;
    expect(prices.find((p) => p.model === "tollgate-e2e-unpriced-model")?.rates).toEqual({
      inputUsd: "0.15",
      outputUsd: "0.60",
    });
  });

  it("gateway-key sign-in: the same numbers, read-only, no keys or alerts", async () => {
    const b = await browser({ timezoneId: ZONE });
    await signIn(b, acc.key);
    const { page } = b;
    expect(new URL(page.url()).pathname).toBe("/dashboard");
    const r = rangeParams();
    const q = `from=${r.from}&to=${r.to}&tz=${r.tz}`;
    await page.goto(`${gw()}/dashboard?${q}`);
    const usage = await api<Report>(`/v1/usage?${q}`, acc.key);
    expect(await usdOf(page, '[data-metric="costUsd"] [data-usd]')).toBe(usage.totals.costUsd);
    expect(await textOf(page, ".who")).toContain("read-only");
    expect(await page.locator("nav a").allInnerTexts()).toEqual([
      "Overview",
      "Budgets",
      "Requests",
      "Billing",
      "Unpriced models",
    ]);
    // No form changes anything, save signing out.
    expect(
      await page.locator("form[method=post]").evaluateAll((fs) => fs.map((f) => f.getAttribute("action"))),
    ).toEqual(["/dashboard/logout"]);
    await page.goto(`${gw()}/dashboard/budgets`);
    expect(await page.locator("form[method=post]").count()).toBe(1);
    const csrf = await page.locator("form[action='/dashboard/logout'] input[name=_csrf]").inputValue();
    const keys = await b.context.request.get(`${gw()}/dashboard/keys`);
    expect(keys.status()).toBe(403);
    const post = await b.context.request.post(`${gw()}/dashboard/budgets`, {
      form: { _csrf: csrf, scopeType: "account", period: "day", capUsd: "1" },
      headers: { origin: gw() },
    });
    expect(post.status()).toBe(403);
    expect(await post.text()).toContain("read-only");
    // Revoking the key ends its sessions at the next page.
    await b.screenshot("key-session-budgets");
  });

  it("day buckets in the viewer's zone at +05:30 and −08:00 around midnight add up to the total", async () => {
    const tzAcc = await newAccount({ name: "Zones" });
    // 2026-01-15's local midnights: Kolkata 2026-01-14T18:30Z, Los Angeles (PST) 2026-01-15T08:00Z.
    const AT: [string, number][] = [
      ["2026-01-14T18:29:59.999Z", 1_000],
      ["2026-01-14T18:30:00.000Z", 2_000],
      ["2026-01-15T07:59:59.999Z", 4_000],
      ["2026-01-15T08:00:00.000Z", 8_000],
      ["2026-01-15T23:59:59.999Z", 16_000],
      ["2026-01-16T00:00:00.000Z", 32_000],
    ];
    for (const [i, [at, cost]] of AT.entries()) {
      await pool.query(
        `insert into request_records (id, account_id, feature, environment, provider, model_requested, endpoint, streamed,
           status, cost_nano, priced, usage_source, budget_checked, started_at, finished_at)
         values ($1, $2, 'chat', 'production', 'openai', 'gpt-4o', '/chat/completions', false, 200, $3, true, 'reported', true, $4, $4)`,
        [`tz_${i}`, tzAcc.accountId, cost, at],
      );
    }
    for (const [zone, days] of [
      ["Asia/Kolkata", ["2026-01-14", "2026-01-15", "2026-01-16"]],
      ["America/Los_Angeles", ["2026-01-14", "2026-01-15"]],
    ] as const) {
      const b = await browser({ timezoneId: zone });
      await signIn(b, tzAcc.key);
      const { page } = b;
      // No tz in the URL: the browser's zone, remembered at sign-in.
      await page.goto(`${gw()}/dashboard?from=2026-01-14&to=2026-01-17`);
      const tz = (await page.locator("body").getAttribute("data-tz"))!;
      expect(tz === zone || (zone === "Asia/Kolkata" && tz === "Asia/Calcutta")).toBe(true);
      const table = await page
        .locator("#spend-table tbody tr")
        .evaluateAll((trs) =>
          trs.map((tr) => [
            tr.getAttribute("data-bucket"),
            tr.querySelector('[data-field="bucketTotal"]')!.getAttribute("data-usd"),
          ]),
        );
      // Expected per local day, from the instants and the zone alone.
      const want = new Map<string, bigint>();
      for (const [at, cost] of AT) {
        const day = localDate(Date.parse(at), zone);
        if (day >= "2026-01-14" && day < "2026-01-17") want.set(day, (want.get(day) ?? 0n) + BigInt(cost));
      }
      expect([...want.keys()].sort()).toEqual([...days]);
      const withSpend = table.filter(([, usd]) => usd !== "0.00");
      expect(withSpend.map(([d, usd]) => [d, usdToNano(usd!)])).toEqual([...want].sort());
      const total = [...want.values()].reduce((s, v) => s + v, 0n);
      expect(table.reduce((s, [, usd]) => s + usdToNano(usd!), 0n)).toBe(total);
      expect(usdToNano((await usdOf(page, '[data-metric="costUsd"] [data-usd]'))!)).toBe(total);
      // The API agrees, asked in the same zone.
      const report = await api<Report>(`/v1/usage?from=2026-01-14&to=2026-01-17&tz=${zone}&interval=day`, tzAcc.key);
      expect(
        report.rows.map((x) => [localDate(Date.parse(String(x.periodStart)), zone), usdToNano(String(x.costUsd))]),
      ).toEqual([...want].sort());
      expect(usdToNano(String(report.totals.costUsd))).toBe(total);
      await b.screenshot(`zone-${zone.replace("/", "-")}`);
      // Times in the zone, UTC on hover.
      await page.goto(`${gw()}/dashboard/requests?from=2026-01-14&to=2026-01-17`);
      const t = page.locator('tr[data-request="tz_3"] time');
      expect(await t.getAttribute("title")).toBe("2026-01-15 08:00:00 UTC");
      expect(await t.textContent()).toBe(zone === "Asia/Kolkata" ? "15 Jan 2026, 13:30:00" : "15 Jan 2026, 00:00:00");
    }
  }, 90_000);

  it("a share link shows its tenant only, and stops working once expired", async () => {
    const made = await admin<{ url: string; token: string; tenant: string; expiresAt: string }>(
      "POST",
      `/accounts/${acc.accountId}/tenants/acme/share-links`,
      { expiresInHours: 1 },
    );
    expect(made.status).toBe(201);
    expect(made.body.url).toBe(`${gw()}/dashboard/share/${made.body.token}`);
    const b = await browser({ timezoneId: ZONE });
    const { page } = b;
    // Another tenant in the URL changes nothing: the link is acme's.
    await page.goto(`${made.body.url}?tenant=globex`);
    await page.waitForSelector("body[data-tz-source=cookie]"); // the script remembered the zone and reloaded once
    expect(await textOf(page, "h1 [data-tenant]")).toBe("acme");
    const html = await page.content();
    for (const other of ["globex", "initech", "umbrella", "hooli", "stark"]) expect(html).not.toContain(other);
    const zone = await page.locator("body").getAttribute("data-tz");
    const usage = await api<Report>(`/v1/usage?tenant=acme&tz=${zone}`, acc.key);
    expect(await usdOf(page, '[data-metric="costUsd"] [data-usd]')).toBe(usage.totals.costUsd);
    expect(await page.locator("table.budgets tbody tr[data-budget]").count()).toBe(1);
    await b.screenshot("share");
    // Altered: gone.
    const t = made.body.token;
    const flipped = `${t.slice(0, -10)}${t.at(-10) === "A" ? "B" : "A"}${t.slice(-9)}`;
    expect((await b.context.request.get(`${gw()}/dashboard/share/${flipped}`)).status()).toBe(410);
    // A Worker two hours ahead (same Redis and Postgres): the one-hour link has expired there, a day's has not.
    const day = await admin<{ token: string }>("POST", `/accounts/${acc.accountId}/tenants/acme/share-links`, {});
    const offset = Number(process.env[CLOCK_OFFSET_BINDING] ?? 0) + 2 * 3_600_000;
    const later = await startWorker({ ...stack().workerVars, [CLOCK_OFFSET_BINDING]: String(offset) });
    try {
      const expired = await fetch(`${later.url}/dashboard/share/${made.body.token}`);
      expect(expired.status).toBe(410);
      expect(await expired.text()).not.toContain("acme");
      expect((await fetch(`${later.url}/dashboard/share/${day.body.token}`)).status).toBe(200);
    } finally {
      await later.stop();
    }
    // From the dashboard too.
    const { page: ap } = adminBrowser;
    await ap.goto(`${gw()}/dashboard?account=${acc.accountId}`);
    await ap.fill('form[aria-label="Share a tenant\'s page"] input[name=tenant]', "globex");
    await Promise.all([ap.waitForNavigation(), ap.click('form[aria-label="Share a tenant\'s page"] button')]);
    const url = await textOf(ap, "[data-share-url]");
    expect((await fetch(url)).status).toBe(200);
    expect(await (await fetch(url)).text()).toContain("globex");
  }, 60_000);

  it("refuses forged, altered, expired and revoked sessions and every POST without this session's CSRF token", async () => {
    const base = gw();
    // The sign-in: nonce cookie + field, then the session cookie's flags (no Secure on loopback http).
    const form = await fetch(`${base}/dashboard/login`);
    const nonceCookie = form.headers.get("set-cookie")!.split(";")[0]!;
    const nonce = /name="nonce" value="([^"]+)"/.exec(await form.text())![1]!;
    const login = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${base}/dashboard/login`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: base, cookie: nonceCookie, ...headers },
        body: new URLSearchParams(body),
      });
    expect((await login({ token: stack().adminToken })).status).toBe(403); // no nonce
    expect((await login({ token: stack().adminToken, nonce }, { origin: "http://evil.example" })).status).toBe(403);
    expect((await login({ token: "not-the-token-at-all", nonce })).status).toBe(401);
    const ok = await login({ token: stack().adminToken, nonce });
    expect(ok.status).toBe(303);
    const setCookie = setCookies(ok).find((c) => c.startsWith("tg_session="))!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toMatch(/Secure/);
    expect(setCookie).toMatch(/Max-Age=43200/);
    const session = setCookie.split(";")[0]!;
    const page = (path: string, cookie = session) =>
      fetch(`${base}${path}`, { redirect: "manual", headers: { cookie } });
    expect((await page(`/dashboard?account=${acc.accountId}`)).status).toBe(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(
      await (await page(`/dashboard/budgets?account=${acc.accountId}`)).text(),
    )![1]!;

    // Tampered: payload changed (a key session turned admin), signature changed, or unsigned.
    const value = session.slice("tg_session=".length);
    const [body, sig] = value.split(".") as [string, string];
    const payload = JSON.parse(Buffer.from(body, "base64url").toString());
    const forgedBody = Buffer.from(JSON.stringify({ ...payload, exp: payload.exp + 1e9 })).toString("base64url");
    for (const bad of [`${forgedBody}.${sig}`, `${body}.${sig.slice(0, -2)}xx`, body, "garbage"]) {
      const res = await page(`/dashboard?account=${acc.accountId}`, `tg_session=${bad}`);
      expect(res.status, bad).toBe(303);
      expect(res.headers.get("location")).toMatch(/^\/dashboard\/login/);
    }
    // Well signed but expired, or made under another admin token: refused too. (In the tests the
    // sealing secret is the admin token: no TOLLGATE_ENCRYPTION_KEY is set.)
    const expired = await signToken({ ...payload, exp: Date.now() - 1000 }, stack().adminToken, "dashboard-session");
    expect((await page(`/dashboard?account=${acc.accountId}`, `tg_session=${expired}`)).status).toBe(303);
    const otherAdmin = await signToken(
      { ...payload, adm: "0000000000000000" },
      stack().adminToken,
      "dashboard-session",
    );
    expect((await page(`/dashboard?account=${acc.accountId}`, `tg_session=${otherAdmin}`)).status).toBe(303);
    // A share token is no session, and a session is no share token.
    expect((await page(`/dashboard/share/${value}`)).status).toBe(410);

    // CSRF: every POST needs this session's token and this origin.
    const post = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${base}/dashboard/budgets`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: base, cookie: session, ...headers },
        body: new URLSearchParams({
          account: acc.accountId,
          scopeType: "account",
          period: "day",
          capUsd: "3",
          ...fields,
        }),
      });
    expect((await post({})).status).toBe(403);
    expect((await post({ _csrf: "x".repeat(32) })).status).toBe(403);
    expect((await post({ _csrf: csrf }, { origin: "http://evil.example" })).status).toBe(403);
    expect((await post({ _csrf: csrf }, { cookie: "" })).status).toBe(403);
    const before = (await admin<unknown[]>("GET", `/accounts/${acc.accountId}/budgets`)).body.length;
    const good = await post({ _csrf: csrf });
    expect(good.status).toBe(303);
    const after = (await admin<{ id: string }[]>("GET", `/accounts/${acc.accountId}/budgets`)).body;
    expect(after.length).toBe(before + 1);
    await admin("DELETE", `/accounts/${acc.accountId}/budgets/${after.at(-1)!.id}`);

    // A key session ends when its key is revoked.
    const k = await admin<{ id: string; key: string }>("POST", `/accounts/${acc.accountId}/keys`, {
      name: "short-lived",
      owner: "t@example.com",
    });
    const f2 = await fetch(`${base}/dashboard/login`);
    const n2 = /name="nonce" value="([^"]+)"/.exec(await f2.text())![1]!;
    const keyLogin = await login(
      { token: k.body.key, nonce: n2 },
      { cookie: f2.headers.get("set-cookie")!.split(";")[0]! },
    );
    const keySession = setCookies(keyLogin)
      .find((c) => c.startsWith("tg_session="))!
      .split(";")[0]!;
    expect((await page("/dashboard", keySession)).status).toBe(200);
    await admin("DELETE", `/accounts/${acc.accountId}/keys/${k.body.id}`);
    const gone = await page("/dashboard", keySession);
    expect(gone.status).toBe(401);
    expect(await gone.text()).toContain("revoked");
    // Logging out needs the token too, and clears the cookie.
    const out = await fetch(`${base}/dashboard/logout`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: base, cookie: session },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(out.status).toBe(303);
    expect(setCookies(out).join()).toMatch(/tg_session=;/);
  });

  it("sends a small overview: ≤ 50 KB gzip with its stylesheet and script; strict headers; fits 375 px", async () => {
    const b = await browser({ timezoneId: ZONE, width: 375, height: 800 });
    await signIn(b, stack().adminToken);
    const { page } = b;
    const r = rangeParams();
    const path = `/dashboard?account=${acc.accountId}&from=${addDays(r.today, -29)}&to=${r.to}&tz=${r.tz}`;
    const res = await b.context.request.get(`${gw()}${path}`);
    expect(res.headers()["content-security-policy"]).toContain("script-src 'self'");
    expect(res.headers()["cache-control"]).toBe("no-store");
    const html = await res.body();
    const assets = [...html.toString().matchAll(/(?:href|src)="(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(2);
    let gz = gzipSync(html).length;
    for (const a of assets) gz += gzipSync(await (await b.context.request.get(`${gw()}${a}`)).body()).length;
    console.log(`overview page weight: ${html.length} bytes HTML, ${gz} bytes gzip with its CSS and JS`);
    expect(gz).toBeLessThanOrEqual(50 * 1024);
    await page.goto(`${gw()}${path}`);
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);
    await b.screenshot("overview-375px");
  });

  it("logged no console error, page error or failed request in any browser", () => {
    expect(browsers.flatMap((b) => b.problems)).toEqual([]);
  });
});
