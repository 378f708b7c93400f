/**
 * The cron trigger (wrangler.toml [triggers]): flushes queued cost records into Postgres, refreshes
 * the daily usage totals and applies each account's retention (src/reports/maintenance.ts).
 */
import type { Env } from "./config";
import { loadConfig } from "./config";
import { nowDate } from "./lib/clock";
import { openDb } from "./lib/db";
import { redisClient } from "./lib/redis";
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
    await runRetention(session.db, nowDate());
  } finally {
    ctx.waitUntil(session.close());
  }
}
