/**
 * Tables for the numbers people check against others': each account's own OpenTelemetry collector
 * (src/telemetry/), the provider admin keys reconciliation fetches with and the reports it made
 * (src/reconcile/), and the episodes the cron job's watchers alert on once (src/anomalies/,
 * src/forecast/).
 */
import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import { at, nano } from "./columns";
import { accounts } from "./index";

/** The account's OTLP/HTTP collector; mirrored into its Redis settings (src/account-settings.ts). */
export const telemetryExporters = pgTable("telemetry_exporters", {
  accountId: text("account_id")
    .primaryKey()
    .references(() => accounts.id, { onDelete: "cascade" }),
  /** The OTLP/HTTP traces URL. */
  url: text("url").notNull(),
  /** AES-GCM sealed JSON object of the headers to send (API keys, usually); null: none. */
  headersCiphertext: text("headers_ciphertext"),
  /** The header names, to show without opening the secret. */
  headerNames: jsonb("header_names").$type<string[]>().notNull().default([]),
  updatedAt: at("updated_at").notNull().defaultNow(),
});

/** A provider admin key the cron job fetches the provider's usage and cost reports with. */
export const costSources = pgTable(
  "cost_sources",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    /** "openai" | "anthropic" */
    provider: text("provider").notNull(),
    /** AES-GCM sealed admin API key (sk-admin-…, sk-ant-admin…); never returned. */
    adminKeyCiphertext: text("admin_key_ciphertext").notNull(),
    /** The admin API's base URL when not the provider's own (a proxy, a test double). */
    baseUrl: text("base_url"),
    /** When the last fetch ran (Postgres's clock), and how it ended. */
    lastFetchedAt: at("last_fetched_at"),
    lastStatus: text("last_status"),
    lastError: text("last_error"),
    lastReconciliationId: text("last_reconciliation_id"),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.provider] })],
);

/** Every reconciliation report: an upload, or a fetch by the cron job. */
export const reconciliations = pgTable(
  "reconciliations",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    provider: text("provider").notNull(),
    /** "upload" | "fetch" */
    source: text("source").notNull(),
    /** [from, to) as YYYY-MM-DD (UTC days). */
    periodFrom: text("period_from").notNull(),
    periodTo: text("period_to").notNull(),
    ourCostNano: nano("our_cost_nano").notNull(),
    /** null when only token counts were given. */
    theirCostNano: nano("their_cost_nano"),
    flaggedLines: integer("flagged_lines").notNull(),
    /** The whole report as the API returns it (src/reconcile/compare.ts ReportJson). */
    report: jsonb("report").$type<Record<string, unknown>>().notNull(),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [index("reconciliations_account_time").on(t.accountId, t.createdAt)],
);

/**
 * One episode of something the cron job watches: a series' spend far over its baseline, a runaway
 * workflow, a budget projected past its cap. Open while it lasts (closed_at null); at most one open
 * per subject (the partial unique index), so concurrent cron runs alert once: the insert that wins
 * sends the alert.
 */
export const watchEpisodes = pgTable(
  "watch_episodes",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    /** "spend" | "workflow" | "forecast" */
    kind: text("kind").notNull(),
    /** What is watched: tenant, feature, key, workflow, budget. */
    dimension: text("dimension").notNull(),
    value: text("value").notNull(),
    /** By the gateway's clock (the cron job's `now`). */
    openedAt: at("opened_at").notNull(),
    lastSeenAt: at("last_seen_at").notNull(),
    closedAt: at("closed_at"),
    /** The alert event sent when it opened. */
    event: jsonb("event").$type<Record<string, unknown>>().notNull(),
  },
  (t) => [
    uniqueIndex("watch_episodes_open").on(t.accountId, t.kind, t.dimension, t.value).where(sql`${t.closedAt} is null`),
    index("watch_episodes_account_time").on(t.accountId, t.openedAt),
  ],
);
