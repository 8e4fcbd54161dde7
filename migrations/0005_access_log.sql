-- The attempt history (src/store/postgres/schema.ts accessLog): appended by the counting statements,
-- swept by the cron after AXES_HISTORY_RETENTION. Idempotent: the shared database is migrated by
-- several branches.
CREATE TABLE IF NOT EXISTS "access_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"prefix" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"username" text NOT NULL,
	"ip" text NOT NULL,
	"path" text NOT NULL,
	"user_agent" text NOT NULL,
	"outcome" text NOT NULL,
	"counters" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "access_log_prefix_id_idx" ON "access_log" USING btree ("prefix","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "access_log_at_idx" ON "access_log" USING btree ("at");
