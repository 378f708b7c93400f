ALTER TABLE "key_limits" ADD COLUMN "max_wait_ms" integer;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "unpriced_fallback" jsonb;--> statement-breakpoint
ALTER TABLE "budget_rules" ADD COLUMN "throttle_at" integer;--> statement-breakpoint
ALTER TABLE "request_records" ADD COLUMN "priced_by" text;