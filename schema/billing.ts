/**
 * Billing tables (docs/billing.md): the account's billing settings, rating plans, each tenant's plan
 * and wallet settings, credit grants, invoices and export cursors. The per-call side lives on
 * request_records (billed_nano, overage_nano, wallet_draws, plan_version in schema/index.ts).
 *
 * A grant's `drawn_nano` and a tenant's `overage_nano` are advanced by the record flush in the same
 * statement that inserts the records carrying the draws (src/billing/ledger.ts), so Postgres always
 * holds what rebuilding a wallet in Redis needs, however long records are kept.
 */
import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import type { PlanDefinition } from "../src/billing/plan";
import { at, nano } from "./columns";
import { accounts } from "./index";

/** Stripe export settings; the secret key sealed like provider keys (src/lib/crypto.ts). */
export interface StripeExportRow {
  secretKeySealed: string;
  api: "v1" | "v2";
  apiBaseUrl: string;
  meterEventsBaseUrl: string;
  eventName: string;
  /** tenant → Stripe customer id. */
  customers: Record<string, string>;
  /** The meter's customer_mapping / value_settings payload keys (Stripe's defaults when absent). */
  customerKey?: string;
  valueKey?: string;
}

export const accountBilling = pgTable("account_billing", {
  accountId: text("account_id")
    .primaryKey()
    .references(() => accounts.id, { onDelete: "cascade" }),
  /** IANA zone of the invoice periods (calendar months). */
  timeZone: text("time_zone").notNull().default("UTC"),
  /** The plan of tenants without their own; null: billed = our cost. */
  defaultPlanId: text("default_plan_id"),
  /** The next invoice number of this account (numbers have no gaps). */
  nextInvoiceNumber: integer("next_invoice_number").notNull().default(1),
  stripe: jsonb("stripe").$type<StripeExportRow>(),
  updatedAt: at("updated_at").notNull().defaultNow(),
});

export const billingPlans = pgTable(
  "billing_plans",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    definition: jsonb("definition").$type<PlanDefinition>().notNull(),
    /** Changes with the definition: rating state and records name the version they were rated under. */
    version: text("version").notNull(),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [index("billing_plans_account").on(t.accountId)],
);

export const tenantBilling = pgTable(
  "tenant_billing",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    tenant: text("tenant").notNull(),
    /** The tenant's own plan; null: the account's default. */
    planId: text("plan_id"),
    /** Low-balance alert thresholds, nano-USD. */
    lowBalanceNano: jsonb("low_balance_nano").$type<number[]>().notNull().default(sql`'[]'::jsonb`),
    topUp: jsonb("top_up").$type<{ thresholdNano: number; amountNano: number; cooldownSeconds: number }>(),
    /** The highest top-up crossing requested (its key: wallet:<tenant>:<seq>). */
    topUpSeq: integer("top_up_seq").notNull().default(0),
    /** Σ overage of this tenant's records, and how much of it invoices billed. */
    overageNano: nano("overage_nano").notNull().default(sql`0`),
    overageInvoicedNano: nano("overage_invoiced_nano").notNull().default(sql`0`),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.tenant] })],
);

export const creditGrants = pgTable(
  "credit_grants",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    tenant: text("tenant").notNull(),
    amountNano: nano("amount_nano").notNull(),
    /** Σ of the draws of records in Postgres (the flush adds them). */
    drawnNano: nano("drawn_nano").notNull().default(sql`0`),
    /** What the tenant paid for it (promotional: 0). */
    costBasisNano: nano("cost_basis_nano").notNull().default(sql`0`),
    category: text("category").notNull().default("paid"),
    /** 1 is drawn first. */
    priority: integer("priority").notNull().default(10),
    effectiveAt: at("effective_at").notNull(),
    /** Exclusive; null: never. */
    expiresAt: at("expires_at"),
    idempotencyKey: text("idempotency_key"),
    /** api | topup */
    source: text("source").notNull().default("api"),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [
    index("credit_grants_tenant").on(t.accountId, t.tenant),
    uniqueIndex("credit_grants_key").on(t.accountId, t.tenant, t.idempotencyKey),
  ],
);

export const invoices = pgTable(
  "invoices",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    tenant: text("tenant").notNull(),
    /** YYYY-MM in the account's zone. */
    periodKey: text("period_key").notNull(),
    timeZone: text("time_zone").notNull(),
    periodStart: at("period_start").notNull(),
    periodEnd: at("period_end").notNull(),
    /** finalized | void */
    status: text("status").notNull(),
    number: text("number").notNull(),
    subtotalNano: nano("subtotal_nano").notNull(),
    creditsAppliedNano: nano("credits_applied_nano").notNull(),
    amountDueNano: nano("amount_due_nano").notNull(),
    overageNano: nano("overage_nano").notNull(),
    /** The whole frozen invoice (lines, credits, totals, plan), as the API shows it. */
    document: jsonb("document").notNull(),
    /** SHA-256 of the canonical line set and totals. */
    hash: text("hash").notNull(),
    /** The void invoice this one corrects. */
    replacesId: text("replaces_id"),
    finalizedAt: at("finalized_at").notNull(),
    voidedAt: at("voided_at"),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [
    // Finalized once: at most one live (non-void) invoice per tenant and period.
    uniqueIndex("invoices_one_live").on(t.accountId, t.tenant, t.periodKey).where(sql`status = 'finalized'`),
    uniqueIndex("invoices_number").on(t.accountId, t.number),
  ],
);

/** How far each export has pushed an account's records (by Postgres insertion time, then id). */
export const exportCursors = pgTable(
  "export_cursors",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    target: text("target").notNull(),
    createdAt: at("created_at").notNull(),
    recordId: text("record_id").notNull(),
    exported: integer("exported").notNull().default(0),
    lastError: text("last_error"),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.target] })],
);
