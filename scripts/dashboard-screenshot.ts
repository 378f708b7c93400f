/**
 * Makes docs/dashboard-overview.png, the README's picture of the dashboard: the whole local stack
 * on free ports (as the tests start it), one account with a month of sample records (generated in
 * Postgres: five features, six tenants, three models, a few calls nothing could price) plus a few
 * live calls through the gateway, then the overview in headless Chromium at 1280 px, in UTC.
 *
 *   npx tsx scripts/dashboard-screenshot.ts [--out docs/dashboard-overview.png]
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { chromium } from "playwright-core";
import { startProviderDouble, upstreamUrls } from "../test/provider-double/server";
import { startWorker } from "../test/setup/worker";
import { buildWorker } from "./build-worker";
import { startStack } from "./services/stack";

const { values: args } = parseArgs({ options: { out: { type: "string", default: "docs/dashboard-overview.png" } } });

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tollgate-shot-"));
  const [stack, double] = await Promise.all([
    startStack({ dataDir: dir, persist: false }),
    startProviderDouble({ port: 0 }),
    buildWorker(),
  ]);
  const adminToken = "screenshot-admin-token-0123456789";
  const worker = await startWorker({
    ...stack.workerVars,
    TOLLGATE_ADMIN_TOKEN: adminToken,
    ...upstreamUrls(double.url),
  });
  const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
  const gw = worker.url;
  const call = async (
    method: string,
    p: string,
    body: unknown,
    auth = adminToken,
    extra: Record<string, string> = {},
  ) => {
    const res = await fetch(`${gw}${p}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, "content-type": "application/json", ...extra },
      body: JSON.stringify(body),
    });
    return (await res.json()) as Record<string, string>;
  };
  try {
    const account = (await call("POST", "/admin/v1/accounts", { name: "Acme AI" })).id!;
    const key = (await call("POST", `/admin/v1/accounts/${account}/keys`, { name: "backend", owner: "eng@acme.dev" }))
      .key!;
    await call("PUT", `/admin/v1/accounts/${account}/providers/openai`, { apiKey: "sk-sample" });
    await call("POST", `/admin/v1/accounts/${account}/budgets`, {
      scope: { type: "tenant", id: "*" },
      period: "month",
      capUsd: "40",
    });
    // A month of sample records, 1,500 a day, weekdays busier; created an hour ago.
    await pool.query(
      `insert into request_records (id, account_id, key_id, tenant, feature, environment, provider, model_requested,
         endpoint, streamed, status, input_tokens, cache_read_tokens, output_tokens, cost_nano, priced, rates_applied, usage_source,
         budget_checked, started_at, finished_at, created_at)
       select 'sample_' || g, $1, null,
         (array['northwind','globex','initech','umbrella','hooli','stark'])[1 + (g * 7) % 6],
         (array['chat','search','summarize','extract','agents'])[1 + (g * 3) % 5],
         'production', 'openai', (array['gpt-4o-mini','gpt-4o','gpt-4.1-mini'])[1 + g % 3],
         '/chat/completions', g % 3 = 0, case when g % 40 = 0 then 500 else 200 end,
         800 + g % 1200, g % 400, 150 + g % 500,
         case when g % 97 = 0 then 0 else (20000 + (g % 9) * 15000) * (1 + g % 3) * (1 + (g * 3) % 5) * (2 + extract(isodow from t.s)::int % 6) / 2 end,
         g % 97 <> 0, '{"input": 2500000000, "cacheRead": 1250000000}'::jsonb, 'reported', true, t.s, t.s + interval '1.4 seconds',
         now() - interval '1 hour'
       from generate_series(1, 45000) g,
         lateral (select date_trunc('day', now()) - interval '29 days' + (g::float8 / 45000) * interval '30 days' as s) t`,
      [account],
    );
    for (const [tenant, feature] of [
      ["northwind", "chat"],
      ["globex", "search"],
      ["initech", "summarize"],
    ]) {
      await call(
        "POST",
        "/proxy/openai/chat/completions",
        { model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello" }] },
        key,
        { "x-tollgate-tenant": tenant!, "x-tollgate-feature": feature! },
      );
    }
    await new Promise((r) => setTimeout(r, 2500));
    const profile = await mkdtemp(path.join(os.tmpdir(), "tollgate-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"],
      viewport: { width: 1280, height: 900 },
      timezoneId: "UTC",
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${gw}/dashboard/login`);
    await page.fill("input[name=token]", adminToken);
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    await page.goto(`${gw}/dashboard?account=${account}&groupBy=feature`);
    await page.screenshot({ path: args.out!, fullPage: true });
    await context.close();
    await rm(profile, { recursive: true, force: true });
    console.log(`wrote ${args.out}`);
  } finally {
    await pool.end();
    await worker.stop();
    await double.close();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
