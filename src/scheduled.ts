/**
 * The cron trigger (wrangler.toml [triggers]): flushes queued cost records into Postgres, refreshes
 * the daily usage totals and applies each account's retention (src/reports/maintenance.ts), then
 * watches spend for anomalies and runaway workflows (src/anomalies/) and hard budgets heading past
 * their caps (src/forecast/cron.ts), and fetches and reconciles the providers' cost reports for
 * accounts that stored an admin key (src/reconcile/cron.ts); it also finalizes last month's invoices
 * once they can no longer change (src/billing/maintenance.ts) and pushes billed usage to Stripe
 * where an account configured it (src/billing/exports/push.ts).
 */
import { alertConfig } from "./alerts";
import { runAnomalyWatch } from "./anomalies";
import { pushAllToStripe } from "./billing/exports/push";
import { finalizeClosedPeriods } from "./billing/maintenance";
import type { Env } from "./config";
import { loadConfig, sealingSecret } from "./config";
import { spentFromRedis } from "./forecast";
import { runForecastAlerts } from "./forecast/cron";
import { nowDate, nowMs } from "./lib/clock";
import { openDb } from "./lib/db";
import { redisClient } from "./lib/redis";
import { runCostFetches } from "./reconcile/cron";
import { flushRecords } from "./records/record";
import { runRetention } from "./reports/maintenance";

export async function scheduled(_event: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const config = loadConfig(env);
  const session = openDb(config);
  try {
    const deps = { db: () => session.db, redis: redisClient(config) };
    // Records a flusher left behind (it died, or Postgres was down): bounded batches.
    await flushRecords(deps);
    // Daily totals refresh, then records past each account's retention move into rollups.
    // The gateway's clock, not the event's own time: one clock dates records and retention.
    const now = nowDate();
    await runRetention(session.db, now);
    // Every job below stands alone: one failing does not keep the others from running.
    const alerts = { config: alertConfig(config, env) };
    const jobs: [string, () => Promise<unknown>][] = [
      ["invoice finalization", () => finalizeClosedPeriods({ db: session.db, redis: deps.redis }, nowMs())],
      ["stripe export", () => pushAllToStripe({ db: session.db, sealingSecret: sealingSecret(config) })],
      ["anomaly watch", () => runAnomalyWatch({ db: session.db, alerts }, now)],
      ["forecast", () => runForecastAlerts({ db: session.db, spentOf: spentFromRedis(deps.redis), alerts }, now)],
      [
        "cost report fetch",
        () => runCostFetches({ db: session.db, sealingSecret: sealingSecret(config), alerts }, now),
      ],
    ];
    for (const [name, job] of jobs) await job().catch((err) => console.error(`cron: ${name} failed`, err));
  } finally {
    ctx.waitUntil(session.close());
  }
}
