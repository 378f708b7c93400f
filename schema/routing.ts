/**
 * Routes (src/routing/README.md): per account, a named chain of provider/model targets with its
 * fallback, downgrade, cache and model policy. Postgres is the source of truth; the hot path reads
 * them inside the account's settings (src/account-settings.ts), cached in Redis and per isolate.
 */
import { jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { at } from "./columns";
import { accounts } from "./index";

export const routes = pgTable(
  "routes",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The route as PUT (src/routing/types.ts RouteConfig). */
    config: jsonb("config").$type<Record<string, unknown>>().notNull(),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.name] })],
);
