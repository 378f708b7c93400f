CREATE TABLE "telemetry_exporters" (
	"account_id" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"headers_ciphertext" text,
	"header_names" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "telemetry_exporters" ADD CONSTRAINT "telemetry_exporters_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;