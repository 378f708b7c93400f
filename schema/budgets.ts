/**
 * Budget-side tables beside schema/index.ts (budget_rules and alert_channels live there): per-key
 * rate limits, and the alert delivery log (one row per attempt).
 */
import { bigint, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { at } from "./columns";
import { accounts, gatewayKeys } from "./index";

/** Per-key rate limits; mirrored on the key's Redis hash (fields rpm, tpm, lim) for the admission script. */
export const keyLimits = pgTable("key_limits", {
  keyId: text("key_id")
    .primaryKey()
    .references(() => gatewayKeys.id, { onDelete: "cascade" }),
  accountId: text("account_id")
    .notNull()
    .references(() => accounts.id, { onDelete: "cascade" }),
  /** null: no limit. */
  requestsPerMinute: integer("requests_per_minute"),
  tokensPerMinute: integer("tokens_per_minute"),
  /** How long this key's calls wait for budget holds in flight, ms; null: the default (5 s). */
  maxWaitMs: integer("max_wait_ms"),
  updatedAt: at("updated_at").notNull().defaultNow(),
});

/** Every attempt to deliver an alert (webhook or email), successful or not. */
export const alertDeliveries = pgTable(
  "alert_deliveries",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    /** The alert channel; null once the channel is deleted. */
    channelId: text("channel_id"),
    /** The event this delivers (a budget crossing: one per rule, scope value, period, threshold). */
    eventId: text("event_id").notNull(),
    /** budget.threshold_crossed, spend.anomaly, workflow.runaway, budget.forecast_exceeds_cap, reconciliation.difference_found,
     *  wallet.balance_dropped, wallet.depleted, wallet.recovered, wallet.topup_requested */
    eventType: text("event_type").notNull().default("budget.threshold_crossed"),
    /** Budget events only. */
    budgetId: text("budget_id"),
    threshold: integer("threshold"),
    kind: text("kind").notNull(),
    /** Webhook URL or email address. */
    target: text("target").notNull(),
    attempt: integer("attempt").notNull(),
    /** delivered | failed (will retry) | gave_up (last attempt failed) */
    status: text("status").notNull(),
    httpStatus: integer("http_status"),
    error: text("error"),
    durationMs: bigint("duration_ms", { mode: "number" }),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [index("alert_deliveries_account_time").on(t.accountId, t.createdAt)],
);
