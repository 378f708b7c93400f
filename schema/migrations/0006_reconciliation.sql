CREATE TABLE "cost_sources" (
	"account_id" text NOT NULL,
	"provider" text NOT NULL,
	"admin_key_ciphertext" text NOT NULL,
	"base_url" text,
	"last_fetched_at" timestamp with time zone,
	"last_status" text,
	"last_error" text,
	"last_reconciliation_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cost_sources_account_id_provider_pk" PRIMARY KEY("account_id","provider")
);
--> statement-breakpoint
CREATE TABLE "reconciliations" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"provider" text NOT NULL,
	"source" text NOT NULL,
	"period_from" text NOT NULL,
	"period_to" text NOT NULL,
	"our_cost_nano" bigint NOT NULL,
	"their_cost_nano" bigint,
	"flagged_lines" integer NOT NULL,
	"report" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "alert_deliveries" ALTER COLUMN "budget_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "alert_deliveries" ALTER COLUMN "threshold" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "alert_deliveries" ADD COLUMN "event_type" text DEFAULT 'budget.threshold_crossed' NOT NULL;--> statement-breakpoint
ALTER TABLE "cost_sources" ADD CONSTRAINT "cost_sources_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliations" ADD CONSTRAINT "reconciliations_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reconciliations_account_time" ON "reconciliations" USING btree ("account_id","created_at");