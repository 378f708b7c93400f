/**
 * Every Postgres table, in one place. Migrations in schema/migrations are generated from this file
 * by `npm run db:generate` (drizzle-kit) and checked in; never edit them by hand.
 *
 * Money columns are bigint nano-USD (`…_nano`), read as JS bigint. Token counts are bigint too:
 * an account's sums outgrow int4 quickly.
 */
import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import { at, count, nano } from "./columns";

export const accounts = pgTable("accounts", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  retentionDays: integer("retention_days").notNull().default(90),
  /** The account's price for models nothing else can price (nano-USD per Mtok); null: such calls are unpriced. */
  unpricedFallback: jsonb("unpriced_fallback").$type<{ inputPerMTokNano: number; outputPerMTokNano: number }>(),
  createdAt: at("created_at").notNull().defaultNow(),
});

export const gatewayKeys = pgTable(
  "gateway_keys",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    owner: text("owner").notNull(),
    environment: text("environment"),
    /** SHA-256 of the whole key, hex. The key itself is shown once and never stored. */
    keyHash: text("key_hash").notNull(),
    /** The first characters of the key, to tell keys apart in lists. */
    keyPrefix: text("key_prefix").notNull(),
    createdAt: at("created_at").notNull().defaultNow(),
    revokedAt: at("revoked_at"),
  },
  (t) => [uniqueIndex("gateway_keys_hash").on(t.keyHash), index("gateway_keys_account").on(t.accountId)],
);

export const providerConfigs = pgTable(
  "provider_configs",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    provider: text("provider").notNull(),
    /** AES-GCM ciphertext of the provider API key (base64 iv + ciphertext); never returned by the API. */
    apiKeyCiphertext: text("api_key_ciphertext"),
    baseUrl: text("base_url"),
    format: text("format"),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.provider] })],
);

export const budgetRules = pgTable(
  "budget_rules",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    scopeType: text("scope_type").notNull(),
    /** null for `account`, "*" for "each one separately", else the scope's id. */
    scopeId: text("scope_id"),
    period: text("period").notNull(),
    capNano: nano("cap_nano").notNull(),
    mode: text("mode").notNull().default("hard"),
    alertAt: jsonb("alert_at").$type<number[]>().notNull().default(sql`'[50,80,100]'::jsonb`),
    /** Percent of the cap past which the rule's calls are admitted one at a time; null: never. */
    throttleAt: integer("throttle_at"),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [index("budget_rules_account").on(t.accountId)],
);

export const alertChannels = pgTable("alert_channels", {
  id: text("id").primaryKey(),
  accountId: text("account_id")
    .notNull()
    .references(() => accounts.id, { onDelete: "cascade" }),
  kind: text("kind").notNull(),
  url: text("url"),
  email: text("email"),
  secret: text("secret"),
  createdAt: at("created_at").notNull().defaultNow(),
});

export const priceOverrides = pgTable(
  "price_overrides",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    effectiveFrom: at("effective_from").notNull(),
    /** The pricing module's AccountRates: nano-USD per million tokens per bucket (per 1,000 for fees). */
    rates: jsonb("rates").$type<Record<string, number>>(),
    discountBasisPoints: integer("discount_basis_points"),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.provider, t.model, t.effectiveFrom] })],
);

/** One row per call attempt. Never the prompt, never the completion. */
export const requestRecords = pgTable(
  "request_records",
  {
    /** The request id: ours (`req_…`) or the client's own (x-tollgate-request-id), unique per account. */
    id: text("id").notNull(),
    accountId: text("account_id").notNull(),
    keyId: text("key_id"),
    tenant: text("tenant"),
    feature: text("feature"),
    userId: text("user_id"),
    environment: text("environment").notNull(),
    workflow: text("workflow"),
    tags: jsonb("tags").$type<Record<string, string>>(),
    provider: text("provider").notNull(),
    modelRequested: text("model_requested"),
    modelAnswered: text("model_answered"),
    endpoint: text("endpoint").notNull(),
    streamed: boolean("streamed").notNull(),
    status: integer("status").notNull(),
    inputTokens: count("input_tokens").notNull().default(0),
    cacheReadTokens: count("cache_read_tokens").notNull().default(0),
    cacheWriteTokens: count("cache_write_tokens").notNull().default(0),
    cacheWrite1hTokens: count("cache_write_1h_tokens").notNull().default(0),
    inputAudioTokens: count("input_audio_tokens").notNull().default(0),
    cacheAudioReadTokens: count("cache_audio_read_tokens").notNull().default(0),
    outputTokens: count("output_tokens").notNull().default(0),
    outputAudioTokens: count("output_audio_tokens").notNull().default(0),
    reasoningTokens: count("reasoning_tokens").notNull().default(0),
    webSearchRequests: count("web_search_requests").notNull().default(0),
    costNano: nano("cost_nano").notNull().default(sql`0`),
    providerReportedCostNano: nano("provider_reported_cost_nano"),
    priced: boolean("priced").notNull(),
    priceVersion: text("price_version"),
    ratesApplied: jsonb("rates_applied"),
    usageSource: text("usage_source").notNull(),
    /** What priced the call: "catalog", "account" (its own rates), "fallback" (its price for unpriced models); null: unpriced. */
    pricedBy: text("priced_by"),
    budgetChecked: boolean("budget_checked").notNull(),
    latencyMs: integer("latency_ms"),
    ttftMs: integer("ttft_ms"),
    // Routing (src/routing/README.md). All nullable: a call without a route leaves them empty, and
    // a record queued before they existed still inserts (the flush names every column).
    /** The route the call went through. */
    route: text("route"),
    /** 1, 2, 3…: which attempt of the route's chain this record is; null without a route. */
    attempt: integer("attempt"),
    /** The id of the call's first attempt, on every later attempt's record. */
    attemptOf: text("attempt_of"),
    /** "hit" (answered from the response cache) or "miss" (looked up, then asked upstream). */
    cache: text("cache"),
    /** A cache hit: what the answer cost when it was asked upstream (this record costs 0). */
    savedNano: nano("saved_nano"),
    /** The max-tokens limit the route's cap put into the forwarded body. */
    maxTokensApplied: integer("max_tokens_applied"),
    /** `provider/model` asked, when a hard budget refused it and the route's onBudget model answered. */
    downgradedFrom: text("downgraded_from"),
    startedAt: at("started_at").notNull(),
    finishedAt: at("finished_at").notNull(),
    createdAt: at("created_at").notNull().defaultNow(),
    /** What the tenant is billed for the call under its plan (docs/billing.md §2); null: not rated (Redis was down). */
    billedNano: nano("billed_nano"),
    /** The part of billed_nano the tenant's wallet could not cover (its balance went below zero by it). */
    overageNano: nano("overage_nano"),
    /** Grant id → nano-USD drawn from it by this call. */
    walletDraws: jsonb("wallet_draws").$type<Record<string, string>>(),
    /** The plan version the call was rated under; null: at our cost. */
    planVersion: text("plan_version"),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.id] }),
    index("request_records_account_time").on(t.accountId, t.startedAt),
    // The daily-totals refresh and the fast usage path read recent records by insertion time.
    index("request_records_created").on(t.createdAt),
    index("request_records_account_workflow").on(t.accountId, t.workflow, t.startedAt),
  ],
);
