/**
 * Tables for the numbers people check against others': each account's own OpenTelemetry collector
 * (src/telemetry/).
 */
import { jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { at } from "./columns";
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
