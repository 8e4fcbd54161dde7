CREATE TABLE "gateway_inflight" (
	"key" text NOT NULL,
	"id" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "gateway_inflight_key_id_pk" PRIMARY KEY("key","id")
);
--> statement-breakpoint
CREATE INDEX "gateway_inflight_expires_at_idx" ON "gateway_inflight" USING btree ("expires_at");