CREATE TABLE "routes" (
	"account_id" text NOT NULL,
	"name" text NOT NULL,
	"config" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "routes_account_id_name_pk" PRIMARY KEY("account_id","name")
);
--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "route" text;--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "attempt" integer;--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "attempt_of" text;--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "cache" text;--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "saved_nano" bigint;--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "max_tokens_applied" integer;--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "downgraded_from" text;--> statement-breakpoint
ALTER TABLE "outcomes" ADD COLUMN "route" text;--> statement-breakpoint
ALTER TABLE "usage_rollups" ADD COLUMN "route" text;--> statement-breakpoint
ALTER TABLE "routes" ADD CONSTRAINT "routes_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;