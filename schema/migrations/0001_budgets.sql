CREATE TABLE "alert_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"channel_id" text,
	"event_id" text NOT NULL,
	"budget_id" text NOT NULL,
	"threshold" integer NOT NULL,
	"kind" text NOT NULL,
	"target" text NOT NULL,
	"attempt" integer NOT NULL,
	"status" text NOT NULL,
	"http_status" integer,
	"error" text,
	"duration_ms" bigint,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "key_limits" (
	"key_id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"requests_per_minute" integer,
	"tokens_per_minute" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "alert_deliveries" ADD CONSTRAINT "alert_deliveries_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_limits" ADD CONSTRAINT "key_limits_key_id_gateway_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."gateway_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_limits" ADD CONSTRAINT "key_limits_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "alert_deliveries_account_time" ON "alert_deliveries" USING btree ("account_id","created_at");