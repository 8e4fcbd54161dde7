CREATE TABLE "gateway_cache" (
	"key" text PRIMARY KEY NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	"value" text,
	"expires_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "gateway_cache_expires_at_idx" ON "gateway_cache" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "gateway_cache_updated_at_idx" ON "gateway_cache" USING btree ("updated_at");