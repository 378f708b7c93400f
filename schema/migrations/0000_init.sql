CREATE TABLE "accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"retention_days" integer DEFAULT 90 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "alert_channels" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"kind" text NOT NULL,
	"url" text,
	"email" text,
	"secret" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "budget_rules" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"scope_type" text NOT NULL,
	"scope_id" text,
	"period" text NOT NULL,
	"cap_nano" bigint NOT NULL,
	"mode" text DEFAULT 'hard' NOT NULL,
	"alert_at" jsonb DEFAULT '[50,80,100]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "gateway_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"name" text NOT NULL,
	"owner" text NOT NULL,
	"environment" text,
	"key_hash" text NOT NULL,
	"key_prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "price_overrides" (
	"account_id" text NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"effective_from" timestamp with time zone NOT NULL,
	"rates" jsonb,
	"discount_basis_points" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "price_overrides_account_id_provider_model_effective_from_pk" PRIMARY KEY("account_id","provider","model","effective_from")
);
--> statement-breakpoint
CREATE TABLE "provider_configs" (
	"account_id" text NOT NULL,
	"provider" text NOT NULL,
	"api_key_ciphertext" text,
	"base_url" text,
	"format" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provider_configs_account_id_provider_pk" PRIMARY KEY("account_id","provider")
);
--> statement-breakpoint
CREATE TABLE "request_records" (
	"id" text NOT NULL,
	"account_id" text NOT NULL,
	"key_id" text,
	"tenant" text,
	"feature" text,
	"user_id" text,
	"environment" text NOT NULL,
	"workflow" text,
	"tags" jsonb,
	"provider" text NOT NULL,
	"model_requested" text,
	"model_answered" text,
	"endpoint" text NOT NULL,
	"streamed" boolean NOT NULL,
	"status" integer NOT NULL,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"cache_read_tokens" bigint DEFAULT 0 NOT NULL,
	"cache_write_tokens" bigint DEFAULT 0 NOT NULL,
	"cache_write_1h_tokens" bigint DEFAULT 0 NOT NULL,
	"input_audio_tokens" bigint DEFAULT 0 NOT NULL,
	"cache_audio_read_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"output_audio_tokens" bigint DEFAULT 0 NOT NULL,
	"reasoning_tokens" bigint DEFAULT 0 NOT NULL,
	"web_search_requests" bigint DEFAULT 0 NOT NULL,
	"cost_nano" bigint DEFAULT 0 NOT NULL,
	"provider_reported_cost_nano" bigint,
	"priced" boolean NOT NULL,
	"price_version" text,
	"rates_applied" jsonb,
	"usage_source" text NOT NULL,
	"budget_checked" boolean NOT NULL,
	"latency_ms" integer,
	"ttft_ms" integer,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "request_records_account_id_id_pk" PRIMARY KEY("account_id","id")
);
--> statement-breakpoint
ALTER TABLE "alert_channels" ADD CONSTRAINT "alert_channels_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "budget_rules" ADD CONSTRAINT "budget_rules_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "gateway_keys" ADD CONSTRAINT "gateway_keys_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "price_overrides" ADD CONSTRAINT "price_overrides_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_configs" ADD CONSTRAINT "provider_configs_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "budget_rules_account" ON "budget_rules" USING btree ("account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "gateway_keys_hash" ON "gateway_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "gateway_keys_account" ON "gateway_keys" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "request_records_account_time" ON "request_records" USING btree ("account_id","started_at");