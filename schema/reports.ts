/**
 * Report-side tables beside schema/index.ts (request_records lives there): outcomes, the two daily
 * aggregates the usage API reads, and the watermark of the incremental refresh. All written by
 * src/reports; see src/reports/README.md for how a report combines them with request_records.
 *
 * Both aggregates have the same sums; they differ in what they are keyed by and in what they hold:
 * - usage_day_totals: every record whose created_at is below the refresh watermark, keyed by the
 *   low-cardinality dimensions only (provider, model, feature, tenant, env, key). It is never
 *   pruned by retention; it is what makes a month's report fast.
 * - usage_rollups: records moved out of request_records by retention, keyed by EVERY attribution
 *   dimension and the tags, so user/workflow/tag reports over old ranges stay exact.
 * A row's `dims_hash` is md5 of the JSON array of its dimensions (NULLs kept distinct from "null").
 */
import { boolean, doublePrecision, index, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { at, count, nano } from "./columns";

/** The sums both aggregates keep, one per request_records count. */
const sums = () => ({
  requests: count("requests").notNull(),
  /** Attempts answered with status >= 400. */
  errors: count("errors").notNull(),
  unpricedRequests: count("unpriced_requests").notNull(),
  inputTokens: count("input_tokens").notNull(),
  cacheReadTokens: count("cache_read_tokens").notNull(),
  cacheWriteTokens: count("cache_write_tokens").notNull(),
  cacheWrite1hTokens: count("cache_write_1h_tokens").notNull(),
  inputAudioTokens: count("input_audio_tokens").notNull(),
  cacheAudioReadTokens: count("cache_audio_read_tokens").notNull(),
  outputTokens: count("output_tokens").notNull(),
  outputAudioTokens: count("output_audio_tokens").notNull(),
  reasoningTokens: count("reasoning_tokens").notNull(),
  webSearchRequests: count("web_search_requests").notNull(),
  costNano: nano("cost_nano").notNull(),
  /** Σ cacheReadTokens × (input rate − cache-read rate), over records whose rates_applied had the input rate. */
  cacheSavingsNano: nano("cache_savings_nano").notNull(),
  /** Records with cache reads whose rates_applied did not say the input rate (savings unknown). */
  cacheSavingsUnknown: count("cache_savings_unknown").notNull(),
  firstStartedAt: at("first_started_at").notNull(),
  lastFinishedAt: at("last_finished_at").notNull(),
});

export const usageDayTotals = pgTable(
  "usage_day_totals",
  {
    accountId: text("account_id").notNull(),
    /** 00:00 UTC of the day the records started. */
    day: at("day").notNull(),
    dimsHash: text("dims_hash").notNull(),
    provider: text("provider").notNull(),
    /** Model answered, else model requested. */
    model: text("model"),
    feature: text("feature"),
    tenant: text("tenant"),
    environment: text("environment").notNull(),
    keyId: text("key_id"),
    ...sums(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.day, t.dimsHash] })],
);

export const usageRollups = pgTable(
  "usage_rollups",
  {
    accountId: text("account_id").notNull(),
    day: at("day").notNull(),
    dimsHash: text("dims_hash").notNull(),
    provider: text("provider").notNull(),
    model: text("model"),
    feature: text("feature"),
    tenant: text("tenant"),
    userId: text("user_id"),
    environment: text("environment").notNull(),
    workflow: text("workflow"),
    keyId: text("key_id"),
    tags: jsonb("tags").$type<Record<string, string>>(),
    /** The route of the records (src/routing/README.md); null: none. */
    route: text("route"),
    ...sums(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.day, t.dimsHash] })],
);

/** Named watermarks of incremental jobs (today one: `usage_day_totals`, a created_at bound). */
export const reportState = pgTable("report_state", {
  name: text("name").primaryKey(),
  watermark: at("watermark").notNull(),
  updatedAt: at("updated_at").notNull().defaultNow(),
});

/**
 * One outcome per request or workflow (the last POST wins). The subject's attribution is copied
 * here when the outcome is posted, so outcome reports need neither a join nor the raw records
 * (which retention deletes). A workflow's attribution is that of its first call.
 */
export const outcomes = pgTable(
  "outcomes",
  {
    accountId: text("account_id").notNull(),
    /** "request" | "workflow" */
    kind: text("kind").notNull(),
    subjectId: text("subject_id").notNull(),
    success: boolean("success").notNull(),
    /** Caller-defined value of the outcome (revenue, score…); not money we compute with. */
    value: doublePrecision("value"),
    /** When the subject started (the request, or the workflow's first call): what time ranges filter on. */
    startedAt: at("started_at").notNull(),
    provider: text("provider").notNull(),
    model: text("model"),
    feature: text("feature"),
    tenant: text("tenant"),
    userId: text("user_id"),
    environment: text("environment").notNull(),
    workflow: text("workflow"),
    keyId: text("key_id"),
    tags: jsonb("tags").$type<Record<string, string>>(),
    route: text("route"),
    recordedAt: at("recorded_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.kind, t.subjectId] }),
    index("outcomes_account_time").on(t.accountId, t.startedAt),
  ],
);
