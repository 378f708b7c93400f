CREATE TABLE "watch_episodes" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"kind" text NOT NULL,
	"dimension" text NOT NULL,
	"value" text NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	"event" jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "watch_episodes" ADD CONSTRAINT "watch_episodes_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "watch_episodes_open" ON "watch_episodes" USING btree ("account_id","kind","dimension","value") WHERE "watch_episodes"."closed_at" is null;--> statement-breakpoint
CREATE INDEX "watch_episodes_account_time" ON "watch_episodes" USING btree ("account_id","opened_at");