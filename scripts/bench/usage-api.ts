/**
 * Usage-API benchmark: seeds 1,000,000 request records (one account, 90 days) into a throwaway
 * local Postgres, builds the day totals as the scheduled job would, adds a tail of fresh records
 * the job has not seen yet, then times queryUsage — the function GET /v1/usage calls — through
 * both drivers: node-postgres, and the Neon serverless driver through the local WebSocket relay
 * (what the Worker uses). Prints p50/p95/max per query.
 *
 *   npx tsx scripts/bench/usage-api.ts [--records 1000000] [--runs 50] [--keep]
 *
 * Then the dashboard's overview over the same month: every query of the page (loadOverview: the
 * chart's usage query, the range totals with cache savings, today, this month, three top lists)
 * and its HTML, timed together — the server time of GET /dashboard less the session check — in
 * UTC (the day totals' fast path) and in Asia/Kolkata (day buckets in a zone read raw records).
 *
 * The created_at index (request_records_created) is created here if the schema does not have it
 * yet: the day-totals refresh and the fresh-record tail of the fast path read by created_at.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import WebSocket from "ws";
import { loadOverview, OverviewPage } from "../../src/http/dashboard/overview";
import { readState } from "../../src/http/dashboard/state";
import { openDb } from "../../src/lib/db";
import type { ReportsDb } from "../../src/reports/db";
import type { Dimension } from "../../src/reports/dimensions";
import { refreshDayTotals } from "../../src/reports/maintenance";
import { type Interval, queryUsage } from "../../src/reports/usage";
import { migrateDatabase } from "../migrate";
import { freePort } from "../services/ports";
import { startPostgres } from "../services/postgres";
import { startWsRelay } from "../services/ws-relay";

const { values: args } = parseArgs({
  options: {
    records: { type: "string", default: "1000000" },
    runs: { type: "string", default: "50" },
    keep: { type: "boolean", default: false },
  },
});
const RECORDS = Number(args.records);
const RUNS = Number(args.runs);
const ACCOUNT = "acc_bench";
const DAYS = 90;
const START = "2026-08-01T00:00:00Z";
const MONTH = { from: new Date("2026-09-01T00:00:00Z"), to: new Date("2026-10-01T00:00:00Z") };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tollgate-bench-"));
  const server = await startPostgres({ port: await freePort(), dir: path.join(dir, "pg"), persist: false });
  const relay = await startWsRelay({ port: await freePort(), postgresPort: server.port });
  const pool = new pg.Pool({ connectionString: server.url, max: 2 });
  pool.on("error", () => {});
  try {
    await migrateDatabase(server.url);
    await pool.query("create index if not exists request_records_created on request_records (created_at)");
    await pool.query("insert into accounts (id, name) values ($1, 'bench'), ('acc_noise', 'noise')", [ACCOUNT]);

    // 1M records over 90 days. Realistic correlation: a feature uses one model/provider, a key
    // belongs to one environment; 40 tenants, 300 users, a workflow per ~5 calls, 1 in 11 calls
    // with no feature and 1 in 7 with no tenant. Written 2 s after they finished (created_at).
    let t0 = performance.now();
    const seed = `
      insert into request_records (id, account_id, key_id, tenant, feature, user_id, environment, workflow, tags,
        provider, model_requested, model_answered, endpoint, streamed, status, input_tokens, cache_read_tokens,
        cache_write_tokens, output_tokens, reasoning_tokens, cost_nano, priced, rates_applied, usage_source,
        budget_checked, latency_ms, started_at, finished_at, created_at)
      select 'req_' || g, case when g % 20 = 0 then 'acc_noise' else $1 end, 'key_' || (g % 3),
        case when g % 7 = 0 then null else 'tenant_' || (g % 40) end,
        case when g % 11 = 0 then null else 'feature_' || (g % 10) end,
        'user_' || (g % 300), case when g % 3 = 0 then 'staging' else 'production' end,
        'wf_' || (g / 5), case when g % 2 = 0 then jsonb_build_object('team', 'team_' || (g % 4)) else '{}'::jsonb end,
        case when g % 10 < 6 then 'openai' else 'anthropic' end,
        'model_' || (g % 10), case when g % 13 = 0 then null else 'model_' || (g % 10) || '-2026' end,
        '/v1/chat/completions', g % 2 = 0, case when g % 50 = 0 then 500 else 200 end,
        500 + g % 3000, g % 800, g % 100, 100 + g % 700, g % 50, 100000 + (g % 1000) * 1000, g % 97 <> 0,
        '{"input": 2500000000, "cacheRead": 250000000}'::jsonb, 'reported', true, 800 + g % 400,
        s, s + interval '1.2 seconds', s + interval '3.2 seconds'
      from generate_series(1, $2::int) g,
        lateral (select timestamptz '${START}' + (g::float8 / $2::int) * interval '${DAYS} days' as s) t`;
    await pool.query(seed, [ACCOUNT, RECORDS]);
    await pool.query("analyze request_records");
    const seedMs = performance.now() - t0;

    t0 = performance.now();
    const db = drizzle(pool) as unknown as ReportsDb;
    const refresh = await refreshDayTotals(db, { budgetMs: 600_000, chunkRows: 2_000_000 });
    const refreshMs = performance.now() - t0;

    // The tail: 5,000 records the scheduled job has not seen yet (created now), in the month.
    await pool.query(
      `insert into request_records (id, account_id, key_id, tenant, feature, user_id, environment, provider,
         model_requested, endpoint, streamed, status, input_tokens, output_tokens, cost_nano, priced, usage_source,
         budget_checked, started_at, finished_at)
       select 'tail_' || g, $1, 'key_1', 'tenant_' || (g % 40), 'feature_' || (g % 10), 'user_' || g % 300, 'production',
         'openai', 'model_1', '/v1/chat/completions', false, 200, 1000, 200, 123456, true, 'reported', true,
         timestamptz '2026-09-30T23:00:00Z' + g * interval '1 millisecond', timestamptz '2026-09-30T23:00:01Z'
       from generate_series(1, 5000) g`,
      [ACCOUNT],
    );
    await pool.query("analyze request_records");
    const [{ n: monthRecords }] = (
      await pool.query(
        "select count(*)::int as n from request_records where account_id = $1 and started_at >= $2 and started_at < $3",
        [ACCOUNT, MONTH.from, MONTH.to],
      )
    ).rows as [{ n: number }];
    const [{ n: totalsRows }] = (await pool.query("select count(*)::int as n from usage_day_totals")).rows as [
      { n: number },
    ];

    neonConfig.webSocketConstructor = WebSocket;
    const neon = openDb({ DATABASE_URL: server.url, NEON_WS_PROXY: relay.proxy });
    const drivers: [string, ReportsDb][] = [
      ["node-postgres", db],
      ["neon (ws relay)", neon.db as unknown as ReportsDb],
    ];

    const cases: { name: string; groupBy: Dimension[]; interval: Interval; path?: "fast" | "full" }[] = [
      { name: "month × feature × day", groupBy: ["feature"], interval: "day" },
      { name: "month × feature,tenant,model × day", groupBy: ["feature", "tenant", "model"], interval: "day" },
      { name: "month × tenant (top list shape)", groupBy: ["tenant"], interval: "none" },
      { name: "month × feature × day, raw only", groupBy: ["feature"], interval: "day", path: "full" },
      { name: "month × user × week (raw only)", groupBy: ["user"], interval: "week" },
    ];
    const results: string[][] = [];
    for (const [driver, d] of drivers) {
      for (const c of cases) {
        const query = {
          accountId: ACCOUNT,
          ...MONTH,
          groupBy: c.groupBy,
          interval: c.interval,
          filters: [],
          path: c.path,
        };
        const runs = c.path === "full" || c.groupBy.includes("user") ? Math.min(RUNS, 20) : RUNS;
        let rows = 0;
        let source = "";
        let requests = 0n;
        for (let i = 0; i < 3; i++) await queryUsage(d, query);
        const times: number[] = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          const res = await queryUsage(d, query);
          times.push(performance.now() - t);
          rows = res.groups.length;
          source = res.path;
          requests = res.totals.requests;
        }
        times.sort((a, b) => a - b);
        results.push([
          driver,
          c.name,
          source,
          String(rows),
          requests.toString(),
          String(runs),
          percentile(times, 50).toFixed(1),
          percentile(times, 95).toFixed(1),
          times.at(-1)!.toFixed(1),
        ]);
      }
    }
    // The overview page, "now" in the month's last day so today and this month have records too.
    const overviewRows: string[][] = [];
    for (const [driver, d] of drivers) {
      for (const tz of ["UTC", "Asia/Kolkata"]) {
        const state = readState(
          new URLSearchParams(`from=2026-09-01&to=2026-10-01&tz=${tz}&groupBy=feature`),
          undefined,
        );
        const view = {
          kind: "admin" as const,
          accountId: ACCOUNT,
          accountName: "bench",
          csrf: "x",
          readOnly: false,
          base: "/dashboard",
        };
        const loadTimes: number[] = [];
        const once = async () => {
          const t0 = performance.now();
          const data = await loadOverview(d, {
            accountId: ACCOUNT,
            state,
            nowMs: Date.parse("2026-09-30T12:00:00Z"),
            tops: ["tenant", "feature", "model"],
          });
          loadTimes.push(performance.now() - t0);
          const page = OverviewPage({ view, state, data, origin: "http://bench", apiBase: "/v1/usage" });
          return await (page as unknown as { toString(): string | Promise<string> }).toString();
        };
        for (let i = 0; i < 3; i++) await once();
        loadTimes.length = 0;
        const runs = tz === "UTC" ? RUNS : Math.min(RUNS, 20);
        const times: number[] = [];
        let html = "";
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          html = await once();
          times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        loadTimes.sort((a, b) => a - b);
        overviewRows.push([
          driver,
          `overview, month, ${tz}`,
          `${html.length} / ${gzipSync(html).length}`,
          String(runs),
          percentile(times, 50).toFixed(1),
          percentile(times, 95).toFixed(1),
          times.at(-1)!.toFixed(1),
          percentile(loadTimes, 50).toFixed(1),
        ]);
      }
    }
    await neon.close();

    console.log(
      `\nusage API benchmark — ${RECORDS.toLocaleString("en")} records seeded in ${(seedMs / 1000).toFixed(1)} s`,
    );
    console.log(
      `account ${ACCOUNT}: ${monthRecords.toLocaleString("en")} records in ${MONTH.from.toISOString().slice(0, 7)} (5,000 of them after the refresh watermark)`,
    );
    console.log(
      `day totals refresh: ${(refreshMs / 1000).toFixed(1)} s for the whole backlog (${refresh.chunks} chunk), ${totalsRows.toLocaleString("en")} rows\n`,
    );
    const header = ["driver", "query", "path", "rows", "requests", "runs", "p50 ms", "p95 ms", "max ms"];
    const widths = header.map((h, i) => Math.max(h.length, ...results.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
    console.log(line(header));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const r of results) console.log(line(r));
    const oHeader = ["driver", "page", "HTML / gzip bytes", "runs", "p50 ms", "p95 ms", "max ms", "queries p50 ms"];
    const oWidths = oHeader.map((h, i) => Math.max(h.length, ...overviewRows.map((r) => r[i]!.length)));
    const oLine = (cells: string[]) =>
      cells.map((c, i) => (i >= 2 ? c.padStart(oWidths[i]!) : c.padEnd(oWidths[i]!))).join("  ");
    console.log(`\n${oLine(oHeader)}`);
    console.log(oWidths.map((w) => "-".repeat(w)).join("  "));
    for (const r of overviewRows) console.log(oLine(r));
  } finally {
    await pool.end();
    await relay.stop();
    await server.stop();
    if (!args.keep) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
