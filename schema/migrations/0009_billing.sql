CREATE TABLE "account_billing" (
	"account_id" text PRIMARY KEY NOT NULL,
	"time_zone" text DEFAULT 'UTC' NOT NULL,
	"default_plan_id" text,
	"next_invoice_number" integer DEFAULT 1 NOT NULL,
	"stripe" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing_plans" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"name" text NOT NULL,
	"definition" jsonb NOT NULL,
	"version" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_grants" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"tenant" text NOT NULL,
	"amount_nano" bigint NOT NULL,
	"drawn_nano" bigint DEFAULT 0 NOT NULL,
	"cost_basis_nano" bigint DEFAULT 0 NOT NULL,
	"category" text DEFAULT 'paid' NOT NULL,
	"priority" integer DEFAULT 10 NOT NULL,
	"effective_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone,
	"idempotency_key" text,
	"source" text DEFAULT 'api' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "export_cursors" (
	"account_id" text NOT NULL,
	"target" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"record_id" text NOT NULL,
	"exported" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "export_cursors_account_id_target_pk" PRIMARY KEY("account_id","target")
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"tenant" text NOT NULL,
	"period_key" text NOT NULL,
	"time_zone" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"status" text NOT NULL,
	"number" text NOT NULL,
	"subtotal_nano" bigint NOT NULL,
	"credits_applied_nano" bigint NOT NULL,
	"amount_due_nano" bigint NOT NULL,
	"overage_nano" bigint NOT NULL,
	"document" jsonb NOT NULL,
	"hash" text NOT NULL,
	"replaces_id" text,
	"finalized_at" timestamp with time zone NOT NULL,
	"voided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tenant_billing" (
	"account_id" text NOT NULL,
	"tenant" text NOT NULL,
	"plan_id" text,
	"low_balance_nano" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"top_up" jsonb,
	"top_up_seq" integer DEFAULT 0 NOT NULL,
	"overage_nano" bigint DEFAULT 0 NOT NULL,
	"overage_invoiced_nano" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_billing_account_id_tenant_pk" PRIMARY KEY("account_id","tenant")
);
--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "billed_nano" bigint;--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "overage_nano" bigint;--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "wallet_draws" jsonb;--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "plan_version" text;--> statement-breakpoint
ALTER TABLE "account_billing" ADD CONSTRAINT "account_billing_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing_plans" ADD CONSTRAINT "billing_plans_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_grants" ADD CONSTRAINT "credit_grants_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "export_cursors" ADD CONSTRAINT "export_cursors_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_billing" ADD CONSTRAINT "tenant_billing_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "billing_plans_account" ON "billing_plans" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "credit_grants_tenant" ON "credit_grants" USING btree ("account_id","tenant");--> statement-breakpoint
CREATE UNIQUE INDEX "credit_grants_key" ON "credit_grants" USING btree ("account_id","tenant","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_one_live" ON "invoices" USING btree ("account_id","tenant","period_key") WHERE status = 'finalized';--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_number" ON "invoices" USING btree ("account_id","number");